"""Classification confidence, the good set and the paper's bounds on how pruning changes them.

Independent routes
------------------
* δ (eq 14) against a per-row Python loop; accuracy (eq 15) against ``argmax(logits) == label``.
* Network outputs against :class:`rmtheory.nn.MLP` (its own forward pass), and the pruned weights
  against :func:`rmtheory.lowrank.truncate` (Eckart–Young) — not the code under test.
* Lemma 5.1: hypothesis over random small nets; a hand-built case where the √2 bound is attained.
* Lemma 5.3: Monte Carlo over the random part R (tolerances derived in each test).
* Theorem 5.7: a planted Example-5.5 network (S known, so θ is measured exactly) and trained nets.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from rmtheory.approximation import approximation_error
from rmtheory.confidence import (
    accuracy_from_confidence,
    classification_confidence,
    good_set,
    good_set_accuracy_bound,
    layer_input,
    lemma51_bound,
    lemma53_scale,
    lemma53_shift,
    network_logits,
    pruning_confidence_change,
    theorem54_shift,
    theorem57_bound,
)
from rmtheory.lowrank import svd, truncate
from rmtheory.nn import MLP


# ---------------------------------------------------------------------------------- helpers
def mlp_logits(Ws, bs, X, activation="abs", final="identity"):
    """Forward pass through rmtheory.nn.MLP (the trainer's code, float64)."""
    sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
    model = MLP(sizes, activation=activation, final_activation=final, dtype=np.float64)
    for layer, W, b in zip(model.layers, Ws, bs, strict=True):
        layer.set_dense(W)
        layer.bias[...] = b
    return np.array(model.forward(np.asarray(X, dtype=np.float64)))


def eckart_young_prune(W, eps):
    # singular values from the decomposition the library prunes with, so that an eps equal to a
    # singular value is decided the same way (values-only LAPACK differs in the last bits)
    s = svd(W)[1]
    k = int(np.count_nonzero(s >= eps))
    return W.copy() if k == s.size else truncate(W, k)


def loop_confidence(Z, y):
    out = []
    for z, t in zip(Z, y, strict=True):
        others = [z[j] for j in range(len(z)) if j != t]
        out.append(z[t] - max(others))
    return np.array(out)


# ---------------------------------------------------------------------------------- δ, accuracy
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    K=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    ties=st.booleans(),
)
def test_confidence_matches_loop_and_argmax(n, K, seed, ties):
    g = np.random.default_rng(seed)
    Z = g.integers(-2, 3, size=(n, K)).astype(float) if ties else g.standard_normal((n, K))
    y = g.integers(0, K, size=n)
    d = classification_confidence(Z, y)
    np.testing.assert_array_equal(d, loop_confidence(Z, y))
    # eq 15: delta > 0 iff the true class is the strict argmax (a tie is not a correct answer)
    strict_argmax = np.array(
        [np.sum(z == z.max()) == 1 and z.argmax() == t for z, t in zip(Z, y, strict=True)]
    )
    np.testing.assert_array_equal(d > 0, strict_argmax)
    assert accuracy_from_confidence(d) == pytest.approx(strict_argmax.mean())


def test_confidence_example_and_input_checks():
    d = classification_confidence([[2.0, 0.5, 1.0], [0.0, 3.0, 1.0]], [0, 2])
    np.testing.assert_array_equal(d, [1.0, -2.0])
    with pytest.raises(ValueError, match="K >= 2"):
        classification_confidence([[1.0], [2.0]], [0, 0])
    with pytest.raises(ValueError, match="labels must lie"):
        classification_confidence([[1.0, 2.0]], [2])
    with pytest.raises(ValueError, match="shape"):
        classification_confidence([[1.0, 2.0]], [0, 1])
    with pytest.raises(TypeError, match="integer"):
        classification_confidence([[1.0, 2.0]], [0.5])
    with pytest.raises(ValueError, match="NaN"):
        classification_confidence([[np.nan, 2.0]], [0])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), h1=st.floats(0, 3), h2=st.floats(0, 3))
def test_good_set_is_monotone_and_counts(seed, h1, h2):
    d = np.random.default_rng(seed).normal(size=50)
    lo, hi = min(h1, h2), max(h1, h2)
    assert np.all(good_set(d, hi) <= good_set(d, lo))  # G_hi is a subset of G_lo
    assert good_set_accuracy_bound(d, lo) == np.count_nonzero(d > lo) / 50
    assert good_set_accuracy_bound(d, 0.0) == accuracy_from_confidence(d)
    per_sample = np.full(50, hi)
    np.testing.assert_array_equal(good_set(d, per_sample), good_set(d, hi))


def test_good_set_rejects_bad_margins():
    with pytest.raises(ValueError, match=">= 0"):
        good_set([1.0, 2.0], -0.1)
    with pytest.raises(ValueError, match="shape"):
        good_set([1.0, 2.0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-empty"):
        accuracy_from_confidence([])


# ---------------------------------------------------------------------------------- networks
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    depth=st.integers(1, 4),
    activation=st.sampled_from(["abs", "relu", "identity"]),
    final=st.sampled_from(["abs", "relu", "identity"]),
)
def test_network_logits_match_the_trainer(seed, depth, activation, final):
    g = np.random.default_rng(seed)
    sizes = list(g.integers(1, 7, size=depth + 1))
    Ws = [g.standard_normal((sizes[j + 1], sizes[j])) for j in range(depth)]
    bs = [g.standard_normal(sizes[j + 1]) for j in range(depth)]
    X = g.standard_normal((7, sizes[0]))
    np.testing.assert_allclose(
        network_logits(Ws, bs, X, activation, final),
        mlp_logits(Ws, bs, X, activation, final),
        rtol=1e-12,
        atol=1e-12,
    )


def test_network_input_checks():
    W = [np.ones((3, 2)), np.ones((2, 3))]
    with pytest.raises(ValueError, match="columns"):
        network_logits([np.ones((3, 2)), np.ones((2, 4))], None, np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        network_logits(W, None, np.ones((1, 3)))
    with pytest.raises(ValueError, match="biases\\[1\\]"):
        network_logits(W, [None, np.ones(3)], np.ones((1, 2)))
    with pytest.raises(ValueError, match="activation"):
        network_logits(W, None, np.ones((1, 2)), activation="tanh")
    with pytest.raises(ValueError, match="layer"):
        lemma51_bound(W, None, 2, 0.1, np.ones((1, 2)))
    with pytest.raises(ValueError, match="eps"):
        lemma51_bound(W, None, 0, 0.0, np.ones((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        network_logits([np.full((2, 2), np.nan)], None, np.ones((1, 2)))
    np.testing.assert_array_equal(layer_input(W, None, 0, [[1.0, 2.0]]), [[1.0, 2.0]])
    np.testing.assert_array_equal(layer_input(W, None, -1, [[1.0, 2.0]]), [[3.0, 3.0, 3.0]])


# ---------------------------------------------------------------------------------- Lemma 5.1
def _random_net(seed: int, n_layers: int, bias: bool):
    g = np.random.default_rng(seed)
    sizes = [int(g.integers(1, 7)) for _ in range(n_layers)] + [int(g.integers(2, 5))]
    Ws, bs = [], []
    for j in range(n_layers):
        scale = 10.0 ** g.uniform(-1, 1)
        W = g.standard_normal((sizes[j + 1], sizes[j])) * scale
        if g.random() < 0.3 and min(W.shape) > 1:  # a layer with a wide spread of singular values
            U, s, Vt = np.linalg.svd(W, full_matrices=False)
            W = (U * (s * np.geomspace(1, 1e-3, s.size))) @ Vt
        Ws.append(W)
        bs.append(g.standard_normal(sizes[j + 1]) * scale if bias else np.zeros(sizes[j + 1]))
    X = g.standard_normal((6, sizes[0])) * 10.0 ** g.uniform(-1, 1)
    y = g.integers(0, sizes[-1], size=6)
    return Ws, bs, X, y, g


def _rounding_tol(Ws, bs, X):
    scale = math.prod(
        np.linalg.norm(W) + np.linalg.norm(b) + 1.0 for W, b in zip(Ws, bs, strict=True)
    )
    return 1e-10 * scale * (1.0 + np.abs(X).max())


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_layers=st.integers(1, 4),
    bias=st.booleans(),
    activation=st.sampled_from(["abs", "relu"]),
    final=st.sampled_from(["identity", "abs"]),
    data=st.data(),
)
def test_lemma51_bound_is_never_exceeded(seed, n_layers, bias, activation, final, data):
    Ws, bs, X, y, g = _random_net(seed, n_layers, bias)
    k = data.draw(st.integers(0, n_layers - 1), label="layer")
    s = scipy.linalg.svdvals(Ws[k])
    # eps anywhere: between two singular values, above all of them, or below all of them
    eps = float(data.draw(st.sampled_from([0.5, 1.0, 2.0]), label="eps_pos")) * float(
        g.choice(np.concatenate([s, [s.max() * 2, s.min() / 2 + 1e-300]]))
    )
    eps = max(eps, 1e-300)
    pruned = list(Ws)
    pruned[k] = eckart_young_prune(Ws[k], eps)
    before = classification_confidence(mlp_logits(Ws, bs, X, activation, final), y)
    after = classification_confidence(mlp_logits(pruned, bs, X, activation, final), y)
    actual = np.abs(after - before)
    tol = _rounding_tol(Ws, bs, X)
    kw = dict(activation=activation, final_activation=final)
    tight = lemma51_bound(Ws, bs, k, eps, X, scale="dropped", **kw)
    paper = lemma51_bound(Ws, bs, k, eps, X, **kw)
    safe = lemma51_bound(Ws, bs, k, eps, X, constant="2", **kw)
    assert np.all(actual <= tight + tol)
    assert np.all(tight <= paper * (1 + 1e-12))
    np.testing.assert_allclose(safe, paper * math.sqrt(2.0), rtol=1e-12)
    # the library's own measurement of the change agrees with the independent one
    np.testing.assert_allclose(
        pruning_confidence_change(Ws, bs, k, eps, X, y, activation, final), actual, atol=tol
    )
    if not bias or k == 0:  # eq 18 needs zero biases before layer k
        eq18 = lemma51_bound(Ws, bs, k, eps, X, form="eq18", **kw)
        assert np.all(paper <= eq18 * (1 + 1e-12))


def test_lemma51_sqrt2_is_attained():
    """One linear layer, K = 2, dropped left vector (1, -1)/√2, input along its right vector:
    d = -s_drop (1, -1)/√2, so |Δδ| = |d_0 - d_1| = √2 s_drop = the bound exactly."""
    g = np.random.default_rng(3)
    U = np.array([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2.0)
    V, _ = np.linalg.qr(g.standard_normal((5, 2)))
    W = (U * [3.0, 0.5]) @ V.T
    x = 2.0 * V[:, 1]
    actual = pruning_confidence_change([W], None, 0, 1.0, x[None], [0])
    tight = lemma51_bound([W], None, 0, 1.0, x[None], scale="dropped")
    np.testing.assert_allclose(actual, tight, rtol=1e-12)
    np.testing.assert_allclose(tight, math.sqrt(2.0) * 0.5 * 2.0, rtol=1e-12)
    # the paper's scale pays eps instead of the dropped 0.5
    np.testing.assert_allclose(lemma51_bound([W], None, 0, 1.0, x), math.sqrt(2.0) * 2.0)


def test_lemma51_eq18_requires_zero_biases_before_the_layer():
    Ws = [np.eye(2), np.eye(2)]
    with pytest.raises(ValueError, match="zero biases"):
        lemma51_bound(Ws, [np.ones(2), None], 1, 0.5, [[1.0, 1.0]], form="eq18")
    # biases at or after the pruned layer cancel, eq 18 is allowed
    lemma51_bound(Ws, [None, np.ones(2)], 1, 0.5, [[1.0, 1.0]], form="eq18")


# ---------------------------------------------------------------------------------- Lemma 5.3
def _planted(N, seed, w3="dense", sigma=(6.0, 4.0, 3.0), d=3):
    g = np.random.default_rng(seed)
    W1 = g.standard_normal((N, d)) / math.sqrt(d)
    U, _ = np.linalg.qr(g.standard_normal((N, len(sigma))))
    V, _ = np.linalg.qr(g.standard_normal((N, len(sigma))))
    S = (U * np.asarray(sigma)) @ V.T
    if w3 == "dense":
        W3 = g.standard_normal((2, N)) / math.sqrt(N)
    else:  # each logit reads one coordinate: ||W3||_inf = 1, the worst case for the l_inf route
        W3 = np.zeros((2, N))
        W3[0, 0] = W3[1, 1] = 1.0
    X = g.standard_normal((20, d))
    return W1, S, W3, X, g


@pytest.mark.parametrize("w3", ["dense", "onehot"])
def test_lemma53_monte_carlo(w3):
    """|δ(R+S) − δ(S)| over 300 draws of R ~ N(0, 1/N), N = 200, 20 inputs (6000 pairs).

    * default p = (2N)^-3 = 1.6e-8 per pair: P(any violation) <= 6000 p = 1e-4 -> expect none;
    * p = 0.2: violations are Binomial(6000, q) with q <= 0.2 (the union bound over the N rows makes
      q far smaller); fail if the frequency exceeds 0.2 + 4 sd = 0.221.
    * a(N, s) itself is a scale, not a bound: in the one-hot case Δδ ≈ N(0, 2v|y|²) against
      a = |y| sqrt(v log 2N), exceeded with probability ≈ P(|Z| > 1.73) ≈ 8 %; require > 1 %.
    """
    N = 200
    W1, S, W3, X, g = _planted(N, 11, w3)
    labels = np.zeros(len(X), dtype=int)
    ref = classification_confidence(network_logits([W1, S, W3], None, X), labels)
    a = lemma53_scale([W1, S, W3], 1, X)
    default = lemma53_shift([W1, S, W3], 1, X)
    loose = lemma53_shift([W1, S, W3], 1, X, failure_prob=0.2)
    np.testing.assert_allclose(default, 4 * math.sqrt(2) * a, rtol=1e-12)
    diffs = []
    for _ in range(300):
        W2 = S + g.standard_normal((N, N)) / math.sqrt(N)
        diffs.append(
            np.abs(classification_confidence(network_logits([W1, W2, W3], None, X), labels) - ref)
        )
    diffs = np.array(diffs)
    assert np.count_nonzero(diffs > default) == 0
    assert np.mean(diffs > loose) <= 0.2 + 4 * math.sqrt(0.2 * 0.8 / diffs.size)
    if w3 == "onehot":
        assert np.mean(diffs > a) > 0.01


def test_lemma53_scale_formula():
    """a(N, s) = ||W3||_inf ||W1 s||_2 sqrt(log(2N)/N) for the paper's 3-layer net, with the
    max-row-sum norm written out by hand; the variance enters as sqrt(v)."""
    N = 50
    g = np.random.default_rng(0)
    W1, W2, W3 = g.standard_normal((N, 3)), g.standard_normal((N, N)), g.standard_normal((4, N))
    X = g.standard_normal((5, 3))
    row_sum = max(sum(abs(W3[i, j]) for j in range(N)) for i in range(4))
    expect = row_sum * np.linalg.norm(X @ W1.T, axis=1) * math.sqrt(math.log(2 * N) / N)
    np.testing.assert_allclose(lemma53_scale([W1, W2, W3], 1, X), expect, rtol=1e-12)
    np.testing.assert_allclose(
        lemma53_scale([W1, W2, W3], 1, X, noise_var=4.0 / N), 2 * expect, rtol=1e-12
    )
    with pytest.raises(ValueError, match="failure_prob"):
        lemma53_shift([W1, W2, W3], 1, X, failure_prob=1.5)


# ---------------------------------------------------------------------------------- Thm 5.4 / 5.7
def _example55_net(N, seed, sigma=(12.0, 10.0, 8.0, 6.0)):
    """Ex 5.5 with diagonal S (Fig 14): W1 embeds s in the first coordinates, W3 reads them."""
    g = np.random.default_rng(seed)
    r = len(sigma)
    W1 = np.zeros((N, 2))
    W1[:r] = g.standard_normal((r, 2))
    S = np.zeros((N, N))
    S[:r, :r] = np.diag(sigma) @ np.linalg.qr(g.standard_normal((r, r)))[0]
    W3 = np.zeros((2, N))
    W3[:, :r] = g.standard_normal((2, r))
    W2 = S + g.standard_normal((N, N)) / math.sqrt(N)
    X = g.standard_normal((400, 2))
    y = network_logits([W1, S, W3], None, X).argmax(1)  # the teacher is the deterministic net
    return [W1, W2, W3], S, X, y


def test_theorem54_shift_bounds_the_change_on_example55():
    N = 800
    Ws, S, X, y = _example55_net(N, 1)
    cut = 2.0 + 0.1
    theta = approximation_error(Ws[1], S, cut)  # exact ||W' - S|| for this draw
    shift = theorem54_shift(Ws, 1, X, theta)
    res = theorem57_bound(Ws, None, 1, X, y, threshold=2.0, eps=0.1, noise_var=1 / N, theta=theta)
    np.testing.assert_allclose(res.shift, shift)
    # failure probability of the Lemma 5.3 part: 400 (2N)^-3 = 1e-7
    assert np.all(np.abs(res.delta - res.delta_pruned) <= res.shift)
    assert res.pruned_accuracy >= res.samplewise_bound >= res.bound
    assert res.pruned_accuracy >= res.lemma51_samplewise_bound >= res.lemma51_bound
    # the certificate says something here (diagonal S, sparse W3; measured 0.16 and 0.975): the
    # uniform delta_0 = max over T is set by the largest inputs, the per-sample one is not
    assert res.bound > 0.1 and res.samplewise_bound > 0.9
    assert res.rank == 4 and res.failure_prob < 1e-6


def test_theorem57_defaults_use_bema_and_estimate_theta():
    N = 600
    Ws, S, X, y = _example55_net(N, 2)
    res = theorem57_bound(Ws, None, 1, X, y)
    assert res.noise_var * N == pytest.approx(1.0, abs=0.1)
    assert res.threshold == pytest.approx(2.0, abs=0.1)
    assert res.rank == 4
    assert res.theta == pytest.approx(approximation_error(Ws[1], S, res.threshold), abs=0.15)
    assert res.pruned_accuracy >= res.bound


def _trained_abs_net(seed, N, epochs, n_samples=1500):
    from rmtheory.datasets import make_polynomial_boundary
    from rmtheory.nn import train

    d = make_polynomial_boundary(n_samples=n_samples, seed=seed)
    n_tr = 2 * n_samples // 3
    model = MLP([2, N, N, 2], activation="abs", final_activation=None, seed=seed, dtype=np.float64)
    train(model, (d.X[:n_tr], d.y[:n_tr]), None, epochs=epochs, lr=0.02, verbose=False, seed=seed)
    Ws = [layer.weight for layer in model.layers]
    bs = [layer.bias for layer in model.layers]
    return Ws, bs, d.X[n_tr:], d.y[n_tr:]


def _check_trained(seed, N, epochs):
    Ws, bs, X, y = _trained_abs_net(seed, N, epochs)
    res = theorem57_bound(Ws, bs, 1, X, y)
    assert res.pruned_accuracy >= res.bound
    assert res.pruned_accuracy >= res.samplewise_bound
    assert res.pruned_accuracy >= res.lemma51_samplewise_bound  # deterministic, always valid
    return res


def test_theorem57_on_a_trained_abs_net():
    _check_trained(0, 100, 8)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_theorem57_on_trained_abs_nets_many_seeds(seed):
    _check_trained(seed, 300, 30)
