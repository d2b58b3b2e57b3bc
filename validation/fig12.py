"""Validation script for fig12 (Figure 12): Classification confidence δ on the polynomial test set
and Lemma 5.1 (Ex 5.2).

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig12.py            # quick size (default)
python validation/fig12.py --full     # the paper's size
python validation/fig12.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig12")
