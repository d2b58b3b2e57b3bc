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
