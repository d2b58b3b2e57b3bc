"""The paper's experiments through either backend (issue 21, item 2).

``protocol_run`` (the runner of Tables 1-6 at full size and the headline) trains one arm with
the NumPy trainer or with ``rmtheory.torch``; in float64 on the CPU the two are one computation:
the same ranks cut at every pass and the same curves to 1e-6.  Both run in float64 because the
NumPy trainer's default float32 and torch's float32 kernels round differently (sums in another
order), which after a few hundred SGD steps moves the curves by ~1e-4 — far above 1e-6, and no
statement about the method.  The NumPy float32 runs keep their cache keys (the committed
records are read by key); another backend's records have their own, and say who made them.
"""

from __future__ import annotations

import functools
import importlib
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rmtheory.experiments.backends import backend_context, backend_kwargs, check_backend  # noqa: E402
from rmtheory.experiments.runner import cache_key  # noqa: E402
from rmtheory.experiments.training.protocol import protocol_run, run_headline_arms  # noqa: E402

torch_train = importlib.import_module("rmtheory.torch.train")

PROTO = {"sizes": [784, 48, 24, 10], "epochs": 2, "every": 2, "T": 6.0}  # one pass, before epoch 2
DATA = dict(dataset="tiny", subset=(600, 200))
CURVES = ("train_loss", "train_accuracy", "test_loss", "test_loss_paper", "test_accuracy")


@functools.lru_cache(maxsize=1)
def _mp_pair():
    return _both("mp")


def _both(arm, protocol=PROTO, **kw):
    a = protocol_run(0, arm, protocol=protocol, dtype="float64", **DATA, **kw)
    b = protocol_run(0, arm, protocol=protocol, backend="torch", device="cpu", dtype="float64",
                     **DATA, **kw)  # fmt: skip
    return a, b


def _same_events(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):  # a GoF or a Frobenius norm: SVDs agree to rounding
                assert x[k] == pytest.approx(y[k], rel=1e-9, abs=1e-12, nan_ok=True), k
            else:
                assert x[k] == y[k], k


@pytest.mark.parametrize(
    "arm, protocol",
    [
        ("mp", PROTO),
        ("mp", {**PROTO, "epochs": 4}),  # a second pass re-splits (the authors' bias drop)
        ("corrected_energy", PROTO),
        ("corrected_magnitude", {**PROTO, "epochs": 6}),  # sparsified before epoch 5
        ("momentum_reset", PROTO),
        ("cut_reset_momentum", PROTO),
        ("shake_output", PROTO),
    ],
)
def test_a_protocol_run_is_one_computation_on_both_backends(arm, protocol):
    a, b = _mp_pair() if (arm, protocol) == ("mp", PROTO) else _both(arm, protocol)
    for key in CURVES:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)
    _same_events(a["events"], b["events"])
    for key in ("final_ranks", "n_params", "n_nonzero", "never_predicted", "initial_params", "lr"):
        assert a[key] == b[key], key
    assert len(a["passes"]) == len(b["passes"])
    for p, q in zip(a["passes"], b["passes"], strict=True):
        assert p["epoch"] == q["epoch"]
        np.testing.assert_allclose(q["before"], p["before"], atol=1e-12)
        np.testing.assert_allclose(q["after"], p["after"], atol=1e-12)
    if arm not in ("momentum_reset", "corrected_magnitude"):  # the test bites: something was cut
        assert any(e["action"] in ("split", "truncate", "perturb") for e in a["events"])
    if arm == "corrected_magnitude":
        assert a["n_nonzero"][-1] < a["n_params"][-1]
    assert (a["environment"]["backend"], b["environment"]["backend"]) == ("numpy", "torch")
    assert b["environment"]["versions"]["torch"] == torch.__version__
    assert b["environment"]["device"] == "cpu" and b["environment"]["dtype"] == "float64"


def test_the_torch_run_differs_when_the_protocol_does():
    """The comparison above can fail: another lr gives other curves on the torch side."""
    a, _ = _mp_pair()
    c = protocol_run(0, "mp", protocol={**PROTO, "lr": 0.03}, backend="torch", device="cpu",
                     dtype="float64", **DATA)  # fmt: skip
    assert max(abs(x - y) for x, y in zip(a["train_loss"], c["train_loss"], strict=True)) > 1e-4


def test_cache_keys_numpy_unchanged_torch_its_own(tmp_path):
    params = {"n_seeds": 1, "protocol": {**PROTO, "epochs": 1}, **DATA}
    public = {"dataset": "tiny", "subset": (600, 200), "protocol": params["protocol"],
              "arm": "normal"}  # fmt: skip
    assert backend_kwargs() == {}
    run_headline_arms(params, 1, tmp_path / "np", arms=("normal",))
    assert [p.name for p in (tmp_path / "np").glob("*.json")] == [
        f"protocol_run-seed0-{cache_key(public)}.json"
    ]
    with backend_context("torch", "cpu"):
        out = run_headline_arms(params, 1, tmp_path / "th", arms=("normal",))
        assert backend_kwargs() == {"backend": "torch", "device": "cpu"}
    assert backend_kwargs() == {}  # the context is left as found
    torch_key = cache_key({**public, "backend": "torch", "device": "cpu"})
    assert [p.name for p in (tmp_path / "th").glob("*.json")] == [
        f"protocol_run-seed0-{torch_key}.json"
    ]
    assert torch_key != cache_key(public)
    assert out["backend"] == {"backend": "torch", "device": "cpu"}  # the result says so
    assert out["runs"]["normal"][0]["environment"]["backend"] == "torch"


def test_an_interrupted_torch_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    proto = {**PROTO, "epochs": 4}
    kw = dict(protocol=proto, backend="torch", device="cpu", dtype="float64", **DATA)
    whole = protocol_run(0, "mp", **kw)
    real, calls = torch_train._evaluate, []

    def dies_in_epoch_3(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(torch_train, "_evaluate", dies_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        protocol_run(0, "mp", _checkpoint_dir=str(tmp_path), **kw)
    monkeypatch.setattr(torch_train, "_evaluate", real)
    assert [p.suffix for p in tmp_path.glob("protocol-mp-*.pt")] == [".pt"]
    resumed = protocol_run(0, "mp", _checkpoint_dir=str(tmp_path), **kw)
    for key in ("test_accuracy", "train_loss", "n_params", "never_predicted", "passes",
                "final_ranks", "events"):  # fmt: skip
        assert resumed[key] == whole[key], key


def test_a_damaged_torch_checkpoint_is_computed_again(tmp_path):
    kw = dict(protocol=PROTO, backend="torch", device="cpu", **DATA)
    first = protocol_run(0, "mp", _checkpoint_dir=str(tmp_path), **kw)
    (ckpt,) = tmp_path.glob("*.pt")
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="damaged"):
        again = protocol_run(0, "mp", _checkpoint_dir=str(tmp_path), **kw)
    assert again["test_accuracy"] == first["test_accuracy"]  # float32 on one CPU: reproducible


def test_backend_arguments_are_checked():
    with pytest.raises(ValueError, match="backend must be one of"):
        protocol_run(0, "mp", protocol=PROTO, backend="jax", **DATA)
    with pytest.raises(ValueError, match="dtype must be one of"):
        check_backend("torch", "cpu", "float16")
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        check_backend("numpy", "cuda")
    with pytest.raises(ValueError, match="device must name a torch device"):
        check_backend("torch", "warp-drive")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            check_backend("torch", "cuda")


def test_cnn_run_on_the_torch_backend(tmp_path):
    from rmtheory.experiments.cnn.compute import cnn_run

    kw = dict(dataset="tiny", subset=(256, 100), channels=(1, 6, 40, 40), fc=(64, 10), epochs=3,
              every=2, T=3.0, thresholds=(0.01, 0.05))  # fmt: skip
    a = cnn_run(0, "mp", **kw)
    b = cnn_run(0, "mp", backend="torch", device="cpu", _checkpoint_dir=str(tmp_path), **kw)
    assert set(a) == set(b)
    # the same layers, kinds and cutoffs are visited (the ranks depend on the dropout masks,
    # which are each backend's own)
    assert [(e["layer"], e["kind"], e["shape"], e["gof_cutoff"]) for e in a["events"]] == [
        (e["layer"], e["kind"], e["shape"], e["gof_cutoff"]) for e in b["events"]
    ]
    assert any(e["action"] == "split" for e in b["events"])
    assert a["initial_params_by_kind"] == b["initial_params_by_kind"]
    assert sum(b["params_by_kind"].values()) == b["n_params"][-1] < b["initial_params"]
    assert b["sweep"]["n_nonzero"][1] < b["sweep"]["n_nonzero"][0]
    assert b["environment"]["backend"] == "torch"
    again = cnn_run(0, "mp", backend="torch", device="cpu", _checkpoint_dir=str(tmp_path), **kw)
    assert again["test_accuracy"] == b["test_accuracy"]  # restored from its checkpoint
    with pytest.raises(ValueError, match="needs backend='torch'"):
        cnn_run(0, "mp", dtype="float64", **kw)


def test_the_cli_runs_an_experiment_inside_the_backend(monkeypatch, tmp_path):
    import rmtheory.experiments as experiments
    from rmtheory.cli import main

    seen = {}

    def fake(name, size, out, **kw):
        seen.update(name=name, out=str(out), backend=backend_kwargs(), jobs=kw["jobs"])
        return {"name": name, "claims": [], "backend": backend_kwargs()}

    monkeypatch.setattr(experiments, "reproduce", fake)
    monkeypatch.setattr("rmtheory.experiments.report.print_claims", lambda r: None)
    assert main(["reproduce", "headline", "--backend", "torch", "--device", "cpu", "--jobs",
                 "2"]) == 0  # fmt: skip
    assert seen == {"name": "headline", "out": "figures/torch-cpu-float32",
                    "backend": {"backend": "torch", "device": "cpu"}, "jobs": 1}  # fmt: skip
    assert main(["reproduce", "headline", "--out", str(tmp_path)]) == 0
    assert seen["backend"] == {} and seen["out"] == str(tmp_path)
    assert main(["reproduce", "headline", "--backend", "torch", "--device", "nowhere"]) == 2


def test_the_numpy_float32_record_is_unchanged_by_the_backend_option():
    """The default run is the run it always was: rmtheory.nn.train on the protocol's MLP."""
    from rmtheory.nn import paper_protocol

    a = protocol_run(0, "mp", protocol=PROTO, **DATA)
    proto = paper_protocol(**PROTO)
    from rmtheory.experiments.training.compute import load_data

    xtr, ytr, xte, yte = load_data("tiny", (600, 200), proto.normalize)
    _, h = proto.run((xtr, ytr), (xte, yte), seed=0, verbose=False)
    assert a["test_accuracy"] == h.test_accuracy and a["train_loss"] == h.train_loss
    assert a["environment"]["backend"] == "numpy" and "torch" not in a["environment"]["versions"]
    assert math.isfinite(a["train_loss"][-1])


# ------------------------------------------------- the quick-size runners (Tables 1-6, Figs 5, 6, 22)
QUICK = dict(dataset="tiny", sizes=(784, 48, 24, 10), epochs=2, every=2, T=6.0, subset=(600, 200))


@pytest.mark.parametrize("method, probe", [("mp", True), ("magnitude", False), ("none", False)])
def test_a_quick_table_run_is_one_computation_on_both_backends(method, probe):
    """``train_run`` (Tables 1-6 and Fig 5 at quick size, Fig 22) on either backend, float64:
    the same events and curves; before, it trained on NumPy whatever ``--backend`` said."""
    from rmtheory.experiments.training.compute import train_run

    a = train_run(0, method, probe=probe, dtype="float64", **QUICK)
    b = train_run(0, method, probe=probe, backend="torch", device="cpu", dtype="float64", **QUICK)
    for key in CURVES:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)
    assert a["n_params"] == b["n_params"] and a["n_nonzero"] == b["n_nonzero"]
    _same_events(a["events"], b["events"])
    if probe:
        assert a["probes"] and len(a["probes"]) == len(b["probes"])
        for p, q in zip(a["probes"], b["probes"], strict=True):
            assert p["epoch"] == q["epoch"] and p["after"] == pytest.approx(q["after"], abs=1e-12)
    assert b["environment"]["backend"] == "torch" and "environment" in a  # a says float64


def test_the_sparsification_curve_is_one_computation_on_both_backends():
    from rmtheory.experiments.training.compute import sparsification_curve

    kw = dict(QUICK, thresholds=(0.5, 0.05, 0.01), l1=1e-6, l2=1e-6)
    a = sparsification_curve(0, "mp", dtype="float64", **kw)
    b = sparsification_curve(0, "mp", backend="torch", device="cpu", dtype="float64", **kw)
    assert a["n_nonzero"] == b["n_nonzero"] and a["trained_params"] == b["trained_params"]
    assert a["initial_params"] == b["initial_params"] and a["trained_params"] < a["initial_params"]
    np.testing.assert_allclose(b["accuracy"], a["accuracy"], atol=1e-12)


def test_the_quick_tables_train_on_the_backend_asked_for_and_say_so(tmp_path):
    from rmtheory.experiments import EXPERIMENTS

    params = {**EXPERIMENTS["table1"].sizes["smoke"], "n_seeds": 1}
    with backend_context("torch", device="cpu"):
        out = EXPERIMENTS["table1"].run(params=params, jobs=1, cache=tmp_path)
    assert out["backend"] == {"backend": "torch", "device": "cpu"}
    files = sorted(p.name for p in tmp_path.glob("train_run-*.json"))
    assert files and all(json_env(tmp_path / f)["backend"] == "torch" for f in files)
    numpy_out = EXPERIMENTS["table1"].run(params=params, jobs=1, cache=tmp_path)
    assert "backend" not in numpy_out  # the NumPy run: its own records, as recorded before
    assert len(list(tmp_path.glob("train_run-*.json"))) == 2 * len(files)


def json_env(path):
    import json

    return json.loads(path.read_text())["environment"]
