"""Validation script for fig10 (Figure 10): CNN on CIFAR-10: training and test accuracy, normal vs
MP-pruned (mean ± std).

Parameters and sizes: rmtheory/experiments/cnn/entries.py.

python validation/fig10.py            # quick size (default)
python validation/fig10.py --full     # the paper's size
python validation/fig10.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig10")
