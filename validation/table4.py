"""Validation script for table4 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/table4.py            # quick size (default)
python validation/table4.py --full     # the paper's size
python validation/table4.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table4")
