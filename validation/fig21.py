"""Validation script for fig21 (Figure 21): Example 9.3: test accuracy vs singular values of W1
kept, with the BEMA rank.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig21.py            # quick size (default)
python validation/fig21.py --full     # the paper's size
python validation/fig21.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig21")
