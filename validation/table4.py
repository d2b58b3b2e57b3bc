"""Validation script for table4 (Table 4): Fashion-MNIST: unpruned vs MP-pruned test accuracy.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table4.py            # quick size (default)
python validation/table4.py --full     # the paper's size
python validation/table4.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table4")
