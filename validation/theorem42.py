"""Validation script for theorem42 (parameters and sizes: rmtheory/experiments/catalog_theorems.py).

python validation/theorem42.py            # quick size (default)
python validation/theorem42.py --full     # the full size
python validation/theorem42.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem42")
