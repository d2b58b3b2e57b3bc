"""Validation script for fig3 (Figure 3): Fashion-MNIST: test accuracy vs epoch, normal vs pruned
(mean ± std).

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig3.py            # quick size (default)
python validation/fig3.py --full     # the paper's size
python validation/fig3.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig3")
