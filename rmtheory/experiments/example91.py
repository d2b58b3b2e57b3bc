"""Moved to :mod:`rmtheory.experiments.bema.compute`; this name keeps old imports working."""

from rmtheory.experiments.bema.compute import (  # noqa: F401
    bema_sweeps,
    example_9_1_matrix,
    example_9_1_signal,
)

__all__ = ["bema_sweeps", "example_9_1_matrix", "example_9_1_signal"]
