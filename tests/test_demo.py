"""The main job (`rmtheory demo`): offline fallback, where it writes, what it prints (issue 11)."""

import pickle

import pytest

import rmtheory.datasets as datasets
from rmtheory import demo
from rmtheory.datasets import DatasetUnavailable
from rmtheory.datasets._errors import ChecksumError


def test_dataset_errors_cross_process_boundaries():
    err = DatasetUnavailable("mnist", [("cache", "missing")], "place the files by hand")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.attempts == err.attempts
    c = ChecksumError("f.gz", "aa", "bb", what="size")
    assert str(pickle.loads(pickle.dumps(c))) == str(c)


def test_demo_without_mnist_falls_back_to_the_offline_demo(monkeypatch, tmp_path, capsys):
    def unavailable(*args, **kwargs):
        raise DatasetUnavailable("mnist", [("cache", "missing")], "no copy here")

    monkeypatch.setattr(datasets, "load_mnist", unavailable)
    out = demo.run_headline(tmp_path, jobs=2, size="smoke")
    assert out["files"] == [str(tmp_path / "demo_mp_fit.png")]
    assert (tmp_path / "demo_mp_fit.png").exists()
    assert "offline demo runs instead" in capsys.readouterr().out


@pytest.mark.parametrize("jobs", [1])
def test_demo_says_what_runs_and_writes_the_report_beside_its_figures(monkeypatch, tmp_path,
                                                                      capsys, jobs):  # fmt: skip
    monkeypatch.setattr(datasets, "load_mnist", lambda *a, **k: None)
    out = demo.run_headline(tmp_path / "X", jobs=jobs, size="smoke")
    text = capsys.readouterr().out
    assert "[1/3] headline" in text and "files written" in text and "verdicts: " in text
    assert str(tmp_path / "X" / "reproduction.md") in out["files"]
    assert not (tmp_path / "docs").exists()  # not X/../docs
    assert sum(out["verdicts"].values()) > 0


def test_reproduce_without_the_dataset_prints_the_reason_not_a_traceback(monkeypatch, tmp_path,
                                                                          capsys):  # fmt: skip
    from rmtheory import cli
    from rmtheory.experiments.training import load_data

    def unavailable(*args, **kwargs):
        raise DatasetUnavailable("mnist", [("cache", "missing")], "place the files by hand")

    monkeypatch.setattr(datasets, "load_mnist", unavailable)
    load_data.cache_clear()
    try:
        code = cli.main(["reproduce", "table1", "--out", str(tmp_path), "--seeds", "1"])
    finally:
        load_data.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert "table1 needs a dataset that is not available here" in err and "Traceback" not in err


def test_demo_by_default_writes_only_figures_demo_and_says_what_its_verdicts_rest_on(
    monkeypatch, tmp_path, capsys
):
    """Before (issue 24): the demo rewrote figures/*.json|png and docs/reproduction.md (tracked
    files), and its console verdicts differed from docs/reproduction.md without a word of why."""
    monkeypatch.setattr(datasets, "load_mnist", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    out = demo.run_headline(jobs=1, size="smoke")
    text = capsys.readouterr().out
    written = sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and ".cache" not in p.parts
    )
    assert written and all(w.startswith("figures/demo/") for w in written), written
    assert not (tmp_path / "docs").exists()
    assert "figures/demo/reproduction.md" in out["files"]
    assert "headline (smoke size, 1 seed):" in text and "fig17 (smoke size):" in text
    assert "(smoke results are never judged)" in text
    page = "verdict page (docs/reproduction.md) judges, for each experiment, the largest"
    assert page in text
    assert "figures/demo/reproduction.md judges this run only" in text
