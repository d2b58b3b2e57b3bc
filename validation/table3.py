"""Validation script for table3 (Table 3): MNIST: train and test losses, normal vs pruned.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table3.py            # quick size (default)
python validation/table3.py --full     # the paper's size
python validation/table3.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table3")
