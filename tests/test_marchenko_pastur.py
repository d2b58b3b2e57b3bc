"""The MP law against independent routes: quadrature of the density, Narayana moments checked by
quadrature, root-finding on the quadrature CDF, and Monte Carlo (Wishart eigenvalues, KS test)."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import quad
from scipy.optimize import brentq

from rmtheory.marchenko_pastur import MarchenkoPastur, wishart_eigenvalues

RATIOS = [1e-3, 3e-3, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0, 100.0, 1e3]


def quad_cdf(mp, x):
    """Independent CDF: atom + numerical integral of the density (with the sqrt edges as weights)."""
    if x <= mp.lambda_minus:
        return mp.atom if x >= 0 else 0.0
    upper = min(x, mp.lambda_plus)
    val, _ = quad(mp.pdf, mp.lambda_minus, upper, epsabs=1e-14, epsrel=1e-13, limit=500)
    return mp.atom + val


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("sigma2", [1.0, 0.37])
def test_cdf_matches_quadrature(ratio, sigma2):
    mp = MarchenkoPastur(ratio, sigma2)
    lo, hi = mp.lambda_minus, mp.lambda_plus
    xs = np.concatenate(
        [lo + (hi - lo) * np.linspace(0, 1, 31)[1:-1], [hi * 1.01, hi * 10, lo * 0.5]]
    )
    ours = mp.cdf(xs)
    ref = np.array([quad_cdf(mp, x) for x in xs])
    assert np.max(np.abs(ours - ref)) <= 1e-10
    assert np.max(np.abs(mp.sf(xs) - (1 - ref))) <= 1e-10


@pytest.mark.parametrize("ratio", [0.3, 1.0, 4.0])
def test_cdf_is_one_above_upper_edge_and_zero_below_support(ratio):
    # The authors' MP_CDF returns 0 above lambda_plus; ours must return 1 there.
    mp = MarchenkoPastur(ratio, 2.0)
    assert np.all(mp.cdf([mp.lambda_plus, mp.lambda_plus + 1e-9, 1e6]) == 1.0)
    assert np.all(mp.cdf([-1.0, -1e-300]) == 0.0)
    assert mp.cdf(0.0) == pytest.approx(mp.atom, abs=0)


@pytest.mark.parametrize("ratio", [1e-3, 0.25, 1.0, 3.0, 1e3])
def test_ppf_matches_root_of_quadrature_cdf(ratio):
    mp = MarchenkoPastur(ratio, 1.3)
    qs = mp.atom + (1 - mp.atom) * np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    ours = mp.ppf(qs)
    lo = max(mp.lambda_minus, 1e-300)
    ref = [
        brentq(lambda x, q=q: quad_cdf(mp, x) - q, lo, mp.lambda_plus, xtol=1e-300, rtol=1e-14)
        for q in qs
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.parametrize("ratio", [1e-3, 0.1, 1.0, 2.0, 1e3])
def test_ppf_relative_accuracy_in_far_tails(ratio):
    # The tails are inverted on the side (cdf or sf) where the tail mass is computed directly.
    mp = MarchenkoPastur(ratio, 1.7)
    tail = np.logspace(-12, -1, 12)
    # lower-tail levels must stay resolvable next to the atom in double precision
    lower = mp.atom + (1 - mp.atom) * tail[(1 - mp.atom) * tail >= 1e-12]
    qs = np.concatenate([lower, 1 - tail[tail < (1 - mp.atom) / 2]])
    x = mp.ppf(qs)
    lo = max(mp.lambda_minus, 1e-300)
    ref = []
    for q in qs:
        if q < mp.atom + (1 - mp.atom) / 2:
            f = lambda t, q=q: float(mp.cdf(t)) - q  # noqa: E731
        else:
            f = lambda t, q=q: float(mp.sf(t)) - (1 - q)  # noqa: E731
        ref.append(brentq(f, lo, mp.lambda_plus, xtol=1e-300, rtol=1e-15))
    np.testing.assert_allclose(x, ref, rtol=1e-10)


def test_ppf_atom_and_boundaries():
    mp = MarchenkoPastur(4.0)
    assert mp.atom == pytest.approx(0.75)
    assert np.all(mp.ppf([0.0, 0.5, 0.75]) == 0.0)
    assert mp.ppf(0.7500001) > mp.lambda_minus * 0.999
    assert mp.ppf(1.0) == pytest.approx(mp.lambda_plus, rel=1e-14)
    assert np.all(np.isnan(mp.ppf([-0.1, 1.1, np.nan])))
    assert MarchenkoPastur(0.5).ppf(0.0) == MarchenkoPastur(0.5).lambda_minus


@pytest.mark.parametrize("ratio", [0.05, 0.5, 1.0, 3.0])
def test_moments_match_quadrature(ratio):
    mp = MarchenkoPastur(ratio, 0.8)
    for k in range(1, 6):
        val, _ = quad(lambda x, k=k: x**k * mp.pdf(x), mp.lambda_minus, mp.lambda_plus, limit=200)
        assert mp.moment(k) == pytest.approx(val, rel=1e-9)  # the atom at 0 adds nothing
    assert mp.mean() == pytest.approx(mp.moment(1))
    assert mp.var() == pytest.approx(mp.moment(2) - mp.moment(1) ** 2)
    assert mp.moment(0) == 1.0


def ks_critical_1pct(n):
    return math.sqrt(-math.log(0.01 / 2) / 2) / math.sqrt(n)


@pytest.mark.parametrize(("p", "n"), [(1000, 2000), (1000, 1000), (1500, 1000)])
def test_wishart_eigenvalues_follow_mp(p, n):
    ev = wishart_eigenvalues(p, n, sigma2=2.5, seed=1234)
    mp = MarchenkoPastur(p / n, 2.5)
    # the p - n zeros of the atom, then a continuous part compared with the conditional law
    nz = ev[ev > 1e-8]
    assert ev.size - nz.size == max(0, p - n)
    F = (mp.cdf(nz) - mp.atom) / (1 - mp.atom)
    i = np.arange(1, nz.size + 1)
    d = max(np.max(i / nz.size - F), np.max(F - (i - 1) / nz.size))
    assert d < ks_critical_1pct(nz.size)


def test_rvs_is_seeded_and_follows_the_law():
    mp = MarchenkoPastur(0.3, 1.5)
    a = mp.rvs(5000, seed=7)
    b = mp.rvs(5000, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert stats.kstest(a, mp.cdf).pvalue > 0.01
    assert not np.array_equal(a, mp.rvs(5000, seed=8))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": -1.0}, "ratio"),
        ({"ratio": np.nan}, "ratio"),
        ({"ratio": np.inf}, "ratio"),
        ({"ratio": 0.5, "sigma2": 0.0}, "sigma2"),
        ({"ratio": 0.5, "sigma2": np.nan}, "sigma2"),
        ({"ratio": 0.5, "sigma2": -np.inf}, "sigma2"),
    ],
)
def test_invalid_parameters_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MarchenkoPastur(**kwargs)


def test_non_numeric_parameters_raise_type_error():
    with pytest.raises(TypeError, match="ratio"):
        MarchenkoPastur("big")


ratios = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
sigmas = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(ratios, sigmas)
def test_density_is_nonnegative_and_integrates_to_continuous_mass(ratio, sigma2):
    mp = MarchenkoPastur(ratio, sigma2)
    assert mp.lambda_minus < mp.lambda_plus
    xs = np.linspace(mp.lambda_minus, mp.lambda_plus, 201)
    assert np.all(mp.pdf(xs) >= 0)
    # x = c - r cos(u) removes the square-root edges (plain quad struggles near ratio 1)
    c, r = 0.5 * (mp.lambda_plus + mp.lambda_minus), 0.5 * (mp.lambda_plus - mp.lambda_minus)
    # near ratio 1 the density peaks in a layer of width ~lambda_minus: tell quad where it is
    layer = math.sqrt(2 * mp.lambda_minus / r) * np.array([0.1, 1, 10, 100, 1000])
    total, _ = quad(
        lambda u: mp.pdf(c - r * np.cos(u)) * r * np.sin(u),
        0,
        np.pi,
        limit=400,
        points=layer[layer < 1],
    )
    assert total == pytest.approx(1 - mp.atom, abs=1e-8)


@pytest.mark.parametrize(
    ("ratio", "q"),
    [
        (0.9999, 1e-12),
        (0.99, 1e-20),
        (0.5, 1e-40),
        (0.5, 1 - 1e-13),
        (2.0, 0.5 + 1e-15),
        (1.0, 1e-30),
    ],
)
def test_ppf_deep_tails_against_multiprecision(ratio, q):
    """Relative error in x of ppf, from a 50-digit mpmath integral of the density."""
    mpmath.mp.dps = 50
    g = mpmath.mpf(ratio)
    a, b = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2
    f = lambda t: mpmath.sqrt((b - t) * (t - a)) / (2 * mpmath.pi * g * t)  # noqa: E731
    x = mpmath.mpf(float(MarchenkoPastur(ratio).ppf(q)))
    if x <= a:  # ppf returned the (float) edge itself: the true quantile rounds to it
        assert abs(float((x - a) / a)) < 1e-15
        return
    atom = max(mpmath.mpf(0), 1 - 1 / g)
    F = atom + mpmath.quad(f, [a, a + (x - a) / 1e6, a + (x - a) / 100, x])
    assert abs(float((F - q) / (f(x) * x))) < 1e-10


@settings(max_examples=60, deadline=None)
@given(ratios, sigmas, st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_cdf_monotone_bounded_and_inverts_ppf(ratio, sigma2, qs):
    mp = MarchenkoPastur(ratio, sigma2)
    xs = np.sort(mp.ppf(np.array(qs)))
    F = mp.cdf(np.linspace(-1, 1.2 * mp.lambda_plus, 500))
    assert np.all(np.diff(F) >= 0) and F.min() >= 0 and F.max() <= 1
    q = np.array(qs)
    cont = q > mp.atom
    np.testing.assert_allclose(mp.cdf(mp.ppf(q[cont])), q[cont], atol=1e-11)
    assert np.all(np.diff(xs) >= 0)
