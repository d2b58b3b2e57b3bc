"""Moved to :mod:`rmtheory.experiments.cnn.compute`; this name keeps old imports working."""

from rmtheory.experiments.cnn.compute import (  # noqa: F401
    CNN_METHODS,
    CNN_THRESHOLDS,
    accuracy_at,
    cifar_unavailable,
    cnn_run,
    fewest_within,
    final,
    load_images,
)

__all__ = [
    "CNN_METHODS",
    "CNN_THRESHOLDS",
    "accuracy_at",
    "cifar_unavailable",
    "cnn_run",
    "fewest_within",
    "final",
    "load_images",
]
