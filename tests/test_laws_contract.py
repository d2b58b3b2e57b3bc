"""Both laws honour one contract (rmtheory.laws): the full method set, and the identities between
the methods; the log-methods checked against mpmath / Fredholm determinants in their tails."""

import math

import mpmath
import numpy as np
import pytest

from rmtheory.laws import LAW_METHODS, ContinuousLaw, Law
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom

LAWS = [
    MarchenkoPastur(0.3),
    MarchenkoPastur(1.0, 2.0),
    MarchenkoPastur(2.5, 0.5),
    TracyWidom(1),
    TracyWidom(2),
    TracyWidom(4),
]


@pytest.fixture(params=LAWS, ids=repr)
def law(request):
    return request.param


def _grid(law):
    lo, hi = law.support()
    if math.isinf(lo):
        return np.linspace(-6.0, 4.0, 41)
    return np.linspace(lo, hi, 43)[1:-1]


def test_full_method_set(law):
    assert isinstance(law, Law) and isinstance(law, ContinuousLaw)
    for name in LAW_METHODS:
        assert callable(getattr(law, name)), name


def test_sf_is_one_minus_cdf_and_logs_agree(law):
    x = _grid(law)
    F, S = np.asarray(law.cdf(x)), np.asarray(law.sf(x))
    np.testing.assert_allclose(F + S, 1.0, atol=1e-14)
    np.testing.assert_allclose(np.exp(law.logcdf(x)), F, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(np.exp(law.logsf(x)), S, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(np.exp(law.logpdf(x)), law.pdf(x), rtol=1e-12)


def test_ppf_inverts_cdf_and_interval_brackets(law):
    q = np.array([0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
    if isinstance(law, MarchenkoPastur) and law.atom:
        q = law.atom + (1 - law.atom) * q
    x = np.asarray(law.ppf(q))
    np.testing.assert_allclose(law.ppf(law.cdf(x)), x, rtol=1e-10)
    np.testing.assert_allclose(law.isf(1 - q), x, rtol=1e-10)
    lo, hi = law.interval(0.95)
    below = float(law.cdf(lo))
    if isinstance(law, MarchenkoPastur) and lo == 0.0:
        below -= law.atom  # P(X < 0) = 0: the interval holds the atom at its closed lower end
    assert float(law.cdf(hi)) - below >= 0.95 - 1e-12
    assert float(law.sf(hi)) == pytest.approx(0.025, rel=1e-10)
    assert law.median() == pytest.approx(float(law.ppf(0.5)))


def test_moments_and_stats(law):
    m, v, s, k = law.stats("mvsk")
    assert law.stats() == (law.mean(), law.var())
    assert law.moment(0) == 1.0
    assert law.moment(1) == pytest.approx(m, rel=1e-12)
    assert law.moment(2) == pytest.approx(v + m * m, rel=1e-12)
    assert law.std() == pytest.approx(math.sqrt(v))
    # independent route: Monte Carlo of rvs (tolerance ~5 standard errors)
    draws = np.asarray(law.rvs(200_000, seed=1))
    assert np.mean(draws) == pytest.approx(m, abs=5 * math.sqrt(v / draws.size))
    assert np.var(draws) == pytest.approx(v, rel=0.02)
    assert np.isfinite(s) and np.isfinite(k)


def test_bad_arguments_are_named(law):
    with pytest.raises(ValueError, match="confidence"):
        law.interval(1.5)
    with pytest.raises(ValueError, match="moments"):
        law.stats("mq")
    with pytest.raises(TypeError, match="k"):
        law.moment(1.5)
    with pytest.raises(TypeError, match="x"):
        law.logsf("a")


def test_mp_skewness_and_kurtosis_closed_forms_against_quadrature():
    law = MarchenkoPastur(0.4, 1.5)
    a, b = law.lambda_minus, law.lambda_plus
    mpmath.mp.dps = 30
    f = lambda t: float(law.pdf(float(t)))  # noqa: E731
    mu = float(mpmath.quad(lambda t: t * f(t), [a, b]))
    c3 = float(mpmath.quad(lambda t: (t - mu) ** 3 * f(t), [a, b]))
    c4 = float(mpmath.quad(lambda t: (t - mu) ** 4 * f(t), [a, b]))
    _, v, s, k = law.stats("mvsk")
    assert s == pytest.approx(c3 / v**1.5, rel=1e-7)
    assert k == pytest.approx(c4 / v**2 - 3, rel=1e-7)


def test_tw_skewness_kurtosis_match_bornemann():
    # Bornemann (2010), Table 4 (MPRF review): skewness and excess kurtosis of F1, F2, F4
    ref = {1: (0.2934645240, 0.1652429384), 2: (0.2240842036, 0.0934480876),
           4: (0.1655094943, 0.0491951565)}  # fmt: skip
    for beta, (s, k) in ref.items():
        _, _, ss, kk = TracyWidom(beta).stats("mvsk")
        assert ss == pytest.approx(s, abs=1e-9) and kk == pytest.approx(k, abs=1e-9)


@pytest.mark.parametrize("beta", [1, 2, 4])
def test_tw_log_tails_against_fredholm(beta):
    # right of the table (1 - F < 1e-36) and where exp(logsf) would underflow the determinant
    s = np.array([20.0, 30.0, 40.0])
    fv = fredholm_tracy_widom(s, beta)
    tw = TracyWidom(beta)
    ok = np.isfinite(fv.logsf)
    np.testing.assert_allclose(tw.logsf(s)[ok], fv.logsf[ok], rtol=1e-12)
    np.testing.assert_allclose(tw.logpdf(s)[ok], np.log(fv.pdf[ok]), rtol=1e-11)
    # far out: finite, decreasing, and the leading asymptotics' exponent
    far = np.array([200.0, 1e3, 1e5, 1e7])
    ls = tw.logsf(far)
    assert np.all(np.isfinite(ls)) and np.all(np.diff(ls) < 0)
    exponent = {1: 2 / 3, 2: 4 / 3, 4: 4 / 3 * 2**0.75}[beta]
    np.testing.assert_allclose(ls[1:] / far[1:] ** 1.5, -exponent, rtol=1e-3)
    # left tail: logcdf finite where cdf underflows
    assert np.isfinite(tw.logcdf(-60.0)) and tw.cdf(-60.0) == 0.0


def test_tw_beta2_right_tail_against_mpmath_airy_trace():
    # 1 - F2(s) = tr K_Ai to relative 1e-36 here; tr K_Ai = int_s^inf (Ai'^2 - x Ai^2) by mpmath
    mpmath.mp.dps = 40
    for s in (25.0, 60.0, 120.0):
        tr = mpmath.quad(lambda x: mpmath.airyai(x, 1) ** 2 - x * mpmath.airyai(x) ** 2,
                         [s, s + 0.5, s + 2, s + 8, mpmath.inf])
        assert float(TracyWidom(2).logsf(s)) == pytest.approx(float(mpmath.log(tr)), rel=1e-9)


@pytest.mark.parametrize("ratio", [0.3, 2.5])
def test_mp_log_tails_near_the_edges_against_mpmath(ratio):
    law = MarchenkoPastur(ratio)
    mpmath.mp.dps = 40
    g = mpmath.mpf(ratio)
    a, b = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2

    def dens(t):
        return mpmath.sqrt((b - t) * (t - a)) / (2 * mpmath.pi * g * t)

    atom = max(0.0, 1 - 1 / ratio)
    for d in (1e-3, 1e-6):
        x = float(a) * (1 + d)
        ref = mpmath.log(mpmath.quad(dens, [a, mpmath.mpf(x)]) + atom)
        assert float(law.logcdf(x)) == pytest.approx(float(ref), rel=1e-8, abs=1e-12)
        xu = float(b) * (1 - d)
        ref = mpmath.log(mpmath.quad(dens, [mpmath.mpf(xu), b]))
        assert float(law.logsf(xu)) == pytest.approx(float(ref), rel=1e-8)
        assert float(law.logpdf(xu)) == pytest.approx(float(mpmath.log(dens(mpmath.mpf(xu)))), rel=1e-9)
    assert law.logpdf(float(b) * 2) == -np.inf and law.logsf(float(b) * 2) == -np.inf
