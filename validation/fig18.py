"""Validation script for fig18 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/fig18.py            # quick size (default)
python validation/fig18.py --full     # the paper's size
python validation/fig18.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig18")
