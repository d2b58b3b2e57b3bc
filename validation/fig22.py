"""Validation script for fig22 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/fig22.py            # quick size (default)
python validation/fig22.py --full     # the paper's size
python validation/fig22.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig22")
