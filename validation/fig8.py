"""Validation script for fig8 (Figure 8): CNN on Fashion-MNIST: training and test accuracy, normal
vs MP-pruned (mean ± std).

Parameters and sizes: rmtheory/experiments/cnn/entries.py.

python validation/fig8.py            # quick size (default)
python validation/fig8.py --full     # the paper's size
python validation/fig8.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig8")
