"""Validation script for fig6 (Figure 6): Test accuracy vs nonzero parameters under magnitude
thresholds, after MP-pruned training.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig6.py            # quick size (default)
python validation/fig6.py --full     # the paper's size
python validation/fig6.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig6")
