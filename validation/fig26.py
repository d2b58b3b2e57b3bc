"""Validation script for fig26 (parameters and sizes: rmtheory/experiments/catalog_theory.py).

python validation/fig26.py            # quick size (default)
python validation/fig26.py --full     # the paper's size
python validation/fig26.py --smoke    # seconds (CI)
"""

import rmtheory.experiments.catalog_theory  # noqa: F401  (registers fig26 until the package imports it)
from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig26")
