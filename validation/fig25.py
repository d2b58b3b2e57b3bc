"""Validation script for fig25 (Figure 25): Regression: test MSE and learned functions, unpruned vs
MP-pruned.

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig25.py            # quick size (default)
python validation/fig25.py --full     # the paper's size
python validation/fig25.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig25")
