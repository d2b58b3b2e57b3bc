"""Validation script for esd (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/esd.py            # quick size (default)
python validation/esd.py --full     # the paper's size
python validation/esd.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("esd")
