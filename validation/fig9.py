"""Validation script for fig9 (parameters and sizes: rmtheory/experiments/catalog_cnn.py).

python validation/fig9.py            # quick size (default)
python validation/fig9.py --full     # the paper's size
python validation/fig9.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig9")
