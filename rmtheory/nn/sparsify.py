"""Sparsification: zero the small weights, after training (a sweep) or during it (a growing threshold).

The authors' ``naive_prune`` (algorithms.md §1.6) keeps ``|w| > ξ`` in every weight matrix, both factors of a
split layer included, and leaves the biases alone. The post-training sweep over ``ξ_k = 1/(1 + k)``,
k = 0..49, gives the (nonzero parameters, accuracy) points of the paper's Figs 6, 9 and 11; during training
ξ grows linearly from 0.001 to 0.02 and is applied every 5 epochs (the Fashion-MNIST run of §4.2.1).

In a CNN (:class:`rmtheory.nn.cnn.CNN`) the weights are those of the convolutions (both factors of a
split one) and of the fully connected layers, as the authors' ``naive_prune`` touches every ``Conv2d``
and ``Linear``; batch-norm scales and shifts, like biases, are left alone but counted by ``n_nonzero``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from rmtheory.nn.model import MLP
from rmtheory.nn.protocols import SparsifyEvent
from rmtheory.nn.train import _check_data, _evaluate

DEFAULT_THRESHOLDS = tuple(1.0 / (1 + k) for k in range(50))


def sparsify(model: MLP, threshold: float) -> int:
    """Set every weight with ``|w| <= threshold`` to zero, in place; biases untouched. Returns #zeroed.

    Examples
    --------
    >>> net = MLP([4, 3, 2], seed=0)
    >>> before = net.n_nonzero(); k = sparsify(net, 0.3)
    >>> net.n_nonzero() == before - k
    True
    """
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    zeroed = 0
    for layer in model.layers:
        for f in getattr(layer, "factors", ()):  # no factors: pooling, batch norm, dropout, ...
            small = np.abs(f) <= threshold
            zeroed += int(np.count_nonzero(small & (f != 0)))
            f[small] = 0
    return zeroed


def sparsify_sweep(
    model: MLP,
    test_data: tuple,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    batch_size: int = 128,
) -> list[tuple[int, float]]:
    """``(n_nonzero, test accuracy)`` of a copy of ``model`` sparsified at each threshold ξ (same order).

    ``n_nonzero`` counts all parameters (biases included), the x-axis of Figs 6, 9, 11; the model itself is
    not modified. Thresholds are applied in increasing order to one copy, which is the same as sparsifying
    the trained model afresh at each ξ because zeroing ``|w| <= ξ`` is monotone in ξ.

    Examples
    --------
    >>> net = MLP([2, 8, 2], seed=0)
    >>> X = np.ones((4, 2), np.float32); y = np.array([0, 1, 0, 1])
    >>> [n for n, _ in sparsify_sweep(net, (X, y), [10.0, 0.0])]  # the biases start at 0
    [0, 32]
    """
    ths = [float(t) for t in thresholds]
    if not ths or any(not math.isfinite(t) or t < 0 for t in ths):
        raise ValueError(f"thresholds must be a non-empty list of finite numbers >= 0, got {ths}")
    X, y = _check_data(model, test_data, "cross_entropy", "test_data")
    work = model.copy()
    results: dict[int, tuple[int, float]] = {}
    for i in sorted(range(len(ths)), key=ths.__getitem__):
        sparsify(work, ths[i])
        results[i] = (work.n_nonzero(), _evaluate(work, X, y, "cross_entropy", batch_size)[2])
    return [results[i] for i in range(len(ths))]


@dataclass
class Sparsifier:
    """Sparsification during training: every ``every`` epochs zero the weights with ``|w| <= ξ(e)``.

    ``ξ(e) = min(start + (stop − start)·e / ramp_epochs, stop)`` where e is the number of completed
    epochs (the authors' notebook: every 5 epochs, 0.001 → 0.02 over the 20-epoch run). It acts before
    epochs e = every, 2·every, … (not before the first). With ``keep_mask=True`` the zeroed weights stay
    zero: the mask is re-applied after every optimiser step (a layer whose shape a pruner changes loses
    its mask until the next sparsification). Follows the trainer's pruner protocol.

    Examples
    --------
    >>> s = Sparsifier(every=5, start=0.001, stop=0.02, ramp_epochs=20)
    >>> [round(s.threshold(e), 5) for e in (5, 10, 20, 30)]
    [0.00575, 0.0105, 0.02, 0.02]
    """

    every: int = 5
    start: float = 0.001
    stop: float = 0.02
    ramp_epochs: int = 20
    keep_mask: bool = False
    reset_momentum: bool = False
    masks: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.every < 1 or self.ramp_epochs < 1:
            raise ValueError("every and ramp_epochs must be >= 1")
        if not (0 <= self.start <= self.stop and math.isfinite(self.stop)):
            raise ValueError(f"need 0 <= start <= stop < inf, got {self.start}, {self.stop}")

    def get_params(self) -> dict[str, Any]:
        """The settings, by name (the masks are state, not settings)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "masks"}

    def threshold(self, epoch: int) -> float:
        return min(self.start + (self.stop - self.start) * epoch / self.ramp_epochs, self.stop)

    def on_epoch_start(
        self, model: MLP, epoch: int, n_classes: int | None = None
    ) -> list[SparsifyEvent]:
        if epoch == 0 or epoch % self.every:
            return []
        xi = self.threshold(epoch)
        before = model.n_nonzero()
        sparsify(model, xi)
        if self.keep_mask:
            old = self.masks if len(self.masks) == len(model.layers) else [None] * len(model.layers)
            self.masks = []
            for layer, prev in zip(model.layers, old, strict=True):
                new = [f != 0 for f in getattr(layer, "factors", ())]
                if prev is not None and [m.shape for m in prev] == [m.shape for m in new]:
                    new = [n & p for n, p in zip(new, prev, strict=True)]
                self.masks.append(new)
        after = model.n_nonzero()
        return [
            {"kind": "sparsify", "threshold": xi, "nonzero_before": before, "nonzero_after": after}
        ]

    def after_step(self, model: MLP) -> None:
        if not self.keep_mask or not self.masks:
            return
        for i, (layer, masks) in enumerate(zip(model.layers, self.masks, strict=True)):
            if masks is None:
                continue
            factors = getattr(layer, "factors", ())
            if [m.shape for m in masks] != [f.shape for f in factors]:
                self.masks[i] = None  # a pruner reshaped this layer
                continue
            for f, m in zip(factors, masks, strict=True):
                np.multiply(f, m, out=f)

    def state_dict(self) -> dict:
        return {"masks": self.masks}

    def load_state_dict(self, d: dict) -> None:
        self.masks = [None if m is None else [np.asarray(a, bool) for a in m] for m in d["masks"]]
