"""Validation script for table6 (Table 6): Fashion-MNIST: train and test losses, normal vs pruned.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/table6.py            # quick size (default)
python validation/table6.py --full     # the paper's size
python validation/table6.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table6")
