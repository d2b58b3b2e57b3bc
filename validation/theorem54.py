"""Validation script for theorem54 (parameters and sizes: rmtheory/experiments/catalog_theorems.py).

python validation/theorem54.py            # quick size (default)
python validation/theorem54.py --full     # the full size
python validation/theorem54.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem54")
