"""Moved to :mod:`rmtheory.experiments.training.entries`; this name keeps old imports working."""

from rmtheory.experiments.training.entries import (  # noqa: F401
    ABLATION_METHODS,
    FIG21_PAPER,
    FOLLOWS,
    FULL_TOPOLOGY,
    PAPER,
    SMOKE_NET,
    TABLE_ARMS,
    _claims_accuracy,
)

__all__ = [
    "ABLATION_METHODS",
    "FIG21_PAPER",
    "FOLLOWS",
    "FULL_TOPOLOGY",
    "PAPER",
    "SMOKE_NET",
    "TABLE_ARMS",
]
