"""Validation script for table5 (Table 5): Fashion-MNIST: parameters before and after MP pruning.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table5.py            # quick size (default)
python validation/table5.py --full     # the paper's size
python validation/table5.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table5")
