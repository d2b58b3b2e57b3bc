"""Validation script for fig15 (Figure 15): Wigner matrix plus a rank-one spike: outlier and
eigenvector overlap (Ex 5.6).

Parameters and sizes: rmtheory/experiments/spikes/entries.py.

python validation/fig15.py            # quick size (default)
python validation/fig15.py --full     # the paper's size
python validation/fig15.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig15")
