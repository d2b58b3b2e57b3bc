"""Validation script for ablation (parameters and sizes: rmtheory/experiments/catalog.py).

python validation/ablation.py            # quick size (default)
python validation/ablation.py --full     # the paper's size
python validation/ablation.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("ablation")
