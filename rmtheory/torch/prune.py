"""One-shot use on a trained PyTorch model: prune it once, sparsify it, sweep the sparsity."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rmtheory.nn.methods import TrainingHooks
from rmtheory.nn.methods import training_hooks as _table
from rmtheory.nn.sparsify import DEFAULT_THRESHOLDS
from rmtheory.torch.pruners import (
    EnergyPruner,
    GavishDonohoPruner,
    MagnitudePruner,
    MomentumReset,
    MPPruner,
    n_nonzero,
    plain,
    sparsify,
)

__all__ = ["TORCH_CLASSES", "accuracy", "prune_model", "sparsify_sweep", "training_hooks"]

#: The method table's roles filled with this backend's classes (:data:`rmtheory.nn.methods.NUMPY_CLASSES`).
TORCH_CLASSES: Mapping[str, type] = {
    "MPPruner": MPPruner, "GavishDonohoPruner": GavishDonohoPruner, "EnergyPruner": EnergyPruner,
    "MomentumReset": MomentumReset, "Sparsifier": MagnitudePruner,
}  # fmt: skip

_RANK_METHODS = ("mp", "gavish_donoho", "energy")


def training_hooks(method: str, *, strict: bool = True, **settings: Any) -> TrainingHooks:
    """The method table (:func:`rmtheory.nn.methods.training_hooks`) with this backend's hooks.

    >>> training_hooks("mp", every=7, T=50).pruner.every
    7
    """
    return _table(method, strict=strict, classes=TORCH_CLASSES, **settings)


def prune_model(
    model: nn.Module,
    method: str = "mp",
    *,
    optimizer: Any = None,
    n_classes: Any = "auto",
    epoch: int = 1,
    **settings: Any,
) -> list[dict]:
    """One pass of Algorithm 1 (``method`` ``"mp"``, ``"gavish_donoho"`` or ``"energy"``) on a
    trained model, in place; returns the events (one per matrix layer).

    ``settings`` are the method's (:data:`rmtheory.nn.METHOD_SPECS`): ``alpha``, ``beta``,
    ``gof_cutoff``, ``keep_fraction`` (default 0: keep only the values above the threshold),
    ``layers``, ``protect_output``, …; ``epoch`` is the 1-based epoch a ``keep_fraction`` callable
    is evaluated at.  ``optimizer``, if given, is kept in step (see :mod:`rmtheory.torch.pruners`).
    """
    if method not in _RANK_METHODS:
        raise ValueError(f"method must be one of {_RANK_METHODS} for prune_model, got {method!r}"
                         " (magnitude pruning: rmtheory.torch.sparsify)")  # fmt: skip
    pruner = training_hooks(method, **settings).pruner
    events = pruner.prune(model, epoch, n_classes, optimizer)
    return [plain({"source": type(pruner).__name__, **e}) for e in events]


def _as_tensor(a: Any, device: torch.device, dtype: torch.dtype | None) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    return t.to(device=device, dtype=dtype) if dtype is not None else t.to(device)


def accuracy(model: nn.Module, X: Any, y: Any, batch_size: int = 1024) -> float:
    """Fraction of ``argmax model(X) == y`` in evaluation mode (the mode is restored after)."""
    p = next(model.parameters())
    X, y = _as_tensor(X, p.device, p.dtype), _as_tensor(y, p.device, None)
    was = model.training
    model.eval()
    correct = 0
    try:
        with torch.no_grad():
            for s in range(0, len(X), batch_size):
                correct += int(
                    (model(X[s : s + batch_size]).argmax(1) == y[s : s + batch_size]).sum()
                )
    finally:
        model.train(was)
    return correct / len(X)


def sparsify_sweep(
    model: nn.Module,
    test_data: tuple,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    batch_size: int = 1024,
) -> list[tuple[int, float]]:
    """``(n_nonzero, test accuracy)`` of a copy of ``model`` sparsified at each threshold (same order).

    As :func:`rmtheory.nn.sparsify_sweep`: ``n_nonzero`` counts every parameter, biases included;
    the model itself is not modified.
    """
    ths = [float(t) for t in thresholds]
    if not ths or any(not math.isfinite(t) or t < 0 for t in ths):
        raise ValueError(f"thresholds must be a non-empty list of finite numbers >= 0, got {ths}")
    if not (isinstance(test_data, tuple | list) and len(test_data) == 2):
        raise TypeError("test_data must be an (X, y) tuple")
    work = copy.deepcopy(model)
    results: dict[int, tuple[int, float]] = {}
    for i in sorted(range(len(ths)), key=ths.__getitem__):
        sparsify(work, ths[i])
        results[i] = (n_nonzero(work), accuracy(work, *test_data, batch_size=batch_size))
    return [results[i] for i in range(len(ths))]
