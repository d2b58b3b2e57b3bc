"""The paper's theory figures: Lemma 5.1 on trained nets, θ(N), confidence, §10.3 regression
(Figs 12-14, 23-26, Table 7).

``compute`` (and ``regression``) hold the per-seed computations (plain data); ``entries`` plots,
judges and registers them.
"""
