"""Validation script for fig11 (Figure 11): CNN on CIFAR-10: test accuracy vs nonzero parameters
under magnitude thresholds, after MP-pruned (a) and normal (b) training.

Parameters and sizes: rmtheory/experiments/cnn/entries.py.

python validation/fig11.py            # quick size (default)
python validation/fig11.py --full     # the paper's size
python validation/fig11.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig11")
