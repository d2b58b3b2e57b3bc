"""Validation script for esd (beyond the paper's numbered figures): ESD of a trained hidden layer
with the BEMA-fitted MP law.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/esd.py            # quick size (default)
python validation/esd.py --full     # the paper's size
python validation/esd.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("esd")
