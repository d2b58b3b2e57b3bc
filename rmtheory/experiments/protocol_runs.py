"""Moved to :mod:`rmtheory.experiments.training.protocol`; this name keeps old imports working."""

from rmtheory.experiments.training.protocol import (  # noqa: F401
    ARMS,
    DEAD_FRACTION,
    protocol_run,
)

__all__ = ["ARMS", "DEAD_FRACTION", "protocol_run"]
