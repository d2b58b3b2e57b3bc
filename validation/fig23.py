"""Validation script for fig23 (parameters and sizes: rmtheory/experiments/catalog_theory.py).

python validation/fig23.py            # quick size (default)
python validation/fig23.py --full     # the paper's size
python validation/fig23.py --smoke    # seconds (CI)
"""

import rmtheory.experiments.catalog_theory  # noqa: F401  (registers fig23 until the package imports it)
from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig23")
