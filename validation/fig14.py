"""Validation script for fig14 (Figure 14): Ex 5.5 numeric check with S diagonal: ||W' - S||_op and
||(W' - S)x|| / ||x||.

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig14.py            # quick size (default)
python validation/fig14.py --full     # the paper's size
python validation/fig14.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig14")
