"""The train/test container, seeded stratified subsets, and the paper's pixel normalisations."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rmtheory._validation import rng as _rng

NORMALIZATIONS = ("none", "half")


class DataSplit(NamedTuple):
    """A train/test split of arrays; unpacks as ``x_train, y_train, x_test, y_test``.

    For the image sets ``x`` is float32 (``(n, d)`` flattened, else NCHW ``(n, c, h, w)``) and
    ``y`` is int64 class labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def stratified_indices(labels: np.ndarray, n: int, seed: Any = 0) -> np.ndarray:
    """Indices of a seeded, stratified sample of size ``n`` from ``labels``, in ascending order.

    Class ``c`` with ``N_c`` of the ``N`` labels gets ``floor(n N_c / N)`` draws; the
    ``n - sum floor(.)`` left over go to the classes with the largest fractional parts (ties:
    smaller class label first). So every class count is within 1 of ``n N_c / N``. Within a
    class the indices are drawn uniformly without replacement.

    Parameters
    ----------
    labels : array of int, shape (N,)
    n : int
        Sample size, ``1 <= n <= N``.
    seed : int or numpy.random.Generator

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> idx = stratified_indices(y, 4, seed=0)
    >>> np.bincount(y[idx]).tolist()
    [2, 2]
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"subset size must be an integer, got {n!r}")
    if not 1 <= n <= y.size:
        raise ValueError(f"subset size must be in [1, {y.size}], got {n}")
    gen = _rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    exact = n * counts / y.size
    take = np.floor(exact).astype(np.int64)
    short = n - int(take.sum())
    order = np.lexsort((classes, -(exact - take)))  # largest remainder, then smaller label
    take[order[:short]] += 1
    chosen = [
        gen.choice(np.flatnonzero(y == c), size=int(k), replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def parse_subset(subset: Any, n_train: int, n_test: int) -> tuple[int | None, int | None]:
    """``None`` → (None, None); ``k`` → (k, None); ``(k, m)`` → (k, m); validated."""
    if subset is None:
        return None, None
    if isinstance(subset, tuple | list):
        if len(subset) != 2:
            raise ValueError(f"subset must be an int or a pair (n_train, n_test), got {subset!r}")
        pair = tuple(subset)
    else:
        pair = (subset, None)
    for value, limit, what in zip(pair, (n_train, n_test), ("train", "test"), strict=True):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"subset ({what} size) must be an integer, got {value!r}")
        if not 1 <= value <= limit:
            raise ValueError(f"subset ({what} size) must be in [1, {limit}], got {value}")
    return pair  # type: ignore[return-value]


def check_normalize(normalize: str) -> str:
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    return normalize


def to_float(images: np.ndarray, normalize: str, *, flatten: bool, shape: tuple) -> np.ndarray:
    """uint8 pixels → float32 ``x / 255`` (``"none"``) or ``(x/255 - 0.5) / 0.5`` (``"half"``),
    the ``ToTensor()`` and ``Normalize((0.5,), (0.5,))`` transforms of the paper's code."""
    x = images.astype(np.float32)
    x /= np.float32(255.0)
    if normalize == "half":
        x -= np.float32(0.5)
        x /= np.float32(0.5)
    return x.reshape(len(x), -1) if flatten else x.reshape((len(x), *shape))


def finish(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    normalize: str,
    subset: Any,
    seed: Any,
    flatten: bool,
    shape: tuple,
) -> DataSplit:
    """Subset (stratified, seeded), convert and package uint8 images and labels."""
    (xtr, ytr), (xte, yte) = train, test
    k_train, k_test = parse_subset(subset, len(ytr), len(yte))
    gen = _rng(seed)
    if k_train is not None:
        idx = stratified_indices(ytr, k_train, gen)
        xtr, ytr = xtr[idx], ytr[idx]
    if k_test is not None:
        idx = stratified_indices(yte, k_test, gen)
        xte, yte = xte[idx], yte[idx]
    return DataSplit(
        to_float(xtr, normalize, flatten=flatten, shape=shape),
        ytr.astype(np.int64),
        to_float(xte, normalize, flatten=flatten, shape=shape),
        yte.astype(np.int64),
    )
