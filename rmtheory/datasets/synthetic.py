"""The paper's synthetic problems (§10.3, §10.4) and a tiny always-available classification set.

All generators are seeded (``seed``: int or ``numpy.random.Generator``) and touch no global
random state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from rmtheory._validation import positive_int
from rmtheory._validation import rng as _rng
from rmtheory.datasets._split import DataSplit


def _nonneg(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def _interval(value: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with low < high, got {value!r}")
    return lo, hi


# -- §10.4: the polynomial decision boundary ---------------------------------------------------


class PolynomialBoundary(NamedTuple):
    """Points around a random polynomial curve; unpacks as ``X, y, coef``.

    Attributes
    ----------
    X : ndarray of float64, shape (n, 2)
        Columns ``(x, y)`` of the points.
    y : ndarray of int64, shape (n,)
        1 if the point was pushed *above* the curve (blue in Fig. 26), 0 if below (red).
    coef : ndarray of float64, shape (degree + 1,)
        Coefficients in increasing powers: ``p(x) = sum_k coef[k] x**k``.
    """

    X: np.ndarray
    y: np.ndarray
    coef: np.ndarray

    def boundary(self, x: np.ndarray) -> np.ndarray:
        """The true decision boundary ``p(x)``."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=np.float64), self.coef)


def make_polynomial_boundary(
    n_samples: int = 2000,
    degree: int = 3,
    offset: float = 0.1,
    noise: float = 0.05,
    seed: Any = 0,
    x_range: tuple[float, float] = (-1.0, 1.0),
) -> PolynomialBoundary:
    """The 2-D two-class problem of §10.4 (Figs. 12, 26): which side of a random polynomial?

    ``coef_k ~ N(0, 1)`` for ``k = 0..degree``; ``x_i ~ U(x_range)``;
    ``l_i ~ Bernoulli(1/2)`` (the label);

    .. math::  y_i = p(x_i) + (2 l_i - 1)\\,\\mathrm{offset} + \\mathrm{noise}\\,\\varepsilon_i,
               \\qquad \\varepsilon_i \\sim N(0, 1).

    So a point lies on its own label's side of the curve with probability
    ``Phi(offset / noise)`` (0.977 with the defaults); the rest are the "few red points below
    the boundary and blue ones above" of the paper. The paper gives no numbers (algorithms.md
    §2.9): degree, size, offset and noise are free parameters here.

    Parameters
    ----------
    n_samples : int
    degree : int, >= 0
    offset : float, >= 0
        Vertical shift away from the curve, up for class 1 and down for class 0.
    noise : float, >= 0
        Standard deviation of the Gaussian noise added to the y coordinate.
    seed : int or numpy.random.Generator
    x_range : (float, float)

    Returns
    -------
    PolynomialBoundary
        ``(X, y, coef)``; ``X, y = make_polynomial_boundary()[:2]`` also works.

    Examples
    --------
    >>> X, y, coef = make_polynomial_boundary(n_samples=5, degree=2, seed=0)
    >>> X.shape, y.dtype.name, coef.shape
    ((5, 2), 'int64', (3,))
    """
    n = positive_int(n_samples, "n_samples")
    deg = positive_int(degree, "degree", minimum=0)
    off = _nonneg(offset, "offset")
    sd = _nonneg(noise, "noise")
    lo, hi = _interval(x_range, "x_range")
    gen = _rng(seed)
    coef = gen.standard_normal(deg + 1)
    x = gen.uniform(lo, hi, size=n)
    label = gen.integers(0, 2, size=n, dtype=np.int64)
    side = 2.0 * label - 1.0
    y_coord = np.polynomial.polynomial.polyval(x, coef) + side * off + sd * gen.standard_normal(n)
    return PolynomialBoundary(np.column_stack([x, y_coord]), label, coef)


# -- §10.3: 1-D regression -------------------------------------------------------------------


def regression_target(x: np.ndarray) -> np.ndarray:
    """A **reconstruction** of the lost target function of the regression problem (§10.3).

    .. math::  f(x) = 2.3\\cos 5x - 0.5\\sin 5x + 0.5\\sin 10x + 0.3\\cos 10x

    The paper's formula did not survive extraction. This two-frequency sinusoid is a
    least-squares fit (frequencies on a 0.25 grid, coefficients rounded) to what the figures
    show (algorithms.md §2.8): about +2.5 at x = 0, -2.5 at 0.5, 0.5 at 1, +2.5 at 1.27,
    -2.5 at 1.75 and -1.5 at 2, with extrema at 0.5, 1.27 and 1.75. Its range on [0, 2] is
    about [-2.5, 2.7]. It is not the authors' function; pass your own ``target`` to
    :func:`make_regression_1d` to use another.

    Examples
    --------
    >>> round(float(regression_target(np.array([0.0]))[0]), 2)
    2.6
    """
    x = np.asarray(x, dtype=np.float64)
    return 2.3 * np.cos(5 * x) - 0.5 * np.sin(5 * x) + 0.5 * np.sin(10 * x) + 0.3 * np.cos(10 * x)


def make_regression_1d(
    n_train: int = 2000,
    n_test: int = 500,
    noise_scale: float = 0.5,
    target: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: Any = 0,
) -> DataSplit:
    """The 1-D regression problem of §10.3 (Figs. 23–25).

    Training inputs are ``n_train`` equispaced points on [0, 2] with noisy labels,
    test inputs ``n_test`` equispaced points on [0, 2] with exact labels:

    .. math::  y_i^{train} = f(x_i) + s\\,u_i,\\quad u_i \\sim U(-1, 1); \\qquad
               y_j^{test} = f(x_j).

    The scale ``s`` was lost from the paper; 0.5 matches the band half-width in its figures
    (algorithms.md §2.8). ``f`` defaults to :func:`regression_target`, a reconstruction.

    Parameters
    ----------
    n_train, n_test : int
    noise_scale : float, >= 0
    target : callable, optional
        Vectorised ``f``: maps a float64 array to one of the same shape.
    seed : int or numpy.random.Generator

    Returns
    -------
    DataSplit
        ``x_train (n_train, 1)``, ``y_train (n_train,)``, ``x_test (n_test, 1)``,
        ``y_test (n_test,)``, all float64 (scikit-learn layout: one feature column).

    Examples
    --------
    >>> x_tr, y_tr, x_te, y_te = make_regression_1d(n_train=10, n_test=5, seed=0)
    >>> x_tr.shape, y_te.shape
    ((10, 1), (5,))
    """
    ntr = positive_int(n_train, "n_train")
    nte = positive_int(n_test, "n_test")
    s = _nonneg(noise_scale, "noise_scale")
    f = regression_target if target is None else target
    if not callable(f):
        raise TypeError(f"target must be callable, got {target!r}")
    gen = _rng(seed)
    x_train = np.linspace(0.0, 2.0, ntr)
    x_test = np.linspace(0.0, 2.0, nte)
    f_train, f_test = _call_target(f, x_train), _call_target(f, x_test)
    y_train = f_train + s * gen.uniform(-1.0, 1.0, size=ntr)
    return DataSplit(x_train[:, None], y_train, x_test[:, None], f_test)


def _call_target(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    y = np.asarray(f(x.copy()), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"target must return an array of shape {x.shape}, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("target returned NaN/Inf values")
    return y


# -- a tiny, always-available classification set -------------------------------------------------


def make_tiny_classification(
    n_train: int = 2000,
    n_test: int = 500,
    n_features: int = 784,
    n_classes: int = 10,
    noise: float = 0.5,
    seed: Any = 0,
) -> DataSplit:
    """Gaussian blobs shaped like MNIST, for smoke tests that must run without any download.

    Class prototypes ``mu_c ~ U(0, 1)^d``; a sample of class ``c`` is
    ``clip(mu_c + noise * eps, 0, 1)`` with ``eps ~ N(0, I_d)``. Classes are balanced (counts
    differ by at most 1) and shuffled. Two prototypes are about ``sqrt(d / 6)`` apart, so with
    the defaults (d = 784, noise 0.5) the classes are separated by about 11 noise standard
    deviations along the line between their centres: a nearest-centroid rule, or a small MLP
    after a second of training, classifies well over 90 % correctly.

    Parameters
    ----------
    n_train, n_test : int
    n_features : int
        784 makes it a drop-in for ``load_mnist()`` (``[784, ..., 10]`` networks).
    n_classes : int, >= 2
    noise : float, >= 0
    seed : int or numpy.random.Generator

    Returns
    -------
    DataSplit
        ``x`` float32 in [0, 1] of shape ``(n, n_features)``, ``y`` int64 in ``0..n_classes-1``.

    Examples
    --------
    >>> data = make_tiny_classification(n_train=100, n_test=20, n_features=64, seed=0)
    >>> data.x_train.shape, data.x_train.dtype.name, sorted(set(data.y_test.tolist()))[:3]
    ((100, 64), 'float32', [0, 1, 2])
    """
    ntr = positive_int(n_train, "n_train")
    nte = positive_int(n_test, "n_test")
    d = positive_int(n_features, "n_features")
    k = positive_int(n_classes, "n_classes", minimum=2)
    sd = _nonneg(noise, "noise")
    gen = _rng(seed)
    prototypes = gen.uniform(0.0, 1.0, size=(k, d))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = gen.permutation(np.arange(n, dtype=np.int64) % k)
        x = prototypes[labels] + sd * gen.standard_normal((n, d))
        return np.clip(x, 0.0, 1.0).astype(np.float32), labels

    return DataSplit(*draw(ntr), *draw(nte))
