"""Validation script for ablation (beyond the paper's numbered figures): MP vs Gavish-Donoho vs
energy vs magnitude vs no pruning, with and without final ReLU.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/ablation.py            # quick size (default)
python validation/ablation.py --full     # the paper's size
python validation/ablation.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("ablation")
