"""Validation script for fig11 (parameters and sizes: rmtheory/experiments/catalog_cnn.py).

python validation/fig11.py            # quick size (default)
python validation/fig11.py --full     # the paper's size
python validation/fig11.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig11")
