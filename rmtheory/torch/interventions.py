"""The headline's one-shot interventions (:mod:`rmtheory.nn.interventions`) on a PyTorch model.

:class:`LayerIntervention` is the NumPy class (same parameters, same events) driven as
``events = hook.step(model, optimizer, epoch)``: ``layer`` indexes the model's
:func:`~rmtheory.torch.matrix_layers`; the cut's rank comes from ``rank_from`` (a pruner of
:mod:`rmtheory.torch`) run on a copy; the cut is applied in place (the optimiser's state kept,
as the NumPy trainer keeps a buffer whose shape did not change), ``cut_reset`` and ``reset``
then clear every momentum buffer, and ``shake`` adds the same seeded N(0, 1) matrix, scaled to
``‖W − W_k‖_F``, that the NumPy class adds.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from rmtheory.nn import interventions as np_interventions
from rmtheory.torch.layers import is_factorised, matrix_layers, weight_matrix
from rmtheory.torch.pruners import plain

__all__ = ["LayerIntervention"]


def _cut_rank(rank_from: Any, model: nn.Module, index: int, epoch: int) -> dict:
    probe = copy.deepcopy(model)
    selected = copy.copy(rank_from)
    selected.layers = (index,)
    selected.reset_momentum = False
    events = [e for e in selected.prune(probe, epoch + 1) if e.get("layer") == index]
    if not events:
        raise ValueError(f"rank_from made no decision for layer {index}")
    return events[0]


class LayerIntervention(np_interventions.LayerIntervention):
    """:class:`rmtheory.nn.interventions.LayerIntervention` on a torch model (module docstring)."""

    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list:
        raise TypeError("rmtheory.torch.LayerIntervention: call step(model, optimizer, epoch)")

    def step(self, model: nn.Module, optimizer: Any = None, epoch: int = 0) -> list[dict]:
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")
        if epoch != self.at:
            return []
        found = matrix_layers(model)
        n = len(found)
        if not -n <= self.layer < n:
            raise ValueError(f"layer {self.layer} is out of range for a model with {n} layers")
        index = self.layer % n
        reset = [{"action": "momentum_reset", "reason": f"intervention {self.kind!r}"}]
        events: list[dict]
        if self.kind == "reset":
            events = reset
        else:
            module = found[index][1]
            if is_factorised(module):
                raise ValueError(f"layer {index} is split; an intervention acts on a dense layer")
            decision = _cut_rank(self.rank_from, model, index, epoch)
            W = weight_matrix(module).to(torch.float64)
            U, s, Vt = torch.linalg.svd(W, full_matrices=False)
            k = int(decision.get("rank_after", min(W.shape)))
            change = float(torch.sqrt(torch.sum(s[k:] ** 2)))  # ‖W − W_k‖_F
            event = {"layer": index, "shape": list(W.shape), "rank_before": min(W.shape),
                     "rank_after": k, "frobenius_change": change,
                     "cut_action": decision.get("action")}  # fmt: skip
            if self.kind in ("cut", "cut_reset"):
                new = (U[:, :k] * s[:k]) @ Vt[:k]
                event["action"] = "truncate"
            else:
                E = np.random.default_rng([self.seed, 1729]).standard_normal(tuple(W.shape))
                E *= change / max(float(np.linalg.norm(E)), 1e-300)
                new = W + torch.as_tensor(E, device=W.device)
                event.update(action="perturb", rank_after=min(W.shape))
            with torch.no_grad():  # in place: the optimiser keeps this weight's momentum
                module.weight.copy_(new.to(module.weight.dtype).reshape(module.weight.shape))
            events = [event, *reset] if self.kind == "cut_reset" else [event]
        if optimizer is not None and any(e.get("action") == "momentum_reset" for e in events):
            optimizer.state.clear()  # what re-creating the optimiser does
        return [plain({"epoch": epoch, "source": type(self).__name__, **e}) for e in events]
