"""Layers and model: parameter counting, factorised = dense, initialisations, seeding, gradients."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from rmtheory.nn import MLP, Layer, train

# ----- the reference network, written independently of rmtheory.nn.layers ----------------------------
ACT = {"relu": lambda z: np.maximum(z, 0), "abs": np.abs, "identity": lambda z: z}


def ref_forward(params, structure, X):
    """structure: per layer (n_factors, activation); params: flat list in layer.params() order."""
    a, i = X, 0
    for nf, act in structure:
        for W in params[i : i + nf]:
            a = a @ W.T
        a = ACT[act](a + params[i + nf])
        i += nf + 1
    return a


def ref_loss(params, structure, X, y, loss, l1, l2):
    out = ref_forward(params, structure, X)
    if loss == "cross_entropy":
        data = np.mean(logsumexp(out, axis=1) - out[np.arange(len(y)), y])
    else:
        data = np.mean((out - y) ** 2)
    return data + l1 * sum(np.abs(p).sum() for p in params) + l2 * sum((p**2).sum() for p in params)


def structure_of(model):
    return [(len(layer.factors), layer.activation) for layer in model.layers]


# ----- gradient check ---------------------------------------------------------------------------------
CASES = list(
    itertools.product(
        ["dense", "factorised"],
        ["relu", "abs", "identity"],
        [None, "relu"],
        ["cross_entropy", "mse"],
        [(0.0, 0.0), (0.01, 0.03)],
    )
)


@pytest.mark.parametrize(
    ("kind", "act", "final", "loss", "pen"),
    CASES,
    ids=[
        "-".join([k, a, f"final_{f}", lo, "penalty" if pe[0] else "plain"])
        for k, a, f, lo, pe in CASES
    ],
)
def test_gradient_matches_central_differences(kind, act, final, loss, pen):
    """One full-batch step with lr=1, momentum=0 moves θ by exactly -∇(loss + penalties)."""
    g = np.random.default_rng(7)
    model = MLP([3, 5, 4], act, final, init="pytorch", seed=1, dtype=np.float64)
    if kind == "factorised":
        model.layers[0].set_factors(g.standard_normal((2, 3)), g.standard_normal((5, 2)))
        model.layers[1].set_factors(g.standard_normal((3, 5)), g.standard_normal((4, 3)))
    X = g.standard_normal((6, 3))
    y = g.integers(0, 4, 6) if loss == "cross_entropy" else g.standard_normal((6, 4))
    before = [p.copy() for p in model.params()]
    train(model, (X, y), None, epochs=1, lr=1.0, momentum=0.0, batch_size=6, l1=pen[0],
          l2=pen[1], lr_decay=None, loss=loss, verbose=False)  # fmt: skip
    analytic = [b - a for b, a in zip(before, model.params(), strict=True)]
    st_ = structure_of(model)
    h = 1e-6
    for pi, p in enumerate(before):
        for idx in np.ndindex(p.shape):
            plus = [q.copy() for q in before]
            minus = [q.copy() for q in before]
            plus[pi][idx] += h
            minus[pi][idx] -= h
            num = ref_loss(plus, st_, X, y, loss, *pen) - ref_loss(minus, st_, X, y, loss, *pen)
            num /= 2 * h
            assert analytic[pi][idx] == pytest.approx(num, rel=1e-5, abs=1e-7), (pi, idx)


# ----- layer API --------------------------------------------------------------------------------------
def test_parameter_counts_dense_and_factorised():
    model = MLP([784, 1000, 10], seed=0)
    assert model.n_params() == 784 * 1000 + 1000 + 1000 * 10 + 10  # 795010
    layer = model.layers[0]
    assert (layer.shape, layer.rank, layer.is_factorised) == ((1000, 784), 784, False)
    k = 56
    layer.set_factors(np.ones((k, 784)), np.ones((1000, k)))
    assert layer.n_params() == k * (784 + 1000) + 1000
    assert model.n_params() == k * (784 + 1000) + 1000 + 1000 * 10 + 10
    assert (layer.shape, layer.rank, layer.is_factorised) == ((1000, 784), k, True)
    assert layer.W1.shape == (k, 784) and layer.W2.shape == (1000, k)


def test_n_nonzero_counts_biases_and_both_factors():
    layer = Layer([np.zeros((3, 4))], np.array([0.0, 1.0, 2.0]), "relu")
    assert layer.n_nonzero() == 2
    W1 = np.array([[1.0, 0, 0, 2]])
    W2 = np.array([[0.0], [3.0], [0.0]])
    layer.set_factors(W1, W2)
    assert layer.n_nonzero() == 2 + 1 + 2
    assert layer.n_params() == 1 * (4 + 3) + 3


def test_set_dense_and_factors_keep_bias_and_copy():
    b = np.array([0.5, -1.0], np.float32)
    layer = Layer([np.ones((2, 3), np.float32)], b, "identity")
    W1 = np.arange(3.0).reshape(1, 3)
    W2 = np.array([[1.0], [2.0]])
    layer.set_factors(W1, W2)
    W1[0, 0] = 99.0  # the layer holds its own copy
    np.testing.assert_array_equal(layer.bias, b)
    np.testing.assert_array_equal(layer.weight, [[0, 1, 2], [0, 2, 4]])
    assert layer.weight.dtype == np.float32 and layer.factors[0].dtype == np.float32
    layer.set_dense(np.zeros((2, 3)))
    assert not layer.is_factorised and layer.rank == 2
    np.testing.assert_array_equal(layer.bias, b)


def test_set_factors_rejects_wrong_shapes():
    layer = Layer([np.ones((2, 3))], np.zeros(2), "relu")
    with pytest.raises(ValueError, match="shape"):
        layer.set_dense(np.ones((3, 2)))
    with pytest.raises(ValueError, match="rows"):
        layer.set_factors(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="shape"):
        layer.set_factors(np.ones((1, 4)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="activation"):
        Layer([np.ones((2, 3))], np.zeros(2), "tanh")


@settings(max_examples=30, deadline=None)
@given(
    out=st.integers(1, 6),
    n_in=st.integers(1, 6),
    k=st.integers(0, 4),
    batch=st.integers(1, 5),
    act=st.sampled_from(["relu", "abs", "identity"]),
)
def test_factorised_forward_equals_dense_product(out, n_in, k, batch, act):
    g = np.random.default_rng(out * 100 + n_in * 10 + k)
    W1, W2, b = g.standard_normal((k, n_in)), g.standard_normal((out, k)), g.standard_normal(out)
    x = g.standard_normal((batch, n_in))
    fact = Layer([W1, W2], b, act)
    dense = Layer([W2 @ W1], b, act)
    np.testing.assert_allclose(fact.forward(x), dense.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fact.forward(x), ACT[act](x @ (W2 @ W1).T + b), atol=1e-12)


# ----- model construction -----------------------------------------------------------------------------
def test_same_seed_same_weights_and_dtype_agreement():
    a, b = MLP([20, 30, 5], seed=3), MLP([20, 30, 5], seed=3)
    for p, q in zip(a.params(), b.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    c = MLP([20, 30, 5], seed=4)
    assert not np.array_equal(a.params()[0], c.params()[0])
    d = MLP([20, 30, 5], seed=3, dtype=np.float64)
    assert d.params()[0].dtype == np.float64
    for p, q in zip(a.params(), d.params(), strict=True):
        np.testing.assert_array_equal(p, q.astype(np.float32))  # drawn in float64, then rounded


@pytest.mark.parametrize(
    ("init", "var"),
    [("normal", lambda i, o: 1 / i), ("he", lambda i, o: 2 / i), ("xavier", lambda i, o: 2 / (i + o)),
     ("pytorch", lambda i, o: 1 / (3 * i))],  # U(±1/√i) has variance 1/(3i)
)  # fmt: skip
def test_init_variances(init, var):
    n_in, n_out = 400, 300
    W = MLP([n_in, n_out], init=init, seed=0, dtype=np.float64).layers[0].factors[0]
    # sample variance of 120 000 draws: relative standard error ≈ sqrt(2/N) < 0.5 %
    assert W.var() == pytest.approx(var(n_in, n_out), rel=0.02)
    assert abs(W.mean()) < 4 * np.sqrt(var(n_in, n_out) / W.size)


def test_pytorch_init_bounds_and_biases():
    layer = MLP([100, 50], init="pytorch", seed=0, dtype=np.float64).layers[0]
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.factors[0]).max() <= bound and np.abs(layer.bias).max() <= bound
    assert np.abs(layer.bias).max() > 0.8 * bound  # biases are drawn too, unlike the other inits
    assert not MLP([100, 50], init="normal").layers[0].bias.any()


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
def test_sparse_init_zeroes_the_requested_fraction(sparsity):
    model = MLP([50, 40, 10], init="sparse", sparsity=sparsity, seed=0)
    for layer in model.layers:
        W = layer.factors[0]
        assert W.size - np.count_nonzero(W) == round(sparsity * W.size)
    default = MLP([50, 40], init="sparse", seed=0).layers[0].factors[0]
    assert np.count_nonzero(default) == default.size // 2


def test_final_activation_and_hidden_activation():
    model = MLP([4, 6, 6, 3], activation="abs", final_activation="relu")
    assert model.activations == ["abs", "abs", "relu"]
    assert MLP([4, 6, 3]).activations == ["relu", "identity"]
    out = model.predict(np.random.default_rng(0).standard_normal((50, 4)))
    assert out.min() >= 0 and out.shape == (50, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"sizes": [5]}, "sizes"), ({"sizes": [5, 0]}, "sizes"), ({"init": "orthogonal"}, "init"),
     ({"activation": "tanh"}, "activation"), ({"final_activation": "softmax"}, "final_activation"),
     ({"dtype": np.float16}, "dtype"), ({"sparsity": 1.0}, "sparsity")],
)  # fmt: skip
def test_mlp_rejects_bad_arguments(kwargs, match):
    kw = {"sizes": [5, 3], **kwargs}
    with pytest.raises(ValueError, match=match):
        MLP(**kw)


def test_predict_batches_and_validates():
    model = MLP([3, 7, 2], seed=0, dtype=np.float64)
    X = np.random.default_rng(1).standard_normal((2500, 3))
    st_ = structure_of(model)
    np.testing.assert_allclose(
        model.predict(X, batch_size=999), ref_forward(model.params(), st_, X)
    )
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        model.predict(np.ones((4, 2)))


def test_float32_end_to_end():
    """No silent float64 upcast: outputs, parameters, gradients and buffers stay float32."""
    g = np.random.default_rng(0)
    model = MLP([6, 8, 8, 3], activation="abs", final_activation="relu", seed=0)
    model.layers[1].set_factors(g.standard_normal((2, 8)), g.standard_normal((8, 2)))
    X, y = g.standard_normal((40, 6)), g.integers(0, 3, 40)  # float64 input is converted once
    train(model, (X, y), (X, y), epochs=1, batch_size=16, l1=1e-3, l2=1e-3, verbose=False)
    assert model.forward(X[:5].astype(np.float32)).dtype == np.float32
    arrays = model.params() + model.grads()
    arrays += [a for layer in model.layers for ws in layer._ws.values() for a in ws.values()]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


# ----- the fused passes: dense bit-identical, factorised = truncated product -------------------------
def _legacy_dense(W, b, act, x, dz):
    """The dense layer as plain NumPy passes, in the order the fused kernels must reproduce."""
    z = x @ W.T
    z += b
    if act == "relu":
        out = np.maximum(z, 0)
    elif act == "abs":
        out = np.abs(z)
    else:
        out = z
    dz = dz.copy()
    if act == "relu":
        dz *= out > 0
    elif act == "abs":
        dz *= np.sign(z)
    gb = np.sum(dz, axis=0)
    return out.copy(), dz.T @ x, gb, dz @ W


def _bits(a):
    return np.ascontiguousarray(a).tobytes()  # exact: tells -0 from +0 and NaN payloads apart


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ["relu", "abs", "identity"])
def test_dense_layer_is_bit_identical_to_numpy_passes(act, dtype):
    g = np.random.default_rng(7)
    out_dim, n_in, batch = 37, 53, 64
    W = g.standard_normal((out_dim, n_in)).astype(dtype)
    b = g.standard_normal(out_dim).astype(dtype)
    x = g.standard_normal((batch, n_in)).astype(dtype)
    x[:3] = 0  # pre-activation = the bias exactly: zeros and signed zeros reach the kernels
    b[:4] = [0.0, -0.0, 0.0, -0.0]
    x[5, 0], b[6] = np.nan, np.inf  # NaN and inf propagate as in NumPy
    dz = g.standard_normal((batch, out_dim)).astype(dtype)
    layer = Layer([W], b, act)
    with np.errstate(invalid="ignore"):
        ref = _legacy_dense(W, b, act, x, dz)
        out = layer.forward(x).copy()
        dx = np.empty_like(x)
        layer.backward(dz.copy(), dx)
    got = (out, layer.grads[0], layer.grads[1], dx)
    for name, r, o in zip(("output", "dW", "db", "dx"), ref, got, strict=True):
        assert o.dtype == dtype
        assert _bits(r) == _bits(o), f"{name} differs from the NumPy passes"


@pytest.mark.parametrize("k", [1, 3, 12])
@pytest.mark.parametrize("act", ["relu", "abs", "identity"])
def test_factorised_layer_equals_truncated_product(act, k):
    """Forward and all gradients of [W1, W2] match a dense layer holding W_k = U_k S_k V_kᵀ (the
    truncated SVD), with dW1 = W2ᵀ dW and dW2 = dW W1ᵀ by the chain rule; k = 1 takes the rank-1 path."""
    g = np.random.default_rng(k)
    out_dim, n_in, batch = 30, 41, 64
    W = g.standard_normal((out_dim, n_in))
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    W1, W2 = s[:k, None] * Vt[:k], U[:, :k]
    Wk = (U[:, :k] * s[:k]) @ Vt[:k]
    b = g.standard_normal(out_dim)
    x, dz = g.standard_normal((batch, n_in)), g.standard_normal((batch, out_dim))
    fact, dense = Layer([W1, W2], b, act), Layer([Wk], b, act)
    of, od = fact.forward(x).copy(), dense.forward(x).copy()
    dxf, dxd = np.empty_like(x), np.empty_like(x)
    fact.backward(dz.copy(), dxf)
    dense.backward(dz.copy(), dxd)
    np.testing.assert_allclose(of, od, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dxf, dxd, rtol=1e-11, atol=1e-11)
    gW = dense.grads[0]
    np.testing.assert_allclose(fact.grads[0], W2.T @ gW, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(fact.grads[1], gW @ W1.T, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(fact.grads[2], dense.grads[1], rtol=1e-12, atol=1e-12)
