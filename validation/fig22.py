"""Validation script for fig22 (Figure 22): He and Xavier initialisations with MP pruning and L1+L2
(test accuracy vs epoch).

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig22.py            # quick size (default)
python validation/fig22.py --full     # the paper's size
python validation/fig22.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig22")
