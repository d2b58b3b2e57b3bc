"""Moved to :mod:`rmtheory.experiments.training.headline`; this name keeps old imports working."""

from rmtheory.experiments.training.headline import (  # noqa: F401
    ARMS,
    DEAD_FRACTION,
    HEADLINE_ARMS,
    HEADLINE_SIZES,
    PAPER_NORMAL,
    PAPER_PRUNED,
    TABLE_ARMS,
    _checkpoints,
    paired,
    paired_difference,
    run_headline_arms,
    run_protocol_table,
)

__all__ = [
    "ARMS",
    "DEAD_FRACTION",
    "HEADLINE_ARMS",
    "HEADLINE_SIZES",
    "PAPER_NORMAL",
    "PAPER_PRUNED",
    "TABLE_ARMS",
    "paired",
    "paired_difference",
    "run_headline_arms",
    "run_protocol_table",
]
