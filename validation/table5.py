"""Validation script for table5 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/table5.py            # quick size (default)
python validation/table5.py --full     # the paper's size
python validation/table5.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table5")
