"""Validation script for fig9 (Figure 9): CNN on Fashion-MNIST: test accuracy vs nonzero parameters
under magnitude thresholds, after MP-pruned (a) and normal (b) training.

Parameters and sizes: rmtheory/experiments/cnn/entries.py.

python validation/fig9.py            # quick size (default)
python validation/fig9.py --full     # the paper's size
python validation/fig9.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig9")
