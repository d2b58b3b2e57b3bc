"""The method table (rmtheory.nn.methods) builds the hooks every experiment builds by hand.

Two routes to each expected hook: a literal copy of what the experiments built by hand when the
table was introduced (kept here, so the table cannot drift from the committed records' settings),
and — while it still exists — the experiments' own builder function, called live.
"""

from __future__ import annotations

import importlib

import pytest

from rmtheory.nn import (
    ARM_SPECS,
    METHOD_SPECS,
    EnergyPruner,
    GavishDonohoPruner,
    MomentumReset,
    MPPruner,
    Sparsifier,
    TrainingHooks,
    linear_schedule,
    paper_protocol,
    protocol_hooks,
    training_hooks,
)
from rmtheory.nn.interventions import LayerIntervention
from rmtheory.nn.methods import arm_settings, method_spec


def _find(name: str, *modules: str):
    """``name`` from the first of ``modules`` that has it (experiments/ is being regrouped by family)."""
    for module in modules:
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


_TRAINING = ("rmtheory.experiments.training", "rmtheory.experiments.training.compute")
_CNN = ("rmtheory.experiments.cnn_runs", "rmtheory.experiments.cnn.compute",
        "rmtheory.experiments.cnn")  # fmt: skip
_PROTOCOL = ("rmtheory.experiments.protocol_runs", "rmtheory.experiments.training.protocol")
_ABLATION = ("rmtheory.experiments.catalog_training", "rmtheory.experiments.training.entries",
             "rmtheory.experiments.training")  # fmt: skip


def _required(name: str, modules: tuple[str, ...]):
    found = _find(name, *modules)
    assert found is not None, f"{name} not found in {modules}"
    return found


def _same_value(a, b) -> bool:
    if callable(a) or callable(b):
        if not (callable(a) and callable(b)) or a.__name__ != b.__name__:
            return False
        return all(a(e) == b(e) for e in range(0, 400))
    return a == b


def assert_same_hook(got, want) -> None:
    """Same class and the same settings (callables compared by name and by value on 400 epochs)."""
    if want is None or got is None:
        assert got is want, (got, want)
        return
    assert type(got) is type(want)
    pg, pw = got.get_params(), want.get_params()
    assert pg.keys() == pw.keys()
    bad = {k: (pg[k], pw[k]) for k in pg if not _same_value(pg[k], pw[k])}
    assert not bad, bad
    if hasattr(want, "state_dict"):
        assert got.state_dict() == want.state_dict()


def assert_same_hooks(got: TrainingHooks, want: tuple) -> None:
    assert isinstance(got, TrainingHooks)
    assert_same_hook(got.pruner, want[0])
    assert_same_hook(got.sparsifier, want[1])


# ----- the comparison itself can fail ------------------------------------------------------------------
def test_comparison_detects_a_difference():
    with pytest.raises(AssertionError):
        assert_same_hook(MPPruner(keep_fraction=linear_schedule(50)),
                         MPPruner(keep_fraction=linear_schedule(51)))  # fmt: skip
    with pytest.raises(AssertionError):
        assert_same_hook(MPPruner(alpha=0.2), MPPruner())
    with pytest.raises(AssertionError):
        assert_same_hook(EnergyPruner(), GavishDonohoPruner())
    with pytest.raises(AssertionError):
        assert_same_hook(None, MomentumReset())


# ----- experiments/training.py: METHODS, _pruner, the magnitude sparsifier -----------------------------
def _training_by_hand(method, every, T, alpha, beta, gof_cutoff, variant, epochs):
    """experiments/training.py at e4f1b90 (``_pruner`` and the sparsifier of ``train_run``)."""
    schedule = linear_schedule(T)
    sparsifier = (
        Sparsifier(every=5, start=0.001, stop=0.02, ramp_epochs=epochs, keep_mask=True)
        if method == "magnitude" else None
    )  # fmt: skip
    if method == "mp":
        pruner = MPPruner(every=every, alpha=alpha, beta=beta, gof_cutoff=gof_cutoff,
                          keep_fraction=schedule, variant=variant)  # fmt: skip
    elif method == "gavish_donoho":
        pruner = GavishDonohoPruner(every=every, keep_fraction=schedule)
    elif method == "energy":
        pruner = EnergyPruner(every=every, keep_fraction=schedule, energy=0.9)
    else:
        pruner = None
    return pruner, sparsifier


TRAINING_SETTINGS = [
    dict(every=7, T=50.0, alpha=0.25, beta=0.1, gof_cutoff=1.0, variant="default", epochs=40),
    dict(every=7, T=87.5, alpha=0.25, beta=0.1, gof_cutoff=1.0, variant="default", epochs=70),
    dict(every=3, T=12.0, alpha=0.2, beta=0.9, gof_cutoff=0.5, variant="paper_code", epochs=8),
]


def _table_for_training(method, s):
    """How train_run calls the table: one settings dict for every method (strict=False)."""
    return training_hooks(method, strict=False, **s)


@pytest.mark.parametrize("settings", TRAINING_SETTINGS)
def test_training_methods(settings):
    METHODS = _required("METHODS", _TRAINING)
    ABLATION_METHODS = _required("ABLATION_METHODS", _ABLATION)
    assert set(METHODS) | set(ABLATION_METHODS) <= set(METHOD_SPECS)
    for method in METHODS:
        assert_same_hooks(_table_for_training(method, settings),
                          _training_by_hand(method, **settings))  # fmt: skip


@pytest.mark.parametrize("settings", TRAINING_SETTINGS)
def test_training_methods_live(settings):
    hand = _find("_pruner", *_TRAINING)
    if hand is None:
        pytest.skip("experiments/training builds no pruner by hand any more")
    s = dict(settings)
    epochs = s.pop("epochs")
    for method in _required("METHODS", _TRAINING):
        want = hand(method, s["every"], s["T"], s["alpha"], s["beta"], s["gof_cutoff"],
                    s["variant"])  # fmt: skip
        assert_same_hook(_table_for_training(method, settings).pruner, want)
    assert_same_hook(training_hooks("magnitude", epochs=epochs).sparsifier,
                     _training_by_hand("magnitude", **settings)[1])  # fmt: skip


# ----- experiments/cnn_runs.py: CNN_METHODS ------------------------------------------------------------
@pytest.mark.parametrize("T", [26.0, 40.0])
def test_cnn_methods(T):
    CNN_METHODS = _required("CNN_METHODS", _CNN)
    assert set(CNN_METHODS) <= set(METHOD_SPECS)
    every, alpha, beta, variant, gof_conv, gof_dense = 13, 0.2, 0.9, "default", 0.6, 0.05
    by_hand = {
        "none": (None, None),
        "mp": (MPPruner(every=every, alpha=alpha, beta=beta, variant=variant,
                        gof_cutoff={"conv": gof_conv, "dense": gof_dense},
                        keep_fraction=linear_schedule(T)), None),
    }  # fmt: skip
    for method in CNN_METHODS:
        got = training_hooks(method, strict=False, every=every, alpha=alpha, beta=beta,
                             variant=variant, gof_cutoff={"conv": gof_conv, "dense": gof_dense},
                             T=T)  # fmt: skip
        assert_same_hooks(got, by_hand[method])
    assert training_hooks("mp", gof_cutoff={"conv": 0.6, "dense": 0.05}).pruner.gof_cutoff == {
        "conv": 0.6, "dense": 0.05}  # fmt: skip


# ----- experiments/regression.py -----------------------------------------------------------------------
def test_regression_methods():
    every, alpha, beta, gof_cutoff, T_eff = 10, 0.25, 0.1, 1.0, 1.25 * 200
    want = MPPruner(every=every, alpha=alpha, beta=beta, gof_cutoff=gof_cutoff,
                    keep_fraction=linear_schedule(T_eff))  # fmt: skip
    got = training_hooks("mp", every=every, alpha=alpha, beta=beta, gof_cutoff=gof_cutoff, T=T_eff)
    assert_same_hooks(got, (want, None))
    assert_same_hooks(training_hooks("none"), (None, None))


# ----- experiments/protocol_runs.py: ARMS, _hooks, and the authors' protocol (presets) ------------------
def _protocol_by_hand(arm, proto, n_layers, epochs):
    """experiments/protocol_runs.py ``_hooks`` and nn/presets.py at e4f1b90."""

    def authors(layers=None):
        return MPPruner(every=proto.every, keep_fraction=linear_schedule(proto.T),
                        gof_cutoff=proto.gof_cutoff, reset_momentum=proto.reset_momentum,
                        protect_output=proto.protect_output, layers=layers,
                        drop_bias_on_resplit=proto.drop_bias_on_resplit, alpha=proto.alpha,
                        beta=proto.beta, variant=proto.variant)  # fmt: skip

    if arm in ("normal", "normal_no_relu"):
        return None, None
    if arm in ("mp", "mp_no_relu"):
        return authors(), None
    if arm == "output_only":
        return authors(layers=[n_layers - 1]), None
    if arm == "hidden_only":
        return authors(layers=list(range(n_layers - 1))), None
    if arm == "momentum_reset":
        return MomentumReset(every=proto.every), None
    kinds = {"cut_keep_momentum": "cut", "cut_reset_momentum": "cut_reset", "shake_output": "shake"}
    if arm in kinds:  # added with the headline's interventions (issue 19)
        return LayerIntervention(kinds[arm], at=proto.every - 1, layer=n_layers - 1,
                                 rank_from=authors()), None  # fmt: skip
    common = dict(every=proto.every, keep_fraction=linear_schedule(proto.T),
                  reset_momentum="always")  # fmt: skip
    if arm == "corrected_mp":
        return MPPruner(alpha=proto.alpha, beta=proto.beta, gof_cutoff=proto.gof_cutoff,
                        **common), None  # fmt: skip
    if arm == "corrected_gavish_donoho":
        return GavishDonohoPruner(**common), None
    if arm == "corrected_energy":
        return EnergyPruner(energy=0.9, **common), None
    assert arm == "corrected_magnitude"
    return None, Sparsifier(every=5, start=0.001, stop=0.02, ramp_epochs=epochs, keep_mask=True)


PROTOCOLS = [{}, {"epochs": 40, "every": 7, "T": 50.0, "sizes": (784, 300, 10)},
             {"alpha": 0.2, "beta": 0.5, "gof_cutoff": 0.8, "variant": "default"}]  # fmt: skip


@pytest.mark.parametrize("overrides", PROTOCOLS)
def test_protocol_arms(overrides):
    ARMS = _required("ARMS", _PROTOCOL)
    assert tuple(ARM_SPECS) == tuple(ARMS)
    for arm in ARMS:
        proto = paper_protocol(**{**overrides, **ARM_SPECS[arm].overrides})
        n_layers = len(proto.model(seed=0).layers)
        assert_same_hooks(protocol_hooks(arm, proto, n_layers),
                          _protocol_by_hand(arm, proto, n_layers, proto.epochs))  # fmt: skip


@pytest.mark.parametrize("overrides", PROTOCOLS)
def test_protocol_arms_live(overrides):
    hand = _find("_hooks", *_PROTOCOL)
    if hand is None:
        pytest.skip("experiments/protocol_runs builds no hook by hand any more")
    for arm in _required("ARMS", _PROTOCOL):
        proto = paper_protocol(**{**overrides, **ARM_SPECS[arm].overrides})
        n_layers = len(proto.model(seed=0).layers)
        assert_same_hooks(protocol_hooks(arm, proto, n_layers),
                          hand(arm, proto, n_layers, proto.epochs))  # fmt: skip


def test_corrected_arms_drop_the_final_relu():
    """protocol_run sets final_activation=None for the *_no_relu and corrected_* arms."""
    for arm, spec in ARM_SPECS.items():
        corrected = arm in ("normal_no_relu", "mp_no_relu") or arm.startswith("corrected_")
        assert dict(spec.overrides) == ({"final_activation": None} if corrected else {})


def test_presets_use_the_table():
    proto = paper_protocol()
    assert_same_hook(proto.pruner(), training_hooks("mp", **proto.pruner_settings()).pruner)
    assert_same_hook(proto.momentum_reset(), MomentumReset(every=proto.every))


# ----- the table's own contract ------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match="method must be one of"):
        training_hooks("svd")
    with pytest.raises(TypeError, match="classes must map"):
        training_hooks("mp", classes={"MPPruner": MPPruner})
    with pytest.raises(TypeError, match=r"takes no setting\(s\) \['alpha'\]"):
        training_hooks("energy", alpha=0.2)
    with pytest.raises(TypeError, match=r"\['alhpa'\]"):  # a typo is caught even when lenient
        training_hooks("mp", strict=False, alhpa=0.2)
    with pytest.raises(ValueError, match="needs the setting"):
        training_hooks("magnitude")
    with pytest.raises(ValueError, match="not both"):
        training_hooks("mp", T=50, keep_fraction=0.5)
    with pytest.raises(ValueError, match="arm must be one of"):
        arm_settings("nope", paper_protocol(), 4)
    with pytest.raises(ValueError, match="method must be one of"):
        method_spec("nope")


def test_specs_describe_every_method():
    for name, spec in METHOD_SPECS.items():
        assert spec.name == name and spec.description
        for key in spec.required:
            assert key in spec.defaults
    defaults = METHOD_SPECS["mp"].defaults
    assert_same_hook(training_hooks("mp").pruner, MPPruner())
    assert defaults["alpha"] == MPPruner().alpha and defaults["every"] == MPPruner().every
    assert_same_hook(training_hooks("energy").pruner, EnergyPruner())
    assert_same_hook(training_hooks("gavish_donoho").pruner, GavishDonohoPruner())
    assert_same_hook(training_hooks("momentum_reset").pruner, MomentumReset())


def test_keep_fraction_number_or_callable():
    assert training_hooks("mp", keep_fraction=0.25).pruner.keep_fraction == 0.25
    f = linear_schedule(30)
    assert training_hooks("mp", keep_fraction=f).pruner.keep_fraction is f


# ----- the declared protocols, typed events, exports, no import cycle ----------------------------------
def test_hooks_and_models_follow_the_protocols():
    from rmtheory.nn import CNN, MLP, NoPruner, authors_cnn
    from rmtheory.nn.protocols import (
        PrunableLayer,
        ScheduledHook,
        StatefulHook,
        StepHook,
        TrainableModel,
        TrainingHook,
    )

    for hook in (MPPruner(), GavishDonohoPruner(), EnergyPruner(), MomentumReset(), NoPruner(),
                 Sparsifier()):  # fmt: skip
        assert isinstance(hook, TrainingHook) and isinstance(hook, StatefulHook)
    assert isinstance(Sparsifier(), StepHook) and not isinstance(MPPruner(), StepHook)
    assert isinstance(MPPruner(), ScheduledHook) and not isinstance(NoPruner(), ScheduledHook)
    assert not isinstance(object(), TrainingHook)
    cnn = authors_cnn(channels=(1, 4, 4), fc=(8,), input_shape=(1, 12, 12), seed=0)
    for model in (MLP([4, 3, 2]), cnn):
        assert isinstance(model, TrainableModel)
        assert all(isinstance(layer, PrunableLayer)
                   for layer in model.layers if hasattr(type(layer), "weight"))  # fmt: skip
    assert isinstance(cnn, CNN) and not isinstance(object(), TrainableModel)


def test_events_are_typed_dicts_that_read_as_before():
    import numpy as np

    from rmtheory.nn import MLP
    from rmtheory.nn.protocols import ACTIONS, PruneEvent

    g = np.random.default_rng(0)
    model = MLP([30, 40, 5], seed=0)
    model.layers[0].set_dense(g.standard_normal((40, 30)) / 30)
    events = MPPruner(every=1, prune_at_start=True).on_epoch_start(model, 0, n_classes=5)
    assert events and all(type(e) is dict for e in events)
    assert {e.get("action") for e in events} <= set(ACTIONS)
    assert set().union(*events) <= set(PruneEvent.__annotations__)
    assert [e["layer"] for e in events] == [0, 1]


def test_rmtheory_nn_exports_every_pruner():
    import rmtheory.nn as nn
    from rmtheory.nn import pruners

    for name in pruners.__all__:
        assert getattr(nn, name) is getattr(pruners, name) and name in nn.__all__
    assert nn.Sparsifier is Sparsifier and nn.linear_schedule is linear_schedule
    from rmtheory.nn import history
    from rmtheory.nn.train import History, TrainingDiverged

    assert History is history.History is nn.History
    assert TrainingDiverged is history.TrainingDiverged is nn.TrainingDiverged


def _imports(path, package_modules):
    """Modules of ``package_modules`` that ``path`` imports anywhere (function bodies included)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in package_modules)
    return found


def test_no_import_cycle_in_nn():
    """No cycle among rmtheory.nn's modules (and rmtheory.torch), function-local imports included."""
    from pathlib import Path

    import rmtheory

    root = Path(rmtheory.__file__).parent
    files = {f"rmtheory.nn.{p.stem}": p for p in (root / "nn").glob("*.py") if p.stem != "__init__"}
    files.update({f"rmtheory.torch.{p.stem}": p for p in (root / "torch").glob("*.py")
                  if p.stem != "__init__"})  # fmt: skip
    graph = {m: _imports(p, files) - {m} for m, p in files.items()}
    assert "rmtheory.nn.checkpoint" in graph["rmtheory.nn.train"]  # the parser sees imports
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, f"import cycle: {' -> '.join([*path, m, n])}"
            if n not in state:
                visit(n, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    assert "rmtheory.nn.train" not in graph["rmtheory.nn.checkpoint"]
