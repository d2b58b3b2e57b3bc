"""Validation script for table7 (Table 7): Hyper-parameters of the regression problem (§10.3).

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/table7.py            # quick size (default)
python validation/table7.py --full     # the paper's size
python validation/table7.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("table7")
