"""Validation script for fig24 (Figure 24): Regression: training MSE and parameters, unpruned vs MP-
pruned.

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig24.py            # quick size (default)
python validation/fig24.py --full     # the paper's size
python validation/fig24.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig24")
