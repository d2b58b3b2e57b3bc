"""Numerical hardening (issue 11, "Numerics"): every item checked against an independent route
(LAPACK's SVD, 80-digit mpmath, exact power-of-two rescaling, Laplace asymptotics), with the tolerance
stated where it is asserted.  Each test failed before the fix it covers."""

import math
import warnings

import mpmath
import numpy as np
import pytest
import scipy.linalg

import rmtheory as rmt
from rmtheory import approximation, confidence, lowrank, spectrum, spiked, thresholds
from rmtheory.bema import BEMA, mp_goodness_of_fit
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom


def approx(expected, **kw):
    """pytest.approx without its default absolute tolerance of 1e-12 (tiny values must match too)."""
    kw.setdefault("abs", 0.0)
    return pytest.approx(expected, **kw)


EPS = np.finfo(float).eps


def noise(shape=(60, 40), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------------- Gram route
@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e160, 1e200, 1e300])
def test_singular_values_at_extreme_scales_match_lapack_svd(scale):
    W = noise()
    ref = scipy.linalg.svdvals(W) * scale
    for method in ("auto", "gram"):
        s = spectrum.singular_values(W * scale, method)
        np.testing.assert_allclose(s, ref, rtol=1e-12)  # Gram accuracy on a well-spread spectrum


@pytest.mark.parametrize("scale", [1e-30, 1e25])
def test_float32_singular_values_at_extreme_scales(scale):
    W = (noise() * scale).astype(np.float32)
    ref = scipy.linalg.svdvals(W.astype(np.float64))
    np.testing.assert_allclose(spectrum.singular_values(W), ref, rtol=2e-5)


def test_esd_refuses_eigenvalues_that_float64_cannot_hold():
    with pytest.raises(ValueError, match="overflow float64"):
        spectrum.esd(noise() * 1e200)
    with pytest.raises(ValueError, match="underflow float64"):
        spectrum.esd(noise() * 1e-200)
    with pytest.raises(ValueError, match="overflow"):
        BEMA().fit(noise((100, 80)) * 1e200)
    with pytest.raises(ValueError, match="underflow"):
        BEMA().fit(noise((100, 80)) * 1e-200)


@pytest.mark.parametrize(
    "rule",
    [
        thresholds.mp_rank,
        thresholds.mp_threshold,
        thresholds.gavish_donoho_rank,
        thresholds.energy_rank,
        lambda W: rmt.BEMA().fit(W),
    ],
)
def test_no_obscure_linalg_error_at_huge_scale(rule):
    # before: LinAlgError (a ValueError subclass) from eigvalsh of an overflowing Gram
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # thresholds.py squares s (see the note)
        try:
            rule(noise((100, 80)) * 1e200)
        except ValueError as err:
            assert not isinstance(err, np.linalg.LinAlgError)


@pytest.mark.parametrize("power", [-400, -100, 100, 400])
def test_bema_is_exactly_scale_equivariant_under_powers_of_two(power):
    W = noise((120, 90), seed=1)
    base, scaled = BEMA().fit(W), BEMA().fit(np.ldexp(W, power))
    assert scaled.sigma2_ == approx(math.ldexp(base.sigma2_, 2 * power), rel=1e-13)
    assert scaled.n_spikes_ == base.n_spikes_ and scaled.n_censored_ == 0


def test_spike_1e8_times_the_bulk_is_not_rank_deficient():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((200, 100))
    u, v = rng.standard_normal(200), rng.standard_normal(100)
    top = scipy.linalg.svdvals(W)[0]
    S = W + 1e8 * top * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    fit = BEMA().fit(S)
    assert fit.n_censored_ == 0 and fit.n_spikes_ == 1
    assert fit.sigma2_ == approx(BEMA().fit(W).sigma2_, rel=0.05)  # the noise level
    # the bulk under the spike keeps ~1e-8 relative accuracy (the SVD's eps * s_max)
    ref = scipy.linalg.svdvals(S)[1:] ** 2 / 200
    np.testing.assert_allclose(np.sort(fit.eigenvalues_)[:-1], np.sort(ref), rtol=1e-6)


def test_rank_deficient_float64_matrix_gives_svd_level_zeros_and_is_censored():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((300, 450)) / math.sqrt(450)
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    T = (U[:, :150] * s[:150]) @ Vt[:150]
    sv = spectrum.singular_values(T)
    assert np.all(sv[150:] <= 1e-13 * sv[0])  # SVD zeros (the Gram leaves ~1e-8 * s_max)
    assert BEMA().fit(T).n_censored_ == 150
    # a float32 layer upcast to float64 keeps float32-sized zeros: still censored
    assert BEMA().fit(T.astype(np.float32).astype(np.float64)).n_censored_ == 150


def test_ambiguous_zeros_in_1d_eigenvalues_say_how_to_fit_them():
    ev = np.sort(np.random.default_rng(4).uniform(0.5, 1.5, 100))
    ev[-1] = 1e16  # a spike 1e8 times the bulk in singular value
    with pytest.raises(ValueError, match="n_censored=0"):
        BEMA().fit(ev, q=200)
    assert BEMA().fit(ev, q=200, n_censored=0).n_spikes_ == 1


# ---------------------------------------------------------------------------------- MP law
mpmath.mp.dps = 80


def mp_reference_cdf(x, ratio):
    """The closed form in 80-digit arithmetic at the float x exactly as given (sigma2 = 1)."""
    g, t = mpmath.mpf(ratio), mpmath.mpf(x)
    a, b = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2
    atom = max(mpmath.mpf(0), 1 - 1 / g)
    if t <= a:
        return atom if t >= 0 else mpmath.mpf(0)
    if t >= b:
        return mpmath.mpf(1)
    m, h = 1 + g, 2 * mpmath.sqrt(g)
    phi = mpmath.acos((m - t) / h)
    k = (1 + mpmath.sqrt(g)) / abs(1 - mpmath.sqrt(g))
    G = (h * mpmath.sin(phi) + m * phi - 2 * abs(1 - g) * mpmath.atan(k * mpmath.tan(phi / 2))) / (
        2 * mpmath.pi * g
    )
    return atom + G


def mp_reference_pdf(x, ratio):
    g, t = mpmath.mpf(ratio), mpmath.mpf(x)
    a, b = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2
    return mpmath.sqrt((b - t) * (t - a)) / (2 * mpmath.pi * g * t)


@pytest.mark.parametrize("ratio", [1e-14, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 0.01, 0.049])
def test_mp_cdf_at_tiny_ratios_against_80_digit_closed_form(ratio):
    mp = MarchenkoPastur(ratio)
    xs = mp.lambda_minus + (mp.lambda_plus - mp.lambda_minus) * np.linspace(0, 1, 41)[1:-1]
    ref = np.array([float(mp_reference_cdf(x, ratio)) for x in xs])
    pdf = np.array([float(mp_reference_pdf(x, ratio)) for x in xs])
    # the problem's own conditioning: x is known to half an ulp, the cdf moves by pdf * dx
    bound = 1e-15 + 4 * np.spacing(xs) * pdf
    assert np.all(np.abs(mp.cdf(xs) - ref) <= bound)  # measured <= 0.33 * bound
    assert np.all(np.abs(mp.sf(xs) - (1 - ref)) <= bound)


def test_mp_cdf_tiny_ratio_median_is_one_half():
    assert float(MarchenkoPastur(1e-12).cdf(1.0)) == approx(0.5, abs=1e-6)
    assert float(MarchenkoPastur(1e-12).median()) == approx(1.0, abs=1e-11)


@pytest.mark.parametrize(("ratio", "tol"), [(1e-8, 1e-12), (1e-4, 1e-14), (0.01, 1e-14)])
def test_mp_cdf_of_ppf_at_tiny_ratios(ratio, tol):
    mp = MarchenkoPastur(ratio)
    p = np.concatenate([np.linspace(0.001, 0.999, 999), [1e-9, 1e-6, 1 - 1e-6]])
    assert np.max(np.abs(mp.cdf(mp.ppf(p)) - p)) <= tol  # measured 6.4e-13, 4e-15, 8e-16
    assert np.max(np.abs(mp.sf(mp.isf(p)) - p)) <= tol


def test_mp_cdf_of_ppf_at_ratio_1e_12_within_the_rounding_of_x():
    mp = MarchenkoPastur(1e-12)
    p = np.linspace(0.001, 0.999, 999)
    x = mp.ppf(p)
    assert np.all(np.abs(mp.cdf(x) - p) <= 1e-11 + 4 * np.spacing(x) * mp.pdf(x))


def test_mp_isf_keeps_tiny_upper_probabilities():
    mp = MarchenkoPastur(0.5)
    q = 1e-12  # ppf(1 - q) would lose 4 of its digits in 1 - q
    assert float(mp.sf(mp.isf(q))) == approx(q, rel=1e-6)


@pytest.mark.parametrize("ratio", [1e3, 1e6, 1e10])
def test_mp_sf_keeps_relative_precision_at_large_ratios(ratio):
    mp = MarchenkoPastur(ratio)
    xs = mp.lambda_minus + (mp.lambda_plus - mp.lambda_minus) * np.linspace(0, 1, 21)[1:-1]
    ref = [mp_reference_cdf(x, ratio) for x in xs]
    sf_ref = np.array([float(1 - r) for r in ref])
    pdf = np.array([float(mp_reference_pdf(x, ratio)) for x in xs])
    rel = np.abs(mp.sf(xs) / sf_ref - 1)
    assert np.all(rel <= 1e-14 + 4 * np.spacing(xs) * pdf / sf_ref)  # measured <= 0.6 * bound
    np.testing.assert_allclose(mp.cdf(xs), [float(r) for r in ref], rtol=0, atol=2 * EPS)


def test_mp_refuses_an_overflowing_edge():
    with pytest.raises(ValueError, match="sigma2"):
        MarchenkoPastur(0.5, 1e308)


def test_mp_moments_beyond_the_float_range_are_inf_not_an_error():
    assert MarchenkoPastur(0.5, 1e300).moment(2) == math.inf
    assert MarchenkoPastur(0.5).moment(10**18) == math.inf
    assert MarchenkoPastur(0.5, 1e-300).moment(3) == 0.0
    # sigma^4 (1 + gamma) = 1e-600 * (1e300 + 1) = 1e-300: each factor alone is out of range
    assert MarchenkoPastur(1e300, 1e-300).moment(2) == approx(1e-300, rel=1e-15)


def _narayana_mpmath(k, ratio, sigma2):
    g = mpmath.mpf(ratio)
    total = mpmath.fsum(
        g**r / (r + 1) * mpmath.binomial(k, r) * mpmath.binomial(k - 1, r) for r in range(k)
    )
    return mpmath.mpf(sigma2) ** k * total


@pytest.mark.parametrize(
    ("k", "ratio", "sigma2"),
    [(40, 1e10, 1.0), (150, 3.0, 0.01), (500, 0.5, 0.3), (2000, 1.0, 0.25)],
)
def test_mp_moments_of_high_order_against_exact_narayana_sums(k, ratio, sigma2):
    ref = _narayana_mpmath(k, ratio, sigma2)
    ours = MarchenkoPastur(ratio, sigma2).moment(k)
    assert ours == approx(float(ref), rel=1e-12)


def test_mp_moment_of_order_1e18_against_laplace_asymptotics():
    # sigma2 = 1 / lambda_+(unit): the moment decays like k^{-3/2}; the leading Laplace term is
    # exact to O(1/k) = 1e-18, and mpmath takes the float sigma2 exactly as given
    ratio, k = 0.5, 10**18
    sigma2 = 1.0 / (1.0 + math.sqrt(ratio)) ** 2
    g = mpmath.mpf(ratio)
    b, h = (1 + mpmath.sqrt(g)) ** 2, 2 * mpmath.sqrt(g)
    alpha = (k - 1) * h / (2 * b)
    ref = (
        mpmath.mpf(sigma2) ** k * b ** (k - 1) / (2 * mpmath.pi * g)
        * h**2 * mpmath.sqrt(mpmath.pi) / (4 * alpha**1.5)
    )  # fmt: skip
    assert MarchenkoPastur(ratio, sigma2).moment(k) == approx(float(ref), rel=1e-10)


# ---------------------------------------------------------------------------------- TW law
@pytest.mark.parametrize("beta", [1, 2, 4])
@pytest.mark.parametrize("x", [150.0, 1e10, 1e50, 1e300])
def test_tracy_widom_far_right_is_the_limit_not_nan(beta, x):
    import warnings

    tw = TracyWidom(beta)
    with warnings.catch_warnings():  # the limit is the right value: no overflow warning for it
        warnings.simplefilter("error")
        assert (tw.cdf(x), tw.sf(x), tw.pdf(x), tw.logcdf(x)) == (1.0, 0.0, 0.0, 0.0)
        fv = fredholm_tracy_widom(x, beta)
    assert float(fv.cdf) == 1.0 and float(fv.pdf) == 0.0 and float(fv.logsf) == -math.inf


@pytest.mark.parametrize("beta", [1, 2, 4])
def test_tracy_widom_right_tail_is_continuous_up_to_the_cutoff(beta):
    tw = TracyWidom(beta)
    s = np.array([60.0, 100.0, 149.9])
    assert np.all(np.isfinite(tw.sf(s))) and np.all(np.diff(tw.sf(s)) <= 0)
    assert np.all(tw.cdf(s) == 1.0) or beta == 1  # beta 1 still resolves 1 - F ~ 1e-292 at 100


@pytest.mark.parametrize("beta", [1, 2, 4])
def test_tracy_widom_far_left_is_finite_or_the_limit(beta):
    tw = TracyWidom(beta)
    for x in (-1e50, -1e120, -1e300):
        assert tw.cdf(x) == 0.0 and tw.pdf(x) == 0.0 and tw.sf(x) == 1.0
        assert tw.logcdf(x) < -1e100


@pytest.mark.parametrize("beta", [1, 2, 4])
def test_fredholm_refuses_the_left_tail_it_cannot_resolve(beta):
    with pytest.raises(ValueError, match="asymptotic expansion"):
        fredholm_tracy_widom(-12.0, beta)


# ---------------------------------------------------------------------------------- spikes
def test_wigner_outlier_at_huge_sigma():
    assert float(spiked.wigner_outlier_eigenvalue(2.0, sigma=1e300)) == 2e300
    assert float(spiked.wigner_outlier_eigenvalue(1e301, sigma=1e300)) == approx(
        1e301 + 1e299, rel=1e-15
    )
    assert float(spiked.wigner_theta_from_outlier(2.5e300, 1e300)) == approx(2e300, rel=1e-15)
    assert float(spiked.wigner_theta_from_outlier(1e300, 1.0)) == approx(1e300, rel=1e-15)
    # sigma * f(theta / sigma): the block norm is scale-covariant
    ref = 1e300 * float(approximation.wigner_spike_block_norm(3.0, 1.0))
    assert float(approximation.wigner_spike_block_norm(3e300, 1e300)) == approx(ref, rel=1e-14)
    ref = 1e-200 * float(approximation.wigner_spike_block_norm(3.0, 1.0))
    assert float(approximation.wigner_spike_block_norm(3e-200, 1e-200)) == approx(ref, rel=1e-14)


@pytest.mark.parametrize("theta", [1e49, 1e51, 1e160, 1e300])
def test_singular_vector_overlaps_of_huge_spikes_are_one(theta):
    ov = spiked.singular_vector_overlaps(theta, 0.5)
    assert (float(ov.smaller_side), float(ov.larger_side)) == (1.0, 1.0)


def test_exactly_at_the_detection_threshold_there_is_no_outlier():
    # found by hypothesis in tests/test_spiked.py: theta / sigma rounded above c**0.25
    c, s2 = 0.00010000000000000002, 0.625
    th = spiked.detection_threshold(c, s2)
    ov = spiked.singular_vector_overlaps(th, c, s2)
    assert (float(ov.smaller_side), float(ov.larger_side)) == (0.0, 0.0)
    edge = math.sqrt(s2) * (1 + math.sqrt(c))
    assert float(spiked.outlier_singular_value(th, c, s2)) == edge
    assert float(spiked.theta_from_outlier(edge, c, s2)) == 0.0


def test_closed_forms_continue_smoothly_across_the_large_t_branch():
    t = np.geomspace(1e40, 1e60, 41)
    rho = spiked.outlier_singular_value(t, 0.3)
    np.testing.assert_allclose(rho, t, rtol=1e-15)  # rho = t sqrt((1 + 1/t^2)(1 + c/t^2))
    np.testing.assert_allclose(spiked.theta_from_outlier(rho, 0.3), t, rtol=1e-15)


def test_outlier_singular_value_with_tiny_noise_is_theta_not_inf():
    assert float(spiked.outlier_singular_value(2.0, 0.5, 1e-300)) == 2.0
    assert float(spiked.theta_from_outlier(2.0, 0.5, 1e-300)) == 2.0
    # round trip over 600 orders of magnitude of sigma2
    for s2 in (1e-300, 1e-100, 1.0, 1e100, 1e300):
        th = 7.0 * math.sqrt(s2)
        rho = spiked.outlier_singular_value(th, 0.4, s2)
        assert float(spiked.theta_from_outlier(rho, 0.4, s2)) == approx(th, rel=1e-13)


@pytest.mark.parametrize(
    ("theta", "c", "s2"),
    [(1e160, 0.5, 1.0), (2.0, 0.5, 1e-300), (2e150, 0.5, 1e300), (1e300, 1e-300, 1e-300)],
)
def test_d_transform_route_agrees_with_closed_forms_at_extremes(theta, c, s2):
    num = spiked.bgn_predictions([theta], c, s2, method="d_transform")
    ref = spiked.bgn_predictions([theta], c, s2)
    np.testing.assert_allclose(num.singular_value, ref.singular_value, rtol=1e-12)
    np.testing.assert_allclose(num.overlap_smaller, ref.overlap_smaller, rtol=1e-12)
    np.testing.assert_allclose(num.overlap_larger, ref.overlap_larger, rtol=1e-12)
    assert num.threshold == approx(ref.threshold, rel=1e-12)


def test_theta_asymptotic_of_huge_spikes_is_the_limit():
    assert approximation.theta_asymptotic([1e160]) == 1.0  # f(sigma) = 1/(2 sigma) + sqrt(1 + ...)
    # sqrt(g) f(sigma / sqrt(g)) with sigma / sqrt(g) overflowing
    assert approximation.theta_asymptotic([1e300], 0.3, 1e-300) == approx(1e-150, rel=1e-15)


def test_theta_from_weights_with_a_huge_spike_is_finite():
    N = 200
    W = noise((N, N), seed=5) / math.sqrt(N)
    W[0, 0] += 1e100
    th = approximation.theta_from_weights(W, 1 / N, 3.0)
    # the kept spike's block tends to the noise level sqrt(q v) = 1 (corrections O(1e-100))
    assert math.isfinite(th) and th == approx(1.0, rel=0.3)


@pytest.mark.parametrize("power", [-450, 450])
def test_theta_from_weights_is_scale_equivariant_under_powers_of_two(power):
    N = 200
    W = noise((N, N), seed=6) / math.sqrt(N)
    W[0, 0] += 3.0
    W[1, 1] += 2.0
    base = approximation.theta_from_weights(W, 1 / N, 2.1)
    c = math.ldexp(1.0, power)
    scaled = approximation.theta_from_weights(W * c, (1 / N) * c * c, 2.1 * c)
    assert scaled == approx(base * c, rel=1e-12)


# ---------------------------------------------------------------------------------- beta
def test_mp_threshold_at_tiny_beta_uses_the_upper_tail():
    W = noise((300, 200), seed=7)
    t17 = thresholds.mp_threshold(W, beta=1e-17)
    assert math.isfinite(t17)
    assert thresholds.mp_threshold(W, beta=1e-10) < t17
    fit = BEMA(beta=1e-17).fit(W)
    assert fit.tw_quantile_ == approx(float(TracyWidom(1).isf(1e-17)), rel=1e-14)
    assert 14.0 < fit.tw_quantile_ < 14.2  # 1 - F1(s) ~ exp(-(2/3) s^{3/2}) / ...
    # ordinary beta keeps the bits it had (ppf(1 - beta))
    assert BEMA(beta=0.1).fit(W).tw_quantile_ == float(TracyWidom(1).ppf(0.9))


# ---------------------------------------------------------------------------------- input types
COMPLEX = np.array([1.0 + 2.0j, 0.5 + 0.0j])
COMPLEX_CASES = [
    ("X", lambda: BEMA().fit(np.linspace(0.5, 1.5, 100) + 0j, q=200)),
    ("eigenvalues", lambda: mp_goodness_of_fit(np.linspace(0.5, 1.5, 100) + 0j, 1.0, 0.5)),
    ("x", lambda: MarchenkoPastur(0.5).cdf(COMPLEX)),
    ("x", lambda: MarchenkoPastur(0.5).sf(COMPLEX)),
    ("x", lambda: MarchenkoPastur(0.5).pdf(COMPLEX)),
    ("q", lambda: MarchenkoPastur(0.5).ppf(np.array([0.3 + 0.1j]))),
    ("q", lambda: MarchenkoPastur(0.5).isf(np.array([0.3 + 0.1j]))),
    ("x", lambda: TracyWidom(1).cdf(COMPLEX)),
    ("x", lambda: TracyWidom(2).pdf(COMPLEX)),
    ("q", lambda: TracyWidom(4).ppf(np.array([0.3 + 0.1j]))),
    ("sigma", lambda: approximation.theta_asymptotic(np.array([3.0 + 1j]))),
    ("sigma", lambda: approximation.spike_block_norm(np.array([3.0 + 1j]))),
    ("theta", lambda: approximation.wigner_theta_asymptotic(np.array([3.0 + 1j]))),
    ("sigma", lambda: approximation.theta_empirical(np.array([3.0 + 1j]), 50)),
    ("theta", lambda: spiked.outlier_singular_value(np.array([3.0 + 1j]), 0.5)),
    ("ratio", lambda: spiked.outlier_singular_value(3.0, 0.5 + 0.1j)),
    ("sigma2", lambda: MarchenkoPastur(0.5, np.complex128(1 + 1j))),
    ("singular_values", lambda: spectrum.spectral_convention((3, 4)).eigenvalues(COMPLEX)),
    ("delta", lambda: confidence.accuracy_from_confidence(COMPLEX)),
    ("logits", lambda: confidence.classification_confidence(np.ones((2, 3)) + 1j, [0, 1])),
]


@pytest.mark.parametrize(("name", "call"), COMPLEX_CASES)
def test_complex_input_is_refused_naming_the_argument(name, call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: nothing is cast first
        with pytest.raises(TypeError, match=name):
            call()


NONE_CASES = [
    ("x", lambda: MarchenkoPastur(0.5).cdf(None)),
    ("q", lambda: MarchenkoPastur(0.5).ppf(None)),
    ("x", lambda: MarchenkoPastur(0.5).pdf([1.0, None])),
    ("x", lambda: TracyWidom(1).cdf(None)),
    ("q", lambda: TracyWidom(1).isf(None)),
    ("x", lambda: TracyWidom(2).logcdf([0.0, None])),
    ("X", lambda: BEMA().fit(None)),
    ("ratio", lambda: MarchenkoPastur(None)),
    ("theta", lambda: spiked.outlier_singular_value(None, 0.5)),
    ("sigma", lambda: approximation.theta_asymptotic(None)),
    ("logits", lambda: confidence.classification_confidence(None, [0])),
    ("weights", lambda: confidence.network_logits(None, None, [1.0])),
    ("kernel_shape", lambda: lowrank.matrix_to_conv(np.ones((2, 9)), None)),
    ("kernel", lambda: lowrank.conv_to_matrix(None)),
    ("W", lambda: spectrum.esd(None)),
]


@pytest.mark.parametrize(("name", "call"), NONE_CASES)
def test_none_is_refused_naming_the_argument(name, call):
    with pytest.raises(TypeError, match=name):
        call()


TRUNCATION_CASES = [
    ("shape", lambda: spectrum.spectral_convention((2.5, 3))),
    ("sizes", lambda: approximation.theta_convergence([3.0], sizes=(100.5, 200), n_seeds=2)),
    ("size", lambda: MarchenkoPastur(0.5).rvs(size=2.5, seed=0)),
    ("size", lambda: TracyWidom(1).rvs(size=(2, 1.5), seed=0)),
    (
        "n_censored",
        lambda: mp_goodness_of_fit(np.linspace(0.5, 1.5, 100), 1.0, 0.5, n_censored=30.7),
    ),
    ("kernel_shape", lambda: lowrank.matrix_to_conv(np.ones((2, 9)), (2, 1.0, 3, 3))),
]


@pytest.mark.parametrize(("name", "call"), TRUNCATION_CASES)
def test_floats_are_not_truncated_to_integers(name, call):
    with pytest.raises(TypeError, match=name):
        call()


NEGATIVE_CASES = [
    ("threshold", lambda: approximation.approximation_error(noise(), noise(), -1.0)),
    ("threshold", lambda: approximation.truncate_below(noise(), -1.0)),
    ("threshold", lambda: approximation.theta_from_weights(noise(), 1.0, -1.0)),
    ("edge", lambda: approximation.theta_from_weights(noise(), 1.0, 1.0, edge=-2.0)),
    ("threshold", lambda: approximation.theta_empirical([3.0], 50, threshold=-1.0)),
    ("eps", lambda: approximation.theta_empirical([3.0], 50, eps=-0.1)),
]


@pytest.mark.parametrize(("name", "call"), NEGATIVE_CASES)
def test_negative_eps_and_thresholds_are_refused(name, call):
    with pytest.raises(ValueError, match=name):
        call()


NET = [np.eye(3), np.ones((2, 3))]
X = np.ones((4, 3))
OBSCURE_CASES = [
    (TypeError, "weights", lambda: confidence.network_logits(5, None, X)),
    (TypeError, "biases", lambda: confidence.network_logits(NET, 5, X)),
    (ValueError, "activation", lambda: confidence.network_logits(NET, None, X, np.array(["abs"]))),
    (ValueError, "activation", lambda: confidence.layer_input(NET, None, 1, X, ["abs"])),
    (ValueError, "constant", lambda: confidence.lemma51_bound(NET, None, 0, 0.1, X, ["sqrt2"])),
    (
        ValueError,
        "scale",
        lambda: confidence.lemma51_bound(NET, None, 0, 0.1, X, scale=np.array([1])),
    ),
    (ValueError, "form", lambda: confidence.lemma51_bound(NET, None, 0, 0.1, X, form={"eq17"})),
    (TypeError, "eps", lambda: confidence.lemma51_bound(NET, None, 0, np.array([0.1, 0.2]), X)),
    (TypeError, "theta", lambda: confidence.theorem54_shift(NET, 0, X, np.array([1.0, 2.0]))),
    (TypeError, "failure_prob", lambda: confidence.lemma53_shift(NET, 0, X, failure_prob="x")),
    (TypeError, "h", lambda: confidence.good_set([0.1, 0.2], "x")),
    (
        TypeError,
        "bema",
        lambda: confidence.theorem57_bound(NET, None, 0, X, [0, 1, 0, 1], bema="x"),
    ),
    (TypeError, "eps", lambda: confidence.theorem57_bound(NET, None, 0, X, [0, 1, 0, 1], eps=None)),
    (TypeError, "kernel_shape", lambda: lowrank.matrix_to_conv(np.ones((2, 9)), 7)),
    (ValueError, "vectors", lambda: approximation.theta_empirical([3.0], 50, vectors=["random"])),
]


@pytest.mark.parametrize(("exc", "name", "call"), OBSCURE_CASES)
def test_none_or_array_arguments_get_a_clear_error_naming_them(exc, name, call):
    with pytest.raises(exc, match=name):
        call()
