"""What a training run records: :class:`History`, and :class:`TrainingDiverged` when it cannot go on.

Its own module so that both the loop (:mod:`rmtheory.nn.train`) and the checkpoints
(:mod:`rmtheory.nn.checkpoint`) can import it without importing each other.

Examples
--------
>>> h = History()
>>> h.record(epoch=0, test_accuracy=0.5)
>>> History.from_dict(h.to_dict()).test_accuracy
[0.5]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["History", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; ``epoch`` and ``batch`` say where (0-based)."""

    def __init__(self, epoch: int, batch: int, value: float):
        super().__init__(
            f"loss became {value} at epoch {epoch}, batch {batch}; lower the learning rate or check "
            "the data (the last checkpoint, if any, is from before this epoch)"
        )
        self.epoch, self.batch, self.value = epoch, batch, value


@dataclass
class History:
    """Per-epoch records of a run (one list entry per epoch) and the pruning/sparsification events.

    Accuracies are fractions in [0, 1] (nan for regression). ``train_accuracy`` is the running accuracy of
    the training-mode predictions over the epoch and ``train_loss`` the mean over batches of loss +
    penalties, as the authors log them; ``test_loss`` is the mean NLL (or MSE) and ``test_loss_paper`` the
    authors' Σ_samples NLL / n_batches, the figure of Tables 3 and 6 (10 000 test samples in 79 batches
    of 128 give ≈ 126.6 × the mean).  ``events`` holds the hooks' event records
    (:class:`rmtheory.nn.protocols.PruneEvent` and friends: plain dicts) with ``"epoch"`` and
    ``"source"`` added.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_loss_paper: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    n_params: list[int] = field(default_factory=list)
    n_nonzero: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def record(self, **values: Any) -> None:
        for key, value in values.items():
            getattr(self, key).append(value)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**d)
