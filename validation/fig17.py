"""Validation script for fig17 (Figure 17): BEMA lambda_+ vs alpha and beta on Example 9.1.

Parameters and sizes: rmtheory/experiments/bema/entries.py.

python validation/fig17.py            # quick size (default)
python validation/fig17.py --full     # the paper's size
python validation/fig17.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig17")
