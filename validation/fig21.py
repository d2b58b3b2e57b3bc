"""Validation script for fig21 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/fig21.py            # quick size (default)
python validation/fig21.py --full     # the paper's size
python validation/fig21.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig21")
