"""Validation script for lemma53: Lemma 5.3: removing the random part R of W = R + S changes δ by at
most the shift.

Parameters and sizes: rmtheory/experiments/theorems/entries.py.

python validation/lemma53.py            # quick size (default)
python validation/lemma53.py --full     # the full size
python validation/lemma53.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("lemma53")
