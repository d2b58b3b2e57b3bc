"""Convolutional layers and the CNN: forward passes against independent NCHW references, gradients
against central differences, Algorithm 1 on conv kernels, sparsification counts, checkpoints and
resume, and a short training run."""

import json

import numpy as np
import pytest

from rmtheory.bema import BEMA
from rmtheory.datasets import make_tiny_classification
from rmtheory.lowrank import conv_to_matrix
from rmtheory.nn import (
    CNN,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    MaxPool2d,
    authors_cnn,
    evaluate,
    load_model,
    save_model,
    sparsify,
    sparsify_sweep,
    train,
)
from rmtheory.nn.conv import BatchLogSoftmax
from rmtheory.nn.pruners import EnergyPruner, MPPruner
from rmtheory.thresholds import keep_rank

H = 1e-6  # central-difference step (float64)
TOL = dict(rel=1e-5, abs=1e-7)  # the tolerances of the MLP gradient check (tests/test_nn_layers.py)


# ----- independent references, NCHW and PyTorch's weight layout ---------------------------------------
def ref_conv(x, K, b):
    """Valid cross-correlation, stride 1: x (N, C, H, W), K (O, C, kh, kw)."""
    _, _, h, w = x.shape
    kh, kw = K.shape[2:]
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((x.shape[0], K.shape[0], oh, ow))
    for a in range(kh):
        for c in range(kw):
            out += np.einsum("nchw,oc->nohw", x[:, :, a : a + oh, c : c + ow], K[:, :, a, c])
    return out + b[None, :, None, None]


def ref_pool(x):
    n, c, h, w = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def ref_bn(x, gamma, beta, eps=1e-5):
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(
        shape
    ) + beta.reshape(shape)


ACT = {"relu": lambda z: np.maximum(z, 0), "abs": np.abs, "identity": lambda z: z}


def ref_forward(model, params, X, masks=None):
    """The network in NCHW from a flat parameter list (model.params() order), training-mode batch norm."""
    x, i = X, 0
    for li, layer in enumerate(model.layers):
        if isinstance(layer, Conv2d):
            nf = len(layer.factors)
            Ws, b = params[i : i + nf], params[i + nf]
            C, (kh, kw) = layer.in_channels, layer.kernel_size
            if nf == 1:
                x = ref_conv(x, Ws[0].reshape(-1, C, kh, kw), b)
            else:
                h = ref_conv(x, Ws[0].reshape(-1, C, kh, kw), np.zeros(Ws[0].shape[0]))
                x = ref_conv(h, Ws[1].reshape(Ws[1].shape[0], -1, 1, 1), b)
            x = ACT[layer.activation](x)
            i += nf + 1
        elif isinstance(layer, Layer):
            nf = len(layer.factors)
            for W in params[i : i + nf]:
                x = x @ W.T
            x = ACT[layer.activation](x + params[i + nf])
            i += nf + 1
        elif isinstance(layer, BatchNorm):
            x = ACT[layer.activation](ref_bn(x, params[i], params[i + 1]))
            i += 2
        elif isinstance(layer, MaxPool2d):
            x = ref_pool(x)
        elif isinstance(layer, Flatten):
            x = x.reshape(len(x), -1)
        elif isinstance(layer, Dropout):
            if masks is not None and li in masks:
                x = x * masks[li]
    return x


def ref_loss(model, params, X, y, l1=0.0, l2=0.0, masks=None):
    out = ref_forward(model, params, X, masks)
    z = out - out.max(axis=1, keepdims=True)
    nll = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
    return (
        nll.mean()
        + l1 * sum(np.abs(p).sum() for p in params)
        + l2 * sum((p**2).sum() for p in params)
    )


def nhwc(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def nchw(x):
    return x.transpose(0, 3, 1, 2)


def numeric_grad(f, p, idx):
    old = p[idx]
    p[idx] = old + H
    plus = f()
    p[idx] = old - H
    minus = f()
    p[idx] = old
    return (plus - minus) / (2 * H)


def sample_indices(shape, n, g):
    """Up to n entries of an array of this shape (all of them for small arrays)."""
    all_idx = list(np.ndindex(shape))
    if len(all_idx) <= n:
        return all_idx
    return [all_idx[k] for k in g.choice(len(all_idx), n, replace=False)]


# ----- single layers: forward vs reference, backward vs central differences ---------------------------
@pytest.mark.parametrize("act", ["relu", "abs", "identity"])
@pytest.mark.parametrize("structure", ["dense", "factorised"])
@pytest.mark.parametrize("c_in", [1, 3])
def test_conv_forward_and_gradients(act, structure, c_in):
    g = np.random.default_rng(c_in)
    O, kh, kw, k = 5, 3, 2, 2  # a non-square kernel catches a swapped axis
    x = g.standard_normal((2, c_in, 6, 5))
    b = g.standard_normal(O)
    if structure == "dense":
        factors = [g.standard_normal((O, c_in, kh, kw))]
        K = factors[0]
    else:
        factors = [g.standard_normal((k, c_in, kh, kw)), g.standard_normal((O, k, 1, 1))]
        K = np.einsum("ok,kchw->ochw", factors[1][:, :, 0, 0], factors[0])
    conv = Conv2d(factors, b, act)
    ref = ACT[act](ref_conv(x, K, b))
    out = conv.forward(nhwc(x))
    np.testing.assert_allclose(nchw(out), ref, rtol=1e-12, atol=1e-12)
    # the matrix view is lowrank.conv_to_matrix's
    np.testing.assert_allclose(conv.weight, conv_to_matrix(K), atol=1e-12)
    R = g.standard_normal(ref.shape)  # loss = sum(R * output)
    dx = np.empty(nhwc(x).shape)
    conv.backward(nhwc(R), dx)
    mats = [f.reshape(f.shape[0], -1) for f in factors]

    def loss():
        KK = mats[0].reshape(-1, c_in, kh, kw)
        if len(mats) == 2:
            KK = np.einsum("ok,kchw->ochw", mats[1], KK)
        return float(np.sum(R * ACT[act](ref_conv(x, KK, b))))

    for p, grad in [*zip(mats, conv.grads[:-1], strict=True), (b, conv.grads[-1])]:
        for idx in np.ndindex(p.shape):
            assert grad[idx] == pytest.approx(numeric_grad(loss, p, idx), **TOL), idx
    for idx in np.ndindex(x.shape):
        n, c, i, j = idx
        assert dx[n, i, j, c] == pytest.approx(numeric_grad(loss, x, idx), **TOL), idx


def test_maxpool_forward_ties_and_gradient():
    g = np.random.default_rng(0)
    x = g.permutation(2 * 3 * 7 * 5).reshape(2, 3, 7, 5).astype(np.float64)  # distinct: no kinks
    pool = MaxPool2d()
    out = pool.forward(nhwc(x))
    np.testing.assert_array_equal(nchw(out), ref_pool(x))  # floor mode: the 7th row is dropped
    R = g.standard_normal(out.shape)
    dx = np.empty(nhwc(x).shape)
    pool.backward(R.copy(), dx)
    for idx in np.ndindex(x.shape):
        n, c, i, j = idx
        num = numeric_grad(lambda: float(np.sum(R * nhwc(ref_pool(x)))), x, idx)
        assert dx[n, i, j, c] == pytest.approx(num, **TOL)
    # ties: the first maximum in row-major order gets the gradient (as torch's CPU kernel)
    t = np.ones((1, 2, 2, 1))
    pool.forward(t)
    dt = np.empty_like(t)
    pool.backward(np.ones((1, 1, 1, 1)), dt)
    assert dt.ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("act", ["identity", "relu"])
@pytest.mark.parametrize("ndim", [2, 4])
def test_batchnorm_training_gradients_and_running_statistics(act, ndim):
    g = np.random.default_rng(ndim)
    shape = (6, 3, 4, 2) if ndim == 4 else (7, 3)  # NCHW / (N, C)
    x = g.standard_normal(shape) * 2 + 1
    bn = BatchNorm(3, activation=act, dtype=np.float64)
    bn.gamma[:] = g.uniform(0.5, 2, 3)
    bn.beta[:] = g.standard_normal(3)
    gamma, beta = bn.gamma.copy(), bn.beta.copy()
    inp = nhwc(x) if ndim == 4 else x.copy()
    out = bn.forward(inp)
    ref = ACT[act](ref_bn(x, gamma, beta))
    np.testing.assert_allclose(nchw(out) if ndim == 4 else out, ref, atol=1e-12)
    # running statistics: PyTorch's rule (momentum 0.1, unbiased variance)
    axes = (0, 2, 3) if ndim == 4 else (0,)
    m = x.size // 3
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(
        bn.running_var, 0.9 + 0.1 * x.var(axis=axes) * m / (m - 1), rtol=1e-12
    )
    R = g.standard_normal(ref.shape)
    dx = np.empty(inp.shape)
    bn.backward((nhwc(R) if ndim == 4 else R.copy()), dx)
    dxx = nchw(dx) if ndim == 4 else dx

    def loss():
        return float(np.sum(R * ACT[act](ref_bn(x, gamma, beta))))

    for p, grad in ((gamma, bn.grads[0]), (beta, bn.grads[1])):
        for idx in np.ndindex(p.shape):
            assert grad[idx] == pytest.approx(numeric_grad(loss, p, idx), **TOL)
    for idx in np.ndindex(x.shape):
        assert dxx[idx] == pytest.approx(numeric_grad(loss, x, idx), **TOL)
    # evaluation mode uses the running statistics
    bn.training = False
    ev = bn.forward(inp)
    shp = (1, -1, 1, 1) if ndim == 4 else (1, -1)
    expect = (x - bn.running_mean.reshape(shp)) / np.sqrt(bn.running_var.reshape(shp) + 1e-5)
    expect = ACT[act](expect * gamma.reshape(shp) + beta.reshape(shp))
    np.testing.assert_allclose(nchw(ev) if ndim == 4 else ev, expect, atol=1e-12)


def test_dropout_masks_scale_gradient_and_modes():
    x = np.random.default_rng(0).standard_normal((64, 5, 5, 8))
    d = Dropout(0.35, seed=3)
    out = d.forward(x).copy()  # the layer reuses its output buffer
    mask = out / x
    kept = np.isclose(mask, 1 / 0.65)
    assert np.all(kept | (mask == 0))
    assert abs(1 - kept.mean() - 0.35) < 0.01  # 12 800 draws: std of the fraction ≈ 0.004
    dz = np.random.default_rng(1).standard_normal(x.shape)
    dx = np.empty_like(x)
    d.backward(dz, dx)
    np.testing.assert_array_equal(dx, dz * np.where(kept, 1 / 0.65, 0.0))  # ∂(x·m)/∂x = m
    # same seed, same masks; a new draw each call
    again = Dropout(0.35, seed=3).forward(x)
    np.testing.assert_array_equal(again, out)
    assert not np.array_equal(d.forward(x), out)
    d.training = False
    assert d.forward(x) is x
    d.always = True  # the authors' F.dropout without training=self.training
    assert not np.array_equal(d.forward(x), x)
    with pytest.raises(ValueError, match="p must"):
        Dropout(1.0)


def test_batch_log_softmax_is_the_authors_dim0_log_softmax():
    g = np.random.default_rng(0)
    x = g.standard_normal((5, 3))
    layer = BatchLogSoftmax(group=3)
    out = layer.forward(x)
    for s in (0, 3):  # groups of 3 rows, then 2
        blk = x[s : s + 3]
        np.testing.assert_allclose(
            out[s : s + 3], blk - np.log(np.exp(blk).sum(axis=0)), atol=1e-12
        )
    R = g.standard_normal(x.shape)
    dx = np.empty_like(x)
    layer.backward(R.copy(), dx)

    def loss():
        return float(np.sum(R * BatchLogSoftmax(group=3).forward(x)))

    for idx in np.ndindex(x.shape):
        assert dx[idx] == pytest.approx(numeric_grad(loss, x, idx), **TOL)


# ----- the whole network ------------------------------------------------------------------------------
def small_cnn(seed=0, dropout=0.0, dtype=np.float64, c_in=1, **kw):
    return authors_cnn(channels=(c_in, 3, 4, 4), fc=(6, 4), input_shape=(c_in, 9, 8), seed=seed,
                       conv_dropout=dropout, fc_dropout=dropout, dtype=dtype, **kw)  # fmt: skip


@pytest.mark.parametrize("c_in", [1, 2])
@pytest.mark.parametrize("factorised", [False, True])
@pytest.mark.parametrize("pen", [(0.0, 0.0), (0.01, 0.03)])
def test_network_gradient_matches_central_differences(c_in, factorised, pen):
    """One full-batch step with lr=1, momentum=0 moves θ by exactly -∇(loss + penalties)."""
    g = np.random.default_rng(5)
    model = small_cnn(seed=1, c_in=c_in)
    if factorised:
        conv = model.layers[3]  # the second convolution, 3 -> 4 channels
        conv.set_factors(g.standard_normal((2, 3 * 9)) * 0.3, g.standard_normal((4, 2)))
        model.layers[-1].set_factors(g.standard_normal((2, 6)), g.standard_normal((4, 2)))
    X = g.standard_normal((7, c_in, 9, 8))
    y = g.integers(0, 4, 7)
    before = [p.copy() for p in model.params()]
    train(model, (X, y), None, epochs=1, lr=1.0, momentum=0.0, batch_size=7, l1=pen[0], l2=pen[1],
          lr_decay=None, verbose=False)  # fmt: skip
    analytic = [b - a for b, a in zip(before, model.params(), strict=True)]
    params = [p.copy() for p in before]
    for pi, p in enumerate(params):
        for idx in sample_indices(p.shape, 12, g):
            num = numeric_grad(lambda: ref_loss(model, params, X, y, *pen), p, idx)
            assert analytic[pi][idx] == pytest.approx(num, **TOL), (pi, idx)


def test_network_gradient_with_dropout_on():
    """Dropout active: the analytic gradient is that of the network with the drawn masks fixed."""
    g = np.random.default_rng(2)
    model = small_cnn(seed=4, dropout=0.3)
    X, y = g.standard_normal((6, 1, 9, 8)), g.integers(0, 4, 6)
    drops = {i: layer for i, layer in enumerate(model.layers) if isinstance(layer, Dropout)}
    states = {i: layer.gen.bit_generator.state for i, layer in drops.items()}
    out = model.forward(X)
    masks = {}
    for i, layer in drops.items():  # recover the masks by replaying the streams
        layer.gen.bit_generator.state = states[i]
    model.forward(X)
    for i, layer in drops.items():
        m = layer._cur["mask"]
        masks[i] = nchw(m) if m.ndim == 4 else m.copy()
    params = [p.copy() for p in model.params()]
    np.testing.assert_allclose(out, ref_forward(model, params, X, masks), atol=1e-12)
    for i, layer in drops.items():
        layer.gen.bit_generator.state = states[i]
    before = [p.copy() for p in model.params()]
    train(model, (X, y), None, epochs=1, lr=1.0, momentum=0.0, batch_size=6, lr_decay=None,
          verbose=False, seed=0)  # fmt: skip
    # train() draws the same masks only if nothing else consumed the streams: it shuffles with its
    # own generator, so the first batch (all 6 rows, permuted) sees masks drawn from `states`
    perm = np.random.default_rng(0).permutation(6)
    analytic = [b - a for b, a in zip(before, model.params(), strict=True)]
    for pi, p in enumerate(params):
        for idx in sample_indices(p.shape, 8, g):
            num = numeric_grad(
                lambda: ref_loss(model, params, X[perm], y[perm], masks=masks), p, idx
            )
            assert analytic[pi][idx] == pytest.approx(num, **TOL), (pi, idx)


def test_authors_architecture_shapes_and_parameter_count():
    net = authors_cnn(seed=0)
    assert net.sizes == [4608, 1000, 10] and net.input_shape == (1, 28, 28)
    convs = [la for la in net.layers if isinstance(la, Conv2d)]
    assert [c.kernel_shape for c in convs] == [(32, 1, 3, 3), (64, 32, 3, 3), (128, 64, 3, 3),
                                               (256, 128, 3, 3), (512, 256, 3, 3)]  # fmt: skip
    kinds = [type(la).__name__ for la in net.layers]
    assert kinds.count("MaxPool2d") == 2 and kinds.count("Dropout") == 6
    # pooling after the 3rd and 5th convolutions (k = 2, 4; 0-based, k even and k != 0)
    assert kinds[:9] == ["Conv2d", "BatchNorm", "Dropout", "Conv2d", "BatchNorm", "Dropout", "Conv2d",
                         "BatchNorm", "MaxPool2d"]  # fmt: skip
    conv_params = sum(c.n_params() for c in convs)
    bn_params = 2 * (32 + 64 + 128 + 256 + 512 + 1000)
    fc_params = 4608 * 1000 + 1000 + 1000 * 10 + 10
    assert conv_params == 1_568_000
    assert net.n_params() == conv_params + bn_params + fc_params == 6_190_994
    # the flattened width does not depend on the head: a narrow one keeps these builds cheap
    paper = authors_cnn(channels=(1, 64, 128, 256, 512), fc=(2, 10), seed=0)
    assert paper.sizes == [41472, 2, 10]
    cifar = authors_cnn(input_shape=(3, 32, 32), channels=(3, 32, 64, 128, 256, 512), fc=(2, 10))
    assert cifar.sizes == [8192, 2, 10]


def test_initialisation_follows_pytorch_conv_and_the_authors_linear():
    net = authors_cnn(
        channels=(1, 64, 128), fc=(500, 10), input_shape=(1, 10, 10), seed=0, dtype=np.float64
    )
    conv = net.layers[3]
    bound = 1 / np.sqrt(64 * 9)
    K = conv.factors[0]
    assert np.abs(K).max() <= bound and K.var() == pytest.approx(bound**2 / 3, rel=0.03)
    assert np.abs(conv.bias).max() <= bound and conv.bias.any()
    fc0 = next(la for la in net.layers if type(la) is Layer)
    assert fc0.factors[0].var() == pytest.approx(1 / fc0.shape[1], rel=0.03) and not fc0.bias.any()
    same = authors_cnn(
        channels=(1, 64, 128), fc=(500, 10), input_shape=(1, 10, 10), seed=0, dtype=np.float64
    )
    for p, q in zip(net.params(), same.params(), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("torch") is None, reason="torch not installed"
)
def test_forward_matches_pytorch_in_train_and_eval_mode():
    import torch
    import torch.nn.functional as F

    net = small_cnn(seed=3, c_in=2)
    X = np.random.default_rng(0).standard_normal((5, 2, 9, 8))
    convs = [la for la in net.layers if isinstance(la, Conv2d)]
    bns = [la for la in net.layers if isinstance(la, BatchNorm)]
    dense = [la for la in net.layers if type(la) is Layer]

    def torch_forward(training):
        x = torch.from_numpy(X)
        for k, (c, bn) in enumerate(zip(convs, bns, strict=False)):
            x = F.relu(F.conv2d(x, torch.from_numpy(c.kernel), torch.from_numpy(c.bias)))
            x = F.batch_norm(x, torch.from_numpy(bn.running_mean.copy()),
                             torch.from_numpy(bn.running_var.copy()), torch.from_numpy(bn.gamma),
                             torch.from_numpy(bn.beta), training=training)  # fmt: skip
            if k % 2 == 0 and k != 0:
                x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = x @ torch.from_numpy(dense[0].weight).T + torch.from_numpy(dense[0].bias)
        bn = bns[-1]
        x = F.relu(F.batch_norm(x, None, None, torch.from_numpy(bn.gamma), torch.from_numpy(bn.beta),
                                training=True) if training else F.batch_norm(
            x, torch.from_numpy(bn.running_mean.copy()), torch.from_numpy(bn.running_var.copy()),
            torch.from_numpy(bn.gamma), torch.from_numpy(bn.beta), training=False))  # fmt: skip
        return (x @ torch.from_numpy(dense[1].weight).T + torch.from_numpy(dense[1].bias)).numpy()

    expect_train = torch_forward(True)
    np.testing.assert_allclose(net.forward(X), expect_train, atol=1e-10)
    net.training = False
    np.testing.assert_allclose(net.forward(X), torch_forward(False), atol=1e-10)


# ----- Algorithm 1 on conv kernels --------------------------------------------------------------------
def spiked_cnn(seed=0, rank=3, **kw):
    """A CNN whose second convolution (64 × 32·3·3) is noise plus a rank-`rank` signal."""
    net = authors_cnn(channels=(1, 32, 64), fc=(40, 10), input_shape=(1, 10, 10), seed=seed,
                      dtype=np.float64, **kw)  # fmt: skip
    g = np.random.default_rng(seed)
    conv = net.layers[3]
    out, inp = conv.shape
    U = np.linalg.qr(g.normal(size=(out, rank)))[0]
    V = np.linalg.qr(g.normal(size=(inp, rank)))[0]
    conv.set_dense(g.normal(size=(out, inp)) / np.sqrt(inp) + (U * np.linspace(3, 6, rank)) @ V.T)
    return net, conv


def test_pruner_splits_a_conv_kernel_into_k_filters_and_a_1x1_conv():
    net, conv = spiked_cnn()
    W = conv.weight
    x = nhwc(np.random.default_rng(1).standard_normal((2, 32, 6, 6)))
    events = MPPruner(keep_fraction=0.0, gof_cutoff={"conv": 1.0, "dense": 1.0}).prune(net, 7, 10)
    ev = next(e for e in events if e["layer"] == 3)
    n_above = BEMA().fit(W).n_spikes_
    assert n_above == 3 and ev["action"] == "split" and ev["kind"] == "conv"
    k = keep_rank(n_above, 64, 0.0)
    assert conv.rank == k == ev["rank_after"] and conv.is_factorised
    assert conv.n_params() == k * (64 + 32 * 9) + 64 == ev["params_after"]
    assert conv.factors[0].shape == (k, 288) and conv.factors[1].shape == (64, k)
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    np.testing.assert_allclose(conv.weight, (U[:, :k] * s[:k]) @ Vt[:k], atol=1e-10)
    # the split computes the convolution of the truncated kernel: k filters, then a 1×1 convolution
    dense = Conv2d([conv.kernel], conv.bias, "relu")
    np.testing.assert_allclose(conv.forward(x), dense.forward(x), atol=1e-10)
    # only matrix layers get events: 2 convolutions and 2 dense layers, not BN / pool / dropout
    assert sorted(e["layer"] for e in events) == net.matrix_layers


def test_pruner_truncates_a_conv_kernel_in_place_when_the_split_saves_nothing():
    net, conv = spiked_cnn()
    f = 0.9  # k = 3 + floor(0.9·61) = 57 >= 64·288 / (64 + 288) = 52.4: no saving
    events = MPPruner(keep_fraction=f).prune(net, 7, 10)
    ev = next(e for e in events if e["layer"] == 3)
    assert ev["action"] == "truncate" and not conv.is_factorised
    assert np.linalg.matrix_rank(conv.weight, tol=1e-8) == keep_rank(3, 64, f) == ev["rank_after"]
    assert conv.n_params() == ev["params_before"] == ev["params_after"] == 64 * 288 + 64


def test_separate_gof_cutoffs_for_conv_and_dense_layers():
    net, conv = spiked_cnn()
    events = MPPruner(keep_fraction=0.0, gof_cutoff={"conv": 0.0, "dense": 1.0}).prune(net, 7, 10)
    by_layer = {e["layer"]: e for e in events}
    assert by_layer[3]["action"] == "skip" and "cutoff 0.0" in by_layer[3]["reason"]
    assert by_layer[3]["gof_cutoff"] == 0.0 and not conv.is_factorised
    with pytest.raises(ValueError, match="no entry for layer kind 'dense'"):
        MPPruner(gof_cutoff={"conv": 0.6}).prune(net, 7, 10)
    for bad in ({}, {"conv": -1}, {"conv": "x"}, {1: 0.5}):
        with pytest.raises(ValueError, match="gof_cutoff"):
            MPPruner(gof_cutoff=bad)
    assert MPPruner(gof_cutoff=0.5).cutoff_for(conv) == 0.5  # the float form is unchanged


def test_pruned_cnn_keeps_training_and_the_output_layer_is_protected():
    net, _ = spiked_cnn(paper_bugs=True)  # ends in a BatchLogSoftmax, after the output layer
    out = net.layers[net.matrix_layers[-1]]
    assert out is not net.layers[-1]
    EnergyPruner(energy=0.05, keep_fraction=0.0).prune(net, 7, n_classes=10)
    assert out.rank == 10  # the last matrix layer, though not the last layer in the list
    assert net.layers[3].is_factorised


# ----- sparsification ---------------------------------------------------------------------------------
def test_sparsify_counts_and_zeroes_conv_kernels_but_not_batch_norm_or_biases():
    net, conv = spiked_cnn()
    MPPruner(keep_fraction=0.0).prune(net, 7, 10)  # one factorised convolution
    bn = [la for la in net.layers if isinstance(la, BatchNorm)]
    for la in bn:
        la.gamma[:] = 1e-3  # below the threshold, yet kept: not a weight
    frozen = [p.copy() for la in net.layers for p in la.params()[len(getattr(la, "factors", [])) :]]
    before = net.n_nonzero()
    zeroed = sparsify(net, 0.05)
    assert net.n_nonzero() == before - zeroed and zeroed > 0
    after = [p for la in net.layers for p in la.params()[len(getattr(la, "factors", [])) :]]
    for a, b in zip(frozen, after, strict=True):
        np.testing.assert_array_equal(a, b)
    for f in conv.factors:  # both factors of the split convolution
        assert np.all((f == 0) | (np.abs(f) > 0.05))
    counted = sum(int(np.count_nonzero(p)) for p in net.params())
    assert net.n_nonzero() == counted


def test_sparsify_sweep_on_a_cnn_does_not_touch_the_model():
    data = make_tiny_classification(n_train=40, n_test=30, n_features=100, seed=0)
    net = authors_cnn(channels=(1, 4, 4), fc=(8, 10), input_shape=(1, 10, 10), seed=0)
    before = [p.copy() for p in net.params()]
    sweep = sparsify_sweep(net, (data.x_test, data.y_test), [10.0, 0.0])
    assert sweep[1][0] == net.n_nonzero() and sweep[0][0] < sweep[1][0]
    for p, q in zip(before, net.params(), strict=True):
        np.testing.assert_array_equal(p, q)


# ----- trainer integration ----------------------------------------------------------------------------
def tiny_images(n_train=300, n_test=100, side=10, seed=0, noise=0.8):
    d = make_tiny_classification(n_train=n_train, n_test=n_test, n_features=side * side, seed=seed,
                                 noise=noise)  # fmt: skip
    shape = (-1, 1, side, side)
    return (d.x_train.reshape(shape), d.y_train), (d.x_test.reshape(shape), d.y_test)


def test_training_learns_and_accepts_flat_or_image_input():
    train_data, test_data = tiny_images(n_train=500, noise=0.3)
    net = authors_cnn(channels=(1, 8, 8), fc=(32, 10), input_shape=(1, 10, 10), seed=0)
    h = train(net, train_data, test_data, epochs=3, lr=0.05, batch_size=32, verbose=False)
    assert h.test_accuracy[-1] > 0.8 and h.train_loss[-1] < h.train_loss[0]
    flat = (test_data[0].reshape(len(test_data[0]), -1), test_data[1])
    assert evaluate(net, flat) == evaluate(net, test_data)
    assert net.training  # back in training mode after the evaluation pass
    with pytest.raises(ValueError, match=r"\(n >= 1, 1, 10, 10\)"):
        train(net, (np.ones((4, 1, 9, 10)), np.zeros(4, int)), None, epochs=1, verbose=False)


def test_evaluation_is_deterministic_and_chunked_like_a_single_pass():
    _, (X, y) = tiny_images(n_test=300)
    net = authors_cnn(channels=(1, 4, 4), fc=(8, 10), input_shape=(1, 10, 10), seed=0, eval_chunk=64,
                      dtype=np.float64)  # fmt: skip
    net.training = False
    one = net.predict(X, batch_size=300)
    np.testing.assert_allclose(net.forward(X), one, atol=1e-12)  # 64-image chunks
    np.testing.assert_array_equal(net.predict(X), net.predict(X))


def test_paper_bugs_switch():
    net = authors_cnn(
        channels=(1, 4, 4), fc=(8, 10), input_shape=(1, 10, 10), seed=0, paper_bugs=True
    )
    assert net.loss == "nll" and isinstance(net.layers[-1], BatchLogSoftmax)
    assert all(la.always for la in net.layers if isinstance(la, Dropout))
    _, (X, _) = tiny_images(n_test=20)
    out = net.predict(X)
    np.testing.assert_allclose(np.exp(out).sum(axis=0), 1, rtol=1e-5)  # softmax over the batch
    assert not np.array_equal(out, net.predict(X))  # dropout at test time
    train_data, test_data = tiny_images(n_train=64, n_test=20)
    h = train(net, train_data, test_data, epochs=1, batch_size=32, loss=net.loss, verbose=False)
    assert np.isfinite(h.train_loss[0])


def test_checkpoint_resume_is_bit_identical_with_conv_splits(tmp_path):
    train_data, test_data = tiny_images(n_train=200, n_test=50)

    def run(epochs, ckpt=None, resume=False):
        net = authors_cnn(channels=(1, 6, 8), fc=(16, 10), input_shape=(1, 10, 10), seed=2)
        pruner = EnergyPruner(every=2, energy=0.6, keep_fraction=0.0)
        h = train(net, train_data, test_data, epochs, lr=0.05, batch_size=32, pruner=pruner,
                  checkpoint=ckpt, resume=resume, seed=1, verbose=False)  # fmt: skip
        return net, h

    full, h_full = run(4)
    assert any(e["action"] == "split" and e.get("kind") == "conv" for e in h_full.events)
    path = tmp_path / "cnn.npz"
    run(3, path)  # "interrupted" after 3 epochs (one pruning pass done, one to come)
    resumed, h_res = run(4, path, resume=True)
    same = [json.dumps(h.to_dict() | {"epoch_time": 0}) for h in (h_res, h_full)]  # nan == nan
    assert same[0] == same[1]
    for p, q in zip(full.params(), resumed.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    for a, b in zip(full.layers, resumed.layers, strict=True):
        assert repr(a) == repr(b)
        if isinstance(a, BatchNorm):
            np.testing.assert_array_equal(a.running_mean, b.running_mean)
            np.testing.assert_array_equal(a.running_var, b.running_var)
        if isinstance(a, Dropout):
            assert a.gen.bit_generator.state == b.gen.bit_generator.state


def test_save_and_load_model_round_trip(tmp_path):
    net, _ = spiked_cnn()
    MPPruner(keep_fraction=0.0).prune(net, 7, 10)
    train_data, _ = tiny_images(n_train=64)
    X = np.random.default_rng(0).standard_normal((4, 1, 10, 10))
    net.forward(X)  # move the running statistics off their initial values
    save_model(tmp_path / "m.npz", net)
    back = load_model(tmp_path / "m.npz")
    assert isinstance(back, CNN) and repr(back) == repr(net)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    meta = json.loads(str(np.load(tmp_path / "m.npz")["meta"]))
    assert meta["format"] == "rmtheory.nn.cnn/1"
    other = authors_cnn(channels=(1, 8, 64), fc=(40, 10), input_shape=(1, 10, 10))
    with pytest.raises(ValueError, match="checkpoint is for the network"):
        other.load_checkpoint_arrays(np.load(tmp_path / "m.npz"), meta)


def test_float32_end_to_end():
    train_data, _ = tiny_images(n_train=64)
    net = authors_cnn(channels=(1, 4, 4), fc=(8, 10), input_shape=(1, 10, 10), seed=0)
    net.layers[3].set_factors(np.ones((2, 36)), np.ones((4, 2)))
    train(net, train_data, None, epochs=1, batch_size=32, l1=1e-4, l2=1e-4, verbose=False)
    arrays = net.params() + net.grads()
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert net.predict(train_data[0][:3]).dtype == np.float32
