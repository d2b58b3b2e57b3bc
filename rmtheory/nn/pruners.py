r"""Algorithm 1 of the paper, MP-based pruning during training, and baselines with its interface.

Every ``every``-th epoch, for each layer (algorithms.md §1.5):

1. take the effective weight ``W`` (recombine ``W2 @ W1`` if the layer is already split — the
   paper's Remark 4.1: re-split, never split the factors further);
2. one SVD; the rank rule (BEMA for :class:`MPPruner`) gives the singular-value threshold and the
   MP goodness of fit;
3. if the fit is not good (``gof >= gof_cutoff``) leave the layer;
4. keep all ``n_above`` singular values above the threshold plus the largest
   :math:`\lfloor f\cdot(p - n_{above})\rfloor` below it (:func:`rmtheory.thresholds.keep_rank`),
   never fewer than the number of classes for the output layer;
5. if the split ``k * (in + out)`` saves weights, replace the layer by the factors
   ``W1 = diag(sqrt s) Vt``, ``W2 = U diag(sqrt s)``; otherwise truncate in place (a dense layer) or
   leave it (a split layer).  The bias always stays.

Deliberate differences from the authors' code (algorithms.md §3): the bias survives a re-split
(their code drops it from the second split on), the output layer is never cut below the number of
classes (theirs cut 10 classes to rank 9), and whether momentum buffers are reset is an explicit
option (``reset_momentum``; theirs always reset).

Schedules: an epoch argument is *1-based* (``epoch = 7`` is the seventh epoch, about to be
trained); the trainer's 0-based epoch ``e`` is pruned when ``(e + 1) % every == 0``, which puts
the splits of a 40-epoch run before epochs 7, 14, 21, 28 and 35, as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmtheory.lowrank import svd
from rmtheory.thresholds import EnergyRule, GavishDonohoRule, MPRule, Threshold, keep_rank

__all__ = [
    "MPPruner",
    "GavishDonohoPruner",
    "EnergyPruner",
    "NoPruner",
    "linear_schedule",
]


def linear_schedule(T: float) -> Callable[[int], float]:
    r"""The paper's keep-fraction schedule :math:`f(e) = \max(0, 1 - e/T)` (eqs 7–13, constants lost).

    The authors' code used T = 300 (and 1000); algorithms.md §1.5 argues T ≈ 45–50 reproduces the
    40-epoch MNIST reductions of Table 2.
    """
    if not (isinstance(T, int | float) and math.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T!r}")

    def f(epoch: int) -> float:
        return max(0.0, 1.0 - epoch / T)

    f.__name__ = f"linear_schedule_T{T:g}"
    return f


@dataclass
class _RankPruner:
    """Shared machinery: the schedule, the keep rule and the split-or-truncate decision."""

    every: int = 7
    keep_fraction: float | Callable[[int], float] = 0.0
    gof_cutoff: float = 1.0
    reset_momentum: bool = True
    protect_output: bool = True

    def rule(self) -> Callable[[np.ndarray, tuple[int, int]], Threshold]:  # pragma: no cover
        raise NotImplementedError

    def __post_init__(self) -> None:
        self._last_threshold: dict[int, float] = {}
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive integer, got {self.every!r}")
        if not callable(self.keep_fraction):
            f = float(self.keep_fraction)
            if not 0.0 <= f <= 1.0:
                raise ValueError(
                    f"keep_fraction must lie in [0, 1] or be a callable, got {self.keep_fraction!r}"
                )
        if not (isinstance(self.gof_cutoff, int | float) and self.gof_cutoff >= 0):
            raise ValueError(f"gof_cutoff must be a number >= 0, got {self.gof_cutoff!r}")

    def fraction(self, epoch: int) -> float:
        """The keep fraction for 1-based ``epoch``."""
        f = (
            float(self.keep_fraction(epoch))
            if callable(self.keep_fraction)
            else float(self.keep_fraction)
        )
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"keep_fraction({epoch}) returned {f}, expected a value in [0, 1]")
        return f

    # -- the trainer's protocol -------------------------------------------------------------------
    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list[dict]:
        """Prune before 0-based ``epoch`` when ``(epoch + 1) % every == 0``; returns event records."""
        if (epoch + 1) % self.every:
            return []
        return self.prune(model, epoch + 1, n_classes)

    def state_dict(self) -> dict:
        return {"last_threshold": {str(k): v for k, v in self._last_threshold.items()}}

    def load_state_dict(self, state: dict) -> None:
        saved = (state or {}).get("last_threshold", {})
        self._last_threshold = {int(k): float(v) for k, v in saved.items()}

    # -- one pruning pass -------------------------------------------------------------------------
    def prune(self, model: Any, epoch: int, n_classes: int | None = None) -> list[dict]:
        """Apply one pass of Algorithm 1 to every layer of ``model`` (1-based ``epoch``)."""
        f = self.fraction(epoch)
        rule = self.rule()
        last = len(model.layers) - 1
        events = []
        for i, layer in enumerate(model.layers):
            min_rank = n_classes if (self.protect_output and i == last and n_classes) else 0
            events.append(self._prune_layer(layer, i, rule, f, min(min_rank, min(layer.shape))))
        return events

    def _prune_layer(self, layer: Any, index: int, rule, f: float, min_rank: int) -> dict:
        out, inp = layer.shape
        event = {
            "layer": index,
            "shape": [out, inp],
            "rank_before": int(layer.rank),
            "params_before": int(layer.n_params()),
            "keep_fraction": f,
        }
        W = layer.weight
        U, s, Vt = svd(W)
        try:
            th = rule(s, W.shape)
        except ValueError as err:  # e.g. too few bulk eigenvalues for BEMA (a 10-class output)
            previous = self._last_threshold.get(index)
            if previous is None or layer.rank == min(layer.shape):
                return {
                    **event,
                    "action": "skip",
                    "reason": str(err),
                    "rank_after": event["rank_before"],
                    "params_after": event["params_before"],
                }
            # earlier passes truncated the bulk away: the noise level has not changed, so the last
            # threshold fitted on this layer still separates signal from noise
            th = Threshold(previous, int(np.count_nonzero(s > previous)))
            event["reason"] = "threshold of the previous pass reused (bulk truncated away)"
        self._last_threshold[index] = float(th.threshold)
        event.update(threshold=float(th.threshold), gof=float(th.gof), n_above=int(th.n_above))
        if not (math.isnan(th.gof) or th.gof < self.gof_cutoff):
            return {
                **event,
                "action": "skip",
                "reason": f"gof {th.gof:.4g} >= cutoff {self.gof_cutoff}",
                "rank_after": event["rank_before"],
                "params_after": event["params_before"],
            }
        k = keep_rank(th.n_above, s.size, f, min_rank)
        current = layer.rank * (out + inp) if layer.is_factorised else out * inp
        if k >= layer.rank:
            action = "keep"
        elif current <= (out + inp) * k:
            if layer.is_factorised:
                action = "keep"
            else:
                layer.set_dense((U[:, :k] * s[:k]) @ Vt[:k])
                action = "truncate"
        else:
            root = np.sqrt(s[:k])
            layer.set_factors(Vt[:k] * root[:, None], U[:, :k] * root)
            action = "split"
        rank_after = k if action in ("truncate", "split") else event["rank_before"]
        return {
            **event,
            "action": action,
            "rank_after": int(rank_after),
            "params_after": int(layer.n_params()),
        }


@dataclass
class MPPruner(_RankPruner):
    """Algorithm 1: prune with the BEMA (Marchenko–Pastur) threshold, gated by the MP fit.

    Parameters
    ----------
    every : int, default 7
        Prune before every ``every``-th epoch (1-based epochs 7, 14, ...).
    alpha, beta : float
        BEMA's window and Tracy–Widom level (paper: 0.25, 0.1).
    gof_cutoff : float, default 1.0
        Prune a layer only if its MP goodness of fit is ``< gof_cutoff``; 1 prunes (essentially)
        always, 0 never (the authors' unpruned baseline).
    keep_fraction : float or callable(epoch) -> float
        Fraction ``f`` of the sub-threshold singular values kept (largest first); use
        :func:`linear_schedule` for the paper's ``max(0, 1 - epoch/T)``.
    variant : {"default", "paper_code"}
        BEMA variant (:class:`rmtheory.bema.BEMA`).
    reset_momentum : bool, default True
        Reset all momentum buffers after a pass that changed a layer (as the authors do).
    protect_output : bool, default True
        Never cut the output layer below the number of classes.

    Examples
    --------
    >>> pruner = MPPruner(every=7, keep_fraction=linear_schedule(50))
    >>> round(pruner.fraction(35), 2)
    0.3
    """

    alpha: float = 0.25
    beta: float = 0.1
    variant: str = "default"

    def rule(self) -> MPRule:
        return MPRule(self.alpha, self.beta, self.variant)


@dataclass
class GavishDonohoPruner(_RankPruner):
    """Algorithm 1 with the Gavish–Donoho optimal hard threshold in place of BEMA (no GoF gate)."""

    sigma2: float | None = None

    def rule(self) -> GavishDonohoRule:
        return GavishDonohoRule(self.sigma2)


@dataclass
class EnergyPruner(_RankPruner):
    """Algorithm 1 keeping the fewest singular values that hold ``energy`` of Σs² (no GoF gate)."""

    energy: float = 0.9

    def rule(self) -> EnergyRule:
        return EnergyRule(self.energy)


@dataclass
class NoPruner:
    """The unpruned baseline with the pruner interface (never changes anything)."""

    reset_momentum: bool = False

    def on_epoch_start(self, model: Any, epoch: int, n_classes: int | None = None) -> list[dict]:
        return []

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None
