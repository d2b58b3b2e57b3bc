"""Validation script for theorem54: Theorem 5.4: pruning W = R + S at the MP edge changes δ by at
most the shift.

Parameters and sizes: rmtheory/experiments/theorems/entries.py.

python validation/theorem54.py            # quick size (default)
python validation/theorem54.py --full     # the full size
python validation/theorem54.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("theorem54")
