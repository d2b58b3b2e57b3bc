"""θ(N) of the Approximation Lemma: the limit formula against independent routes and simulation.

Routes: (i) the paper-square closed form f(σ) = 1/(2σ) + sqrt(1 + 5/(4σ²)) (algorithms.md §1.8,
derived by hand) against the general F/det formula; (ii) the general formula against a numerical
SVD of the 2x2 block built from the BGN limits; (iii) Monte Carlo: ‖W′ − S‖_op of simulated
matrices against the limit.

Monte Carlo tolerances (measured with 20 seeds per size, docs/theorems.md): the error
θ_N − θ_∞ has standard deviation ≈ 0.7–1.2 N^{-1/2} (0.028 at N = 800, 0.015 at N = 3000) and a
bias below 0.01 for N ≥ 400.  Checks on a mean of k draws use 0.05 + 4 · 1.2 N^{-1/2} / sqrt(k).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import rmtheory.approximation as approx
from rmtheory.approximation import (
    approximation_error,
    spike_block_norm,
    theta_asymptotic,
    theta_convergence,
    theta_empirical,
    theta_from_weights,
    truncate_below,
    wigner_spike_block_norm,
    wigner_theta_asymptotic,
    wigner_theta_empirical,
)
from rmtheory.spiked import (
    outlier_singular_value,
    singular_vector_overlaps,
    wigner_eigenvector_overlap,
    wigner_outlier_eigenvalue,
)


def f_square(sigma, g=1.0):
    t = sigma / math.sqrt(g)
    return math.sqrt(g) * (1 / (2 * t) + math.sqrt(1 + 5 / (4 * t * t)))


def mc_tol(N, k):
    return 0.05 + 4 * 1.2 / math.sqrt(N) / math.sqrt(k)


# ---------------------------------------------------------------------------------- the limit
@settings(max_examples=80, deadline=None)
@given(sigma=st.floats(1.0001, 1e3), g=st.floats(0.05, 20.0))
def test_square_closed_form(sigma, g):
    sig = sigma * math.sqrt(g)  # above the threshold sqrt(g)
    assert float(spike_block_norm(sig, 1.0, g)) == pytest.approx(f_square(sig, g), rel=1e-10)


@settings(max_examples=80, deadline=None)
@given(c=st.floats(0.01, 1.0), t=st.floats(1.05, 30.0), g=st.floats(0.1, 10.0))
def test_general_formula_matches_numerical_block_svd(c, t, g):
    sigma = t * math.sqrt(g) * c**0.25  # t times the detection threshold
    s = float(outlier_singular_value(sigma, c, g))
    ov = singular_vector_overlaps(sigma, c, g)
    a, b = math.sqrt(float(ov.smaller_side)), math.sqrt(float(ov.larger_side))
    M = np.array(
        [
            [s * a * b - sigma, s * a * math.sqrt(1 - b * b)],
            [s * b * math.sqrt(1 - a * a), s * math.sqrt(1 - a * a) * math.sqrt(1 - b * b)],
        ]
    )
    expect = scipy.linalg.svdvals(M)[0]
    assert float(spike_block_norm(sigma, c, g)) == pytest.approx(expect, rel=1e-9, abs=1e-12)


def test_limit_shape():
    sig = np.linspace(1.001, 50, 400)
    f = spike_block_norm(sig)
    assert np.all(np.diff(f) < 0)  # decreasing: theta_inf = f(sigma_r)
    assert f[0] == pytest.approx(2.0, abs=2e-3)  # = the edge at the BBP threshold
    assert float(spike_block_norm(1e6)) == pytest.approx(1.0, abs=1e-6)
    assert theta_asymptotic([5.0, 3.0, 2.0]) == pytest.approx(f_square(2.0))
    # a spike whose outlier does not clear edge + eps is cut: it contributes sigma itself
    assert float(spike_block_norm(0.7)) == 0.7
    rho = float(outlier_singular_value(1.2, 1.0))  # 2.0333
    assert float(spike_block_norm(1.2, eps=rho - 2.0 + 0.01)) == 1.2
    assert float(spike_block_norm(1.2, eps=rho - 2.0 - 0.01)) == pytest.approx(f_square(1.2))


def test_wigner_limit():
    for th, sg in [(2.0, 1.0), (3.0, 0.5), (1.5, 1.2)]:
        expect = sg**2 / (2 * th) + math.sqrt(sg**2 + 5 * sg**4 / (4 * th**2))
        assert float(wigner_spike_block_norm(th, sg)) == pytest.approx(expect, rel=1e-12)
    # against the eigenvalues of the 2x2 block built from the BGN 2011 limits
    for th, sg in [(2.0, 1.0), (5.0, 2.0), (1.1, 1.0)]:
        lam = float(wigner_outlier_eigenvalue(th, sg))
        a = math.sqrt(float(wigner_eigenvector_overlap(th, sg)))
        r = math.sqrt(1 - a * a)
        M = np.array([[lam * a * a - th, lam * a * r], [lam * a * r, lam * r * r]])
        expect = np.abs(np.linalg.eigvalsh(M)).max()
        assert float(wigner_spike_block_norm(th, sg)) == pytest.approx(expect, rel=1e-10)
    # same function as the square rectangular case at sigma = 1 (same block)
    assert float(wigner_spike_block_norm(2.7)) == pytest.approx(f_square(2.7), rel=1e-12)
    assert float(wigner_spike_block_norm(0.8)) == 0.8
    assert wigner_theta_asymptotic([4.0, 2.0]) == pytest.approx(f_square(2.0))


def test_limit_input_checks():
    with pytest.raises(ValueError, match="> 0"):
        spike_block_norm([2.0, -1.0])
    with pytest.raises(ValueError, match="empty"):
        theta_asymptotic([])
    with pytest.raises(ValueError, match="eps"):
        spike_block_norm(2.0, eps=-0.1)
    with pytest.raises(ValueError, match="ratio"):
        spike_block_norm(2.0, ratio=2.0)


# ---------------------------------------------------------------------------------- truncation
@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 8), m=st.integers(1, 8), q=st.floats(0, 1))
def test_truncate_below(seed, n, m, q):
    g = np.random.default_rng(seed)
    W = g.standard_normal((n, m))
    s = scipy.linalg.svdvals(W)
    tau = float(np.quantile(s, q)) * 1.0000001
    t = truncate_below(W, tau)
    assert t.rank == np.count_nonzero(s >= tau)
    np.testing.assert_allclose(scipy.linalg.svdvals(t.matrix)[: t.rank], s[: t.rank], rtol=1e-10)
    assert np.linalg.matrix_rank(t.matrix, tol=1e-9 * s[0]) == t.rank
    gap = scipy.linalg.svdvals(W - t.matrix)[0]
    assert gap == pytest.approx(t.largest_dropped, rel=1e-9, abs=1e-12)
    if t.rank == s.size:
        assert np.array_equal(t.matrix, W) and t.largest_dropped == 0.0


# ---------------------------------------------------------------------------------- simulation
def test_theta_empirical_is_seeded():
    a = theta_empirical([3.0, 2.0], 150, seed=5)
    assert a == theta_empirical([3.0, 2.0], 150, seed=np.random.default_rng(5))
    assert a != theta_empirical([3.0, 2.0], 150, seed=6)


def test_factored_norm_and_arpack_agree_with_dense_routes(monkeypatch):
    """The N >= 400 path (ARPACK + QR of the factors) against full LAPACK + a dense norm."""
    fast = theta_empirical([4.0, 3.0, 2.0], 450, seed=3)

    def dense_norm(A, B, d):
        return float(scipy.linalg.svdvals((A * d) @ B.T)[0])

    monkeypatch.setattr(approx, "_FULL_SVD_BELOW", 10**9)
    monkeypatch.setattr(approx, "_lowrank_difference_norm", dense_norm)
    assert theta_empirical([4.0, 3.0, 2.0], 450, seed=3) == pytest.approx(fast, rel=1e-9)


def test_approximation_error_dense():
    g = np.random.default_rng(0)
    N = 300
    U, _ = np.linalg.qr(g.standard_normal((N, 2)))
    V, _ = np.linalg.qr(g.standard_normal((N, 2)))
    S = (U * [4.0, 2.5]) @ V.T
    W = S + g.standard_normal((N, N)) / math.sqrt(N)
    err = approximation_error(W, S, 2.1)
    Wp = truncate_below(W, 2.1).matrix
    worst = max(
        np.linalg.norm((Wp - S) @ x) / np.linalg.norm(x) for x in g.standard_normal((200, N))
    )
    assert worst <= err * (1 + 1e-12)  # eq 61: ||(W' - S) x|| <= theta ||x||
    assert abs(err - theta_asymptotic([4.0, 2.5])) < mc_tol(N, 1)
    with pytest.raises(ValueError, match="same shape"):
        approximation_error(W, S[:, :5], 2.1)


@pytest.mark.parametrize("vectors", ["random", "diagonal"])
def test_theta_empirical_near_the_limit(vectors):
    sig = [4.0, 3.0, 2.0]
    vals = [theta_empirical(sig, 800, vectors=vectors, seed=k) for k in range(4)]
    assert abs(np.mean(vals) - theta_asymptotic(sig)) < mc_tol(800, 4)


def test_theta_empirical_rectangular_and_bema():
    sig = [3.0, 2.0]
    c = 0.5
    lim = theta_asymptotic(sig, c)
    vals = [theta_empirical(sig, 400, 800, seed=k) for k in range(3)]
    vals += [theta_empirical(sig, 800, 400, seed=10 + k) for k in range(3)]
    assert abs(np.mean(vals) - lim) < mc_tol(400, 6)
    b = [theta_empirical(sig, 600, threshold="bema", seed=k) for k in range(3)]
    assert abs(np.mean(b) - theta_asymptotic(sig)) < mc_tol(600, 3)


def test_wigner_empirical_near_the_limit():
    vals = [wigner_theta_empirical([3.0, 2.0], 800, seed=k) for k in range(4)]
    assert abs(np.mean(vals) - wigner_theta_asymptotic([3.0, 2.0])) < mc_tol(800, 4)
    vals = [wigner_theta_empirical([1.5], 600, sigma=0.7, seed=k) for k in range(3)]
    assert abs(np.mean(vals) - wigner_theta_asymptotic([1.5], 0.7)) < mc_tol(600, 3)


def test_eps_zero_keeps_bulk_values():
    """With eps = 0 the cut sits on the edge and the top bulk value (above 2 about 40-80 % of the
    time, Tracy-Widom) is kept: ||W' - S|| then jumps to about the edge 2 > f(sigma_r)."""
    vals = [theta_empirical([4.0], 300, eps=0.0, seed=k) for k in range(12)]
    assert max(vals) > 1.9 > f_square(4.0) + 0.5


def test_theta_from_weights():
    g = np.random.default_rng(1)
    N = 800
    W = g.standard_normal((N, N)) / math.sqrt(N)
    W[0, 0] += 3.0
    W[1, 1] += 1.6
    assert abs(theta_from_weights(W, 1 / N, 2.1) - theta_asymptotic([3.0, 1.6])) < mc_tol(N, 1)
    # the 1.6 spike (outlier 2.225) is cut at 2.3: it contributes its estimated strength ~1.6
    assert theta_from_weights(W, 1 / N, 2.3) == pytest.approx(1.6, abs=0.15)
    assert theta_from_weights(g.standard_normal((N, N)) / math.sqrt(N), 1 / N, 2.1) == 0.0


def test_simulation_input_checks():
    with pytest.raises(ValueError, match="rank"):
        theta_empirical([3.0, 2.0], 2)
    with pytest.raises(ValueError, match="vectors"):
        theta_empirical([3.0], 50, vectors="sparse")
    with pytest.raises(ValueError, match="threshold"):
        theta_empirical([3.0], 50, threshold="median")
    with pytest.raises(TypeError, match="seed"):
        theta_empirical([3.0], 50, seed="x")
    with pytest.raises(ValueError, match="two"):
        theta_convergence([3.0], sizes=(100,))


def test_convergence_fit_recovers_a_planted_rate(monkeypatch):
    """The fit itself, on data with a known rate: C N^-0.5 exactly."""
    monkeypatch.setattr(
        approx, "theta_empirical", lambda sigma, N, **kw: f_square(2.0) + 3.0 / math.sqrt(N)
    )
    res = theta_convergence([2.0], sizes=(100, 400, 1600), n_seeds=2)
    assert res.rate == pytest.approx(0.5, abs=1e-9)
    assert res.constant == pytest.approx(3.0, rel=1e-9)


@pytest.mark.slow
def test_theta_converges_from_200_to_3000():
    """Fig 13: 12 seeds per N in {200, 400, 800, 1600, 3000}.  Measured (20 seeds) rates
    0.47-0.59 for sigma = (4, 3, 2) and (5, 3, 1.5); the fitted exponent of a 12-seed run has a
    spread of about 0.1, so accept 0.25 < a < 0.9 and require the N = 3000 error to be small."""
    res = theta_convergence([4.0, 3.0, 2.0], n_seeds=12, seed=7)
    assert 0.25 < res.rate < 0.9
    assert res.rms_error[-1] < 0.03
    assert res.rms_error[-1] < res.rms_error[0]
    assert abs(res.theta[-1].mean() - res.theta_inf) < 0.02
