"""Validation script for fig5 (Figure 5): Accuracy around each pruning pass (MNIST).

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig5.py            # quick size (default)
python validation/fig5.py --full     # the paper's size
python validation/fig5.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig5")
