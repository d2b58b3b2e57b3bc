"""Validation script for fig2 (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/fig2.py            # quick size (default)
python validation/fig2.py --full     # the paper's size
python validation/fig2.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig2")
