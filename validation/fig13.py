"""Validation script for fig13 (parameters and sizes: rmtheory/experiments/catalog_theory.py).

python validation/fig13.py            # quick size (default)
python validation/fig13.py --full     # the paper's size
python validation/fig13.py --smoke    # seconds (CI)
"""

import rmtheory.experiments.catalog_theory  # noqa: F401  (registers fig13 until the package imports it)
from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig13")
