"""Validation script for theorem82: Theorem 8.2 (Borell–TIS): concentration of ||Rx|| for Gaussian R
over N.

Parameters and sizes: rmtheory/experiments/theorems/entries.py.

python validation/theorem82.py            # quick size (default)
python validation/theorem82.py --full     # the full size
python validation/theorem82.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem82")
