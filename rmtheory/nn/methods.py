"""One method table: a method name and its settings → the training hooks of a run.

Every experiment (and every backend) builds its pruner and sparsifier here, so a pruning rule is
added in one place: its rule in :mod:`rmtheory.thresholds`, its pruner class in
:mod:`rmtheory.nn.pruners`, and one :class:`MethodSpec` in :data:`METHOD_SPECS`.

API
---
``training_hooks(method, *, strict=True, classes=None, **settings) -> TrainingHooks``
    ``TrainingHooks(pruner, sparsifier)`` (a named tuple; either may be None) for
    :func:`rmtheory.nn.train`'s ``pruner=`` and ``sparsifier=``.  ``classes`` swaps in another
    backend's hook classes: :func:`rmtheory.torch.training_hooks` is this table with the PyTorch
    classes (driven by ``events = pruner.step(model, optimizer, epoch)``).
``METHOD_SPECS`` / ``method_spec(name)``
    The registry: name, description and the settings each method takes with their defaults.
``protocol_hooks(arm, protocol, n_layers) -> TrainingHooks`` / ``ARM_SPECS``
    The arms of the authors' protocol (:class:`rmtheory.nn.presets.PaperProtocol`), each a method
    of the table with settings taken from the protocol; ``ArmSpec.overrides`` are the protocol
    fields the arm changes (the corrected net has no final ReLU).

Methods
-------
==================  ==========================================================================
``none``            no hook (the unpruned baseline)
``mp``              Algorithm 1: BEMA (Marchenko–Pastur) threshold gated by the MP fit
``gavish_donoho``   Algorithm 1 with the Gavish–Donoho optimal hard threshold
``energy``          Algorithm 1 keeping the fewest singular values holding ``energy`` of Σs²
``magnitude``       magnitude sparsification during training (ξ from ``start`` to ``stop``
                    over ``epochs``, every ``sparsify_every`` epochs, zero mask kept)
``momentum_reset``  no layer change; every momentum buffer reset at the pass epochs
==================  ==========================================================================

The keep fraction of the low-rank methods is ``keep_fraction`` (a number or a callable of the
1-based epoch) or, with ``T``, the paper's :func:`~rmtheory.nn.pruners.linear_schedule` ``(T)``.

Settings a method does not take raise a ``TypeError``; with ``strict=False`` the settings of the
*other* methods are ignored (so one settings dict can drive every method of a sweep), while a name
no method takes still raises.

Examples
--------
>>> hooks = training_hooks("mp", every=7, T=50, alpha=0.25, beta=0.1)
>>> type(hooks.pruner).__name__, hooks.sparsifier is None, round(hooks.pruner.fraction(35), 2)
('MPPruner', True, 0.3)
>>> pruner, sparsifier = training_hooks("magnitude", epochs=20)
>>> pruner is None, sparsifier.ramp_epochs, sparsifier.keep_mask
(True, 20, True)
>>> training_hooks("energy", every=7, T=50, alpha=0.25, strict=False).pruner.energy
0.9
>>> training_hooks("energy", alpha=0.25)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: method 'energy' takes no setting(s) ['alpha']; it takes ['T', ...]
>>> from rmtheory.nn import paper_protocol
>>> proto = paper_protocol()
>>> protocol_hooks("output_only", proto, n_layers=4).pruner.layers
(3,)
>>> ARM_SPECS["corrected_mp"].overrides
{'final_activation': None}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from rmtheory.nn.pruners import (
    EnergyPruner,
    GavishDonohoPruner,
    MomentumReset,
    MPPruner,
    linear_schedule,
)
from rmtheory.nn.sparsify import Sparsifier

__all__ = [
    "ARM_SPECS",
    "METHOD_SPECS",
    "NUMPY_CLASSES",
    "ArmSpec",
    "MethodSpec",
    "TrainingHooks",
    "arm_settings",
    "method_spec",
    "protocol_hooks",
    "training_hooks",
]

class TrainingHooks(NamedTuple):
    """The hooks of one run: ``pruner`` (a pruner or a momentum reset) and ``sparsifier``."""

    pruner: Any = None
    sparsifier: Any = None


@dataclass(frozen=True)
class MethodSpec:
    """One row of the method table.

    ``defaults`` lists every setting the method takes with its default (``None`` where the method
    has no default and the setting is required, as ``epochs`` of ``magnitude``).
    """

    name: str
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    build: Callable[[Mapping[str, Any], Mapping[str, type]], TrainingHooks] = field(
        default=lambda settings, classes: TrainingHooks(), repr=False, compare=False
    )


# ----- the builders -------------------------------------------------------------------------------
_RANK_DEFAULTS = {
    "every": 7,
    "keep_fraction": None,
    "T": None,
    "reset_momentum": True,
    "protect_output": True,
    "layers": None,
    "drop_bias_on_resplit": False,
    "prune_at_start": False,
}


def _keep_fraction(s: Mapping[str, Any]) -> Any:
    if s["T"] is not None and s["keep_fraction"] is not None:
        raise ValueError("give keep_fraction or T (the linear schedule's constant), not both")
    if s["T"] is not None:
        return linear_schedule(s["T"])
    return 0.0 if s["keep_fraction"] is None else s["keep_fraction"]


def _rank_kwargs(s: Mapping[str, Any], extra: tuple[str, ...]) -> dict[str, Any]:
    common = ("every", "reset_momentum", "protect_output", "layers", "drop_bias_on_resplit",
              "prune_at_start")  # fmt: skip
    return {**{k: s[k] for k in common + extra}, "keep_fraction": _keep_fraction(s)}


def _rank_builder(cls_name: str, extra: tuple[str, ...]):
    def build(s: Mapping[str, Any], classes: Mapping[str, type]) -> TrainingHooks:
        return TrainingHooks(classes[cls_name](**_rank_kwargs(s, extra)), None)

    return build


def _magnitude(s: Mapping[str, Any], classes: Mapping[str, type]) -> TrainingHooks:
    sparsifier = classes["Sparsifier"](
        every=s["sparsify_every"], start=s["start"], stop=s["stop"], ramp_epochs=s["epochs"],
        keep_mask=s["keep_mask"],
    )  # fmt: skip
    return TrainingHooks(None, sparsifier)


def _momentum_reset(s: Mapping[str, Any], classes: Mapping[str, type]) -> TrainingHooks:
    return TrainingHooks(
        classes["MomentumReset"](every=s["every"], reset_momentum=s["reset_momentum"]), None
    )


def _intervention(s: Mapping[str, Any], classes: Mapping[str, type]) -> TrainingHooks:
    from rmtheory.nn.interventions import LayerIntervention  # a NumPy-trainer hook only

    if classes is not NUMPY_CLASSES:
        raise ValueError("method 'intervention' acts on the NumPy trainer's layers only")
    rank_from = None
    if s["kind"] != "reset":  # the cut's rank is the one the authors' Algorithm 1 would choose
        rank_from = training_hooks("mp", **dict(s["rank_from"] or {})).pruner
    return TrainingHooks(
        LayerIntervention(s["kind"], at=s["at"], layer=s["layer"], rank_from=rank_from,
                          seed=s["seed"]), None)  # fmt: skip


def _spec(name, description, defaults=None, required=(), build=None) -> MethodSpec:
    return MethodSpec(name, description, MappingProxyType(dict(defaults or {})), required,
                      build or (lambda s, c: TrainingHooks()))  # fmt: skip


_MP = ("alpha", "beta", "gof_cutoff", "variant")
#: The method table: name -> :class:`MethodSpec`.
METHOD_SPECS: Mapping[str, MethodSpec] = MappingProxyType({
    s.name: s
    for s in (
        _spec("none", "no hook: the unpruned baseline"),
        _spec(
            "mp",
            "Algorithm 1: BEMA (Marchenko-Pastur) threshold, gated by the MP goodness of fit",
            {**_RANK_DEFAULTS, "alpha": 0.25, "beta": 0.1, "gof_cutoff": 1.0,
             "variant": "default"},  # fmt: skip
            build=_rank_builder("MPPruner", _MP),
        ),
        _spec(
            "gavish_donoho",
            "Algorithm 1 with the Gavish-Donoho optimal hard threshold (no GoF gate)",
            {**_RANK_DEFAULTS, "sigma2": None},
            build=_rank_builder("GavishDonohoPruner", ("sigma2",)),
        ),
        _spec(
            "energy",
            "Algorithm 1 keeping the fewest singular values that hold `energy` of sum s^2",
            {**_RANK_DEFAULTS, "energy": 0.9},
            build=_rank_builder("EnergyPruner", ("energy",)),
        ),
        _spec(
            "magnitude",
            "magnitude sparsification during training: zero |w| <= xi, xi from start to stop "
            "over `epochs`, every `sparsify_every` epochs, zero mask kept",
            {"epochs": None, "sparsify_every": 5, "start": 0.001, "stop": 0.02,
             "keep_mask": True},  # fmt: skip
            required=("epochs",),
            build=_magnitude,
        ),
        _spec(
            "momentum_reset",
            "no layer change; every momentum buffer reset at the pass epochs",
            {"every": 7, "reset_momentum": "always"},
            build=_momentum_reset,
        ),
        _spec(
            "intervention",
            "one change to one layer, once, before epoch `at` (rmtheory.nn.interventions): the "
            "rank cut `rank_from` (settings of method 'mp') would make, in place, with or "
            "without a momentum reset, or an equal-norm random shake, or the reset alone",
            {"kind": None, "at": 1, "layer": -1, "seed": 0, "rank_from": None},
            required=("kind",),
            build=_intervention,
        ),
    )
})  # fmt: skip

_ALL_SETTINGS = frozenset(k for spec in METHOD_SPECS.values() for k in spec.defaults)


def method_spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``name``; ``ValueError`` naming the known methods otherwise."""
    if name not in METHOD_SPECS:
        raise ValueError(f"method must be one of {tuple(METHOD_SPECS)}, got {name!r}")
    return METHOD_SPECS[name]


#: The hook classes of the NumPy trainer, by role (what ``classes=`` replaces for another backend).
NUMPY_CLASSES: Mapping[str, type] = MappingProxyType({
    "MPPruner": MPPruner, "GavishDonohoPruner": GavishDonohoPruner, "EnergyPruner": EnergyPruner,
    "MomentumReset": MomentumReset, "Sparsifier": Sparsifier,
})  # fmt: skip


def _check_classes(classes: Mapping[str, type] | None) -> Mapping[str, type]:
    if classes is None:
        return NUMPY_CLASSES
    if not isinstance(classes, Mapping) or set(classes) != set(NUMPY_CLASSES):
        raise TypeError(f"classes must map exactly the roles {sorted(NUMPY_CLASSES)} to classes")
    return classes


def training_hooks(
    method: str,
    *,
    strict: bool = True,
    classes: Mapping[str, type] | None = None,
    **settings: Any,
) -> TrainingHooks:
    """The hooks of ``method`` with ``settings`` (see the module docstring for the table).

    Parameters
    ----------
    method : str
        A key of :data:`METHOD_SPECS`.
    strict : bool, default True
        False ignores the settings that belong to other methods of the table.
    classes : mapping, optional
        The hook class of each role (keys of :data:`NUMPY_CLASSES`); default the NumPy
        trainer's.  :func:`rmtheory.torch.training_hooks` passes the PyTorch backend's, so both
        backends share this table while ``rmtheory.nn`` never imports torch.
    **settings
        The method's settings (:attr:`MethodSpec.defaults` lists them).

    Returns
    -------
    TrainingHooks
        ``(pruner, sparsifier)``, each None when the method has none.

    Raises
    ------
    ValueError
        For an unknown method, a missing required setting, or ``T`` with
        ``keep_fraction``.
    TypeError
        For a setting the method does not take (any method, with ``strict=False``).
    """
    spec = method_spec(method)
    classes = _check_classes(classes)
    foreign = sorted(set(settings) - set(spec.defaults))
    unknown = [k for k in foreign if k not in _ALL_SETTINGS] if not strict else foreign
    if unknown:
        raise TypeError(
            f"method {method!r} takes no setting(s) {unknown}; it takes {sorted(spec.defaults)}"
        )
    merged = {**spec.defaults, **{k: v for k, v in settings.items() if k in spec.defaults}}
    missing = [k for k in spec.required if merged[k] is None]
    if missing:
        raise ValueError(f"method {method!r} needs the setting(s) {missing}")
    return spec.build(merged, classes)


# ----- the arms of the authors' protocol --------------------------------------------------------------
@dataclass(frozen=True)
class ArmSpec:
    """One arm of the authors' protocol: a method of the table and where its settings come from.

    ``authors`` True takes the pruner settings of the protocol as the authors ran them
    (:meth:`rmtheory.nn.presets.PaperProtocol.pruner`); False the library's corrected Algorithm 1
    (correct BEMA, output protected, bias kept) with the protocol's schedule and a momentum reset
    at every pass.  ``layers`` restricts the pass to ``"output"`` or ``"hidden"`` layers;
    ``overrides`` are the protocol fields the arm changes.
    """

    name: str
    description: str
    method: str
    authors: bool = True
    layers: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)


_CORRECTED = {"final_activation": None}
#: The arms of :func:`rmtheory.experiments.protocol_runs.protocol_run`, in the order of its table.
ARM_SPECS: Mapping[str, ArmSpec] = MappingProxyType({
    a.name: a
    for a in (
        ArmSpec("normal", "the authors' net (ReLU on the output) trained unpruned", "none"),
        ArmSpec("mp", "Algorithm 1 as the authors ran it, output layer included", "mp"),
        ArmSpec("output_only", "Algorithm 1 on the output layer only", "mp", layers="output"),
        ArmSpec("hidden_only", "Algorithm 1 on the hidden layers only", "mp", layers="hidden"),
        ArmSpec("momentum_reset", "no layer changes; momentum reset at the pass epochs",
                "momentum_reset"),
        ArmSpec("normal_no_relu", "no ReLU on the output (the corrected net), unpruned", "none",
                overrides=_CORRECTED),
        ArmSpec("mp_no_relu", "the corrected net with the authors' Algorithm 1", "mp",
                overrides=_CORRECTED),
        ArmSpec("corrected_mp", "the corrected net with the library's Algorithm 1", "mp",
                authors=False, overrides=_CORRECTED),
        ArmSpec("corrected_gavish_donoho", "... with the Gavish-Donoho threshold in place of BEMA",
                "gavish_donoho", authors=False, overrides=_CORRECTED),
        ArmSpec("corrected_energy", "... keeping 90 % of the spectral energy", "energy",
                authors=False, settings={"energy": 0.9}, overrides=_CORRECTED),
        ArmSpec("corrected_magnitude", "... magnitude sparsification during training "
                "(xi 0.001 -> 0.02)", "magnitude", authors=False, overrides=_CORRECTED),
        # the headline's causal controls: one change to the output layer at the first pass
        ArmSpec("cut_keep_momentum", "the output layer's rank cut at the first pass only, in "
                "place, momentum kept", "intervention", settings={"kind": "cut"}),
        ArmSpec("cut_reset_momentum", "the same cut, then every momentum buffer reset",
                "intervention", settings={"kind": "cut_reset"}),
        ArmSpec("shake_output", "a random change of the output layer with the cut's Frobenius "
                "norm at the first pass, momentum kept", "intervention",
                settings={"kind": "shake"}),
    )
})  # fmt: skip


def _corrected_settings(method: str, protocol: Any) -> dict[str, Any]:
    if method == "magnitude":
        return {"epochs": protocol.epochs}
    s = {"every": protocol.every, "T": protocol.T, "reset_momentum": "always"}
    if method == "mp":
        s.update(alpha=protocol.alpha, beta=protocol.beta, gof_cutoff=protocol.gof_cutoff)
    return s


def arm_settings(arm: str, protocol: Any, n_layers: int) -> tuple[str, dict[str, Any]]:
    """``(method, settings)`` of ``arm`` under ``protocol`` for a model of ``n_layers`` layers."""
    if arm not in ARM_SPECS:
        raise ValueError(f"arm must be one of {tuple(ARM_SPECS)}, got {arm!r}")
    spec = ARM_SPECS[arm]
    if spec.method == "none":
        return "none", {}
    if spec.method == "momentum_reset":
        return "momentum_reset", {"every": protocol.every}
    if spec.method == "intervention":  # at the authors' first pass, on the output layer
        return "intervention", {**spec.settings, "at": protocol.every - 1, "layer": n_layers - 1,
                                "rank_from": protocol.pruner_settings()}  # fmt: skip
    settings = (
        protocol.pruner_settings() if spec.authors else _corrected_settings(spec.method, protocol)
    )
    if spec.layers == "output":
        settings["layers"] = [n_layers - 1]
    elif spec.layers == "hidden":
        settings["layers"] = list(range(n_layers - 1))
    return spec.method, {**settings, **spec.settings}


def protocol_hooks(
    arm: str, protocol: Any, n_layers: int, *, classes: Mapping[str, type] | None = None
) -> TrainingHooks:
    """The hooks of ``arm`` (a key of :data:`ARM_SPECS`) under ``protocol``.

    ``protocol`` is a :class:`rmtheory.nn.presets.PaperProtocol` (already carrying the arm's
    :attr:`ArmSpec.overrides`); ``n_layers`` the length of the model's ``layers``.
    """
    method, settings = arm_settings(arm, protocol, n_layers)
    return training_hooks(method, classes=classes, **settings)

