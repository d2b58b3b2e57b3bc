"""BGN spiked-model predictions against independent routes.

Routes: (i) the general D-transform theorem evaluated by quadrature (``method="d_transform"``)
against the closed forms; (ii) the D-transform itself against the analytic MP Stieltjes transform
and against the moment series built from ``MarchenkoPastur.moment``; (iii) the Wigner closed forms
against the semicircle Stieltjes route computed with ``scipy.integrate.quad``; (iv) Monte Carlo.

Monte Carlo tolerances (derived, then calibrated; docs/spiked.md has the tables)
------------------------------------------------------------------------------
Notation: noise ``p x q``, ``p <= q``, entries of variance ``sigma2 / q``; ``sigma = sqrt(sigma2)``.

* Supercritical outlier singular value: Gaussian fluctuations of order ``q**-1/2`` (outlier CLT,
  Paul 2007; Benaych-Georges, Guionnet & Maida 2011).  For theta >> threshold, s ~ theta + u'Xv and
  u'Xv ~ N(0, sigma2 / q) exactly, so sd(s) -> sigma / sqrt(q); calibration (400 draws at 250 x
  250c^-1, 60 at 1000 x 2000) found sd(s) * sqrt(q) / sigma rising from 0.72 at theta = 1.5 thr
  to 0.99 at 5 thr, never above 1, for c in {0.25, 0.5, 1}.  Bound: sd(s) <= sigma / sqrt(q).
* Supercritical squared overlaps: sd * sqrt(p) measured <= 0.39 at theta = 2 thr (0.26 at c=0.25,
  0.31 at c=0.5, 0.385 at c=1), smaller further out.  Bound for theta >= 2 thr: 0.45 / sqrt(p).
* Bias of both is O(1/n) (measured |mean - limit| * sqrt(p) <= 0.05), negligible next to the above.
* Every supercritical check is |simulated - predicted| <= 5 sd-bound: a false failure has
  probability < 6e-7 per check for a Gaussian.
* Cross overlaps |<u~_i, u_j>|^2 (i != j): ~ kappa chi2_1 / p with kappa * mean measured 0.2-0.3;
  bound 20 / p (chi2_1 > 66 for kappa = 0.3).
* At/below the threshold the top singular value sits at the edge b = sigma (1 + sqrt c) with
  Tracy-Widom fluctuations on the scale tau = sigma s_J / (2 sqrt(mu q)) (Johnstone 2001, mu and
  s_J of the unnormalised Wishart).  Measured (s1 - b) / tau: mean -1.3, sd 1.3 (TW1) below the
  threshold; mean +0.2, sd 1.4 at theta = thr.  Window [-8, 10] tau: TW1 puts < 1e-7 outside.
* Subcritical squared overlaps: p |<u~, u>|^2 ~ kappa chi2_1 with kappa ~ 1.5-1.8 at theta = thr/2
  (measured); bound 50 / p (chi2_1 > 27, probability 2e-7).
* Wigner (off-diagonal variance sigma^2 / n): for theta >> sigma, lambda ~ theta + u'Xu with
  u'Xu ~ N(0, 2 sigma^2 / n); calibration (300 draws at n = 500) matched
  sd(lambda) = sigma sqrt(2 (1 - sigma^2/theta^2) / n) within 5%; bound 1.1 x that.  Overlap sd *
  sqrt(n) <= 0.49 measured at theta = 2 sigma; bound 0.55 / sqrt(n).  Below: edge 2 sigma with
  TW1 scale sigma n^(-2/3), window [-8, 10]; n |<u~, u>|^2 ~ 4 chi2_1 at theta = sigma/2 (the
  resolvent factor (1 - theta/sigma)^-2 = 4), bound 100 / n.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq

from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spiked import (
    bgn_predictions,
    d_transform,
    d_transform_derivative,
    detection_threshold,
    outlier_singular_value,
    singular_vector_overlaps,
    square_outlier,
    theta_from_outlier,
    weight_spike_predictions,
    wigner_eigenvector_overlap,
    wigner_outlier_eigenvalue,
    wigner_theta_from_outlier,
)

N_SD = 5.0
OVERLAP_SD = 0.45  # x p^-1/2, theta >= 2 thr
CROSS_BOUND = 20.0  # x 1/p
SUB_OVERLAP_BOUND = 50.0  # x 1/p
TW_WINDOW = (-8.0, 10.0)  # x tau
WIGNER_OVERLAP_SD = 0.55  # x n^-1/2, theta >= 2 sigma
WIGNER_SUB_OVERLAP_BOUND = 100.0  # x 1/n


# ------------------------------------------------------------------------------------ helpers
def top_triplets(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k singular triplets (s, U, V) of X via eigh of the smaller Gram matrix.

    Far faster than a full SVD for k << min(X.shape) and exact enough for isolated outliers;
    ``test_top_triplets_match_full_svd`` checks it against scipy's gesdd.
    """
    p, q = X.shape
    if p > q:
        s, V, U = top_triplets(X.T, k)
        return s, U, V
    w, U = scipy.linalg.eigh(X @ X.T, subset_by_index=[p - k, p - 1])
    w, U = w[::-1], U[:, ::-1]
    s = np.sqrt(w)
    return s, U, (X.T @ U) / s


def planted(g: np.random.Generator, n: int, r: int) -> np.ndarray:
    """r orthonormal Haar-random vectors in R^n (columns)."""
    Q, _ = np.linalg.qr(g.standard_normal((n, r)))
    return Q


def spiked_matrix(g, shape, strengths, noise_var):
    """W = noise (iid N(0, noise_var)) + sum_i strengths_i a_i b_i^T; returns W, A, B."""
    n, m = shape
    A, B = planted(g, n, len(strengths)), planted(g, m, len(strengths))
    W = g.standard_normal(shape) * math.sqrt(noise_var) + (A * np.asarray(strengths)) @ B.T
    return W, A, B


def tw_singular_scale(p: int, q: int, sigma2: float) -> float:
    """Tracy-Widom scale of the top singular value of a p x q matrix, entries var sigma2 / q.

    Johnstone (2001): top eigenvalue of the unnormalised Wishart ~ mu + s_J TW1 with
    mu = (sqrt(q-1) + sqrt p)^2, s_J = sqrt(mu) (1/sqrt(q-1) + 1/sqrt p)^(1/3); s = sqrt(l sigma2/q).
    """
    a = math.sqrt(q - 1) + math.sqrt(p)
    s_j = a * (1 / math.sqrt(q - 1) + 1 / math.sqrt(p)) ** (1 / 3)
    return math.sqrt(sigma2) * s_j / (2 * a * math.sqrt(q))


def mp_stieltjes(w, c, sigma2):
    """Analytic G(w) = int dmu(x) / (w - x) for MP(c, sigma2), c <= 1, w > lambda_+ (or complex)."""
    w = np.asarray(w) / sigma2
    root = np.sqrt((w - 1 - c) ** 2 - 4 * c + 0j)
    # (w + c - 1 - root) / (2 c w), rationalised so that nothing cancels for large w
    return 2 / (w + c - 1 + root) / sigma2


def analytic_d(z, c, sigma2):
    """D(z) from the analytic Stieltjes transform; also valid for complex z near the real axis."""
    phi = z * mp_stieltjes(z * z, c, sigma2)
    return phi * (c * phi + (1 - c) / z)


# ------------------------------------------------------------------------------------ D route
CS = [1e-3, 0.05, 0.3, 0.5, 0.9, 0.999, 1.0]


@pytest.mark.parametrize("c", CS)
@pytest.mark.parametrize("sigma2", [1.0, 0.3, 7.0])
def test_closed_forms_match_d_transform_route(c, sigma2):
    thr = math.sqrt(sigma2) * c**0.25
    theta = thr * np.array([0.0, 0.5, 0.99, 1.01, 1.2, 2.0, 5.0, 50.0])
    closed = bgn_predictions(theta, c, sigma2)
    numeric = bgn_predictions(theta, c, sigma2, method="d_transform")
    assert numeric.threshold == pytest.approx(closed.threshold, rel=1e-12)
    np.testing.assert_allclose(numeric.singular_value, closed.singular_value, rtol=1e-10)
    np.testing.assert_allclose(numeric.overlap_smaller, closed.overlap_smaller, rtol=0, atol=1e-8)
    np.testing.assert_allclose(numeric.overlap_larger, closed.overlap_larger, rtol=0, atol=1e-8)
    # and the closed forms through the public functions
    np.testing.assert_array_equal(outlier_singular_value(theta, c, sigma2), closed.singular_value)
    ov = singular_vector_overlaps(theta, c, sigma2)
    np.testing.assert_array_equal(ov.smaller_side, closed.overlap_smaller)
    assert detection_threshold(c, sigma2) == pytest.approx(thr, rel=1e-15)


@pytest.mark.parametrize("c", CS)
@pytest.mark.parametrize("sigma2", [1.0, 2.5])
def test_d_transform_matches_analytic_stieltjes(c, sigma2):
    b = math.sqrt(sigma2) * (1 + math.sqrt(c))
    z = b * np.array([1 + 1e-6, 1 + 1e-3, 1.01, 1.1, 1.5, 3.0, 20.0])
    ref = analytic_d(z, c, sigma2).real
    np.testing.assert_allclose(d_transform(z, c, sigma2), ref, rtol=1e-11)
    # derivative by complex step on the analytic D: no subtraction, exact to rounding
    h = 1e-20
    dref = analytic_d(z + 1j * h, c, sigma2).imag / h
    np.testing.assert_allclose(d_transform_derivative(z, c, sigma2), dref, rtol=1e-9)
    # BGN eq (45): D(b+) = 1 / threshold^2 = 1 / (sigma2 sqrt(c))
    assert float(d_transform(b, c, sigma2)) == pytest.approx(1 / (sigma2 * math.sqrt(c)), rel=1e-13)


@pytest.mark.parametrize("c", [0.01, 0.4, 1.0])
def test_d_transform_matches_moment_series_far_out(c):
    # phi(z) = sum_k m_k z^(-2k-1), m_k the MP moments; at z = 10 b the terms fall like 1e-2^k.
    sigma2 = 1.7
    mp = MarchenkoPastur(c, sigma2)
    z = 10 * math.sqrt(sigma2) * (1 + math.sqrt(c))
    phi = sum(mp.moment(k) / z ** (2 * k + 1) for k in range(12))
    ref = phi * (c * phi + (1 - c) / z)
    assert float(d_transform(z, c, sigma2)) == pytest.approx(ref, rel=1e-13)


def test_d_transform_is_decreasing_and_vectorised():
    z = np.linspace(1.0 + math.sqrt(0.3) + 1e-3, 6.0, 20).reshape(4, 5)
    d = d_transform(z, 0.3)
    assert d.shape == (4, 5)
    assert np.all(np.diff(d.ravel()) < 0)
    assert np.all(d_transform_derivative(z, 0.3) < 0)


# ------------------------------------------------------------------------------------ closed forms
def test_square_case_is_the_papers_normalisation():
    # Paper Ex 6.3 / 5.5: N x N, R ~ N(0, 1/N): s -> sigma + 1/sigma above 1, overlaps 1 - 1/sigma^2.
    sig = np.array([0.3, 0.999, 1.2, 2.0, 7.5])
    above = sig > 1
    np.testing.assert_allclose(
        outlier_singular_value(sig, 1.0), np.where(above, sig + 1 / sig, 2.0), rtol=1e-15
    )
    ov = singular_vector_overlaps(sig, 1.0)
    expect = np.where(above, 1 - 1 / sig**2, 0.0)
    np.testing.assert_allclose(ov.smaller_side, expect, atol=1e-15)
    np.testing.assert_allclose(ov.larger_side, expect, atol=1e-15)
    # variance g / N (LATER-TEX Cor. BGN_square_g)
    g = 2.3
    sig = np.array([0.5, 1.4, 1.6, 4.0])
    np.testing.assert_allclose(
        square_outlier(sig, g), np.where(sig > math.sqrt(g), sig + g / sig, 2 * math.sqrt(g))
    )
    # inverse, algorithms.md 1.7: sigma = (s + sqrt(s^2 - 4)) / 2
    s = np.array([2.01, 2.5, 3.0, 10.0])
    np.testing.assert_allclose(theta_from_outlier(s, 1.0), (s + np.sqrt(s * s - 4)) / 2)
    # weight units: R ~ N(0, 1/N) has threshold 1 and edge 2 for any N
    pred = weight_spike_predictions([3.0, 0.5], (400, 400), entry_variance=1 / 400)
    np.testing.assert_allclose(pred.singular_value, [3 + 1 / 3, 2.0], rtol=1e-13)
    assert pred.threshold == pytest.approx(1.0) and pred.edge == pytest.approx(2.0)
    np.testing.assert_allclose(pred.overlap_left, [1 - 1 / 9, 0.0], atol=1e-15)


def test_large_theta_expansions():
    # rho^2 = t^2 + 1 + c + c/t^2  =>  rho = t + (1+c)/(2t) + O(t^-3); overlaps 1 - c/t^2, 1 - 1/t^2.
    c, t = 0.37, 1e3
    assert float(outlier_singular_value(t, c)) == pytest.approx(t + (1 + c) / (2 * t), rel=1e-12)
    ov = singular_vector_overlaps(t, c)
    assert 1 - float(ov.smaller_side) == pytest.approx(c / t**2, rel=1e-5)
    assert 1 - float(ov.larger_side) == pytest.approx(1 / t**2, rel=1e-5)


@settings(max_examples=200, deadline=None)
@given(
    c=st.floats(1e-4, 1.0),
    sigma2=st.floats(1e-3, 1e3),
    f=st.floats(1.0 + 1e-6, 1e3),
)
def test_properties_above_threshold(c, sigma2, f):
    sigma = math.sqrt(sigma2)
    thr = detection_threshold(c, sigma2)
    theta = f * thr
    s = float(outlier_singular_value(theta, c, sigma2))
    edge = sigma * (1 + math.sqrt(c))
    assert s > edge * (1 - 1e-15)
    assert s >= theta * (1 - 1e-15)  # the noise only pushes the outlier out
    # scale equivariance
    assert s == pytest.approx(sigma * float(outlier_singular_value(theta / sigma, c)), rel=1e-13)
    small, large = (float(v) for v in singular_vector_overlaps(theta, c, sigma2))
    assert 0 <= large <= small <= 1  # the smaller-dimension side aligns better
    # inverse map
    back = float(theta_from_outlier(s, c, sigma2))
    assert back == pytest.approx(theta, rel=1e-6 if f < 1.001 else 1e-10)
    # monotone in theta
    s2 = float(outlier_singular_value(theta * 1.01, c, sigma2))
    small2 = float(singular_vector_overlaps(theta * 1.01, c, sigma2).smaller_side)
    assert s2 > s and small2 > small


@settings(max_examples=100, deadline=None)
@given(c=st.floats(1e-4, 1.0), sigma2=st.floats(1e-3, 1e3), f=st.floats(0.0, 1.0))
def test_properties_at_and_below_threshold(c, sigma2, f):
    sigma = math.sqrt(sigma2)
    theta = f * detection_threshold(c, sigma2)
    edge = sigma * (1 + math.sqrt(c))
    assert float(outlier_singular_value(theta, c, sigma2)) == pytest.approx(edge, rel=1e-15)
    assert all(float(v) == 0.0 for v in singular_vector_overlaps(theta, c, sigma2))
    s = edge * (0.5 + 0.5 * f)
    assert float(theta_from_outlier(s, c, sigma2)) == 0.0
    assert np.isnan(theta_from_outlier(s, c, sigma2, fill_value=np.nan))


@pytest.mark.parametrize("c", [0.02, 0.5, 1.0])
def test_continuity_at_threshold(c):
    thr = detection_threshold(c, 2.0)
    edge = math.sqrt(2.0) * (1 + math.sqrt(c))
    just_above = thr * (1 + 1e-9)
    assert float(outlier_singular_value(just_above, c, 2.0)) == pytest.approx(edge, rel=1e-12)
    assert max(float(v) for v in singular_vector_overlaps(just_above, c, 2.0)) < 1e-8
    assert float(theta_from_outlier(edge * (1 + 1e-12), c, 2.0)) == pytest.approx(thr, rel=1e-5)


def test_weight_spike_predictions_maps_sides_and_units():
    v, spikes = 0.04, np.array([9.0, 1.0])
    tall = weight_spike_predictions(spikes, (3000, 1000), v)  # out > in: left is the larger side
    wide = weight_spike_predictions(spikes, (1000, 3000), v)
    bgn = bgn_predictions(spikes / math.sqrt(3000), 1 / 3, v)
    np.testing.assert_allclose(tall.singular_value, math.sqrt(3000) * bgn.singular_value)
    np.testing.assert_array_equal(tall.overlap_left, bgn.overlap_larger)
    np.testing.assert_array_equal(tall.overlap_right, bgn.overlap_smaller)
    np.testing.assert_array_equal(wide.overlap_left, bgn.overlap_smaller)
    np.testing.assert_array_equal(wide.overlap_right, bgn.overlap_larger)
    assert tall.edge == pytest.approx(math.sqrt(v) * (math.sqrt(3000) + math.sqrt(1000)))
    assert tall.threshold == pytest.approx(math.sqrt(v) * (3000 * 1000) ** 0.25)


# ------------------------------------------------------------------------------------ Wigner
def semicircle_route(theta, sigma):
    """BGN 2011 Thm 2.1/2.3: rho = G^-1(1/theta), overlap = -1 / (theta^2 G'(rho)), by quad."""

    def G(z):  # x = 2 sigma cos u: semicircle dmu = (2/pi) sin^2 u du
        return quad(
            lambda u: (2 / math.pi) * math.sin(u) ** 2 / (z - 2 * sigma * math.cos(u)),
            0,
            math.pi,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )[0]

    def dG(z):
        return -quad(
            lambda u: (2 / math.pi) * math.sin(u) ** 2 / (z - 2 * sigma * math.cos(u)) ** 2,
            0,
            math.pi,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )[0]

    edge = 2 * sigma
    if theta * G(edge) <= 1:
        return edge, 0.0
    rho = brentq(lambda z: G(z) - 1 / theta, edge * (1 + 1e-14), edge + 2 * theta, xtol=1e-15)
    return rho, -1 / (theta**2 * dG(rho))


@pytest.mark.parametrize("sigma", [1.0, 0.4])
@pytest.mark.parametrize("f", [0.3, 0.9, 1.05, 1.5, 3.0, 20.0])
def test_wigner_closed_forms_match_semicircle_route(sigma, f):
    theta = f * sigma
    rho, ov = semicircle_route(theta, sigma)
    assert float(wigner_outlier_eigenvalue(theta, sigma)) == pytest.approx(rho, rel=1e-9)
    assert float(wigner_eigenvector_overlap(theta, sigma)) == pytest.approx(ov, abs=1e-9)
    if f > 1:
        lam = float(wigner_outlier_eigenvalue(theta, sigma))
        assert float(wigner_theta_from_outlier(lam, sigma)) == pytest.approx(theta, rel=1e-12)
    else:
        assert float(wigner_theta_from_outlier(2 * sigma, sigma)) == 0.0


# ------------------------------------------------------------------------------------ Monte Carlo
def test_top_triplets_match_full_svd():
    g = np.random.default_rng(0)
    for shape in [(120, 200), (200, 120)]:
        X = g.standard_normal(shape) / 15 + 3 * np.outer(
            planted(g, shape[0], 1), planted(g, shape[1], 1)
        )
        s, U, V = top_triplets(X, 3)
        U0, s0, Vh0 = scipy.linalg.svd(X, full_matrices=False, lapack_driver="gesdd")
        np.testing.assert_allclose(s, s0[:3], rtol=1e-12)
        np.testing.assert_allclose(np.abs(np.sum(U * U0[:, :3], axis=0)), 1, atol=1e-10)
        np.testing.assert_allclose(np.abs(np.sum(V * Vh0[:3].T, axis=0)), 1, atol=1e-10)


def check_rank_one_weight_orientation(shape, seed):
    """W = N(0, v) noise + sigma_S a b^T stored (out, in); predictions in weight units.

    In weight units s_W = sqrt(q) s, so sd(s_W) <= sqrt(v) (module docstring), overlaps sd <=
    0.45 / sqrt(p) at theta = 2 thr.  Also the inverse map: sd(theta_hat) = sd(s) / rho'(theta).
    """
    g = np.random.default_rng(seed)
    v = 0.25
    p, q = min(shape), max(shape)
    c = p / q
    spike = 2.0 * math.sqrt(v) * (p * q) ** 0.25  # 2 x threshold in weight units
    W, A, B = spiked_matrix(g, shape, [spike], v)
    pred = weight_spike_predictions([spike], shape, v)
    s, U, V = top_triplets(W, 1)
    tol_s = N_SD * math.sqrt(v)
    tol_ov = N_SD * OVERLAP_SD / math.sqrt(p)
    errs = {
        "s": abs(s[0] - pred.singular_value[0]) / tol_s,
        "left": abs(float(U[:, 0] @ A[:, 0]) ** 2 - pred.overlap_left[0]) / tol_ov,
        "right": abs(float(V[:, 0] @ B[:, 0]) ** 2 - pred.overlap_right[0]) / tol_ov,
    }
    # Inverse map in BGN units: theta_hat = rho^-1(s / sqrt q); rho'(theta) from rho^2 =
    # sigma2 (t^2 + 1 + c + c / t^2), t = theta / sigma.
    sq, sigma = math.sqrt(q), math.sqrt(v)
    t = spike / sq / sigma
    rho = sigma * math.sqrt(t * t + 1 + c + c / t**2)
    drho = sigma**2 * (t - c / t**3) / (sigma * rho)
    theta_hat = float(theta_from_outlier(s[0] / sq, c, v))
    errs["theta_hat"] = abs(theta_hat - spike / sq) / (N_SD * sigma / sq / drho)
    return errs


@pytest.mark.parametrize("shape", [(1000, 2000), (2000, 1000)])
def test_mc_rank_one_both_orientations(shape):
    errs = check_rank_one_weight_orientation(shape, seed=11)
    assert max(errs.values()) <= 1, errs


def check_noise_variance_both_sides(seed):
    """BGN units, p x q = 1000 x 4000 (c = 1/4), sigma2 = 4; spikes 2 thr and thr / 2 (rank 2).

    s1: sd <= sigma / sqrt(q); overlaps sd <= 0.45 / sqrt(p).  s2 sits at the edge within the TW
    window; the subcritical overlaps are <= 50 / p.
    """
    g = np.random.default_rng(seed)
    p, q, sigma2 = 1000, 4000, 4.0
    c, sigma = p / q, math.sqrt(sigma2)
    thr = detection_threshold(c, sigma2)
    thetas = np.array([2.0, 0.5]) * thr
    X, U0, V0 = spiked_matrix(g, (p, q), thetas, sigma2 / q)
    pred = bgn_predictions(thetas, c, sigma2)
    s, U, V = top_triplets(X, 2)
    tol_ov = N_SD * OVERLAP_SD / math.sqrt(p)
    tau = tw_singular_scale(p, q, sigma2)
    z2 = (s[1] - pred.singular_value[1]) / tau
    return {
        "s1": abs(s[0] - pred.singular_value[0]) / (N_SD * sigma / math.sqrt(q)),
        "ov_small": abs(float(U[:, 0] @ U0[:, 0]) ** 2 - pred.overlap_smaller[0]) / tol_ov,
        "ov_large": abs(float(V[:, 0] @ V0[:, 0]) ** 2 - pred.overlap_larger[0]) / tol_ov,
        "s2_edge": z2 / TW_WINDOW[1] if z2 > 0 else z2 / TW_WINDOW[0],
        "sub_small": p * float(U[:, 1] @ U0[:, 1]) ** 2 / SUB_OVERLAP_BOUND,
        "sub_large": p * float(V[:, 1] @ V0[:, 1]) ** 2 / SUB_OVERLAP_BOUND,
        "pred_sub_zero": float(pred.overlap_smaller[1] + pred.overlap_larger[1]),
    }


def test_mc_non_unit_noise_variance_both_sides_of_threshold():
    errs = check_noise_variance_both_sides(seed=12)
    assert errs.pop("pred_sub_zero") == 0.0
    assert max(errs.values()) <= 1, errs


def check_rank_three(seed):
    """1000 x 2000, thetas = (4, 3, 2) thr: each outlier and overlap, cross overlaps <= 20 / p."""
    g = np.random.default_rng(seed)
    p, q = 1000, 2000
    c = p / q
    thetas = np.array([4.0, 3.0, 2.0]) * detection_threshold(c)
    X, U0, V0 = spiked_matrix(g, (p, q), thetas, 1 / q)
    pred = bgn_predictions(thetas, c)
    s, U, V = top_triplets(X, 3)
    ou, ov = (U.T @ U0) ** 2, (V.T @ V0) ** 2
    tol_ov = N_SD * OVERLAP_SD / math.sqrt(p)
    off = ~np.eye(3, dtype=bool)
    return {
        "s": np.max(np.abs(s - pred.singular_value)) / (N_SD / math.sqrt(q)),
        "ov_small": np.max(np.abs(np.diag(ou) - pred.overlap_smaller)) / tol_ov,
        "ov_large": np.max(np.abs(np.diag(ov) - pred.overlap_larger)) / tol_ov,
        "cross": p * max(ou[off].max(), ov[off].max()) / CROSS_BOUND,
    }


def test_mc_rank_three_distinct_spikes():
    errs = check_rank_three(seed=13)
    assert max(errs.values()) <= 1, errs


def check_at_or_below_threshold(f, seed):
    """theta = f thr, f <= 1: s1 within [-8, 10] TW scales of the edge; overlaps <= 50 / p (f < 1)."""
    g = np.random.default_rng(seed)
    p, q = 1000, 2000
    c = p / q
    theta = f * detection_threshold(c)
    X, U0, V0 = spiked_matrix(g, (p, q), [theta], 1 / q)
    s, U, V = top_triplets(X, 1)
    edge = float(outlier_singular_value(theta, c))
    assert edge == 1 + math.sqrt(c)
    z = (s[0] - edge) / tw_singular_scale(p, q, 1.0)
    errs = {"s1_edge": z / TW_WINDOW[1] if z > 0 else z / TW_WINDOW[0]}
    if f < 1:
        errs["small"] = p * float(U[:, 0] @ U0[:, 0]) ** 2 / SUB_OVERLAP_BOUND
        errs["large"] = p * float(V[:, 0] @ V0[:, 0]) ** 2 / SUB_OVERLAP_BOUND
    return errs


@pytest.mark.parametrize("f", [0.0, 0.5, 1.0])
def test_mc_at_and_below_threshold(f):
    errs = check_at_or_below_threshold(f, seed=14)
    assert max(errs.values()) <= 1, errs


def check_wigner(seed):
    """GOE-type n = 2000, sigma = 1.5, spikes (2 sigma, sigma / 2).

    lambda_1: sd <= 1.1 sigma sqrt(2 (1 - sigma^2/theta^2) / n); overlap sd <= 0.55 / sqrt(n);
    lambda_2 at 2 sigma within [-8, 10] sigma n^(-2/3); its overlap with u_2 <= 100 / n.
    """
    g = np.random.default_rng(seed)
    n, sigma = 2000, 1.5
    thetas = np.array([2.0, 0.5]) * sigma
    Z = g.standard_normal((n, n))
    U0 = planted(g, n, 2)
    X = (Z + Z.T) * (sigma / math.sqrt(2 * n)) + (U0 * thetas) @ U0.T
    lam, U = scipy.linalg.eigh(X, subset_by_index=[n - 2, n - 1])
    lam, U = lam[::-1], U[:, ::-1]
    sd1 = 1.1 * sigma * math.sqrt(2 * (1 - (sigma / thetas[0]) ** 2) / n)
    z2 = (lam[1] - float(wigner_outlier_eigenvalue(thetas[1], sigma))) / (sigma * n ** (-2 / 3))
    return {
        "lam1": abs(lam[0] - float(wigner_outlier_eigenvalue(thetas[0], sigma))) / (N_SD * sd1),
        "ov1": abs(
            float(U[:, 0] @ U0[:, 0]) ** 2 - float(wigner_eigenvector_overlap(thetas[0], sigma))
        )
        / (N_SD * WIGNER_OVERLAP_SD / math.sqrt(n)),
        "lam2_edge": z2 / TW_WINDOW[1] if z2 > 0 else z2 / TW_WINDOW[0],
        "ov2": n * float(U[:, 1] @ U0[:, 1]) ** 2 / WIGNER_SUB_OVERLAP_BOUND,
    }


def test_mc_wigner_both_sides_of_threshold():
    errs = check_wigner(seed=15)
    assert max(errs.values()) <= 1, errs
    assert float(wigner_outlier_eigenvalue(0.75, 1.5)) == 3.0


@pytest.mark.slow
def test_mc_tolerances_hold_over_many_seeds():
    """Re-run every Monte Carlo check on 25 fresh seeds; all must pass (each has a < 1e-6 risk)."""
    worst = 0.0
    for seed in range(1000, 1025):
        for errs in (
            check_rank_one_weight_orientation((1000, 2000), seed),
            check_rank_one_weight_orientation((2000, 1000), seed),
            check_noise_variance_both_sides(seed),
            check_rank_three(seed),
            check_at_or_below_threshold(0.5, seed),
            check_at_or_below_threshold(1.0, seed),
            check_wigner(seed),
        ):
            errs.pop("pred_sub_zero", None)
            worst = max(worst, max(errs.values()))
    assert worst <= 1


@pytest.mark.slow
def test_calibrated_fluctuation_constants():
    """The sd bounds used above, re-measured: 200 draws at p x q = 250 x 500 (c = 1/2)."""
    g = np.random.default_rng(99)
    p, q = 250, 500
    c = p / q
    theta = 2.0 * detection_threshold(c)
    pred = bgn_predictions(theta, c)
    rows = []
    for _ in range(200):
        X, U0, V0 = spiked_matrix(g, (p, q), [theta], 1 / q)
        s, U, V = top_triplets(X, 1)
        rows.append([s[0], float(U[:, 0] @ U0[:, 0]) ** 2, float(V[:, 0] @ V0[:, 0]) ** 2])
    rows = np.array(rows)
    sd = rows.std(axis=0, ddof=1)
    # An sd estimated from 200 draws has relative standard error 1/sqrt(2 * 199) = 5%: allow 3 of
    # them.  Measured with this seed: 0.91 (bound 1) and 0.33, 0.36 (bound 0.45).
    slack = 1 + 3 / math.sqrt(2 * (len(rows) - 1))
    assert sd[0] * math.sqrt(q) <= 1.0 * slack
    assert max(sd[1], sd[2]) * math.sqrt(p) <= OVERLAP_SD * slack
    bias = np.abs(
        rows.mean(axis=0) - [pred.singular_value, pred.overlap_smaller, pred.overlap_larger]
    )
    assert np.all(bias <= 3 * sd / math.sqrt(len(rows)) + 1 / p)


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: outlier_singular_value(-1.0, 0.5), "theta"),
        (lambda: outlier_singular_value([1.0, np.nan], 0.5), "theta"),
        (lambda: outlier_singular_value(np.inf, 0.5), "theta"),
        (lambda: outlier_singular_value(1.0, 0.0), "ratio"),
        (lambda: outlier_singular_value(1.0, 1.5), "ratio"),
        (lambda: outlier_singular_value(1.0, np.nan), "ratio"),
        (lambda: outlier_singular_value(1.0, 0.5, 0.0), "sigma2"),
        (lambda: singular_vector_overlaps(1.0, 0.5, -2.0), "sigma2"),
        (lambda: singular_vector_overlaps(-0.1, 0.5), "theta"),
        (lambda: detection_threshold(2.0), "ratio"),
        (lambda: detection_threshold(0.5, np.inf), "sigma2"),
        (lambda: theta_from_outlier(-1.0, 0.5), "s"),
        (lambda: theta_from_outlier(np.nan, 0.5), "s"),
        (lambda: wigner_outlier_eigenvalue(-2.0), "theta"),
        (lambda: wigner_eigenvector_overlap(2.0, 0.0), "sigma"),
        (lambda: wigner_theta_from_outlier(np.nan), "eigenvalue"),
        (lambda: square_outlier(2.0, -1.0), "g"),
        (lambda: d_transform(1.5, 0.5), "z"),
        (lambda: d_transform_derivative(1 + math.sqrt(0.5), 0.5), "z"),
        (lambda: d_transform(np.nan, 0.5), "z"),
        (lambda: bgn_predictions(1.0, 0.5, method="bogus"), "method"),
        (lambda: weight_spike_predictions([1.0], (10,)), "shape"),
        (lambda: weight_spike_predictions([1.0], (10, 0)), "shape[1]"),
        (lambda: weight_spike_predictions([1.0], (10, 20), 0.0), "entry_variance"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"(?<!\w){re.escape(name)}(?!\w)"):
        call()


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="theta"):
        outlier_singular_value("big", 0.5)
    with pytest.raises(TypeError, match="ratio"):
        singular_vector_overlaps(1.0, "half")
    with pytest.raises(TypeError, match="theta"):
        outlier_singular_value(1 + 2j, 0.5)


def test_scalar_in_scalar_out_and_shapes_preserved():
    assert np.ndim(outlier_singular_value(2.0, 0.5)) == 0
    th = np.array([[0.1, 2.0], [3.0, 0.0]])
    assert outlier_singular_value(th, 0.5).shape == (2, 2)
    assert singular_vector_overlaps(th, 0.5).larger_side.shape == (2, 2)
    assert bgn_predictions(th, 0.5, method="d_transform").overlap_smaller.shape == (2, 2)
    assert wigner_outlier_eigenvalue([], 1.0).shape == (0,)
