"""Algorithm 1 and its baselines on a PyTorch model, called from the user's own training loop.

Each pruner *is* its NumPy namesake (:mod:`rmtheory.nn.pruners`: same parameters, same meaning,
the same rank rule from :mod:`rmtheory.thresholds`, the same keep rule and the same event
records) with the layer surgery done on ``torch`` modules::

    pruner = MPPruner(every=7, keep_fraction=linear_schedule(50))
    for epoch in range(epochs):
        events = pruner.step(model, optimizer, epoch)   # before the epoch, as the NumPy trainer
        train_one_epoch(model, optimizer)

``step`` follows the NumPy trainer's calendar: ``epoch`` is 0-based and about to be trained, the
pass fires when ``(epoch + 1) % every == 0`` (not before the first epoch unless
``prune_at_start``).  Per layer: the singular values of its matrix view, in float64 on the
layer's device (values only); the threshold and the MP fit from the NumPy rule; a split into two
layers (:class:`~rmtheory.torch.layers.FactorizedLinear`, :class:`~rmtheory.torch.layers.
FactorizedConv2d`) only when it saves parameters, else a truncation in place (a top-k SVD on the
device, then).  The optimiser is kept in step as the NumPy trainer keeps its momentum: the new
parameters are registered in the group of the weight they replace, removed ones leave it, and the
state is reset — all of it after a pass that changed a layer when ``reset_momentum`` is true (or
``"always"``, after every pass), else only for the parameters whose shape changed (a bias keeps
its state: the same ``Parameter`` moves into the split).

Events are the NumPy trainer's ``History.events`` records (``epoch`` and ``source`` added, plain
JSON types) plus ``name``, the module's qualified name.  ``layer`` and ``layers=`` index the
list of :func:`~rmtheory.torch.layers.matrix_layers` (the NumPy trainer indexes ``model.layers``,
which for a CNN also holds pooling and normalisation layers).  Layers carry ``kind`` (``"conv"``
/ ``"dense"``) in their events when the model holds a convolution, as the NumPy CNN's do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

import rmtheory.nn.pruners as np_pruners
from rmtheory.nn.protocols import PruneEvent
from rmtheory.nn.pruners import finish_event, selected_layers
from rmtheory.nn.sparsify import Sparsifier as NumpySparsifier
from rmtheory.torch.layers import (
    FactorizedConv2d,
    FactorizedLinear,
    is_factorised,
    layer_params,
    matrix_layers,
    weight_matrix,
)

__all__ = [
    "EnergyPruner",
    "GavishDonohoPruner",
    "MPPruner",
    "MagnitudePruner",
    "MomentumReset",
    "NoPruner",
    "n_nonzero",
    "plain",
    "sparsify",
    "spectrum",
]


def plain(obj: Any) -> Any:
    """Event records as plain JSON types (numpy and torch scalars converted)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray | np.generic | torch.Tensor):
        return obj.tolist()
    return obj


def _check_optimizer(optimizer: Any) -> None:
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _reset_all(optimizer: torch.optim.Optimizer | None) -> None:
    if optimizer is not None:
        optimizer.state.clear()  # what re-creating the optimiser does, as the authors' passes


def _swap_params(optimizer: Any, old: list[nn.Parameter], new: list[nn.Parameter]) -> None:
    """Replace ``old`` by ``new`` in the optimiser's group that holds ``old[0]``; drop old state."""
    if optimizer is None:
        return
    for p in old:
        optimizer.state.pop(p, None)
    for group in optimizer.param_groups:
        where = [i for i, p in enumerate(group["params"]) if any(p is o for o in old)]
        if where:
            kept = [p for p in group["params"] if not any(p is o for o in old)]
            group["params"] = kept[: where[0]] + list(new) + kept[where[0] :]
            return
    # the layer was not being optimised (frozen): its replacement is not either


class _LayerView:
    """A torch matrix layer seen through the NumPy layer's interface (what ``plan`` reads)."""

    def __init__(self, module: nn.Module, kind: str | None):
        self.module = module
        W = module.weight
        self.shape = (int(W.shape[0]), int(W[0].numel()))
        self.is_factorised = is_factorised(module)
        self.rank = module.rank if self.is_factorised else min(self.shape)
        if kind is not None:
            self.kind = kind

    def n_params(self) -> int:
        return sum(int(p.numel()) for p in layer_params(self.module))


def _kind(module: nn.Module) -> str:
    return "conv" if isinstance(module, nn.Conv2d | FactorizedConv2d) else "dense"


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def spectrum(module: nn.Module) -> np.ndarray:
    """Singular values (descending, float64) of a layer's matrix view, computed on its device."""
    W = weight_matrix(module)
    return torch.linalg.svdvals(W.to(torch.float64)).cpu().numpy()


def _svd64(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The float64 thin SVD of ``W`` on its device, serving both the rule and the cut (as the
    NumPy pruner's one SVD).  On the CPU it is the NumPy backend's LAPACK call
    (:func:`rmtheory.lowrank.svd`, gesdd): torch's CPU SVD, and an ``svdvals`` before it, made
    a pass 3-7x slower than NumPy's (``benchmarks/bench_torch.py``)."""
    if W.device.type == "cpu":
        from rmtheory.lowrank import svd

        U, s, Vt = svd(W.detach().to(torch.float64).numpy())
        return torch.from_numpy(U), torch.from_numpy(s), torch.from_numpy(Vt)
    return torch.linalg.svd(W.detach().to(torch.float64), full_matrices=False)


class _TorchRankPruner:
    """The surgery of Algorithm 1 on torch modules; mixed into each NumPy pruner class."""

    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list:
        raise TypeError(
            f"rmtheory.torch.{type(self).__name__} prunes torch models: call "
            "pruner.step(model, optimizer, epoch) from your loop (rmtheory.nn has the NumPy one)"
        )

    def step(
        self, model: nn.Module, optimizer: Any = None, epoch: int = 0, n_classes: Any = "auto"
    ) -> list[PruneEvent]:
        """Prune before 0-based ``epoch`` when ``(epoch + 1) % every == 0``; returns the events.

        ``n_classes`` protects the output layer (``protect_output``); ``"auto"`` takes the output
        width of the last matrix layer, ``None`` protects nothing (regression).
        """
        _check_model(model)
        _check_optimizer(optimizer)
        if (epoch + 1) % self.every:
            return []
        if epoch == 0 and not self.prune_at_start:
            return [plain({"epoch": epoch, "source": type(self).__name__, "action": "skip",
                           "reason": "untrained weights before the first epoch "
                           "(prune_at_start=False)"})]  # fmt: skip
        events = self.prune(model, epoch + 1, n_classes, optimizer)
        return [plain({"epoch": epoch, "source": type(self).__name__, **e}) for e in events]

    def prune(
        self, model: nn.Module, epoch: int, n_classes: Any = "auto", optimizer: Any = None
    ) -> list[PruneEvent]:
        """One pass of Algorithm 1 over every matrix layer of ``model`` (1-based ``epoch``)."""
        _check_model(model)
        _check_optimizer(optimizer)
        found = matrix_layers(model)
        f = self.fraction(epoch)
        rule = self.rule()
        with_conv = any(_kind(m) == "conv" for _, m in found)
        if n_classes == "auto":
            n_classes = _LayerView(found[-1][1], None).shape[0] if found else None
        chosen = selected_layers(self.layers, len(found)) if found else set()
        events, changed = [], False
        for i, (name, module) in enumerate(found):
            if i not in chosen:
                continue
            view = _LayerView(module, _kind(module) if with_conv else None)
            min_rank = (
                n_classes if (self.protect_output and i == len(found) - 1 and n_classes) else 1
            )
            event = self._prune_module(model, name, view, i, rule, f,
                                       min(min_rank, min(view.shape)), optimizer)  # fmt: skip
            changed |= event["action"] in ("truncate", "split")
            events.append({**event, "name": name})
        if self.reset_momentum == "always":
            events.append({"action": "momentum_reset", "reason": "reset_momentum='always'"})
        if self.reset_momentum and (changed or self.reset_momentum == "always"):
            _reset_all(optimizer)
        return events

    def _prune_module(self, model, name, view, index, rule, f, min_rank, optimizer) -> PruneEvent:
        cutoff = self.cutoff_for(view)
        U, s_dev, Vt = _svd64(weight_matrix(view.module))
        s = s_dev.cpu().numpy()
        event, action, k = self.plan(view, index, s, rule, f, min_rank, cutoff)
        if action in ("truncate", "split"):
            event = self._cut(model, name, view, k, action, optimizer, event, (U, s_dev, Vt))
            return finish_event(event, action, k, view.n_params())
        return finish_event(event, action, k, event["params_before"])

    def _cut(self, model, name, view, k, action, optimizer, event, decomposition) -> PruneEvent:
        module = view.module
        W = weight_matrix(module)
        U, s, Vt = decomposition
        dtype = module.bias.dtype if module.bias is not None else W.dtype
        if action == "truncate":
            with torch.no_grad():
                Wk = (U[:, :k] * s[:k]) @ Vt[:k]
                module.weight.copy_(Wk.to(dtype).reshape(module.weight.shape))
            return event
        root = torch.sqrt(s[:k])
        W1, W2 = (Vt[:k] * root[:, None]).to(dtype), (U[:, :k] * root).to(dtype)
        old = layer_params(module)
        bias = module.bias
        cls = FactorizedConv2d if _kind(module) == "conv" else FactorizedLinear
        new = cls(W1, W2, bias, module) if cls is FactorizedConv2d else cls(W1, W2, bias)
        if view.is_factorised and self.drop_bias_on_resplit and bias is not None:
            with torch.no_grad():
                bias.zero_()  # the authors' swallowed AttributeError loses the bias here
            event["bias_dropped"] = True
        _set_module(model, name, new)
        keep = [p for p in old if p is bias]
        _swap_params(optimizer, [p for p in old if p is not bias],
                     [p for p in layer_params(new) if not any(p is q for q in keep)])  # fmt: skip
        view.module = new
        return event


class MPPruner(_TorchRankPruner, np_pruners.MPPruner):
    """:class:`rmtheory.nn.MPPruner` (Algorithm 1, BEMA threshold) on a PyTorch model.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> torch.manual_seed(0) and None
    >>> model = nn.Sequential(nn.Linear(60, 50), nn.ReLU(), nn.Linear(50, 10))
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> events = MPPruner(every=1, prune_at_start=True).step(model, opt, epoch=0)
    >>> [(e["name"], e["action"], e["rank_after"]) for e in events]  # doctest: +ELLIPSIS
    [('0', 'split', ...), ('2', 'skip', 10)]
    >>> type(model[0]).__name__
    'FactorizedLinear'
    >>> sum(p.numel() for g in opt.param_groups for p in g["params"]) == sum(
    ...     p.numel() for p in model.parameters())           # the optimiser holds the new factors
    True
    """


class GavishDonohoPruner(_TorchRankPruner, np_pruners.GavishDonohoPruner):
    """:class:`rmtheory.nn.GavishDonohoPruner` on a PyTorch model."""


class EnergyPruner(_TorchRankPruner, np_pruners.EnergyPruner):
    """:class:`rmtheory.nn.EnergyPruner` on a PyTorch model."""


class MomentumReset(np_pruners.MomentumReset):
    """:class:`rmtheory.nn.MomentumReset` on a torch optimiser: its state cleared at the passes."""

    def step(self, model: nn.Module, optimizer: Any = None, epoch: int = 0) -> list[dict]:
        _check_optimizer(optimizer)
        events = super().on_epoch_start(model, epoch)
        if events:
            _reset_all(optimizer)
        return [plain({"epoch": epoch, "source": type(self).__name__, **e}) for e in events]


class NoPruner(np_pruners.NoPruner):
    """The unpruned baseline with the ``step`` interface."""

    def step(self, model: nn.Module, optimizer: Any = None, epoch: int = 0) -> list[dict]:
        return []


def _weights(model: nn.Module) -> Iterable[nn.Parameter]:
    for _, module in matrix_layers(model):
        yield from (p for p in layer_params(module) if p is not module.bias)


def n_nonzero(model: nn.Module) -> int:
    """Nonzero entries of all of ``model``'s parameters (biases and normalisation included)."""
    return sum(int(torch.count_nonzero(p)) for p in model.parameters())


def sparsify(model: nn.Module, threshold: float) -> int:
    """Zero every weight with ``|w| <= threshold`` (Linear and Conv2d weights, both factors of a
    split), in place; biases untouched.  Returns the number zeroed (as :func:`rmtheory.nn.sparsify`).
    """
    _check_model(model)
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    zeroed = 0
    with torch.no_grad():
        for w in _weights(model):
            small = w.abs() <= threshold
            zeroed += int(torch.count_nonzero(small & (w != 0)))
            w.masked_fill_(small, 0)
    return zeroed


class MagnitudePruner(NumpySparsifier):
    """:class:`rmtheory.nn.Sparsifier` (magnitude sparsification during training) on a torch model.

    ``step(model, optimizer, epoch)`` zeroes ``|w| <= ξ(epoch)`` before epochs ``every``,
    ``2·every``, …; with ``keep_mask=True`` the zeros are re-applied after every
    ``optimizer.step()`` (a post-step hook registered on the optimiser; :meth:`after_step` does the
    same by hand).  A layer whose shape a pruner changed loses its mask until the next pass.
    """

    def __post_init__(self):
        super().__post_init__()
        self._hooked: set[int] = set()

    def step(self, model: nn.Module, optimizer: Any = None, epoch: int = 0) -> list[dict]:
        _check_model(model)
        _check_optimizer(optimizer)
        if epoch == 0 or epoch % self.every:
            return []
        xi = self.threshold(epoch)
        before = n_nonzero(model)
        sparsify(model, xi)
        if self.keep_mask:
            weights = list(_weights(model))
            old = self.masks if len(self.masks) == len(weights) else [None] * len(weights)
            new = []
            for w, prev in zip(weights, old, strict=True):
                m = w.detach() != 0
                if prev is not None and prev.shape == m.shape:
                    m &= prev.to(m.device)
                new.append(m)
            self.masks = new
            self._model = model
            if optimizer is not None and id(optimizer) not in self._hooked:
                optimizer.register_step_post_hook(lambda opt, args, kwargs: self.after_step())
                self._hooked.add(id(optimizer))
        event = {"kind": "sparsify", "threshold": xi, "nonzero_before": before,
                 "nonzero_after": n_nonzero(model)}  # fmt: skip
        return [plain({"epoch": epoch, "source": type(self).__name__, **event})]

    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list:
        raise TypeError("rmtheory.torch.MagnitudePruner: call step(model, optimizer, epoch)")

    def after_step(self, model: nn.Module | None = None) -> None:
        """Re-apply the zero mask (``keep_mask``); layers whose shape changed lose theirs."""
        model = model if model is not None else getattr(self, "_model", None)
        if not self.keep_mask or not self.masks or model is None:
            return
        weights = list(_weights(model))
        if len(weights) != len(self.masks):
            self.masks = []
            return
        with torch.no_grad():
            for i, (w, m) in enumerate(zip(weights, self.masks, strict=True)):
                if m is None:
                    continue
                if m.shape != w.shape:
                    self.masks[i] = None
                    continue
                if m.device != w.device:  # a mask restored from a checkpoint is on the CPU
                    self.masks[i] = m = m.to(w.device)
                w.mul_(m)

    def state_dict(self) -> dict:
        return {"masks": [None if m is None else m.cpu().numpy() for m in self.masks]}

    def load_state_dict(self, d: dict) -> None:
        self.masks = [None if m is None else torch.as_tensor(np.asarray(m, bool))
                      for m in d["masks"]]  # fmt: skip
