"""Moved to :mod:`rmtheory.experiments.theory.compute`; this name keeps old imports working."""

from rmtheory.experiments.theory.compute import (  # noqa: F401
    confidence_run,
    polynomial_data,
    theta_directions,
    theta_sweep,
)

__all__ = ["confidence_run", "polynomial_data", "theta_directions", "theta_sweep"]
