"""Validation script for fig1 (Figure 1): MNIST: test accuracy vs epoch, normal vs pruned (mean ±
std).

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig1.py            # quick size (default)
python validation/fig1.py --full     # the paper's size
python validation/fig1.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig1")
