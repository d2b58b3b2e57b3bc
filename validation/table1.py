"""Validation script for table1 (Table 1): MNIST: unpruned vs MP-pruned test accuracy.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table1.py            # quick size (default)
python validation/table1.py --full     # the paper's size
python validation/table1.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table1")
