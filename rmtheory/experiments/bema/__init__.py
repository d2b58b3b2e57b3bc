"""BEMA on the matrix of Example 9.1: the MP edge against alpha and beta (Figs 17, 18).

``compute`` holds the per-seed computations (plain data); ``entries`` plots, judges and
registers them.
"""
