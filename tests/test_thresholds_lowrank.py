"""Rank rules and low-rank surgery: Eckart-Young optimality, the paper's split, the keep rule,
conv reshapes, and Gavish-Donoho against its published constants."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmtheory.lowrank import conv_to_matrix, factorize, matrix_to_conv, recombine, truncate
from rmtheory.thresholds import (
    EnergyRule,
    energy_rank,
    gavish_donoho_lambda,
    gavish_donoho_omega,
    gavish_donoho_rank,
    gavish_donoho_threshold,
    keep_rank,
    mp_rank,
    mp_threshold,
)


def spiked(shape, thetas, seed=0):
    rng = np.random.default_rng(seed)
    n, m = shape
    q = max(shape)
    r = len(thetas)
    U = np.linalg.qr(rng.normal(size=(n, r)))[0]
    V = np.linalg.qr(rng.normal(size=(m, r)))[0]
    return rng.normal(size=shape) / math.sqrt(q) + (U * np.asarray(thetas)) @ V.T


def test_gavish_donoho_published_constants():
    # Gavish & Donoho (2014): lambda*(1) = 4/sqrt(3); omega(1) ~ 2.858; omega(beta) ~ the cubic
    # 0.56 b^3 - 0.95 b^2 + 1.82 b + 1.43, stated as accurate to ~0.02
    assert gavish_donoho_lambda(1.0) == pytest.approx(4 / math.sqrt(3), rel=1e-14)
    assert gavish_donoho_omega(1.0) == pytest.approx(2.858, abs=1e-3)
    for b in (0.05, 0.1, 0.3, 0.5, 0.8):
        cubic = 0.56 * b**3 - 0.95 * b**2 + 1.82 * b + 1.43
        assert gavish_donoho_omega(b) == pytest.approx(cubic, abs=0.02)


@pytest.mark.parametrize("shape", [(600, 600), (400, 1200), (1200, 400)])
def test_gavish_donoho_known_and_unknown_noise_agree_on_noise_plus_spikes(shape):
    W = spiked(shape, [4.0, 6.0, 9.0])
    known = gavish_donoho_threshold(W, sigma2=1 / max(shape))
    unknown = gavish_donoho_threshold(W)
    assert unknown == pytest.approx(known, rel=0.03)
    assert gavish_donoho_rank(W) == 3 == gavish_donoho_rank(W, sigma2=1 / max(shape))
    # the threshold sits above the noise edge 1 + sqrt(p/q) by the factor lambda*/(1 + sqrt(beta))
    beta = min(shape) / max(shape)
    assert known == pytest.approx(gavish_donoho_lambda(beta), rel=1e-12)


def test_mp_rank_and_threshold():
    W = spiked((500, 1000), [1.5, 3.0])
    assert mp_rank(W) == 2
    s = np.linalg.svd(W, compute_uv=False)
    assert s[2] < mp_threshold(W) < s[1]
    assert mp_rank(np.random.default_rng(1).normal(size=(500, 1000))) <= 1


def test_energy_rule_is_the_smallest_k():
    s = np.array([3.0, 2.0, 1.0, 0.5])
    total = np.sum(s**2)
    for f in (0.0, 0.5, 0.66, 0.9, 0.99, 1.0):
        k = EnergyRule(f)(s, (4, 10)).n_above
        assert np.sum(s[:k] ** 2) >= f * total - 1e-12
        assert k == 0 or np.sum(s[: k - 1] ** 2) < f * total
    assert energy_rank(np.diag([3.0, 2.0, 1.0, 0.5]), 0.9) == 2


def test_keep_rule():
    assert keep_rank(10, 100, 0.0) == 10
    assert keep_rank(10, 100, 1.0) == 100
    assert keep_rank(10, 100, 0.25) == 10 + math.floor(0.25 * 90)
    assert keep_rank(2, 10, 0.0, min_rank=10) == 10  # never cut an output layer below its classes
    with pytest.raises(ValueError, match="keep_fraction"):
        keep_rank(1, 10, 1.5)
    with pytest.raises(ValueError, match="n_above"):
        keep_rank(11, 10, 0.5)


def test_truncate_is_the_best_rank_k_approximation():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(40, 30))
    s = np.linalg.svd(W, compute_uv=False)
    for k in (0, 1, 5, 30):
        T = truncate(W, k)
        assert np.linalg.matrix_rank(T) == k
        # Eckart-Young: the Frobenius error is the tail energy, and no random rank-k matrix beats it
        assert np.linalg.norm(W - T) == pytest.approx(math.sqrt(np.sum(s[k:] ** 2)), abs=1e-10)
        if 0 < k < 30:
            other = rng.normal(size=(40, k)) @ rng.normal(size=(k, 30))
            assert np.linalg.norm(W - T) < np.linalg.norm(W - other)


def test_factorize_is_the_balanced_paper_split():
    W = np.random.default_rng(3).normal(size=(50, 80)).astype(np.float32)
    W1, W2 = factorize(W, 7)
    assert W1.shape == (7, 80) and W2.shape == (50, 7) and W1.dtype == np.float32
    np.testing.assert_allclose(recombine(W1, W2), truncate(W, 7), atol=1e-5)
    # balanced: both factors carry sqrt of the singular values, W1 W1^T = W2^T W2 = diag(s_k)
    s = np.linalg.svd(W.astype(np.float64), compute_uv=False)[:7]
    np.testing.assert_allclose(W1 @ W1.T, np.diag(s), atol=1e-4)
    np.testing.assert_allclose(W2.T @ W2, np.diag(s), atol=1e-4)
    assert W1.size + W2.size == 7 * (50 + 80)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 12), st.integers(0, 2**31))
def test_truncation_never_raises_rank(n, m, k, seed):
    W = np.random.default_rng(seed).normal(size=(n, m))
    k = min(k, n, m)
    r0 = np.linalg.matrix_rank(W)
    assert np.linalg.matrix_rank(truncate(W, k)) <= min(k, r0)
    W1, W2 = factorize(W, k)
    assert np.linalg.matrix_rank(recombine(W1, W2)) <= min(k, r0)


def test_conv_roundtrip_and_prune():
    K = np.random.default_rng(4).normal(size=(16, 8, 3, 3))
    M = conv_to_matrix(K)
    assert M.shape == (16, 72)
    np.testing.assert_array_equal(matrix_to_conv(M, K.shape), K)
    W1, W2 = factorize(M, 5)
    assert matrix_to_conv(W1, K.shape).shape == (5, 8, 3, 3)
    with pytest.raises(ValueError, match="4-D"):
        conv_to_matrix(M)


def test_bad_input():
    with pytest.raises(ValueError, match="rank"):
        truncate(np.ones((3, 4)), 4)
    with pytest.raises(ValueError, match="NaN"):
        factorize(np.full((3, 4), np.nan), 1)
    with pytest.raises(ValueError, match="columns"):
        recombine(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="2-D"):
        mp_rank(np.ones(5))
