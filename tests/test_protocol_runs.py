"""The runner behind the headline experiment: arms share their start, the per-epoch dead-unit
records match a direct computation, and an interrupted run resumes to the same numbers."""

import importlib
import os
from pathlib import Path

import numpy as np
import pytest

from rmtheory.experiments.catalog_headline import paired_difference
from rmtheory.experiments.protocol_runs import ARMS, protocol_run

train_module = importlib.import_module("rmtheory.nn.train")  # the module, not the function

PROTO = {"sizes": [784, 48, 24, 10], "epochs": 4, "every": 2, "T": 6.0}
DATA = dict(dataset="tiny", subset=(600, 200))


@pytest.fixture(scope="module")
def runs():
    return {arm: protocol_run(0, arm, protocol=PROTO, **DATA) for arm in ARMS}


def test_arms_share_the_first_epoch_and_differ_after_a_pass(runs):
    relu = [
        a for a in ARMS if a in ("normal", "mp", "output_only", "hidden_only", "momentum_reset")
    ]
    first = {runs[a]["test_accuracy"][0] for a in relu}
    assert len(first) == 1  # same weights, same batches until the first pass (before epoch 2)
    assert runs["normal"]["test_accuracy"] != runs["mp"]["test_accuracy"]
    assert runs["normal"]["n_params"][-1] == runs["normal"]["initial_params"]
    assert runs["mp"]["n_params"][-1] < runs["mp"]["initial_params"]


def test_pass_records_and_layer_selection(runs):
    assert [p["epoch"] for p in runs["mp"]["passes"]] == [2, 4]
    assert {e["layer"] for e in runs["output_only"]["events"]} == {2}
    assert 2 not in {e["layer"] for e in runs["hidden_only"]["events"]}
    assert runs["momentum_reset"]["events"] == [] and runs["momentum_reset"]["passes"]
    # with 200 test images the probe is the whole test set: "before" the pass before epoch 2 is
    # the state at the end of epoch 1
    assert runs["mp"]["passes"][0]["before"] == runs["mp"]["zero_fraction"][0]
    for arm in ("normal_no_relu", "mp_no_relu", "corrected_mp"):  # no final ReLU: no exact zeros
        assert max(max(z) for z in runs[arm]["zero_fraction"]) == 0.0


def test_an_interrupted_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, runs):
    real = train_module._train_epoch

    def dies_at_epoch_2(model, X, y, gen, epoch, *args):
        if epoch == 2:
            raise KeyboardInterrupt
        return real(model, X, y, gen, epoch, *args)

    monkeypatch.setattr(train_module, "_train_epoch", dies_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        protocol_run(0, "mp", protocol=PROTO, _checkpoint_dir=str(tmp_path), **DATA)
    monkeypatch.setattr(train_module, "_train_epoch", real)
    resumed = protocol_run(0, "mp", protocol=PROTO, _checkpoint_dir=str(tmp_path), **DATA)
    for key in ("test_accuracy", "n_params", "never_predicted", "zero_fraction", "passes"):
        assert resumed[key] == runs["mp"][key], key


def test_paired_difference_matches_a_t_interval():
    a = np.array([70.0, 80.0, 90.0, 85.0])
    b = np.array([98.0, 97.0, 96.0, 98.0])
    m, lo, hi = paired_difference(a, b)
    d = b - a
    half = 3.182446305284263 * d.std(ddof=1) / 2  # t_{0.975, 3} from a table
    assert m == pytest.approx(d.mean()) and (lo, hi) == pytest.approx((m - half, m + half))


def test_unknown_arm_is_refused():
    with pytest.raises(ValueError, match="arm must be one of"):
        protocol_run(0, "prune_everything", protocol=PROTO, **DATA)


def test_full_size_table_layout_feeds_the_table_claims_and_plots(tmp_path):
    """The paper-size tables run through the protocol runner; claims and bars read its layout."""
    from rmtheory.experiments import EXPERIMENTS
    from rmtheory.experiments.catalog_headline import TABLE_ARMS, run_protocol_table

    params = {"dataset": "tiny", "topologies": [[784, 32, 16, 10]], "n_seeds": 2,
              "subset": [600, 200], "arms": list(TABLE_ARMS), "protocol": {**PROTO}}  # fmt: skip
    params["protocol"]["epochs"] = 2
    result = run_protocol_table(params, 1, None)
    runs = result["runs"][0]
    assert set(runs) == {"none", *TABLE_ARMS} - {"normal"}
    # judged as the paper's MNIST row (the numbers are the tiny set's; only the layout matters)
    result.update(name="table1", size="full", params={**params, "dataset": "mnist"})
    claims = {c.claim: c for c in EXPERIMENTS["table1"].claims(result)}
    row = "mnist [784,32,16,10] (substitute)"  # not one of the paper's topologies
    assert claims[f"{row} unpruned test acc (%)"].paper == "70-85"  # the paper's range
    assert f"{row} corrected net: gavish_donoho − unpruned (points)" in claims
    for name in ("table1", "table2", "table3", "fig1"):
        EXPERIMENTS[name].plot(result, tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


def test_cached_only_builds_a_partial_result_from_recorded_seeds(tmp_path):
    """A long run in progress (or spanning sessions) can be reported without computing more."""
    import json

    from rmtheory.experiments import reproduce

    full = reproduce("headline", "smoke", tmp_path, seeds=2, plot=False)
    target = next(
        p for p in (tmp_path / ".cache").glob("protocol_run-seed1-*.json")
        if json.loads(p.read_text())["arm"] == "mp"
    )  # fmt: skip
    target.unlink()
    before = sorted((tmp_path / ".cache").glob("*.json"))
    part = reproduce("headline", "smoke", tmp_path, seeds=2, plot=False, cached_only=True)
    assert sorted((tmp_path / ".cache").glob("*.json")) == before  # nothing computed
    assert part["partial"].startswith("1 seed runs not yet computed")
    assert [r["seed"] for r in part["runs"]["mp"]] == [0]
    assert [r["seed"] for r in part["runs"]["normal"]] == [0, 1]
    assert part["runs"]["mp"][0]["test_accuracy"] == full["runs"]["mp"][0]["test_accuracy"]
    gain = next(c for c in part["claims"] if c["claim"].startswith("headline: MP pruning raises"))
    assert (
        "in 0 of 1 seeds" in gain["ours"] or "in 1 of 1 seeds" in gain["ours"]
    )  # paired on seed 0


def _background_tool():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / "run_full_background.py"
    spec = importlib.util.spec_from_file_location("run_full_background", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_background_workers_never_share_a_run_and_take_over_a_dead_ones(tmp_path):
    import subprocess
    import sys

    tool = _background_tool()
    claim = tmp_path / "table1-a-mp-seed0.claim"
    assert tool._claim(claim) and claim.read_text() == str(os.getpid())
    assert not tool._claim(claim)  # held by a live worker (this one)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    claim.write_text(dead)  # its worker has exited
    assert tool._claim(claim) and claim.read_text() == str(os.getpid())
    # every arm x seed of a full-size table is one unit, labelled by its topology
    params = {"topologies": [[4, 3, 2]], "arms": ["normal", "mp"], "protocol": {"epochs": 2}}
    units = list(tool._runs("t", params))
    assert [(label, arm) for label, arm, _ in units] == [("t-4x3x2-normal", "normal"),
                                                         ("t-4x3x2-mp", "mp")]  # fmt: skip
    assert all(p == {"epochs": 2, "sizes": [4, 3, 2]} for _, _, p in units)


def test_a_background_worker_claims_no_run_that_cannot_end_by_its_deadline(tmp_path):
    import datetime as dt
    import subprocess
    import sys

    tool = _background_tool()
    now = dt.datetime(2026, 12, 7, 23, 50)
    assert tool._deadline("02:20", now) == dt.datetime(2026, 12, 8, 2, 20)  # the next 02:20
    assert tool._deadline("23:55", now) == dt.datetime(2026, 12, 7, 23, 55)
    assert tool._deadline("2026-12-08T01:00", now) == dt.datetime(2026, 12, 8, 1, 0)
    until = dt.datetime(2026, 12, 8, 1, 0)
    assert tool._fits(until, 70, now) and not tool._fits(until, 71, now)
    assert tool._fits(None, 10**6, now)
    # end to end: a deadline already past claims nothing, trains nothing, and says why
    path = Path(__file__).resolve().parents[1] / "tools" / "run_full_background.py"
    out = subprocess.run([sys.executable, str(path), "table1", "--out", str(tmp_path),
                          "--until", "2000-01-01T00:00"], capture_output=True, text=True,
                         timeout=300, check=True).stdout  # fmt: skip
    assert "cannot end by 2000-01-01 00:00" in out and "stopping" in out
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.claim"))


def test_cached_only_with_nothing_recorded_is_a_clear_error(tmp_path, capsys):
    from rmtheory.cli import main
    from rmtheory.experiments import reproduce
    from rmtheory.experiments.catalog_training import _claims_accuracy
    from rmtheory.experiments.registry import NothingRecorded

    with pytest.raises(NothingRecorded, match=r"no seed run of 'headline' at smoke size"):
        reproduce("headline", "smoke", tmp_path, plot=False, cached_only=True)
    assert not list(tmp_path.rglob("*.json"))  # nothing computed, nothing written
    assert main(["reproduce", "headline", "--smoke", "--cached-only", "--out", str(tmp_path)]) == 2
    assert "compute them first" in capsys.readouterr().err
    # a table whose pruned arm is not recorded yet says so in one n/a row rather than crashing
    run = {"test_accuracy": [0.9], "n_nonzero": [10], "initial_params": 10}
    partial = {"params": {"dataset": "mnist"}, "topologies": [[784, 10]],
               "runs": [{"none": [run]}]}  # fmt: skip
    (pending,) = _claims_accuracy(partial)
    assert pending.verdict == "n/a" and "not yet recorded" in pending.ours
    assert "mp 0 of 1 seeds" in pending.ours
