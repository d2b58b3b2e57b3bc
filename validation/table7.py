"""Validation script for table7 (parameters and sizes: rmtheory/experiments/catalog_theory.py).

python validation/table7.py            # quick size (default)
python validation/table7.py --full     # the paper's size
python validation/table7.py --smoke    # seconds (CI)
"""

import rmtheory.experiments.catalog_theory  # noqa: F401  (registers table7 until the package imports it)
from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table7")
