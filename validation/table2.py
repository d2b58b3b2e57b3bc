"""Validation script for table2 (Table 2): MNIST: parameters before and after MP pruning.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table2.py            # quick size (default)
python validation/table2.py --full     # the paper's size
python validation/table2.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table2")
