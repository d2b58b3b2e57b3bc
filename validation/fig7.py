"""Validation script for fig7 (Figure 7): CNN on MNIST: training and test accuracy, normal vs MP-
pruned (mean ± std).

Parameters and sizes: rmtheory/experiments/cnn/entries.py.

python validation/fig7.py            # quick size (default)
python validation/fig7.py --full     # the paper's size
python validation/fig7.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig7")
