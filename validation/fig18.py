"""Validation script for fig18 (Figure 18): ESD of Example 9.1 with the BEMA-fitted MP density.

Parameters and sizes: rmtheory/experiments/bema/entries.py.

python validation/fig18.py            # quick size (default)
python validation/fig18.py --full     # the paper's size
python validation/fig18.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig18")
