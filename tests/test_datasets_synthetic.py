"""The synthetic problems: distributions checked with closed forms (normal CDF, uniform law),
seeds reproducible bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rmtheory.datasets import (
    make_polynomial_boundary,
    make_regression_1d,
    make_tiny_classification,
    regression_target,
)

# -- polynomial boundary (§10.4) ---------------------------------------------------------------


def test_polynomial_shapes_and_unpacking():
    data = make_polynomial_boundary(n_samples=300, degree=4, seed=1)
    X, y = make_polynomial_boundary(n_samples=300, degree=4, seed=1)[:2]
    assert X.shape == (300, 2) and X.dtype == np.float64
    assert y.shape == (300,) and y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
    assert data.coef.shape == (5,)
    np.testing.assert_array_equal(X, data.X)
    assert np.all((X[:, 0] >= -1) & (X[:, 0] <= 1))


@pytest.mark.parametrize(("offset", "noise"), [(0.1, 0.05), (0.1, 0.1), (0.05, 0.2)])
def test_fraction_on_labelled_side_matches_normal_cdf(offset, noise):
    n = 20_000
    d = make_polynomial_boundary(n_samples=n, degree=3, offset=offset, noise=noise, seed=5)
    # independent evaluation of the curve with numpy's Horner on reversed coefficients
    curve = np.polyval(d.coef[::-1], d.X[:, 0])
    correct = np.mean(np.sign(d.X[:, 1] - curve) == 2 * d.y - 1)
    p = stats.norm.cdf(offset / noise)
    assert abs(correct - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_noise_is_standard_normal_after_removing_offset():
    off, sd = 0.2, 0.07
    d = make_polynomial_boundary(n_samples=5000, offset=off, noise=sd, seed=9)
    resid = (d.X[:, 1] - d.boundary(d.X[:, 0]) - (2 * d.y - 1) * off) / sd
    assert stats.kstest(resid, "norm").pvalue > 1e-3
    assert abs(d.y.mean() - 0.5) < 5 * 0.5 / np.sqrt(5000)


def test_noiseless_points_sit_exactly_offset_from_curve():
    d = make_polynomial_boundary(n_samples=500, offset=0.3, noise=0.0, seed=2, x_range=(0, 3))
    gap = d.X[:, 1] - np.polyval(d.coef[::-1], d.X[:, 0])
    np.testing.assert_allclose(gap, 0.3 * (2 * d.y - 1), atol=1e-9)
    assert np.all((d.X[:, 0] >= 0) & (d.X[:, 0] <= 3))


def test_polynomial_seed_reproducible_bit_for_bit():
    a = make_polynomial_boundary(seed=123)
    b = make_polynomial_boundary(seed=np.random.default_rng(123))
    c = make_polynomial_boundary(seed=124)
    for u, v in zip(a, b, strict=True):
        assert u.tobytes() == v.tobytes()
    assert not np.array_equal(a.coef, c.coef)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"n_samples": 0}, ValueError),
        ({"n_samples": 2.0}, TypeError),
        ({"degree": -1}, ValueError),
        ({"offset": -0.1}, ValueError),
        ({"noise": float("nan")}, ValueError),
        ({"x_range": (1.0, 1.0)}, ValueError),
        ({"x_range": 3}, TypeError),
        ({"seed": "a"}, TypeError),
    ],
)
def test_polynomial_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        make_polynomial_boundary(**kwargs)


# -- 1-D regression (§10.3) -------------------------------------------------------------------


def test_regression_grid_and_shapes():
    d = make_regression_1d()
    assert d.x_train.shape == (2000, 1) and d.y_train.shape == (2000,)
    assert d.x_test.shape == (500, 1) and d.y_test.shape == (500,)
    np.testing.assert_allclose(np.diff(d.x_train[:, 0]), 2 / 1999, rtol=1e-9)
    assert d.x_train[0, 0] == 0.0 and d.x_train[-1, 0] == 2.0
    assert d.x_test[0, 0] == 0.0 and d.x_test[-1, 0] == 2.0


def test_regression_noise_is_uniform_and_bounded():
    s = 0.5
    d = make_regression_1d(noise_scale=s, seed=3)
    x = d.x_train[:, 0]
    f = 2.3 * np.cos(5 * x) - 0.5 * np.sin(5 * x) + 0.5 * np.sin(10 * x) + 0.3 * np.cos(10 * x)
    noise = d.y_train - f
    assert np.max(np.abs(noise)) <= s
    assert stats.kstest(noise, stats.uniform(loc=-s, scale=2 * s).cdf).pvalue > 1e-3
    xt = d.x_test[:, 0]
    np.testing.assert_allclose(d.y_test, regression_target(xt), rtol=0, atol=0)


def test_reconstructed_target_matches_the_figure_reading():
    # algorithms.md §2.8: ~+2.5 at 0, -2.5 at 0.5, 0.5 at 1, +2.5 at 1.27, -2.5 at 1.75, -1.5 at 2
    pts = {0.0: 2.5, 0.5: -2.5, 1.0: 0.5, 1.27: 2.5, 1.75: -2.5, 2.0: -1.5}
    for x, v in pts.items():
        assert abs(float(regression_target(np.array([x]))[0]) - v) < 0.5, x
    grid = np.linspace(0, 2, 20001)
    f = regression_target(grid)
    # interior extrema near the reported ones
    peaks = grid[1:-1][(f[1:-1] > f[:-2]) & (f[1:-1] > f[2:])]
    troughs = grid[1:-1][(f[1:-1] < f[:-2]) & (f[1:-1] < f[2:])]
    assert np.min(np.abs(peaks - 1.27)) < 0.1
    assert np.min(np.abs(troughs - 0.5)) < 0.1 and np.min(np.abs(troughs - 1.75)) < 0.1


def test_custom_target_and_zero_noise():
    d = make_regression_1d(n_train=11, n_test=3, noise_scale=0.0, target=np.square)
    np.testing.assert_array_equal(d.y_train, np.linspace(0, 2, 11) ** 2)
    np.testing.assert_array_equal(d.y_test, [0.0, 1.0, 4.0])


def test_regression_seed_reproducible_bit_for_bit():
    a, b = make_regression_1d(seed=8), make_regression_1d(seed=8)
    assert all(u.tobytes() == v.tobytes() for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a.y_train, make_regression_1d(seed=9).y_train)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"target": lambda x: x[:-1]}, ValueError, "shape"),
        ({"target": lambda x: x / 0.0}, ValueError, "NaN"),
        ({"target": 3}, TypeError, "callable"),
        ({"noise_scale": -1}, ValueError, "noise_scale"),
        ({"n_train": 0}, ValueError, "n_train"),
    ],
)
def test_regression_bad_arguments(kwargs, exc, match):
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(exc, match=match):
        make_regression_1d(**kwargs)


# -- tiny classification -----------------------------------------------------------------------


def test_tiny_classification_shapes_balance_and_range():
    d = make_tiny_classification(n_train=1003, n_test=250, seed=0)
    assert d.x_train.shape == (1003, 784) and d.x_train.dtype == np.float32
    assert d.y_train.dtype == np.int64
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0
    counts = np.bincount(d.y_train, minlength=10)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("n_features", [784, 64])
def test_tiny_classification_is_learnable(n_features):
    d = make_tiny_classification(n_features=n_features, seed=4)
    centroids = np.stack([d.x_train[d.y_train == c].mean(axis=0) for c in range(10)])
    dist = ((d.x_test[:, None, :] - centroids[None]) ** 2).sum(-1)
    accuracy = np.mean(dist.argmin(1) == d.y_test)
    assert accuracy > 0.9


def test_tiny_classification_reproducible():
    a, b = make_tiny_classification(seed=1), make_tiny_classification(seed=1)
    assert all(u.tobytes() == v.tobytes() for u, v in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="n_classes"):
        make_tiny_classification(n_classes=1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 300), degree=st.integers(0, 6), seed=st.integers(0, 2**31))
def test_polynomial_labels_are_the_side_when_noise_is_small(n, degree, seed):
    d = make_polynomial_boundary(n_samples=n, degree=degree, offset=1.0, noise=1e-3, seed=seed)
    above = d.X[:, 1] > d.boundary(d.X[:, 0])
    np.testing.assert_array_equal(above, d.y == 1)
