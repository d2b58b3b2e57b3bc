"""Validation script for fig8 (parameters and sizes: rmtheory/experiments/catalog_cnn.py).

python validation/fig8.py            # quick size (default)
python validation/fig8.py --full     # the paper's size
python validation/fig8.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig8")
