"""The experiments house: damaged records and checkpoints are recomputed with a warning naming
the file, ``jobs`` is checked once, the CLI says what it does, the run adapter and the rules
behave as documented, and the layout holds (no import cycle, no sibling entries importing each
other, no hand-built hook, no inline verdict)."""

from __future__ import annotations

import ast
import json
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmtheory import cli
from rmtheory.experiments import map_seeds, rules
from rmtheory.experiments.runner import DamagedRecord, current_context, run_context, seed_run

PACKAGE = Path(__file__).resolve().parents[1] / "rmtheory"
EXPERIMENTS_DIR = PACKAGE / "experiments"


def _square(seed, power):
    return {"value": seed**power, "power": power}


# ---------------------------------------------------------------------------- damaged records
@pytest.mark.parametrize("damage", ['{"value": 1', "", "{}", "[]", "null", '"text"', '{"power": 2}'])
def test_a_damaged_record_is_recomputed_with_a_warning_naming_the_file(tmp_path, damage):
    map_seeds(_square, [1, 2, 3], cache=tmp_path, power=2)
    path = sorted(tmp_path.iterdir())[1]  # seed 2's record
    path.write_text(damage)
    with pytest.warns(DamagedRecord, match=re.escape(str(path))):
        again = map_seeds(_square, [1, 2, 3], cache=tmp_path, power=2)
    assert [r["value"] for r in again] == [1, 4, 9]
    assert json.loads(path.read_text())["value"] == 4  # rewritten whole


def _one_seed_experiment():
    from rmtheory.experiments.registry import Experiment

    def summarise(runs, params):
        return {"values": [r["value"] for r in runs]}  # reads "value": a record without it fails

    sizes = {s: {"n_seeds": 1, "power": 2} for s in ("smoke", "quick", "full")}
    return Experiment("one_seed_toy", "toy", seed_run(_square, ["power"], summarise),
                      lambda result, out: None, sizes, paper_ref="-")  # fmt: skip


def test_a_one_seed_record_lacking_a_key_is_an_error_naming_the_file(tmp_path, monkeypatch):
    """Before (found on cdd06e6): a call of one seed has no other record to compare with, so a
    record that parses but lacks a key ended in a bare ``KeyError: 'value'``, naming no file."""
    from rmtheory.experiments import registry

    monkeypatch.setitem(registry.EXPERIMENTS, "one_seed_toy", _one_seed_experiment())
    assert registry.reproduce("one_seed_toy", "quick", tmp_path)["values"] == [0]
    (path,) = tmp_path.rglob("_square-seed0-*.json")
    path.write_text('{"power": 2}')
    with pytest.raises(registry.DamagedRecordError, match=re.escape(str(path))):
        registry.reproduce("one_seed_toy", "quick", tmp_path)


def test_a_key_error_of_the_code_itself_is_not_blamed_on_a_record(tmp_path, monkeypatch):
    from rmtheory.experiments import registry

    exp = _one_seed_experiment()

    def broken(params, jobs=1, cache=None):
        exp.run(params, jobs, cache)
        return {}["a bug"]

    monkeypatch.setitem(registry.EXPERIMENTS, "one_seed_toy",
                        registry.Experiment("one_seed_toy", "toy", broken, exp.plot, exp.sizes,
                                            paper_ref="-"))  # fmt: skip
    with pytest.raises(KeyError, match="a bug") as info:
        registry.reproduce("one_seed_toy", "quick", tmp_path)
    assert not isinstance(info.value, registry.DamagedRecordError)


def test_an_intact_cache_gives_no_warning(tmp_path):
    map_seeds(_square, [1, 2], cache=tmp_path, power=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        map_seeds(_square, [1, 2], cache=tmp_path, power=2)


def test_cached_only_counts_a_damaged_record_as_missing(tmp_path):
    map_seeds(_square, [1, 2], cache=tmp_path, power=2)
    sorted(tmp_path.iterdir())[0].write_text("{}")
    with pytest.warns(DamagedRecord), run_context(cached_only=True) as ctx:
        got = map_seeds(_square, [1, 2], cache=tmp_path, power=2)
    assert got[0] is None and got[1]["value"] == 4
    assert (ctx.missing, ctx.found) == (1, 1)


def test_no_temporary_file_is_left_beside_the_records(tmp_path):
    map_seeds(_square, range(3), cache=tmp_path, power=1)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_every_record_says_where_it_ran(tmp_path):
    """Before (issue 24): nothing recorded where a seed ran, so a run elsewhere that differed
    could not be told from a bug.  The BLAS thread count is the one in effect for the seed."""
    from threadpoolctl import threadpool_info

    record = map_seeds(_square, [1], cache=tmp_path, power=2)[0]
    on_disk = json.loads(next(tmp_path.glob("*.json")).read_text())
    env = on_disk["environment"]
    assert record["environment"] == env and env["cpu"] and env["machine"]
    assert {"numpy", "scipy", "numba"} <= set(env["versions"]) and env["versions"]["numpy"]
    blas = [b for b in env["blas"] if b["user_api"] == "blas"]
    now = [b["num_threads"] for b in threadpool_info() if b["user_api"] == "blas"]
    assert blas and [b["num_threads"] for b in blas] == now


def test_a_killed_runs_temporary_files_are_removed_at_the_next_run(tmp_path):
    """Before, a record's temporary file went only when that same record was written again; a
    killed run's half-written record of a seed the next run does not compute stayed forever."""
    import os
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"._square-seed7-abc.json.{dead.pid}.x1y2z3.tmp"
    stale.write_text('{"val')
    alive = tmp_path / f"._square-seed8-abc.json.{os.getpid()}.a1b2c3.tmp"  # still writing
    alive.write_text("{")
    map_seeds(_square, [1], cache=tmp_path, power=2)
    assert not stale.exists() and alive.exists()


def test_a_damaged_protocol_checkpoint_restarts_the_run(tmp_path):
    from rmtheory.experiments.training.protocol import protocol_run

    proto = {"sizes": [784, 16, 10], "epochs": 2, "every": 1, "T": 3.0}
    data = dict(dataset="tiny", subset=(200, 100))
    first = protocol_run(0, "mp", protocol=proto, _checkpoint_dir=str(tmp_path), **data)
    ckpt = next(tmp_path.glob("*.npz"))
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # truncated
    with pytest.warns(DamagedRecord, match=re.escape(str(ckpt))):
        again = protocol_run(0, "mp", protocol=proto, _checkpoint_dir=str(tmp_path), **data)
    assert again["test_accuracy"] == first["test_accuracy"]
    side = next(tmp_path.glob("*.epochs.json"))
    side.write_text("{")
    with pytest.warns(DamagedRecord, match=re.escape(str(side))):
        third = protocol_run(0, "mp", protocol=proto, _checkpoint_dir=str(tmp_path), **data)
    assert third["zero_fraction"] == first["zero_fraction"]


def _with_checkpoint(seed, _checkpoint_dir=None):
    """A unit that resumes from its checkpoint and names it when it cannot read it (as
    rmtheory.nn.checkpoint does)."""
    path = Path(_checkpoint_dir) / f"unit-seed{seed}.json"
    if path.exists():
        try:
            return {"value": json.loads(path.read_text())["value"]}
        except (ValueError, KeyError):
            raise ValueError(f"checkpoint {path}: not readable (truncated or corrupt?)") from None
    path.write_text(json.dumps({"value": seed * 10}))
    return {"value": seed * 10}


def test_a_damaged_checkpoint_of_any_unit_restarts_it_with_a_warning(tmp_path):
    """Before (issue 24, found on 4957905): only protocol_run restarted from a damaged checkpoint;
    a truncated checkpoint of train_run (Tables 1-6, Figs 1-5) or cnn_run stopped `reproduce` with
    'ValueError: checkpoint ...: not a readable .npz archive' on every rerun."""
    ckdir = tmp_path / "checkpoints"
    ckdir.mkdir()
    map_seeds(_with_checkpoint, [1, 2], cache=tmp_path, _checkpoint_dir=str(ckdir))
    for record in tmp_path.glob("*.json"):
        record.unlink()
    ckpt = ckdir / "unit-seed2.json"
    ckpt.write_text('{"val')
    with pytest.warns(DamagedRecord, match=re.escape(str(ckpt))):
        again = map_seeds(_with_checkpoint, [1, 2], cache=tmp_path, _checkpoint_dir=str(ckdir))
    assert [r["value"] for r in again] == [10, 20]
    assert json.loads(ckpt.read_text())["value"] == 20  # written again whole


def test_an_error_that_names_no_checkpoint_is_not_swallowed(tmp_path):
    def broken(seed, _checkpoint_dir=None):
        raise ValueError("a bug, not a damaged file")

    with pytest.raises(ValueError, match="a bug"):
        map_seeds(broken, [1], cache=tmp_path, _checkpoint_dir=str(tmp_path / "checkpoints"))


def test_a_damaged_train_run_checkpoint_restarts_the_run(tmp_path):
    from rmtheory.experiments.runner import checkpoint_dir
    from rmtheory.experiments.training.compute import train_run

    kw = dict(method="mp", dataset="tiny", sizes=(784, 16, 10), epochs=2, every=1, T=3.0,
              subset=(200, 100), _checkpoint_dir=checkpoint_dir(tmp_path))  # fmt: skip
    first = map_seeds(train_run, [0], cache=tmp_path, **kw)[0]
    next(tmp_path.glob("train_run-*.json")).unlink()  # the record gone, the checkpoint damaged
    ckpt = next((tmp_path / "checkpoints").glob("*.npz"))
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.warns(DamagedRecord, match=re.escape(str(ckpt))):
        again = map_seeds(train_run, [0], cache=tmp_path, **kw)[0]
    assert again["test_accuracy"] == first["test_accuracy"]


# ---------------------------------------------------------------------------- jobs and the CLI
def test_jobs_zero_is_a_clear_error_and_minus_one_means_all_cpus(capsys):
    assert cli.main(["reproduce", "fig17", "--jobs", "0", "--out", "/nonexistent"]) == 2
    assert "--jobs must be a positive worker count" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs"):
        map_seeds(_square, [1], jobs=0, power=1)
    assert [r["value"] for r in map_seeds(_square, [1, 2], jobs=-1, power=1)] == [1, 2]


def test_too_many_jobs_are_capped_with_a_warning():
    with pytest.warns(RuntimeWarning, match="more than the"):
        map_seeds(_square, [1], jobs=100000, power=1)


def test_the_command_line_prints_warnings_without_source_lines(tmp_path):
    # a user of the CLI gets "rmtheory: warning: ...", not "/path/_validation.py:207: RuntimeWarning"
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "rmtheory.cli", "reproduce", "fig17", "--jobs", "100000",
           "--out", str(tmp_path)]  # fmt: skip
    err = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stderr
    assert "rmtheory: warning: --jobs=100000 is more than the" in err
    assert ".py:" not in err and "RuntimeWarning" not in err


def test_quick_is_accepted_and_help_texts_describe_the_commands(capsys):
    parser = cli.build_parser()
    assert parser.parse_args(["reproduce", "fig17", "--quick"]).size == "quick"
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("demo", "list", "reproduce"):
        assert sub.choices[name].description, name


def test_list_shows_measured_cost_and_data(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    table1 = out[out.index("table1") :].splitlines()[1]
    assert "cost:" in table1 and "full" in table1 and "data: " in table1 and "mnist" in table1
    assert re.search(r"theorem42 .*\n\s+cost: quick \d+ (s|min)", out)


def test_list_outside_the_repository_reads_the_committed_records(tmp_path, monkeypatch, capsys):
    """Before: `rmtheory list` run from any folder but the clone's root said 'cost: not
    measured' for every experiment (it read ./figures/ only)."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"theorem42 .*\n\s+cost: quick \d+ (s|min)", out)
    assert str(PACKAGE.parent / "figures") in out.splitlines()[0]
    (tmp_path / "figures").mkdir()  # a folder of one's own results is read, even if empty
    assert cli.main(["list"]) == 0
    assert "cost: quick" not in capsys.readouterr().out


def test_a_smoke_run_says_once_that_it_is_not_judged(tmp_path, capsys):
    from rmtheory.experiments import reproduce
    from rmtheory.experiments.report import print_claims

    print_claims(reproduce("fig17", "smoke", tmp_path, plot=False))
    out = capsys.readouterr().out
    assert out.count("never judged") == 1 and "[           n/a]" in out


def test_progress_names_experiment_arm_and_seed_with_an_estimate(tmp_path, capsys):
    def run(seed, arm):
        return {"value": seed}

    with run_context(reporting=True, experiment="demo-x"):
        map_seeds(run, [0, 1, 2], cache=tmp_path, arm="mp")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert all("demo-x: run [arm=mp] seed" in line for line in err)
    assert "2 more in this batch" in err[0] and "unit(s) in" in err[-1]
    assert current_context().reporting is False  # the context ends with the block


def test_the_estimate_never_says_almost_done_when_the_run_is_past_the_last_ones_time(
    tmp_path, capsys, monkeypatch
):
    """Before: a quick fig8 with 3 seeds printed "about 22 s left (last run: 5 min)" after 5
    minutes, the last run having had 1 seed; a run past the last one's time now says so."""
    import rmtheory.experiments.runner as runner

    ticks = iter(range(1, 1000))  # every reading of the clock 200 s after the last
    monkeypatch.setattr(runner.time, "perf_counter", lambda: 200.0 * next(ticks))
    with run_context(reporting=True, experiment="demo-x", expected_s=300.0):
        map_seeds(lambda seed: {"v": seed}, [0, 1], cache=None)
    err = capsys.readouterr().err
    assert "longer than the last run (5 min)" in err and "about 0 s left" not in err


def test_the_last_runs_time_counts_only_for_the_same_parameters(tmp_path):
    """The estimate's reference is a recorded run with the same parameters (seeds, epochs)."""
    import json

    from rmtheory.experiments.registry import recorded_wall_time

    rec = {"size": "quick", "params": {"n_seeds": 1, "sizes": [4, 2]}, "wall_time_s": 300.0}
    (tmp_path / "figx.json").write_text(json.dumps(rec))
    assert recorded_wall_time(tmp_path, "figx", "quick", {"n_seeds": 1, "sizes": (4, 2)}) == 300
    assert recorded_wall_time(tmp_path, "figx", "quick", {"n_seeds": 3, "sizes": (4, 2)}) is None
    assert recorded_wall_time(tmp_path, "figx", "full") is None


# ---------------------------------------------------------------------------- adapter and rules
def test_seed_run_passes_renamed_fixed_and_extra_parameters(tmp_path):
    run = seed_run(_square, {"power": "exponent"})
    assert [r["value"] for r in run({"n_seeds": 3, "exponent": 3}, 1, tmp_path)] == [0, 1, 8]
    assert len(list(tmp_path.iterdir())) == 3
    # the same keyword arguments as a hand-written map_seeds call: the same cache entries
    map_seeds(_square, range(3), 1, tmp_path, power=3)
    assert len(list(tmp_path.iterdir())) == 3


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(0, 10), st.floats(0, 10))
def test_absolute_rule_is_graded_by_the_error(ours, paper, tol, extra):
    v = rules.absolute(ours, paper, tol, tol + extra)
    err = abs(ours - paper)
    assert v == ("reproduced" if err <= tol else "partly" if err <= tol + extra else "not reproduced")


@given(st.lists(st.floats(0, 100), min_size=1, max_size=8), st.floats(-5, 5))
def test_paired_difference_is_the_mean_gain_inside_its_interval(a, shift):
    import numpy as np

    b = [x + shift for x in a]
    m, lo, hi = rules.paired_difference(np.array(a), np.array(b))
    assert m == pytest.approx(shift, abs=1e-6)
    if len(a) > 1:
        assert lo <= m + 1e-9 and m - 1e-9 <= hi


def test_statement_and_pvalue_rules():
    assert rules.statement(violated=True, vacuous=True) == "violated"
    assert rules.pvalue_rule(1e-4) == "violated" and rules.pvalue_rule(1e-4, alpha=1e-5) == "holds"
    assert rules.excess_rule(4.1) == "violated" and rules.excess_rule(3.9) == "holds"
    assert rules.rate_rule([1.0], [0.1], True, checkable=False) == "not checkable"
    assert rules.paired_gain(lo=0.1, n=2, gain_seeds=2) == "partly"  # too few seeds
    assert rules.paired_gain(lo=0.1, n=3, gain_seeds=0) == "reproduced"
    assert rules.Claim("c", "p", "o", "holds", power="x").as_dict()["power"] == "x"
    assert "power" not in rules.Claim("c", "p", "o", "holds").as_dict()


# ---------------------------------------------------------------------------- layout
def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


def _imports(path: Path, package: str) -> set[str]:
    """Modules of the package a file imports anywhere (function-local imports included):
    ``from a import b`` is an edge to ``a.b`` when that is a module, else to ``a``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                names.add(full if full in MODULES else node.module)
    return {n for n in names if n.startswith(package)}


def test_no_import_cycle_through_the_experiments():
    mods = MODULES
    graph = {m: {n for n in _imports(p, "rmtheory") if n in mods and n != m} for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1 and any(s.startswith("rmtheory.experiments") for s in [*stack, m]):
                raise AssertionError("import cycle: " + " -> ".join([*stack, m, n]))
            if n not in state:
                visit(n, [*stack, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_entries_of_one_family_do_not_import_another_entry():
    mods = MODULES
    entries = {m for m in mods if m.startswith("rmtheory.experiments.")
               and m.rsplit(".", 1)[-1] in ("entries", "headline")}  # fmt: skip
    for m in entries:
        assert not (_imports(mods[m], "rmtheory.experiments") & entries), m


def test_no_hook_built_by_hand_and_no_verdict_word_outside_the_rules():
    inline = re.compile(r'"(reproduced|holds|partly|not reproduced|violated|vacuous)" (if|else)\b'
                        r'|\belse "(reproduced|holds|partly|not reproduced|violated|vacuous)"')  # fmt: skip
    hooks = re.compile(r"\b(MPPruner|GavishDonohoPruner|EnergyPruner|Sparsifier|MomentumReset)\(")
    for path in EXPERIMENTS_DIR.rglob("*.py"):
        if path.name == "rules.py":
            continue
        text = path.read_text()
        assert not inline.search(text), f"{path}: an inline verdict (use rmtheory.experiments.rules)"
        assert not hooks.search(text), f"{path}: a hook built by hand (use rmtheory.nn.methods)"


@pytest.mark.parametrize("damage", ['[0.1, 0.', "", '{"a": 1}'])
def test_a_damaged_training_mse_file_restarts_its_regression_run(tmp_path, damage):
    """Before (found on cdd06e6): a damaged ``.train_mse.json`` beside a regression checkpoint
    ended in a bare ``JSONDecodeError``; now both go, with a warning naming the file, and the run
    starts afresh (its earlier epochs' training MSE are lost with the file)."""
    import numpy as np

    from rmtheory.experiments.theory.regression import _TrainMSE

    ckpt = tmp_path / "regression-mp-seed0-abc.npz"
    ckpt.write_bytes(b"checkpoint")
    side = ckpt.with_suffix(".train_mse.json")
    side.write_text(damage)
    with pytest.warns(DamagedRecord, match=re.escape(str(side))):
        recorder = _TrainMSE(np.zeros((2, 1)), np.zeros(2), side, ckpt)
    assert recorder.values == [] and not side.exists() and not ckpt.exists()
