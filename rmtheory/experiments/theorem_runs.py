"""Moved to :mod:`rmtheory.experiments.theorems.compute`; this name keeps old imports working."""

from rmtheory.experiments.theorems.compute import (  # noqa: F401
    DEVIATION_GRID,
    RATIO_GRID,
    _exceed,
    borell_tis_sweep,
    chi_mean,
    example55_net,
    gaussian_max_moments,
    lemma53_sweep,
    mp_distance_sweep,
    random_entries,
    theorem54_sweep,
    theorem57_planted,
    theorem57_trained,
)

__all__ = [
    "DEVIATION_GRID",
    "RATIO_GRID",
    "borell_tis_sweep",
    "chi_mean",
    "example55_net",
    "gaussian_max_moments",
    "lemma53_sweep",
    "mp_distance_sweep",
    "random_entries",
    "theorem54_sweep",
    "theorem57_planted",
    "theorem57_trained",
]
