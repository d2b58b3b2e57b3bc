"""The paper's numbered statements checked by Monte Carlo (Theorems 4.2, 5.4, 5.7, 8.2, Lemma 5.3).

``compute`` holds the per-seed computations (plain data); ``entries`` plots, judges and
registers them.
"""
