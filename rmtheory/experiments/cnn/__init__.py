"""The convolutional experiments (Figs 7-11): pruned and normal CNNs, sparsification sweeps.

``compute`` holds the per-seed computations (plain data); ``entries`` plots, judges and
registers them.
"""
