"""Validation script for fig7 (parameters and sizes: rmtheory/experiments/catalog_cnn.py).

python validation/fig7.py            # quick size (default)
python validation/fig7.py --full     # the paper's size
python validation/fig7.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig7")
