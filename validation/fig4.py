"""Validation script for fig4 (Figure 4): Fashion-MNIST: training accuracy and loss vs epoch, normal
vs pruned.

Parameters and sizes: rmtheory/experiments/training/entries.py.

python validation/fig4.py            # quick size (default)
python validation/fig4.py --full     # the paper's size
python validation/fig4.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig4")
