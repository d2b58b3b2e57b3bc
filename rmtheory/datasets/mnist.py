"""MNIST and Fashion-MNIST: verified IDX files → arrays, with the paper's normalisations."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rmtheory.datasets._cache import read_verified
from rmtheory.datasets._fetch import ensure
from rmtheory.datasets._specs import FASHION_MNIST, MNIST, DatasetSpec
from rmtheory.datasets._split import DataSplit, check_normalize, finish
from rmtheory.datasets.idx import parse_idx


def _load_idx_pair(spec: DatasetSpec, data_dir: Any) -> tuple[tuple, tuple]:
    paths = ensure(spec, data_dir=data_dir, progress=None)

    def load(name: str) -> np.ndarray:
        # Re-verify what is parsed: the cache may have changed since ensure() hashed it.
        return parse_idx(read_verified(paths[name], spec.file(name)), name=name)

    train = (load("train-images-idx3-ubyte"), load("train-labels-idx1-ubyte"))
    test = (load("t10k-images-idx3-ubyte"), load("t10k-labels-idx1-ubyte"))
    return train, test


def _load(
    spec: DatasetSpec,
    normalize: str,
    subset: Any,
    seed: Any,
    flatten: bool,
    data_dir: str | os.PathLike[str] | None,
) -> DataSplit:
    check_normalize(normalize)
    train, test = _load_idx_pair(spec, data_dir)
    return finish(
        train,
        test,
        normalize=normalize,
        subset=subset,
        seed=seed,
        flatten=flatten,
        shape=(1, 28, 28),
    )


_PARAMS = """
    Parameters
    ----------
    normalize : {"none", "half"}
        ``"none"``: pixels ``x / 255`` in [0, 1] (``ToTensor()``). ``"half"``:
        ``(x / 255 - 0.5) / 0.5`` in [-1, 1] (``Normalize((0.5,), (0.5,))``, the paper's
        HEAD notebook; algorithms.md §2.1).
    subset : None, int or (int or None, int or None)
        ``None``: the full 60,000 / 10,000 split. An int ``k``: ``k`` training samples (test set
        untouched). A pair ``(k, m)``: ``k`` training and ``m`` test samples. Samples are
        stratified by class and drawn with ``seed`` (see :func:`stratified_indices`); they are
        returned in their original order.
    seed : int or numpy.random.Generator
        Only used when ``subset`` is given.
    flatten : bool
        ``True``: images of shape ``(n, 784)``; ``False``: ``(n, 1, 28, 28)`` (NCHW).
    data_dir : path, optional
        Cache root instead of ``$RMTHEORY_DATA_DIR`` / the XDG cache (see :func:`fetch`).

    Returns
    -------
    DataSplit
        ``x_train, y_train, x_test, y_test``; images float32, labels int64 in 0..9.

    Raises
    ------
    DatasetUnavailable
        If no source delivers files with the published SHA-256.
"""


def load_mnist(
    normalize: str = "none",
    subset: Any = None,
    seed: Any = 0,
    flatten: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
) -> DataSplit:
    """The MNIST handwritten digits (LeCun, Cortes & Burges), standard 60,000/10,000 split.

    The four IDX files are fetched on first use (see :func:`fetch`) and each is verified by the
    SHA-256 of its decompressed bytes before it is parsed. Train pixel mean is 0.1307 and std
    0.3081 with ``normalize="none"``.
    {params}
    Examples
    --------
    >>> from rmtheory.datasets import load_mnist
    >>> x_train, y_train, x_test, y_test = load_mnist(subset=(1000, 500))  # doctest: +SKIP
    >>> x_train.shape, y_test.shape  # doctest: +SKIP
    ((1000, 784), (500,))
    """
    return _load(MNIST, normalize, subset, seed, flatten, data_dir)


def load_fashion_mnist(
    normalize: str = "none",
    subset: Any = None,
    seed: Any = 0,
    flatten: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
) -> DataSplit:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), standard 60,000/10,000 split.

    Same format and options as :func:`load_mnist`. The genuine files are installed by Debian's
    ``dataset-fashion-mnist`` package; the npm ``fashion-mnist`` JSON package is *not* a
    faithful copy and is never used. Train pixel mean 0.2860, std 0.3530.
    {params}
    Examples
    --------
    >>> from rmtheory.datasets import load_fashion_mnist
    >>> data = load_fashion_mnist(normalize="half", subset=2000, seed=1)  # doctest: +SKIP
    >>> float(data.x_train.min()), float(data.x_train.max())  # doctest: +SKIP
    (-1.0, 1.0)
    """
    return _load(FASHION_MNIST, normalize, subset, seed, flatten, data_dir)


load_mnist.__doc__ = (load_mnist.__doc__ or "").replace("{params}", _PARAMS)
load_fashion_mnist.__doc__ = (load_fashion_mnist.__doc__ or "").replace("{params}", _PARAMS)
