"""Per-seed run functions of the experiments: divergence is recorded rather than raised, runs resume
from their checkpoints, and the training pair starts from identical weights."""

import math

from rmtheory.experiments.regression import default_lr_decay, regression_run
from rmtheory.experiments.training import train_run


def test_lr_decay_reaches_a_tenth():
    for n in (1, 7, 1198):
        assert math.isclose(default_lr_decay(n) ** n, 0.1, rel_tol=1e-12)


def test_a_diverging_regression_run_is_recorded_with_nan_padding():
    out = regression_run(
        0,
        method="none",
        sizes=(1, 64, 64, 1),
        epochs=4,
        lr=1e3,
        momentum=0.99,
        n_train=200,
        n_test=50,
    )
    assert out["diverged_epoch"] is not None
    assert len(out["train_mse"]) == 4 and math.isnan(out["train_mse"][-1])


def test_regression_run_resumes_from_its_checkpoint(tmp_path):
    kw = dict(method="mp", sizes=(1, 32, 32, 1), epochs=4, every=2, n_train=200, n_test=50)
    straight = regression_run(1, **kw)
    first = regression_run(1, **kw, _checkpoint_dir=str(tmp_path))
    assert list(tmp_path.iterdir()), "the run left no checkpoint"
    again = regression_run(
        1, **kw, _checkpoint_dir=str(tmp_path)
    )  # resumes at the end: nothing to train
    for key in ("test_mse", "train_mse", "n_params"):
        assert first[key] == straight[key] == again[key]


def test_normal_and_pruned_runs_share_their_start():
    kw = dict(dataset="tiny", sizes=(784, 32, 32, 10), epochs=1, every=5, subset=(500, 100))
    a = train_run(0, method="none", **kw)
    b = train_run(0, method="mp", **kw)  # no pruning pass fires in epoch 1: identical runs
    assert a["test_accuracy"] == b["test_accuracy"] and a["train_loss"] == b["train_loss"]
