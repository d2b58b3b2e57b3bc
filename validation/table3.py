"""Validation script for table3 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/table3.py            # quick size (default)
python validation/table3.py --full     # the paper's size
python validation/table3.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table3")
