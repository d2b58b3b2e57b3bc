"""Validation script for fig26 (Figure 26): The polynomial-boundary two-class data set (§10.4).

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig26.py            # quick size (default)
python validation/fig26.py --full     # the paper's size
python validation/fig26.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig26")
