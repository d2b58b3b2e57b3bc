"""Moved to :mod:`rmtheory.experiments.theory.regression`; this name keeps old imports working."""

from rmtheory.experiments.theory.regression import (  # noqa: F401
    CHOICES,
    TABLE7,
    default_lr_decay,
    regression_data,
    regression_run,
)

__all__ = ["CHOICES", "TABLE7", "default_lr_decay", "regression_data", "regression_run"]
