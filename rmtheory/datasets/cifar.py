"""CIFAR-10 (Krizhevsky 2009) from the official python archive, verified before it is opened.

No package registry carries CIFAR-10 (datasets.md §3), so the sources are a hand-placed
``cifar-10-python.tar.gz`` (cache folder or ``$RMTHEORY_CIFAR10_DIR``) and the canonical
Toronto URL. The archive's SHA-256 is checked first; only then are its pickled batches read,
and even then through an unpickler that can build nothing but dicts, lists, strings, numbers
and numpy arrays.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.datasets._cache import verify_file
from rmtheory.datasets._fetch import ensure
from rmtheory.datasets._specs import CIFAR10, DatasetSpec
from rmtheory.datasets._split import DataSplit, check_normalize, finish

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except the numpy constructors an array pickle needs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"CIFAR batch refers to {module}.{name}: refused")
        if module == "numpy":
            return getattr(np, name)
        try:  # numpy >= 2 moved numpy.core to numpy._core; old pickles name the former
            from numpy._core import multiarray
        except ImportError:  # pragma: no cover - numpy < 2
            from numpy.core import multiarray
        return getattr(multiarray, name)


def _load_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{name}: expected a dict, got {type(batch).__name__}")
    data = np.asarray(batch.get(b"data", batch.get("data")), dtype=np.uint8)
    labels = np.asarray(batch.get(b"labels", batch.get("labels")), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise ValueError(f"{name}: data {data.shape} / labels {labels.shape} are not CIFAR-10")
    return data, labels


def read_cifar10_archive(
    path: str | os.PathLike[str], spec: DatasetSpec | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))`` as uint8 ``(n, 3072)`` and int64, from the
    python archive, after checking its size and SHA-256 against ``spec``.

    Rows are CIFAR's channel-major layout: 1024 red, 1024 green, then 1024 blue values.
    """
    path = Path(path)
    verify_file(path, (spec or CIFAR10).files[0])  # before any byte is unpickled
    batches: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:gz") as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in (*TRAIN_BATCHES, TEST_BATCH):
                fh = tar.extractfile(member)
                if fh is not None:
                    batches[base] = fh.read()
    missing = [b for b in (*TRAIN_BATCHES, TEST_BATCH) if b not in batches]
    if missing:
        raise ValueError(f"{path.name} lacks {', '.join(missing)}")
    parts = [_load_batch(batches[b], b) for b in TRAIN_BATCHES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return train, _load_batch(batches[TEST_BATCH], TEST_BATCH)


def load_cifar10(
    normalize: str = "none",
    subset: Any = None,
    seed: Any = 0,
    flatten: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
) -> DataSplit:
    """CIFAR-10: 50,000 training and 10,000 test colour images (32×32), 10 classes.

    Parameters
    ----------
    normalize : {"none", "half"}
        ``x / 255`` in [0, 1], or ``(x / 255 - 0.5) / 0.5`` in [-1, 1].
    subset : None, int or (int, int)
        As in :func:`load_mnist`: stratified, seeded training (and test) subsets.
    seed : int or numpy.random.Generator
    flatten : bool
        ``True``: ``(n, 3072)`` in CIFAR's channel-major order; ``False``: ``(n, 3, 32, 32)``.
    data_dir : path, optional
        Cache root; the archive lives in ``<root>/cifar10/cifar-10-python.tar.gz``.

    Returns
    -------
    DataSplit

    Raises
    ------
    DatasetUnavailable
        When the archive is neither cached, hand-placed, nor downloadable; the message says
        where to put ``cifar-10-python.tar.gz`` (sha256 ``6d958be0…``).

    Examples
    --------
    >>> from rmtheory.datasets import load_cifar10
    >>> data = load_cifar10(subset=5000)  # doctest: +SKIP
    >>> data.x_train.shape  # doctest: +SKIP
    (5000, 3072)
    """
    check_normalize(normalize)
    spec = CIFAR10
    paths = ensure(spec, data_dir=data_dir, progress=None)
    train, test = read_cifar10_archive(paths[spec.files[0].name], spec)
    return finish(
        train,
        test,
        normalize=normalize,
        subset=subset,
        seed=seed,
        flatten=flatten,
        shape=(3, 32, 32),
    )
