"""Moved to :mod:`rmtheory.experiments.training.headline` (the entry) and
:mod:`rmtheory.experiments.training.protocol` (the runs); this name keeps old imports working."""

from rmtheory.experiments.rules import paired, paired_difference
from rmtheory.experiments.training.headline import (  # noqa: F401
    HEADLINE_SIZES,
    PAPER_NORMAL,
    PAPER_PRUNED,
)
from rmtheory.experiments.training.protocol import (  # noqa: F401
    ARMS,
    DEAD_FRACTION,
    HEADLINE_ARMS,
    TABLE_ARMS,
    checkpoint_dir,
    protocol_run,
    run_headline_arms,
    run_protocol_table,
)

_checkpoints = checkpoint_dir  # the old private name (tools/run_full_background.py once used it)

__all__ = [
    "ARMS",
    "DEAD_FRACTION",
    "HEADLINE_ARMS",
    "HEADLINE_SIZES",
    "PAPER_NORMAL",
    "PAPER_PRUNED",
    "TABLE_ARMS",
    "checkpoint_dir",
    "paired",
    "paired_difference",
    "protocol_run",
    "run_headline_arms",
    "run_protocol_table",
]
