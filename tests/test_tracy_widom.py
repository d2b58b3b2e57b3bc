"""Tracy–Widom laws against independent routes.

* An independent Fredholm route written here (Ferrari–Spohn 2005 kernel ``Ai(x+y+s)`` on L²(0,∞),
  plain ``det``, different scaling and quadrature than the module): F1 = det(I-B), F2 = det(I-B)
  det(I+B) (since K_Ai = B², no Airy kernel used) and F4(s) = (det(I-B)+det(I+B))/2 at √2 s.
* Published numbers: Bornemann (2010) moments, algorithms.md §1.3 quantiles, TW2 95 % quantile.
* Monte Carlo for Johnstone's Wishart centring/scaling, and the authors' precedence bug numbers.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from scipy import stats
from scipy.integrate import quad
from scipy.special import airy, kv

from rmtheory.tracy_widom import (
    TracyWidom,
    fredholm_tracy_widom,
    left_tail_log_cdf,
    paper_code_edge_scaling,
    wishart_edge_scaling,
)

BETAS = [1, 2, 4]


def airy_ai(z):
    """Ai; for z > 2 via Ai(z) = sqrt(z/3) K_{1/3}(2 z^{3/2}/3) / pi (faster than scipy's airy)."""
    out = np.empty_like(z)
    pos = z > 2
    out[pos] = np.sqrt(z[pos] / 3) / np.pi * kv(1 / 3, 2 / 3 * z[pos] ** 1.5)
    out[~pos] = airy(z[~pos])[0]
    return out


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # ~100 x 100 determinants: BLAS threads only slow them down (10x on a loaded 2-core box).
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def _det_pm(s, m=100):
    """(det(I - B_s), det(I + B_s)) for B_s(x, y) = Ai(x + y + s) on L²(0, ∞)."""
    length = max(-s, 0.0) / 2 + 12.0
    t, w = leggauss(m)
    x = length * (t + 1) / 2
    sw = np.sqrt(w * length / 2)
    mat = sw[:, None] * airy_ai(x[:, None] + x[None, :] + s) * sw[None, :]
    eye = np.eye(m)
    return np.linalg.det(eye - mat), np.linalg.det(eye + mat)


def ref_cdf(s, beta):
    """Independent Ferrari–Spohn route (absolute accuracy ~1e-15 for -8 <= s <= 8)."""
    if beta == 1:
        return _det_pm(s)[0]
    if beta == 2:
        minus, plus = _det_pm(s)
        return minus * plus
    minus, plus = _det_pm(math.sqrt(2) * s)
    return (minus + plus) / 2


def ref_pdf(s, beta, h=0.01):
    """Five-point central difference of the independent CDF (error ~h^4 ~ 1e-9)."""
    f = [ref_cdf(s + k * h, beta) for k in (-2, -1, 1, 2)]
    return (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h)


# ----------------------------------------------------------------------------------------------
# Construction and input handling


@pytest.mark.parametrize("bad", [0, 3, 1.5, -1, 8])
def test_invalid_beta_raises_value_error_naming_beta(bad):
    with pytest.raises(ValueError, match="beta"):
        TracyWidom(bad)


@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_non_numeric_beta_raises_type_error(bad):
    with pytest.raises(TypeError, match="beta"):
        TracyWidom(bad)


def test_float_beta_equal_to_allowed_value_is_accepted():
    assert TracyWidom(2.0).beta == 2


@pytest.mark.parametrize("beta", BETAS)
def test_special_inputs_follow_scipy_conventions(beta):
    tw = TracyWidom(beta)
    x = np.array([-np.inf, np.nan, np.inf])
    np.testing.assert_array_equal(tw.cdf(x), [0.0, np.nan, 1.0])
    np.testing.assert_array_equal(tw.sf(x), [1.0, np.nan, 0.0])
    np.testing.assert_array_equal(tw.pdf(x), [0.0, np.nan, 0.0])
    np.testing.assert_array_equal(tw.logcdf(x), [-np.inf, np.nan, 0.0])
    q = np.array([0.0, 1.0, -0.1, 1.1, np.nan])
    np.testing.assert_array_equal(tw.ppf(q), [-np.inf, np.inf, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(tw.isf(q), [np.inf, -np.inf, np.nan, np.nan, np.nan])
    assert tw.support() == (-np.inf, np.inf)
    assert isinstance(tw.cdf(0.0), float) and isinstance(tw.ppf(0.5), float)
    assert tw.cdf(np.zeros((2, 3))).shape == (2, 3)


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="x"):
        TracyWidom(1).cdf("a")


# ----------------------------------------------------------------------------------------------
# Shipped table against fresh, independent Fredholm determinants


@pytest.mark.parametrize("beta", BETAS)
def test_table_cdf_matches_fresh_fredholm_on_minus8_to_6(beta):
    s = np.random.default_rng(100 + beta).uniform(-8.0, 6.0, 40)
    ref = np.array([ref_cdf(v, beta) for v in s])
    err = np.max(np.abs(TracyWidom(beta).cdf(s) - ref))
    assert err <= 1e-12  # requirement 1e-9; measured ~1e-15


@pytest.mark.parametrize("beta", BETAS)
def test_module_fredholm_agrees_with_independent_route(beta):
    s = np.array([-5.0, -1.3, 0.7, 3.0])
    ours = fredholm_tracy_widom(s, beta)
    ref = np.array([ref_cdf(v, beta) for v in s])
    np.testing.assert_allclose(ours.cdf, ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(ours.sf, 1 - ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("beta", BETAS)
def test_fredholm_converges_in_the_number_of_nodes(beta):
    s = np.array([-6.0, -2.0, 1.0, 5.0])
    lo = fredholm_tracy_widom(s, beta, n_nodes=64)
    hi = fredholm_tracy_widom(s, beta, n_nodes=128)
    np.testing.assert_allclose(lo.cdf, hi.cdf, rtol=0, atol=1e-13)
    np.testing.assert_allclose(lo.logsf, hi.logsf, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("beta", BETAS)
def test_pdf_matches_finite_difference_of_fredholm_cdf(beta):
    s = np.array([-5.5, -3.7, -2.1, -1.0, 0.4, 2.2, 4.0])
    ref = np.array([ref_pdf(v, beta) for v in s])
    np.testing.assert_allclose(TracyWidom(beta).pdf(s), ref, rtol=0, atol=2e-9)


@pytest.mark.parametrize("beta", BETAS)
def test_right_tail_keeps_relative_accuracy(beta):
    # Inside the table (log(1-F) pieces) and beyond it (direct determinant), against the
    # module's determinant with more nodes; 1 - F is 1e-10 .. 1e-40 here, so an interpolant of F
    # itself could not pass.
    tw = TracyWidom(beta)
    b = {1: 26.5, 2: 17.5, 4: 11.5}[beta]
    s = np.array([4.0, 7.3, b - 0.2, b + 0.5])
    ref = fredholm_tracy_widom(s, beta, n_nodes=128)
    np.testing.assert_allclose(tw.sf(s), ref.sf, rtol=1e-10)
    np.testing.assert_allclose(tw.pdf(s), ref.pdf, rtol=1e-9)


@pytest.mark.parametrize("beta", BETAS)
def test_left_tail_expansion_meets_fredholm_and_is_continuous(beta):
    a = {1: -6.5, 2: -6.5, 4: -5.5}[beta]
    tw = TracyWidom(beta)
    # Around the switch point a the determinant is relative-accurate to ~3e-9 (1 - lambda_max
    # is small) and the divergent expansion to ~2e-9; log F differences are relative errors of F.
    for s in (a - 0.3, a + 0.5):
        det = fredholm_tracy_widom(s, beta).logcdf
        assert abs(float(left_tail_log_cdf(s, beta)[0]) - float(det)) <= 1e-7
    jump = tw.logcdf(a - 1e-12) - tw.logcdf(a + 1e-12)
    assert abs(jump) <= 1e-8
    # Leading order: log F ~ -|s|^3/12 (beta 2), -|s|^3/24 (beta 1), -|s|^3/(24/2^{3/2})
    # (beta 4 in the Tracy–Widom normalisation); the next term is O(|s|^{3/2}).
    lead = {1: 24.0, 2: 12.0, 4: 24.0 / 2**1.5}[beta]
    assert tw.logcdf(-2000.0) / (-(2000.0**3) / lead) == pytest.approx(1.0, abs=1e-4)


# ----------------------------------------------------------------------------------------------
# Published values


# Bornemann (2010), MPRF 16, Table 10 (via his Matlab toolbox); the same digits are quoted by
# OpenTURNS, openturns/openturns lib/src/Uncertainty/Distribution/TracyWidomGSE.cxx
# ("RMT matlab toolbox computation": mean -2.306884893241 and 0.5177237207726, which that file
# labels a standard deviation but is the variance: sd 0.7195 in Tracy–Widom's own tables).
MOMENTS = {
    1: (-1.2065335745820, 1.607781034581),
    2: (-1.771086807411, 0.8131947928329),
    4: (-2.306884893241, 0.5177237207726),
}


@pytest.mark.parametrize("beta", BETAS)
def test_mean_and_variance_match_bornemann(beta):
    tw = TracyWidom(beta)
    mean, var = MOMENTS[beta]
    assert tw.mean() == pytest.approx(mean, abs=2e-12)
    assert tw.var() == pytest.approx(var, abs=2e-12)
    assert tw.std() == pytest.approx(math.sqrt(var), abs=1e-11)


def test_tw1_quantiles_match_algorithms_md():
    # algorithms.md §1.3 [VERIFIED] (80-point Gauss–Legendre Fredholm determinant, 4 decimals).
    ref = {0.90: 0.4501, 0.10: -2.7824, 0.50: -1.2686, 0.95: 0.9793, 0.05: -3.1804, 0.99: 2.0234}
    tw = TracyWidom(1)
    for p, t in ref.items():
        assert tw.ppf(p) == pytest.approx(t, abs=5e-5)


def test_tw2_95_percent_quantile():
    assert TracyWidom(2).ppf(0.95) == pytest.approx(-0.2325, abs=5e-5)


@pytest.mark.parametrize("beta", BETAS)
def test_quantiles_are_roots_of_the_independent_cdf(beta):
    tw = TracyWidom(beta)
    for p in (0.01, 0.3, 0.8, 0.999):
        assert ref_cdf(tw.ppf(p), beta) == pytest.approx(p, abs=1e-13)


# ----------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(BETAS),
    st.lists(st.floats(-40.0, 11.0), min_size=2, max_size=40),
)
def test_cdf_monotone_and_in_unit_interval(beta, xs):
    x = np.sort(np.array(xs))
    f = TracyWidom(beta).cdf(x)
    assert np.all((f >= 0) & (f <= 1))
    assert np.all(np.diff(f) >= -1e-16)
    sf = TracyWidom(beta).sf(x)
    assert np.all(np.diff(sf) <= 1e-16)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(BETAS), st.floats(1e-300, 1.0, exclude_max=True))
def test_cdf_of_ppf_is_identity(beta, p):
    tw = TracyWidom(beta)
    x = tw.ppf(p)
    assert math.isfinite(x)
    assert abs(tw.cdf(x) - p) <= 1e-10 * min(p, 1 - p) + 1e-15
    # The upper quantile through the survival function, relative in the right tail.
    assert tw.sf(tw.isf(1 - p)) == pytest.approx(1 - p, rel=1e-10, abs=1e-15)


def _round_trip_bound(x: float, log_density_ratio: float) -> float:
    """Relative round-trip tolerance: 1e-14 plus 4x what rounding x to float64 alone costs,
    eps |x| f(x) / F(x) (the condition of F at x; 1e-13 at q = 1e-300, where the slope of log F
    is ~80)."""
    return 1e-14 + 4.0 * np.finfo(float).eps * abs(x) * math.exp(log_density_ratio)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BETAS), st.floats(1e-300, 1.0 - 1e-16))
def test_ppf_round_trip_to_rounding(beta, p):
    # |F(ppf(p)) - p| / p at 1e-14, or at the conditioning floor where that is larger; the old
    # bound above (1e-10) leaves room for a start that was never polished
    tw = TracyWidom(beta)
    x = tw.ppf(p)
    bound = _round_trip_bound(x, tw.logpdf(x) - tw.logcdf(x))
    assert abs(tw.cdf(x) - p) <= bound * p


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BETAS), st.floats(1e-35, 1.0 - 1e-16))
def test_isf_round_trip_to_rounding(beta, q):
    tw = TracyWidom(beta)
    x = tw.isf(q)
    bound = _round_trip_bound(x, tw.logpdf(x) - tw.logsf(x))
    assert abs(tw.sf(x) - q) <= bound * q


@pytest.mark.parametrize("beta", BETAS)
def test_round_trip_in_the_bulk_is_1e14(beta):
    # where the conditioning allows it, the flat 1e-14 of the contract (measured: the inverse
    # series without its Newton polish reaches 1.2e-14 here; a polish with the slope's sign
    # flipped fails for every beta)
    tw = TracyWidom(beta)
    p = np.random.default_rng(beta).uniform(1e-3, 1 - 1e-3, 100_000)
    assert np.max(np.abs(tw.cdf(tw.ppf(p)) - p) / p) <= 1e-14
    assert np.max(np.abs(tw.sf(tw.isf(p)) - p) / p) <= 1e-14


@pytest.mark.parametrize("beta", BETAS)
def test_quantiles_monotone_across_knot_intervals(beta):
    # the inverse is a series per knot interval: no step back at the joins
    tw = TracyWidom(beta)
    p = np.unique(np.concatenate([np.linspace(1e-6, 1 - 1e-6, 200001), np.logspace(-300, -1, 20001)]))
    assert np.all(np.diff(tw.ppf(p)) >= 0)
    q = p[p > 1e-35]
    assert np.all(np.diff(tw.isf(q)) <= 0)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(BETAS), st.floats(1e-35, 0.5))
def test_isf_is_relative_accurate_for_small_q(beta, q):
    tw = TracyWidom(beta)
    assert tw.sf(tw.isf(q)) == pytest.approx(q, rel=1e-10)


@pytest.mark.parametrize(
    "beta", [2, pytest.param(1, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow)]
)
def test_isf_beyond_the_table(beta):
    # q below 1 - F(b) ~ 1e-36: root-finding on the determinant itself.
    tw = TracyWidom(beta)
    x = tw.isf(1e-60)
    assert x > {1: 26.5, 2: 17.5, 4: 11.5}[beta]
    assert float(fredholm_tracy_widom(x, beta).sf) == pytest.approx(1e-60, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(BETAS), st.lists(st.floats(-60.0, 11.0), min_size=1, max_size=30))
def test_pdf_nonnegative(beta, xs):
    assert np.all(TracyWidom(beta).pdf(np.array(xs)) >= 0)


@pytest.mark.parametrize("beta", BETAS)
def test_pdf_integrates_to_one_and_to_the_cdf(beta):
    tw = TracyWidom(beta)
    total = sum(
        quad(tw.pdf, lo, hi, epsabs=1e-14, limit=200)[0] for lo, hi in [(-30, -3), (-3, 20)]
    )
    assert total == pytest.approx(1.0, abs=1e-12)
    for x in (-4.0, -1.5, 1.0):
        assert quad(tw.pdf, -30, x, epsabs=1e-14, limit=200)[0] == pytest.approx(
            tw.cdf(x), abs=1e-12
        )


# ----------------------------------------------------------------------------------------------
# Sampling


def test_rvs_is_reproducible_and_accepts_a_generator():
    tw = TracyWidom(1)
    a = tw.rvs(50, seed=3)
    np.testing.assert_array_equal(a, tw.rvs(50, seed=np.random.default_rng(3)))
    assert a.shape == (50,) and np.all(np.isfinite(a))
    assert isinstance(tw.rvs(seed=1), float)
    assert tw.rvs((2, 3), seed=1).shape == (2, 3)
    with pytest.raises(TypeError, match="seed"):
        tw.rvs(3, seed="x")


@pytest.mark.parametrize("beta", BETAS)
def test_rvs_follows_the_law(beta):
    tw = TracyWidom(beta)
    x = tw.rvs(4000, seed=11)
    assert stats.kstest(x, tw.cdf).pvalue > 1e-3
    # 5 standard errors
    assert abs(x.mean() - MOMENTS[beta][0]) < 5 * math.sqrt(MOMENTS[beta][1] / x.size)


# ----------------------------------------------------------------------------------------------
# Johnstone's Wishart edge scaling


def test_asymptotic_edge_scaling_formula_square_case():
    # gamma = 1: lambda_max ~ sigma2 (4 + 2^{4/3} n^{-2/3} TW1), the LATER-TEX BEMA box.
    c, s = wishart_edge_scaling(1000, 1000, sigma2=2.5)
    assert c == pytest.approx(10.0)
    assert s == pytest.approx(2.5 * 2 ** (4 / 3) * 1000 ** (-2 / 3))


def test_exact_edge_scaling_formula():
    n, p = 400, 100
    c, s = wishart_edge_scaling(n, p, sigma2=0.5, exact=True)
    mu = (math.sqrt(399) + 10) ** 2
    sig = (math.sqrt(399) + 10) * (1 / math.sqrt(399) + 1 / 10) ** (1 / 3)
    assert c == pytest.approx(0.5 * mu / n) and s == pytest.approx(0.5 * sig / n)
    # exact and asymptotic forms agree to leading order for large n
    ce, se = wishart_edge_scaling(10**6, 2 * 10**5, exact=True)
    ca, sa = wishart_edge_scaling(10**6, 2 * 10**5)
    assert ce == pytest.approx(ca, rel=1e-5) and se == pytest.approx(sa, rel=1e-3)


@pytest.mark.parametrize("fn", [wishart_edge_scaling, paper_code_edge_scaling])
def test_edge_scaling_swaps_p_greater_than_n(fn):
    assert fn(300, 700) == fn(700, 300)


@pytest.mark.parametrize(
    ("args", "exc", "name"),
    [
        ((0, 5), ValueError, "n"),
        ((5, -1), ValueError, "p"),
        ((5.5, 3), TypeError, "n"),
        ((10, 5, -1.0), ValueError, "sigma2"),
        ((10, 5, float("nan")), ValueError, "sigma2"),
    ],
)
def test_edge_scaling_rejects_bad_input(args, exc, name):
    with pytest.raises(exc, match=name):
        wishart_edge_scaling(*args)
    with pytest.raises(exc, match=name):
        paper_code_edge_scaling(*args)


def test_exact_scaling_needs_two_rows():
    with pytest.raises(ValueError, match="exact"):
        wishart_edge_scaling(1, 1, exact=True)


@pytest.mark.parametrize(
    ("n", "p", "correct", "buggy"),
    # algorithms.md §1.3 [VERIFIED]: TW term (beta = 0.1, t = TW1 90 % quantile) added to the
    # MP edge factor, correct formula vs the authors' (1+sqrt(gamma))**4/3.
    [
        (3000, 3000, 0.0055, 0.0115),
        (1000, 784, 0.0109, 0.0197),
        (3000, 784, 0.0047, 0.0047),
        (500, 10, 0.0164, 0.0078),
    ],
)
def test_paper_code_bug_magnitudes(n, p, correct, buggy):
    t = TracyWidom(1).ppf(0.9)
    assert wishart_edge_scaling(n, p)[1] * t == pytest.approx(correct, abs=5e-5)
    assert paper_code_edge_scaling(n, p)[1] * t == pytest.approx(buggy, abs=5e-5)
    assert paper_code_edge_scaling(n, p)[0] == wishart_edge_scaling(n, p)[0]


def _largest_wishart_eigenvalues(p, n, draws, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draws, p, n))
    return np.linalg.eigvalsh(x @ x.transpose(0, 2, 1) / n)[:, -1]


def _check_standardised_moments(lam, n, p, allowance):
    tw = TracyWidom(1)
    c, s = wishart_edge_scaling(n, p, exact=True)
    z = (lam - c) / s
    se_mean = z.std() / math.sqrt(z.size)
    se_var = np.std((z - z.mean()) ** 2) / math.sqrt(z.size)
    # 4 standard errors, plus Johnstone's O(n^{-2/3}) finite-size bias of the mean
    # (measured -0.044 +- 0.02 with 4000 draws at 100 x 200).
    assert abs(z.mean() - tw.mean()) < 4 * se_mean + allowance
    assert abs(z.var() - tw.var()) < 4 * se_var
    # The authors' scale (1+sqrt(g))^4/3 instead of ^(4/3) is 1.39 times too large at g = 1/2:
    # the standardised variance drops to ~0.83 and the Monte Carlo sees it.
    cb, sb = paper_code_edge_scaling(n, p)
    zb = (lam - cb) / sb
    assert abs(zb.var() - tw.var()) > 4 * se_var


def test_monte_carlo_largest_eigenvalue_is_tw1_with_johnstone_scaling():
    n, p = 200, 100
    _check_standardised_moments(_largest_wishart_eigenvalues(p, n, 300, seed=2024), n, p, 0.1)


@pytest.mark.slow
def test_monte_carlo_largest_eigenvalue_larger_shape():
    n, p = 400, 200
    _check_standardised_moments(_largest_wishart_eigenvalues(p, n, 3000, seed=7), n, p, 0.1)
