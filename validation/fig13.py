"""Validation script for fig13 (Figure 13): θ(N) = ||W' - S||_op vs N and its limit f(σ_r) (Ex 5.5).

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig13.py            # quick size (default)
python validation/fig13.py --full     # the paper's size
python validation/fig13.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig13")
