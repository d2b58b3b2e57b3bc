"""CIFAR-10 loader on a small fake python archive: verified before unpickling, refusing any
pickle that asks for more than numpy arrays."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from rmtheory.datasets import ChecksumError, DatasetUnavailable, load_cifar10
from rmtheory.datasets._specs import DatasetSpec, FileSpec
from rmtheory.datasets.cifar import read_cifar10_archive

PER_BATCH = 20


def _batch(rng, n, *, py2_names=True):
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = (np.arange(n) % 10).tolist()
    blob = pickle.dumps({b"batch_label": b"x", b"labels": labels, b"data": data}, protocol=3)
    if py2_names:  # the genuine batches were pickled by Python 2 with numpy 1.x module paths
        blob = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return data, np.array(labels), blob


def make_archive(path, *, py2_names=True, evil=False):
    rng = np.random.default_rng(11)
    members, train_x, train_y = {}, [], []
    for i in range(1, 6):
        x, y, blob = _batch(rng, PER_BATCH, py2_names=py2_names)
        members[f"data_batch_{i}"] = blob
        train_x.append(x)
        train_y.append(y)
    test_x, test_y, members["test_batch"] = _batch(rng, PER_BATCH, py2_names=py2_names)
    if evil:
        members["test_batch"] = pickle.dumps(os.getcwd)  # a global outside the allow-list
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    raw = path.read_bytes()
    spec = DatasetSpec(
        "cifar10",
        (FileSpec("cifar-10-python.tar.gz", len(raw), hashlib.sha256(raw).hexdigest()),),
        "RMTHEORY_CIFAR10_DIR",
        "hint",
    )
    return spec, (np.concatenate(train_x), np.concatenate(train_y)), (test_x, test_y)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("RMTHEORY_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RMTHEORY_OFFLINE", "1")
    monkeypatch.delenv("RMTHEORY_SOURCES", raising=False)
    monkeypatch.delenv("RMTHEORY_CIFAR10_DIR", raising=False)


@pytest.mark.parametrize("py2_names", [True, False])
def test_reads_batches_in_order(tmp_path, py2_names):
    spec, (xtr, ytr), (xte, yte) = make_archive(tmp_path / "a.tar.gz", py2_names=py2_names)
    (gxtr, gytr), (gxte, gyte) = read_cifar10_archive(tmp_path / "a.tar.gz", spec)
    np.testing.assert_array_equal(gxtr, xtr)
    np.testing.assert_array_equal(gytr, ytr)
    np.testing.assert_array_equal(gxte, xte)
    assert gyte.dtype == np.int64 and gyte.tolist() == yte.tolist()


def test_load_from_hand_placed_archive_nchw_layout(tmp_path, monkeypatch):
    hand = tmp_path / "hand"
    hand.mkdir()
    spec, (xtr, _), _ = make_archive(hand / "cifar-10-python.tar.gz")
    monkeypatch.setattr("rmtheory.datasets.cifar.CIFAR10", spec)
    monkeypatch.setenv("RMTHEORY_CIFAR10_DIR", str(hand))
    d = load_cifar10(flatten=False)
    assert d.x_train.shape == (5 * PER_BATCH, 3, 32, 32) and d.x_train.dtype == np.float32
    # CIFAR rows: 1024 red, then green, then blue, each 32x32 row-major
    i, r, c = 7, 5, 30
    assert d.x_train[i, 1, r, c] == np.float32(xtr[i, 1024 + 32 * r + c] / np.float32(255))
    flat = load_cifar10(normalize="half", subset=(50, 10), seed=0)
    assert flat.x_train.shape == (50, 3072) and flat.x_test.shape == (10, 3072)
    assert np.bincount(flat.y_train).tolist() == [5] * 10


def test_checksum_is_checked_before_anything_is_unpickled(tmp_path):
    spec, _, _ = make_archive(tmp_path / "evil.tar.gz", evil=True)
    other = DatasetSpec(
        "cifar10", (FileSpec("cifar-10-python.tar.gz", spec.files[0].size, "0" * 64),), "X", "h"
    )
    with pytest.raises(ChecksumError, match="cifar-10-python.tar.gz"):
        read_cifar10_archive(tmp_path / "evil.tar.gz", other)


def test_foreign_globals_are_refused_even_after_checksum(tmp_path):
    spec, _, _ = make_archive(tmp_path / "evil.tar.gz", evil=True)
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        read_cifar10_archive(tmp_path / "evil.tar.gz", spec)


def test_unavailable_offline_explains_where_to_put_the_archive(tmp_path):
    with pytest.raises(DatasetUnavailable) as info:
        load_cifar10()
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and "RMTHEORY_CIFAR10_DIR" in msg
    assert "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
