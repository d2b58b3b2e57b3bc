"""Validation script for fig16 (Figure 16): Singular-vector overlaps of R + S vs the BGN prediction.

Parameters and sizes: rmtheory/experiments/spikes/entries.py.

python validation/fig16.py            # quick size (default)
python validation/fig16.py --full     # the paper's size
python validation/fig16.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig16")
