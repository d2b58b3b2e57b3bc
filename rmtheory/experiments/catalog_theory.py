"""Moved to :mod:`rmtheory.experiments.theory.entries`; this name keeps old imports working."""

from rmtheory.experiments.theory.entries import (  # noqa: F401
    CHOICES,
    CONF_TRAIN,
    FAILED_MSE,
    POLY_DATA,
    POLY_FOLLOWS,
    REG_DATA,
    REG_FOLLOWS,
    TABLE7,
)

__all__ = [
    "CHOICES",
    "CONF_TRAIN",
    "FAILED_MSE",
    "POLY_DATA",
    "POLY_FOLLOWS",
    "REG_DATA",
    "REG_FOLLOWS",
    "TABLE7",
]
