"""Moved to :mod:`rmtheory.experiments.theorems.entries`; this name keeps old imports working."""

from rmtheory.experiments.theorems.entries import (  # noqa: F401
    ALPHA,
    EX55,
    EX55_FOLLOWS,
    _quantile_from_counts,
)

__all__ = ["ALPHA", "EX55", "EX55_FOLLOWS"]
