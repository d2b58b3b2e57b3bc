"""The authors' protocol of Algorithm 1 in one object (algorithms.md §1.5, §2.1, §3).

:func:`paper_protocol` returns a :class:`PaperProtocol` whose defaults are the settings of the
authors' MNIST notebook cell: ``[784, 1000, 1000, 500, 10]`` with a ReLU after every layer *including
the output*, weights N(0, 1/fan_in), SGD lr 0.02 momentum 0.9 batch 128, L1 = L2 = 5e-6 added to the
loss, 8 epochs, a pass before (1-based) epochs 2, 4, 6, 8 keeping the fraction ``max(0, 1 - e/12)`` of
the sub-threshold singular values, BEMA α = 0.25, β = 0.1 with their code's Tracy–Widom exponent, GoF
cutoff 1, and every one of their code's choices that matters here:

==========================  ==========================================  ===========================
choice                      the authors' code                           library default
==========================  ==========================================  ===========================
output layer                fitted and cut (``protect_output=False``)   never below n_classes
small matrices              BEMA on any window (``paper_code``)          >= 20 central eigenvalues
momentum                    reset at every pass (``"always"``)          reset when a layer changed
learning rate               ×0.96 per epoch, applied at passes only     ×0.96 every epoch
bias on a re-split          dropped (``drop_bias_on_resplit=True``)     kept
==========================  ==========================================  ===========================

Two of their bugs are not reproduced: the normal net's optimiser bug (trained with the pruned net's
optimiser until the first pass, then with an undecayed lr) — here the normal net gets the same
schedule as the pruned one, so the comparison isolates pruning; and the dropped bias is zeroed and
trained again, where theirs is gone for good (at most ``out`` parameters per layer).

Examples
--------
>>> proto = paper_protocol()
>>> pruner = proto.pruner()
>>> pruner.variant, pruner.protect_output, pruner.reset_momentum
('paper_code', False, 'always')
>>> [round(proto.lr_schedule()(e), 5) for e in range(4)]
[0.02, 0.0192, 0.0192, 0.01769]
>>> paper_protocol(final_activation=None).model(seed=0).activations[-1]
'identity'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmtheory.nn.history import History
from rmtheory.nn.methods import training_hooks
from rmtheory.nn.model import MLP
from rmtheory.nn.pruners import MomentumReset, MPPruner
from rmtheory.nn.train import lr_at_passes, train

__all__ = ["PaperProtocol", "paper_protocol"]


@dataclass(frozen=True)
class PaperProtocol:
    """Every setting of one Algorithm-1 run as the authors ran it; see the module docstring.

    ``T`` is the keep-fraction schedule ``max(0, 1 - e/T)`` of the 1-based pass epoch; ``normalize``
    the input transform the data should be loaded with (``"half"``: their ``Normalize((0.5,),
    (0.5,))``).  Build with :func:`paper_protocol` to override any field by name.
    """

    sizes: tuple[int, ...] = (784, 1000, 1000, 500, 10)
    epochs: int = 8
    every: int = 2
    T: float = 12.0
    lr: float = 0.02
    lr_decay: float = 0.96
    momentum: float = 0.9
    batch_size: int = 128
    l1: float = 5e-6
    l2: float = 5e-6
    final_activation: str | None = "relu"
    init: str = "normal"
    alpha: float = 0.25
    beta: float = 0.1
    gof_cutoff: float = 1.0
    variant: str = "paper_code"
    protect_output: bool = False
    reset_momentum: bool | str = "always"
    drop_bias_on_resplit: bool = True
    normalize: str = "half"

    def model(self, seed: int | np.random.Generator = 0) -> MLP:
        """A fresh network; the same ``seed`` gives the normal and the pruned net one start."""
        return MLP(
            list(self.sizes), final_activation=self.final_activation, init=self.init, seed=seed
        )

    def pruner(self, layers: Sequence[int] | None = None) -> MPPruner:
        """Algorithm 1 as the authors ran it, on all layers or only on ``layers``.

        Built by the method table (:func:`rmtheory.nn.methods.training_hooks`, method ``"mp"``).
        """
        return training_hooks("mp", **self.pruner_settings(), layers=layers).pruner

    def pruner_settings(self) -> dict[str, Any]:
        """The method-table settings of the authors' Algorithm 1 (method ``"mp"``), no ``layers``."""
        names = ("every", "T", "gof_cutoff", "reset_momentum", "protect_output",
                 "drop_bias_on_resplit", "alpha", "beta", "variant")  # fmt: skip
        return {k: getattr(self, k) for k in names}

    def momentum_reset(self) -> MomentumReset:
        """The control: the passes' optimiser re-creation without any layer change."""
        return training_hooks("momentum_reset", every=self.every).pruner

    def lr_schedule(self) -> Callable[[int], float]:
        """Their learning rate: ×``lr_decay`` per epoch, applied only at pass epochs."""
        return lr_at_passes(self.lr, self.lr_decay, self.every)

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rmtheory.nn.train` for this protocol (no pruner)."""
        return dict(
            epochs=self.epochs,
            lr=self.lr,
            momentum=self.momentum,
            batch_size=self.batch_size,
            l1=self.l1,
            l2=self.l2,
            lr_schedule=self.lr_schedule(),
        )

    def run(
        self,
        train_data: tuple,
        test_data: tuple | None,
        seed: int = 0,
        prune: bool = True,
        **train_options: Any,
    ) -> tuple[MLP, History]:
        """Train one net (pruned unless ``prune=False``) from ``seed``; returns ``(model, history)``.

        ``train_options`` go to :func:`rmtheory.nn.train` (``checkpoint``, ``resume``, ``callbacks``,
        ``verbose``, or a different ``pruner``).
        """
        model = self.model(seed)
        options = {**self.train_kwargs(), "seed": seed, **train_options}
        options.setdefault("pruner", self.pruner() if prune else None)
        history = train(model, train_data, test_data, **options)
        return model, history


def paper_protocol(**overrides: Any) -> PaperProtocol:
    """The authors' protocol (:class:`PaperProtocol`), with any field replaced by keyword.

    Raises
    ------
    TypeError
        For a keyword that is not a field of :class:`PaperProtocol`.
    """
    names = {f.name for f in dataclasses.fields(PaperProtocol)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown protocol settings {unknown}; known: {sorted(names)}")
    if "sizes" in overrides:
        overrides["sizes"] = tuple(int(s) for s in overrides["sizes"])
    return PaperProtocol(**overrides)
