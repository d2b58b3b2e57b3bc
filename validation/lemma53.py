"""Validation script for lemma53 (parameters and sizes: rmtheory/experiments/catalog_theorems.py).

python validation/lemma53.py            # quick size (default)
python validation/lemma53.py --full     # the full size
python validation/lemma53.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("lemma53")
