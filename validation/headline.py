"""Validation script for headline (beyond the paper's numbered figures): The headline gain as the
authors ran it, and the ingredient that causes it.

Parameters and sizes: rmtheory/experiments/training/headline.py.

python validation/headline.py            # quick size (default)
python validation/headline.py --full     # the paper's size
python validation/headline.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("headline")
