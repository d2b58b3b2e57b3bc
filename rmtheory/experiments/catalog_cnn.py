"""Moved to :mod:`rmtheory.experiments.cnn.entries`; this name keeps old imports working."""

from rmtheory.experiments.cnn.entries import (  # noqa: F401
    CNN_THRESHOLDS,
    FOLLOWS,
    QUICK_CHANNELS,
    QUICK_FC,
    SIZES,
)

__all__ = ["CNN_THRESHOLDS", "FOLLOWS", "QUICK_CHANNELS", "QUICK_FC", "SIZES"]
