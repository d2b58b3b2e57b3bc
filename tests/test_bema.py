"""BEMA and the MP goodness of fit: the paper's Fig 17 numbers, Monte Carlo coverage of the
Tracy-Widom margin, variance recovery, spike counting, and bad input."""

import math

import numpy as np
import pytest
import scipy.linalg

from rmtheory.bema import BEMA, mp_goodness_of_fit
from rmtheory.experiments.example91 import example_9_1_matrix
from rmtheory.spectrum import esd

# TW1 quantiles from algorithms.md §1.3 (Fredholm determinant, computed outside this library)
TW1_95, TW1_05 = 0.9793, -3.1804


@pytest.fixture(scope="module")
def ex91():
    """Eigenvalues of Example 9.1 at N = 1000 (square: q = fan_in = 1000)."""
    return esd(example_9_1_matrix(1000, seed=1))


def test_paper_code_variant_reproduces_fig17(ex91):
    """Fig 17(b): lambda_+ = 4.127, 4.005, 3.901 for beta = 0.05, 0.5, 0.95 at alpha = 0.25."""
    lp = [
        BEMA(0.25, b, variant="paper_code").fit(ex91, q=1000).lambda_plus_
        for b in (0.05, 0.5, 0.95)
    ]
    np.testing.assert_allclose(lp, [4.127, 4.005, 3.901], atol=0.05)
    assert lp[0] - lp[2] == pytest.approx(0.226, abs=0.012)


def test_default_variant_spread_is_the_tracy_widom_spread(ex91):
    """Correct Johnstone scaling at gamma = 1: spread = sigma2 (t_.95 - t_.05) N^(-2/3) 2^(4/3)."""
    fits = [BEMA(0.25, b).fit(ex91, q=1000) for b in (0.05, 0.95)]
    spread = fits[0].lambda_plus_ - fits[1].lambda_plus_
    expected = fits[0].sigma2_ * (TW1_95 - TW1_05) * 1000 ** (-2 / 3) * 2 ** (4 / 3)
    assert spread == pytest.approx(expected, rel=1e-3)
    # and it is about half the buggy spread: (1+1)^(4/3) vs (1+1)^4/3
    assert spread == pytest.approx(0.226 * 2 ** (4 / 3) / (2**4 / 3), rel=0.05)


def test_paper_code_tw_term_has_the_precedence_bug():
    W = np.random.default_rng(3).normal(size=(300, 900))
    b = BEMA(variant="paper_code").fit(W)
    g = 300 / 900
    term = b.lambda_plus_ - b.sigma2_ * (1 + math.sqrt(g)) ** 2
    assert term == pytest.approx(
        b.sigma2_ * b.tw_quantile_ * 900 ** (-2 / 3) * g ** (-1 / 6) * (1 + math.sqrt(g)) ** 4 / 3
    )
    good = BEMA().fit(W)
    term = good.lambda_plus_ - good.lambda_plus_mp_
    assert term == pytest.approx(
        good.sigma2_
        * good.tw_quantile_
        * 900 ** (-2 / 3)
        * g ** (-1 / 6)
        * (1 + math.sqrt(g)) ** (4 / 3)
    )


def test_paper_code_uses_fan_in_eigenvalues_but_the_same_threshold_scale():
    W = np.random.default_rng(4).normal(0, 0.5, size=(900, 300))  # out > in
    a, b = BEMA(variant="paper_code").fit(W), BEMA().fit(W)
    assert a.sigma2_ == pytest.approx(b.sigma2_ * 900 / 300, rel=0.01)  # levels i/p vs (i+1/2)/p
    assert a.singular_value_threshold_ == pytest.approx(b.singular_value_threshold_, rel=0.02)
    assert b.sigma2_ == pytest.approx(0.25, rel=0.02)


@pytest.mark.parametrize(
    ("shape", "v"), [((500, 500), 1.0), ((500, 1500), 0.01), ((2000, 600), 3.0)]
)
def test_noise_variance_recovered_to_one_percent(shape, v):
    W = np.random.default_rng(5).normal(0, math.sqrt(v), size=shape)
    b = BEMA().fit(W)
    assert b.sigma2_ == pytest.approx(v, rel=0.01)
    assert b.n_spikes_ <= 2


@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_largest_eigenvalue_exceeds_lambda_plus_with_probability_beta(beta):
    """300 pure-noise draws: binomial sd = sqrt(beta(1-beta)/300) <= 0.029; allow 3.5 sd plus a
    0.02 finite-size allowance for the Tracy-Widom approximation at p = 150, q = 300."""
    rng = np.random.default_rng(6)
    hits = [
        (lambda b: b.eigenvalues_[-1] > b.lambda_plus_)(
            BEMA(0.25, beta).fit(rng.normal(size=(150, 300)))
        )
        for _ in range(300)
    ]
    sd = math.sqrt(beta * (1 - beta) / 300)
    assert abs(np.mean(hits) - beta) < 3.5 * sd + 0.02


@pytest.mark.parametrize("shape", [(800, 1200), (1200, 800)])
def test_counts_the_spikes_of_a_low_rank_signal(shape):
    rng = np.random.default_rng(7)
    n, m = shape
    q = max(shape)
    R = rng.normal(size=shape) / math.sqrt(q)  # noise variance 1/q: unit singular edge scale
    r = 4
    U = np.linalg.qr(rng.normal(size=(n, r)))[0]
    V = np.linalg.qr(rng.normal(size=(m, r)))[0]
    thetas = np.array([1.5, 2.0, 3.0, 5.0])  # well above the BBP threshold (p/q)^(1/4) < 1
    b = BEMA().fit(R + (U * thetas) @ V.T)
    assert b.n_spikes_ == r


def test_goodness_of_fit_shrinks_for_noise_and_stays_large_for_heavy_tails():
    rng = np.random.default_rng(8)
    gauss, t25, t15 = [], [], []
    for p in (100, 400, 1000):
        gauss.append(BEMA().fit(rng.normal(size=(p, 2 * p))).gof_)
        t25.append(BEMA().fit(rng.standard_t(2.5, size=(p, 2 * p))).gof_)
        t15.append(BEMA().fit(rng.standard_t(1.5, size=(p, 2 * p))).gof_)
    gauss = np.array(gauss)
    # Gaussian: at least as fast as n^(-1/2) (eigenvalue rigidity makes it faster)
    assert np.all(gauss * np.sqrt([100, 400, 1000]) < 0.5)
    assert gauss[0] > gauss[1] > gauss[2]
    # t(2.5) has finite variance, so MP holds in the limit, but it converges far more slowly
    assert np.all(np.array(t25) > 1.5 * gauss)
    # t(1.5) has infinite variance: not MP at all, the distance does not shrink
    assert min(t15) > 0.05


def test_paper_code_gof_fails_spuriously_above_the_edge():
    """With a wide window the top eigenvalues sit above the fitted edge; the authors' cdf returns 0
    there, giving mu_fit ~ 1 - alpha although the fit is good."""
    ev = esd(np.random.default_rng(9).normal(size=(400, 800)))
    sigma2 = 0.95  # slightly low: the largest window eigenvalues sit above lambda_+
    good = mp_goodness_of_fit(ev, sigma2, 0.5, alpha=0.001)
    bad = mp_goodness_of_fit(ev, sigma2, 0.5, alpha=0.001, variant="paper_code")
    assert good < 0.1
    assert bad > 0.9


def test_goodness_of_fit_against_a_direct_ks_computation():
    ev = np.sort(esd(np.random.default_rng(10).normal(size=(300, 600))))
    from rmtheory.marchenko_pastur import MarchenkoPastur

    F = MarchenkoPastur(0.5, 1.0).cdf(ev)
    i = np.arange(300)
    window = (i >= 75) & (i < 225)
    direct = max(np.max(np.abs(F - i / 300)[window]), np.max(np.abs(F - (i + 1) / 300)[window]))
    assert mp_goodness_of_fit(ev, 1.0, 0.5, 0.25) == pytest.approx(direct, abs=1e-15)


def test_fit_on_eigenvalues_equals_fit_on_matrix():
    W = np.random.default_rng(11).normal(size=(400, 700))
    a = BEMA().fit(W)
    b = BEMA().fit(esd(W), q=700)
    assert a.lambda_plus_ == pytest.approx(b.lambda_plus_, rel=1e-12)
    assert a.singular_value_threshold_ == pytest.approx(b.singular_value_threshold_, rel=1e-12)


@pytest.mark.parametrize("shape", [(1000, 1000), (300, 2000)])
def test_gram_eigenvalues_match_gesdd(shape):
    W = np.random.default_rng(12).normal(size=shape)
    s = scipy.linalg.svd(W, compute_uv=False, lapack_driver="gesdd")
    ev = esd(W)
    ref = np.sort(s**2 / max(shape))
    assert np.max(np.abs(ev - ref)) < 1e-12 * ref[-1] * 100


def test_bad_input_raises_clear_errors():
    W = np.random.default_rng(13).normal(size=(200, 300))
    with pytest.raises(ValueError, match="NaN"):
        BEMA().fit(np.where(np.eye(200, 300) > 0, np.nan, W))
    with pytest.raises(ValueError, match="empty"):
        BEMA().fit(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="too small"):
        BEMA().fit(np.random.default_rng(0).normal(size=(10, 1000)))
    with pytest.raises(ValueError, match="q"):
        BEMA().fit(esd(W))
    with pytest.raises(ValueError, match="alpha"):
        BEMA(alpha=0.6).fit(W)
    with pytest.raises(ValueError, match="beta"):
        BEMA(beta=1.0).fit(W)
    with pytest.raises(ValueError, match="variant"):
        BEMA(variant="fast").fit(W)
    with pytest.raises(ValueError, match="2-D"):
        BEMA().fit(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="rank-deficient"):
        BEMA().fit(np.zeros((200, 300)))


def test_float32_fast_path_matches_float64_and_falls_back_under_big_spikes():
    from rmtheory.spectrum import singular_values

    rng = np.random.default_rng(14)
    W = rng.normal(size=(600, 900)).astype(np.float32)
    a = BEMA().fit(W)  # float32 Gram (spread ~6 < 50)
    b = BEMA().fit(W.astype(np.float64))
    assert a.sigma2_ == pytest.approx(b.sigma2_, rel=1e-4)
    assert a.n_spikes_ == b.n_spikes_
    # a huge spike (Example 9.1-like) would swamp a float32 Gram: the float64 route must be used
    spiked = W.copy()
    spiked += (
        np.float32(1e4)
        * np.outer(rng.normal(size=600), rng.normal(size=900)).astype(np.float32)
        / 700
    )
    s_auto = singular_values(spiked)
    s_svd = singular_values(spiked, "svd")
    bulk = slice(100, 500)
    np.testing.assert_allclose(s_auto[bulk], s_svd[bulk], rtol=1e-4)


def test_params_not_fitted_and_messages():
    from rmtheory.bema import NotFittedError

    b = BEMA()
    assert b.get_params() == {"alpha": 0.25, "beta": 0.1, "variant": "default"}
    assert b.set_params(alpha=0.2, variant="paper_code") is b and b.alpha == 0.2
    with pytest.raises(ValueError, match="invalid parameter 'gamma'"):
        b.set_params(gamma=1)
    with pytest.raises(ValueError, match="alpha"):
        b.set_params(alpha=0.7)
    assert b.alpha == 0.2  # nothing changed by a refused call
    with pytest.raises(ValueError, match="alpha"):
        BEMA(alpha=0.5)  # the declared domain is checked at construction too
    for attr in ("sigma2_", "lambda_plus_", "n_spikes_", "ratio_"):
        with pytest.raises(NotFittedError, match="fit"):
            getattr(BEMA(), attr)
    assert not hasattr(BEMA(), "sigma2_")
    with pytest.raises(NotFittedError, match=r"fit\(X\) before law"):
        BEMA().law()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        BEMA().nope  # noqa: B018
    with pytest.raises(ValueError, match="1-D.*read as the eigenvalues.*q"):
        BEMA().fit(np.linspace(0.5, 1.5, 60))
    with pytest.raises(ValueError, match="all zeros") as err:
        BEMA().fit(np.zeros((200, 300)))
    assert "n_censored" not in str(err.value)
    fitted = BEMA().fit(np.random.default_rng(2).normal(size=(200, 300)))
    assert fitted.law().sigma2 == fitted.sigma2_
