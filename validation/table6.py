"""Validation script for table6 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/table6.py            # quick size (default)
python validation/table6.py --full     # the paper's size
python validation/table6.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table6")
