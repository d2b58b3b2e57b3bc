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

Deliberate differences from the authors' code (algorithms.md §3), each an explicit switch:

- ``protect_output`` (default True): the output layer is never cut below the number of classes
  (theirs cut 10 classes to rank 9 and lower).  Set it False to prune the output layer as they do —
  with ``variant="paper_code"`` its BEMA fit then runs on however few eigenvalues there are, while
  the default variant refuses a 10-row layer and records why in the event.
- ``drop_bias_on_resplit`` (default False): the bias survives a re-split; theirs is lost from the
  second split of a layer on (an ``AttributeError`` swallowed).  True zeroes it at each re-split.
- ``reset_momentum``: True resets every momentum buffer after a pass that changed a layer;
  ``"always"`` after every pass, changed or not, which is what re-creating the optimiser does in
  their code; False keeps the buffers of unchanged shapes.
- ``layers``: prune only these layer indices (negative indices count from the output), so an
  output-only or hidden-only run is one argument.
- ``gof_cutoff`` may be a mapping from a layer's ``kind`` to a cutoff, e.g. ``{"conv": 0.6,
  "dense": 0.05}`` (the authors' CNN cell); a layer without a ``kind`` attribute is ``"dense"``.

Any layer with a weight matrix is pruned: a dense or factorised :class:`~rmtheory.nn.layers.Layer`
and a :class:`~rmtheory.nn.conv.Conv2d`, whose kernel (out, in, kh, kw) is seen as the matrix
out × (in·kh·kw) and split into a convolution with k filters followed by a 1×1 convolution.
Layers without a ``weight`` (pooling, batch norm, dropout, flatten) are passed over without an event;
the output layer protected by ``protect_output`` is the last layer with a weight.

:func:`rmtheory.nn.presets.paper_protocol` sets all of them as the authors ran Algorithm 1.

Schedules: an epoch argument is *1-based* (``epoch = 7`` is the seventh epoch, about to be
trained); the trainer's 0-based epoch ``e`` is pruned when ``(e + 1) % every == 0``, which puts
the splits of a 40-epoch run before epochs 7, 14, 21, 28 and 35, as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rmtheory.bema import MIN_BULK_EIGENVALUES
from rmtheory.lowrank import svd
from rmtheory.nn.protocols import PruneEvent
from rmtheory.thresholds import EnergyRule, GavishDonohoRule, MPRule, Threshold, keep_rank

__all__ = [
    "MPPruner",
    "MomentumReset",
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


def _check_reset(value: Any) -> None:
    if not (isinstance(value, bool) or value == "always"):
        raise ValueError(f"reset_momentum must be True, False or 'always', got {value!r}")


def _check_layers(layers: Any) -> tuple[int, ...] | None:
    if layers is None:
        return None
    if isinstance(layers, int | str) or not isinstance(layers, Sequence | set | frozenset):
        raise TypeError(f"layers must be None or a sequence of layer indices, got {layers!r}")
    out = []
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"layers must hold integer layer indices, got {i!r}")
        out.append(int(i))
    return tuple(out)


def _has_matrix(layer: Any) -> bool:
    """Whether a layer exposes a weight matrix (dense, factorised, convolution) for Algorithm 1.

    Looked up on the class (and the instance) rather than read: ``weight`` of a split layer is a
    product formed on demand.
    """
    return hasattr(type(layer), "weight") or "weight" in getattr(layer, "__dict__", {})


def _check_cutoff(value: Any) -> float | dict[str, float]:
    """A number >= 0, or a non-empty mapping layer kind -> number >= 0 (copied to a dict)."""

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0

    if isinstance(value, Mapping):
        bad = {k: v for k, v in value.items() if not (isinstance(k, str) and number(v))}
        if not value or bad:
            raise ValueError(
                "gof_cutoff as a mapping must map layer kinds (str) to numbers >= 0, "
                f"e.g. {{'conv': 0.6, 'dense': 0.05}}; got {dict(value)!r}"
            )
        return {str(k): float(v) for k, v in value.items()}
    if not (isinstance(value, int | float) and value >= 0):
        raise ValueError(
            f"gof_cutoff must be a number >= 0 or a mapping layer kind -> number, got {value!r}"
        )
    return value


def _get_params(hook: Any) -> dict[str, Any]:
    """The constructor arguments of a dataclass hook, by name (scikit-learn's ``get_params``)."""
    return {f.name: getattr(hook, f.name) for f in fields(hook) if f.init}


def selected_layers(layers: Sequence[int] | None, n_layers: int) -> set[int]:
    """Indices in ``range(n_layers)`` chosen by ``layers`` (negative ones count from the end)."""
    if layers is None:
        return set(range(n_layers))
    bad = [i for i in layers if not -n_layers <= i < n_layers]
    if bad:
        raise ValueError(f"layers {bad} out of range for a model of {n_layers} layers")
    return {i % n_layers for i in layers}


@dataclass
class _RankPruner:
    """Shared machinery: the schedule, the keep rule and the split-or-truncate decision."""

    every: int = 7
    keep_fraction: float | Callable[[int], float] = 0.0
    gof_cutoff: float | Mapping[str, float] = 1.0
    reset_momentum: bool | str = True
    protect_output: bool = True
    layers: Sequence[int] | None = None
    drop_bias_on_resplit: bool = False
    prune_at_start: bool = False

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
        self.gof_cutoff = _check_cutoff(self.gof_cutoff)
        _check_reset(self.reset_momentum)
        self.layers = _check_layers(self.layers)
        if not isinstance(self.drop_bias_on_resplit, bool):
            raise TypeError(
                f"drop_bias_on_resplit must be True or False, got {self.drop_bias_on_resplit!r}"
            )

    def get_params(self) -> dict[str, Any]:
        """The settings this pruner was built with, by name (``type(p)(**p.get_params())`` rebuilds it)."""
        return _get_params(self)

    def cutoff_for(self, layer: Any) -> float:
        """The GoF cutoff of ``layer``: ``gof_cutoff`` itself, or its entry for ``layer.kind``."""
        if not isinstance(self.gof_cutoff, dict):
            return self.gof_cutoff
        kind = getattr(layer, "kind", "dense")
        if kind not in self.gof_cutoff:
            raise ValueError(
                f"gof_cutoff has no entry for layer kind {kind!r} (it has {sorted(self.gof_cutoff)})"
            )
        return self.gof_cutoff[kind]

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
    def on_epoch_start(
        self, model: Any, epoch: int, n_classes: int | None = None
    ) -> list[PruneEvent]:
        """Prune before 0-based ``epoch`` when ``(epoch + 1) % every == 0``; returns event records."""
        if (epoch + 1) % self.every:
            return []
        if epoch == 0 and not self.prune_at_start:
            # random initial weights have no spike: BEMA would cut every layer to its floor
            return [{"action": "skip", "reason": "untrained weights before the first epoch "
                     "(prune_at_start=False)"}]  # fmt: skip
        return self.prune(model, epoch + 1, n_classes)

    def state_dict(self) -> dict:
        return {"last_threshold": {str(k): v for k, v in self._last_threshold.items()}}

    def load_state_dict(self, state: dict) -> None:
        saved = (state or {}).get("last_threshold", {})
        self._last_threshold = {int(k): float(v) for k, v in saved.items()}

    # -- one pruning pass -------------------------------------------------------------------------
    def prune(self, model: Any, epoch: int, n_classes: int | None = None) -> list[PruneEvent]:
        """Apply one pass of Algorithm 1 to every layer of ``model`` (1-based ``epoch``)."""
        f = self.fraction(epoch)
        rule = self.rule()
        with_matrix = [i for i, layer in enumerate(model.layers) if _has_matrix(layer)]
        last = with_matrix[-1] if with_matrix else -1
        chosen = selected_layers(self.layers, len(model.layers))
        events = []
        for i in with_matrix:
            if i not in chosen:
                continue
            layer = model.layers[i]
            cutoff = self.cutoff_for(layer)
            min_rank = n_classes if (self.protect_output and i == last and n_classes) else 1
            events.append(
                self._prune_layer(layer, i, rule, f, min(min_rank, min(layer.shape)), cutoff)
            )
        if self.reset_momentum == "always":
            events.append({"action": "momentum_reset", "reason": "reset_momentum='always'"})
        return events

    def _prune_layer(
        self, layer: Any, index: int, rule, f: float, min_rank: int, cutoff: float | None = None
    ) -> PruneEvent:
        cutoff = self.cutoff_for(layer) if cutoff is None else cutoff
        W = layer.weight
        U, s, Vt = svd(W)
        event, action, k = self.plan(layer, index, s, rule, f, min_rank, cutoff)
        if action == "truncate":
            layer.set_dense((U[:, :k] * s[:k]) @ Vt[:k])
        elif action == "split":
            resplit = layer.is_factorised
            root = np.sqrt(s[:k])
            layer.set_factors(Vt[:k] * root[:, None], U[:, :k] * root)
            if resplit and self.drop_bias_on_resplit:
                layer.bias[...] = 0  # the authors' swallowed AttributeError loses the bias here
                event["bias_dropped"] = True
        return finish_event(event, action, k, layer.n_params())

    def plan(
        self, layer: Any, index: int, s: np.ndarray, rule, f: float, min_rank: int, cutoff: float
    ) -> tuple[PruneEvent, str, int]:
        """Decide one layer of one pass from its singular values ``s`` (any backend's layer).

        ``layer`` needs ``shape`` (out, in of the matrix view), ``rank``, ``is_factorised``,
        ``n_params()`` and optionally ``kind``.  Returns ``(event, action, k)``: ``action`` is
        ``"skip"`` (``event`` is then complete), ``"keep"``, ``"truncate"`` (in place to rank
        ``k``) or ``"split"`` (into factors of rank ``k``); the caller does the surgery and then
        :func:`finish_event`.  ``drop_bias_on_resplit`` is the caller's to apply on a re-split.
        """
        out, inp = layer.shape
        event: PruneEvent = {
            "layer": index,
            "shape": [out, inp],
            "rank_before": int(layer.rank),
            "params_before": int(layer.n_params()),
            "keep_fraction": f,
        }
        # conv / dense layers of a CNN say which cutoff applied; a plain MLP's events are unchanged
        if hasattr(layer, "kind"):
            event["kind"] = str(layer.kind)
            event["gof_cutoff"] = float(cutoff)
        try:
            th = rule(s, (out, inp))
        except ValueError as err:  # e.g. too few bulk eigenvalues for BEMA (a 10-class output)
            previous = self._last_threshold.get(index)
            if previous is None or layer.rank == min(layer.shape):
                return _skipped(event, str(err)), "skip", event["rank_before"]
            # earlier passes truncated the bulk away: the noise level has not changed, so the last
            # threshold fitted on this layer still separates signal from noise
            th = Threshold(previous, int(np.count_nonzero(s > previous)))
            event["reason"] = "threshold of the previous pass reused (bulk truncated away)"
        self._last_threshold[index] = float(th.threshold)
        event.update(threshold=float(th.threshold), gof=float(th.gof), n_above=int(th.n_above))
        if th.window is not None:
            event["bema_window"] = int(th.window)
            if th.window < MIN_BULK_EIGENVALUES:
                event["fit"] = (
                    f"paper_code: BEMA fitted on {th.window} central eigenvalues (the default "
                    f"variant needs {MIN_BULK_EIGENVALUES})"
                )
        if not (math.isnan(th.gof) or th.gof < cutoff):
            reason = f"gof {th.gof:.4g} >= cutoff {cutoff}"
            return _skipped(event, reason), "skip", event["rank_before"]
        k = keep_rank(th.n_above, s.size, f, min_rank)
        if k > keep_rank(th.n_above, s.size, f):
            event["floor"] = (
                f"rank raised to the floor {min_rank} (the rule kept "
                f"{keep_rank(th.n_above, s.size, f)}: "
                + ("output layer protected)" if min_rank > 1 else "a layer is never cut to rank 0)")
            )
        current = layer.rank * (out + inp) if layer.is_factorised else out * inp
        if k >= layer.rank:
            action = "keep"
        elif current <= (out + inp) * k:
            action = "keep" if layer.is_factorised else "truncate"
        else:
            action = "split"
        return event, action, k


def _skipped(event: PruneEvent, reason: str) -> PruneEvent:
    return {**event, "action": "skip", "reason": reason, "rank_after": event["rank_before"],
            "params_after": event["params_before"]}  # fmt: skip


def finish_event(event: PruneEvent, action: str, k: int, params_after: int) -> PruneEvent:
    """The event of a planned layer (:meth:`_RankPruner.plan`) once its surgery is done."""
    if action == "skip":
        return event
    rank_after = k if action in ("truncate", "split") else event["rank_before"]
    return {**event, "action": action, "rank_after": int(rank_after),
            "params_after": int(params_after)}  # fmt: skip


@dataclass
class MPPruner(_RankPruner):
    """Algorithm 1: prune with the BEMA (Marchenko–Pastur) threshold, gated by the MP fit.

    Parameters
    ----------
    every : int, default 7
        Prune before every ``every``-th epoch (1-based epochs 7, 14, ...).
    alpha, beta : float
        BEMA's window and Tracy–Widom level (paper: 0.25, 0.1).
    gof_cutoff : float or mapping, default 1.0
        Prune a layer only if its MP goodness of fit is ``< gof_cutoff``; 1 prunes (essentially)
        always, 0 never (the authors' unpruned baseline). A mapping gives one cutoff per layer
        ``kind``: ``{"conv": 0.6, "dense": 0.05}`` is the authors' CNN setting.
    keep_fraction : float or callable(epoch) -> float
        Fraction ``f`` of the sub-threshold singular values kept (largest first); use
        :func:`linear_schedule` for the paper's ``max(0, 1 - epoch/T)``.
    variant : {"default", "paper_code"}
        BEMA variant (:class:`rmtheory.bema.BEMA`).
    reset_momentum : bool or "always", default True
        Reset all momentum buffers after a pass that changed a layer; ``"always"`` after every
        pass (the authors re-create the optimiser at every pass).
    protect_output : bool, default True
        Never cut the output layer below the number of classes.
    layers : sequence of int, optional
        Prune only these layer indices (``[-1]``: the output layer only); default all.
    drop_bias_on_resplit : bool, default False
        Zero a layer's bias when an already split layer is split again (the authors' bug 4).
    prune_at_start : bool, default False
        With ``every=1`` the first pass falls before any training; it is skipped (with an event
        saying why) unless this is True.  No layer is ever cut below rank 1.

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
class MomentumReset:
    """A pass that changes no layer but resets every momentum buffer (the control of a pruned run).

    Fires on the pruners' schedule (before 1-based epochs ``every``, ``2·every``, ...), so a run with
    it differs from an unpruned run exactly by the optimiser re-creation of Algorithm 1.
    """

    every: int = 7
    reset_momentum: str = "always"

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive integer, got {self.every!r}")
        _check_reset(self.reset_momentum)

    def get_params(self) -> dict[str, Any]:
        """The settings, by name."""
        return _get_params(self)

    def on_epoch_start(
        self, model: Any, epoch: int, n_classes: int | None = None
    ) -> list[PruneEvent]:
        if (epoch + 1) % self.every or self.reset_momentum is False:
            return []
        return [{"action": "momentum_reset", "reason": "MomentumReset"}]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


@dataclass
class NoPruner:
    """The unpruned baseline with the pruner interface (never changes anything)."""

    reset_momentum: bool = False

    def get_params(self) -> dict[str, Any]:
        """The settings, by name."""
        return _get_params(self)

    def on_epoch_start(
        self, model: Any, epoch: int, n_classes: int | None = None
    ) -> list[PruneEvent]:
        return []

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None
