"""One-shot interventions on a layer during training: the controls that tell a rank cut from a shake.

The headline effect (``docs/headline.md``) is that the authors' rank cut of the output layer revives
output units that a final ReLU killed.  Three things happen at once at their first pass: the output
matrix is cut to low rank, the momentum is reset (they re-create the optimiser) and the weights
move.  :class:`LayerIntervention` applies exactly one of these, once, before a chosen epoch, so an
experiment can start from the same epoch-1 state and ask which of them revives the units:

``cut``
    the rank cut Algorithm 1 would make on this layer at this pass (the rank is read off the
    pruner given as ``rank_from``, run on a copy), applied *in place* (the layer stays dense, so
    its momentum buffer is kept: no reset of any kind);
``cut_reset``
    the same cut, then every momentum buffer reset (what the authors' pass does to this layer);
``shake``
    a random perturbation of the layer's weight with the Frobenius norm of the change the cut would
    have made, ``‖E‖_F = ‖W − W_k‖_F``, momentum kept (the control: any shake of that size);
``reset``
    the momentum reset alone, no weight change.

The hook follows the trainer's pruner protocol (:mod:`rmtheory.nn.train`): it fires once, before
0-based epoch ``at`` (``at = 1``: after the first epoch, where the authors' first pass falls), and
records one event with the rank it cut to and the Frobenius norm of the change.

>>> import numpy as np
>>> from rmtheory.nn import MLP
>>> from rmtheory.nn.pruners import MPPruner
>>> m = MLP([20, 30, 5], seed=0)
>>> hook = LayerIntervention("shake", at=0, layer=-1, rank_from=MPPruner(every=1, variant="paper_code",
...                          protect_output=False, prune_at_start=True), seed=0)
>>> W0 = m.layers[-1].weight
>>> ev = hook.on_epoch_start(m, 0, n_classes=5)
>>> ev[0]["action"], m.layers[-1].shape
('perturb', (5, 30))
>>> bool(np.isclose(np.linalg.norm(m.layers[-1].weight - W0), ev[0]["frobenius_change"], rtol=1e-5))
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["INTERVENTIONS", "LayerIntervention"]

INTERVENTIONS = ("cut", "cut_reset", "shake", "reset")


def _cut_rank(rank_from: Any, model: Any, index: int, epoch: int, n_classes: int | None) -> dict:
    """The event ``rank_from`` would record for layer ``index`` at this pass (run on a copy)."""
    probe = copy.deepcopy(model)
    selected = copy.copy(rank_from)
    selected.layers = (index,)
    selected.reset_momentum = False
    events = [e for e in selected.prune(probe, epoch + 1, n_classes) if e.get("layer") == index]
    if not events:
        raise ValueError(f"rank_from made no decision for layer {index}")
    return events[0]


@dataclass
class LayerIntervention:
    """Apply intervention ``kind`` (one of :data:`INTERVENTIONS`) to one layer, once.

    Parameters
    ----------
    kind : str
        ``"cut"``, ``"cut_reset"``, ``"shake"`` or ``"reset"`` (see the module docstring).
    at : int
        The 0-based epoch before which it fires (``1``: after one epoch of training).
    layer : int
        The layer's index (negative counts from the end; ``-1`` is the output layer).
    rank_from : pruner, optional
        Gives the rank of the cut: its ``prune`` is run on a copy of the model, on this layer only.
        Required unless ``kind == "reset"``.
    seed : int
        Seed of the ``shake`` perturbation.
    """

    kind: str
    at: int = 1
    layer: int = -1
    rank_from: Any = None
    seed: int = 0
    reset_momentum: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.kind not in INTERVENTIONS:
            raise ValueError(f"kind must be one of {INTERVENTIONS}, got {self.kind!r}")
        if isinstance(self.at, bool) or not isinstance(self.at, int) or self.at < 0:
            raise ValueError(f"at must be an epoch index >= 0, got {self.at!r}")
        if self.kind != "reset" and self.rank_from is None:
            raise ValueError(f"kind={self.kind!r} needs rank_from (the pruner that gives the rank)")

    @property
    def every(self) -> int:
        """Lets a pass probe fire around the intervention (it fires when (epoch+1) % every == 0)."""
        return self.at + 1

    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list[dict]:
        if epoch != self.at:
            return []
        n = len(model.layers)
        index = self.layer % n
        if not -n <= self.layer < n:
            raise ValueError(f"layer {self.layer} is out of range for a model with {n} layers")
        reset = [{"action": "momentum_reset", "reason": f"intervention {self.kind!r}"}]
        if self.kind == "reset":
            return reset
        layer = model.layers[index]
        decision = _cut_rank(self.rank_from, model, index, epoch, n_classes)
        W = np.asarray(layer.weight, dtype=np.float64)
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        k = int(decision.get("rank_after", min(W.shape)))
        change = float(np.sqrt(np.sum(s[k:] ** 2)))  # ‖W − W_k‖_F
        event = {"layer": index, "shape": list(W.shape), "rank_before": int(layer.rank),
                 "rank_after": k, "frobenius_change": change, "cut_action": decision.get("action")}  # fmt: skip
        if self.kind in ("cut", "cut_reset"):
            layer.set_dense((U[:, :k] * s[:k]) @ Vt[:k])
            event["action"] = "truncate"
            return [event, *reset] if self.kind == "cut_reset" else [event]
        E = np.random.default_rng([self.seed, 1729]).standard_normal(W.shape)
        E *= change / max(float(np.linalg.norm(E)), 1e-300)
        layer.set_dense(W + E)
        event.update(action="perturb", rank_after=int(layer.rank))
        return [event]

    def get_params(self) -> dict[str, Any]:
        """The settings, the rank pruner's flattened as ``rank_from.<name>``."""
        params = {"kind": self.kind, "at": self.at, "layer": self.layer, "seed": self.seed}
        if self.rank_from is not None:
            inner = self.rank_from.get_params() if hasattr(self.rank_from, "get_params") else {}
            params.update({f"rank_from.{k}": v for k, v in inner.items()})
            params["rank_from"] = type(self.rank_from).__name__
        return params

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None
