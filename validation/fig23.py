"""Validation script for fig23 (Figure 23): The regression data of §10.3 (noisy target on [0, 2]).

Parameters and sizes: rmtheory/experiments/theory/entries.py.

python validation/fig23.py            # quick size (default)
python validation/fig23.py --full     # the paper's size
python validation/fig23.py --smoke    # seconds (CI)
"""

from rmtheory.experiments import script_main

if __name__ == "__main__":
    script_main("fig23")
