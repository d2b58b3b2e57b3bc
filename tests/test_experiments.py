"""The reproduction machinery: every registered experiment runs at smoke size (so no validation
script can rot), seeds are cached and resumed, and the verdict table traces to the JSON files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rmtheory.experiments import EXPERIMENTS, VERDICTS, map_seeds, reproduce, write_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_runs_at_smoke_size(name, tmp_path):
    result = reproduce(name, "smoke", tmp_path)
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data["name"] == name and data["size"] == "smoke"
    assert (tmp_path / f"{name}.png").stat().st_size > 5000
    for c in data["claims"]:
        assert set(c) >= {"claim", "paper", "ours", "verdict"}
        assert c["verdict"] in VERDICTS
    assert result["claims"] == data["claims"]


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_has_a_validation_script(name):
    script = ROOT / "validation" / f"{name}.py"
    assert script.exists(), f"validation/{name}.py is missing"
    assert f'script_main("{name}")' in script.read_text()


def _square(seed, power):
    return {"value": seed**power}


def test_map_seeds_caches_and_resumes(tmp_path):
    first = map_seeds(_square, [1, 2, 3], cache=tmp_path, power=2)
    assert [r["value"] for r in first] == [1, 4, 9]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3
    # a tampered cache entry is what a resumed run returns: proof that it was not recomputed
    path = tmp_path / files[0]
    path.write_text(json.dumps({"value": -1}))
    again = map_seeds(_square, [1, 2, 3], cache=tmp_path, power=2)
    assert -1 in [r["value"] for r in again]
    # other parameters are other cache entries
    assert [r["value"] for r in map_seeds(_square, [2], cache=tmp_path, power=3)] == [8]


def test_map_seeds_in_parallel_equals_serial(tmp_path):
    def numbers(runs):  # where a seed ran (its BLAS threads) differs between the two
        return [{k: v for k, v in r.items() if k != "environment"} for r in runs]

    parallel = map_seeds(_square, range(4), jobs=2, power=2)
    assert numbers(parallel) == numbers(map_seeds(_square, range(4), power=2))
    assert all("environment" in r for r in parallel)


def test_report_traces_every_line_to_a_json_file(tmp_path):
    reproduce("fig17", "smoke", tmp_path)
    out = write_report(tmp_path, tmp_path / "reproduction.md")
    lines = [ln for ln in out.read_text().splitlines() if ln.startswith("| fig17")]
    assert lines
    for ln in lines:
        src = ln.split("`")[1]
        assert Path(src).exists() and src.endswith("fig17.json")


def test_cli_list_and_reproduce(tmp_path):
    run = [sys.executable, "-m", "rmtheory.cli"]
    listed = subprocess.run([*run, "list"], capture_output=True, text=True, check=True).stdout
    assert all(name in listed for name in EXPERIMENTS)
    bad = subprocess.run([*run, "reproduce", "fig99"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown" in bad.stderr


def test_a_validation_script_runs_end_to_end(tmp_path):
    script = ROOT / "validation" / "fig17.py"
    done = subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "fig17 (smoke" in done.stdout and (tmp_path / "fig17.json").exists()
