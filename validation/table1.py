"""Validation script for table1 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/table1.py            # quick size (default)
python validation/table1.py --full     # the paper's size
python validation/table1.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table1")
