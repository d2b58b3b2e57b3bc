"""Validation script for theorem57: Theorem 5.7 (Pruning Theorem for accuracy): planted Ex 5.5 nets
and trained nets.

Parameters and sizes: rmtheory/experiments/theorems/entries.py.

python validation/theorem57.py            # quick size (default)
python validation/theorem57.py --full     # the full size
python validation/theorem57.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem57")
