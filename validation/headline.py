"""Validation script for headline (parameters and sizes: rmtheory/experiments/catalog_headline.py).

python validation/headline.py            # quick size (default)
python validation/headline.py --full     # the paper's size
python validation/headline.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("headline")
