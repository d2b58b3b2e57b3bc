"""Validation script for theorem42: Theorem 4.2 (Marchenko–Pastur): Kolmogorov distance of the ESD
to MP vs N.

Parameters and sizes: rmtheory/experiments/theorems/entries.py.

python validation/theorem42.py            # quick size (default)
python validation/theorem42.py --full     # the full size
python validation/theorem42.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem42")
