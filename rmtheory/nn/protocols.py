"""The contracts between :func:`rmtheory.nn.train` and what it drives, declared as ``typing.Protocol``.

Three parties meet in the loop: the *model* (:class:`~rmtheory.nn.MLP`, :class:`~rmtheory.nn.CNN`),
its *layers*, and the *training hooks* (pruners of :mod:`rmtheory.nn.pruners`,
:class:`~rmtheory.nn.Sparsifier`, :class:`~rmtheory.nn.pruners.MomentumReset`, or your own object).
Nothing here is a base class: any object with these members works, and the protocols are
``runtime_checkable`` so ``isinstance(obj, TrainingHook)`` checks that the members exist (not their
signatures).

What :func:`~rmtheory.nn.train` calls on a hook
------------------------------------------------
``on_epoch_start(model, epoch, n_classes) -> list[event]`` (required)
    Before 0-based ``epoch``; the events (dicts, :class:`PruneEvent` / :class:`SparsifyEvent`) go to
    ``History.events`` with ``"epoch"`` and ``"source"`` added.
``reset_momentum`` (attribute; read with a default of False)
    True: every momentum buffer is reset after a pass that changed a layer; an event with
    ``"action": "momentum_reset"`` resets them whatever this says.
``after_step(model)`` (optional, :class:`StepHook`)
    After every optimiser step.
``state_dict()`` / ``load_state_dict(state)`` (optional, :class:`StatefulHook`)
    Saved in and restored from checkpoints.
``every`` (optional, :class:`ScheduledHook`)
    The pass period; wrappers that probe the model around a pass read it.

Events are ``TypedDict`` s, i.e. plain dicts at run time: ``e.get("action")`` and ``e["layer"]``
work as they always did, and a type checker knows the keys.

Examples
--------
>>> from rmtheory.nn import MLP, Sparsifier
>>> from rmtheory.nn.pruners import MPPruner
>>> isinstance(MPPruner(), StatefulHook), isinstance(Sparsifier(), StepHook)
(True, True)
>>> isinstance(MLP([4, 3, 2]), TrainableModel)
True
>>> e: PruneEvent = {"layer": 0, "action": "keep", "rank_before": 3, "rank_after": 3}
>>> e.get("action"), e["layer"]
('keep', 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

import numpy as np

__all__ = [
    "ACTIONS",
    "Event",
    "PrunableLayer",
    "PruneEvent",
    "ScheduledHook",
    "SparsifyEvent",
    "StatefulHook",
    "StepHook",
    "TrainableModel",
    "TrainingHook",
]

#: Every ``"action"`` a pruning event may carry.
ACTIONS = ("keep", "truncate", "split", "skip", "momentum_reset")

Action = Literal["keep", "truncate", "split", "skip", "momentum_reset"]


class PruneEvent(TypedDict, total=False):
    """One layer of one pass of Algorithm 1 (or a pass-level record: ``skip``, ``momentum_reset``).

    ``layer`` is the index in ``model.layers``; ``shape`` the (out, in) of the effective weight;
    ``threshold`` the singular-value threshold, ``gof`` the MP goodness of fit, ``n_above`` the
    count above the threshold; ``kind`` and ``gof_cutoff`` only on layers with a ``kind`` (a CNN's
    conv and dense layers); ``floor`` says when the rank was raised to a floor; ``bema_window``
    and ``fit`` report a ``paper_code`` BEMA fit; ``bias_dropped`` a re-split that zeroed the bias.
    The trainer adds ``epoch`` (0-based) and ``source`` (the hook's class name).
    """

    epoch: int
    source: str
    layer: int
    shape: list[int]
    kind: str
    action: Action
    reason: str
    rank_before: int
    rank_after: int
    params_before: int
    params_after: int
    keep_fraction: float
    gof_cutoff: float
    threshold: float
    gof: float
    n_above: int
    bema_window: int
    fit: str
    floor: str
    bias_dropped: bool


class SparsifyEvent(TypedDict, total=False):
    """One pass of magnitude sparsification (:class:`~rmtheory.nn.Sparsifier`)."""

    epoch: int
    source: str
    kind: Literal["sparsify"]
    threshold: float
    nonzero_before: int
    nonzero_after: int


Event = PruneEvent | SparsifyEvent


@runtime_checkable
class PrunableLayer(Protocol):
    """A layer with a weight matrix (dense, factorised, convolution seen as out × in·kh·kw)."""

    bias: np.ndarray
    factors: list[np.ndarray]
    version: int

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def rank(self) -> int: ...

    @property
    def is_factorised(self) -> bool: ...

    @property
    def weight(self) -> np.ndarray: ...

    def params(self) -> list[np.ndarray]: ...

    def n_params(self) -> int: ...

    def set_dense(self, W: np.ndarray) -> None: ...

    def set_factors(self, W1: np.ndarray, W2: np.ndarray) -> None: ...


@runtime_checkable
class TrainableModel(Protocol):
    """What :func:`rmtheory.nn.train` drives; :class:`~rmtheory.nn.MLP` and :class:`~rmtheory.nn.CNN`.

    ``sizes[-1]`` is the number of outputs.  Optional: ``input_shape`` (images of that shape) and
    ``training`` (train/eval mode for batch norm and dropout).
    """

    layers: list[Any]
    sizes: Sequence[int]
    dtype: np.dtype

    def params(self) -> list[np.ndarray]: ...

    def grads(self) -> list[np.ndarray]: ...

    def forward(self, X: np.ndarray) -> np.ndarray: ...

    def backward(self, dout: np.ndarray) -> None: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def n_params(self) -> int: ...

    def n_nonzero(self) -> int: ...

    def copy(self) -> Any: ...


@runtime_checkable
class TrainingHook(Protocol):
    """The required part of a hook: a pass before an epoch, and whether it resets momentum."""

    reset_momentum: bool | str

    def on_epoch_start(
        self, model: Any, epoch: int, n_classes: int | None = None
    ) -> list[Any]: ...


@runtime_checkable
class StatefulHook(TrainingHook, Protocol):
    """A hook whose state the checkpoints save (values: JSON types or numpy arrays, nested)."""

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


@runtime_checkable
class StepHook(TrainingHook, Protocol):
    """A hook called after every optimiser step (the sparsifier's fixed zero mask)."""

    def after_step(self, model: Any) -> None: ...


@runtime_checkable
class ScheduledHook(TrainingHook, Protocol):
    """A hook that fires every ``every`` epochs (before 1-based epochs ``every``, ``2·every``, …)."""

    every: int
