"""Spiked models: outlier eigenvalues and overlaps of a low-rank signal plus noise (Figs 15, 16).

``compute`` holds the per-seed computations (plain data); ``entries`` plots, judges and
registers them.
"""

# the family's old module path (rmtheory.experiments.spikes) is this package: its compute
# names stay importable from here
from rmtheory.experiments.spikes.compute import (  # noqa: F401, E402
    square_spike_overlaps,
    wigner_spikes,
)

__all__ = ["square_spike_overlaps", "wigner_spikes"]
