"""Training loop: the momentum rule, learning, the pruner protocol, checkpoints, errors, PyTorch parity."""

import json
import math

import numpy as np
import pytest

from rmtheory.nn import MLP, History, TrainingDiverged, evaluate, sgd_step, train
from rmtheory.nn.train import _sync_momentum


def blobs(n=256, d=4, classes=3, seed=0):
    g = np.random.default_rng(seed)
    centres = 3 * g.standard_normal((classes, d))
    y = g.integers(0, classes, n)
    return (centres[y] + g.standard_normal((n, d))).astype(np.float32), y


# ----- the optimiser ----------------------------------------------------------------------------------
def test_momentum_rule_matches_hand_computed_pytorch_sequence():
    """buf_1 = g_1; buf_t = μ buf_{t-1} + g_t; θ_t = θ_{t-1} − lr buf_t (torch.optim.SGD docs)."""
    lr, mu, l1, l2 = 0.1, 0.9, 0.01, 0.02
    theta = np.array([1.0, -2.0, 0.0, 0.5])
    grads = [np.array([0.3, 0.1, -0.2, 0.0]), np.array([-0.1, 0.4, 0.2, 1.0]), np.array([0.0] * 4)]
    p, buf = theta.copy(), np.zeros(4)
    # by hand, with g_total = g + l1·sign θ + 2·l2·θ evaluated at the current θ:
    t0 = theta
    b1 = grads[0] + l1 * np.sign(t0) + 2 * l2 * t0
    t1 = t0 - lr * b1
    b2 = mu * b1 + grads[1] + l1 * np.sign(t1) + 2 * l2 * t1
    t2 = t1 - lr * b2
    b3 = mu * b2 + grads[2] + l1 * np.sign(t2) + 2 * l2 * t2
    t3 = t2 - lr * b3
    expected_pen = [l1 * np.abs(t).sum() + l2 * (t**2).sum() for t in (t0, t1, t2)]
    for g, want_t, want_b, want_pen in zip(
        grads, (t1, t2, t3), (b1, b2, b3), expected_pen, strict=True
    ):
        pen = sgd_step([p], [g.copy()], [buf], lr, mu, l1, l2)
        np.testing.assert_allclose(p, want_t, rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(buf, want_b, rtol=1e-15, atol=1e-15)
        assert pen == pytest.approx(want_pen, rel=1e-14)


def test_float32_step_stays_float32():
    p = np.ones(3, np.float32)
    sgd_step([p], [np.ones(3, np.float32)], [np.zeros(3, np.float32)], 0.1, 0.9, 1e-3, 1e-3)
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p, np.float32(1) - np.float32(0.1) * (np.float32(1) +
                                  np.float32(1e-3) + np.float32(2e-3)))  # fmt: skip


def test_full_batch_training_equals_hand_written_momentum_gd_with_lr_decay():
    """A linear model with MSE: three epochs of one full batch each vs momentum GD written out."""
    g = np.random.default_rng(0)
    X, Y = g.standard_normal((40, 3)), g.standard_normal((40, 2))
    model = MLP([3, 2], final_activation=None, seed=0, dtype=np.float64)
    W, b = model.layers[0].factors[0].copy(), model.layers[0].bias.copy()
    lr, mu, decay, l2 = 0.05, 0.9, 0.5, 0.01
    h = train(model, (X, Y), (X, Y), epochs=3, lr=lr, momentum=mu, batch_size=40, l2=l2,
              lr_decay=decay, loss="mse", verbose=False)  # fmt: skip
    bW, bb = np.zeros_like(W), np.zeros_like(b)
    losses = []
    for e in range(3):
        R = X @ W.T + b - Y
        losses.append(np.mean(R**2) + l2 * ((W**2).sum() + (b**2).sum()))
        gW = 2 * R.T @ X / R.size + 2 * l2 * W
        gb = 2 * R.sum(0) / R.size + 2 * l2 * b
        bW, bb = mu * bW + gW, mu * bb + gb
        W, b = W - lr * decay**e * bW, b - lr * decay**e * bb
    np.testing.assert_allclose(model.layers[0].factors[0], W, rtol=1e-12)
    np.testing.assert_allclose(model.layers[0].bias, b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h.train_loss, losses, rtol=1e-12)
    assert h.lr == pytest.approx([lr, lr * decay, lr * decay**2])
    assert h.test_loss[-1] == pytest.approx(np.mean((X @ W.T + b - Y) ** 2), rel=1e-12)
    assert all(math.isnan(a) for a in h.train_accuracy + h.test_accuracy)


# ----- learning ---------------------------------------------------------------------------------------
def polynomial_boundary():
    try:
        from rmtheory.datasets.synthetic import make_polynomial_boundary
    except ImportError:  # pragma: no cover - the datasets module is developed in parallel
        g = np.random.default_rng(0)
        x = g.uniform(-1, 1, 2000)
        lab = g.integers(0, 2, 2000)
        yc = (
            np.polyval([0.6, 0.1, -0.1, 0.1], x)
            + (2 * lab - 1) * 0.1
            + 0.05 * g.standard_normal(2000)
        )
        return np.column_stack([x, yc]), lab
    X, y = make_polynomial_boundary(n_samples=2000, degree=3, offset=0.1, noise=0.05, seed=0)[:2]
    return X, y


def test_learns_polynomial_boundary_above_95_percent():
    """§10.4's 2→500→2 ReLU net; Bayes accuracy of this set is Φ(0.1/0.05) = 97.7 %."""
    X, y = polynomial_boundary()
    X = (X - X[:1500].mean(0)) / X[:1500].std(0)
    model = MLP([2, 500, 2], seed=0)
    h = train(model, (X[:1500], y[:1500]), (X[1500:], y[1500:]), epochs=25, lr=0.1, batch_size=32,
              lr_decay=None, verbose=False)  # fmt: skip
    assert max(h.test_accuracy[-5:]) > 0.95
    acc = np.mean(model.predict(X[1500:]).argmax(1) == y[1500:])
    assert acc == pytest.approx(h.test_accuracy[-1])


def test_history_fields_and_paper_test_loss():
    X, y = blobs(300)
    h = train(MLP([4, 16, 3], seed=0), (X[:200], y[:200]), (X[200:], y[200:]), epochs=2,
              batch_size=32, verbose=False)  # fmt: skip
    assert h.epoch == [0, 1] and len(h.events) == 0
    # authors' figure: Σ NLL / ⌈100 / 32⌉ = mean NLL · 100 / 4
    np.testing.assert_allclose(h.test_loss_paper, np.array(h.test_loss) * 100 / 4, rtol=1e-12)
    assert h.n_params == [4 * 16 + 16 + 16 * 3 + 3] * 2
    assert all(0 <= a <= 1 for a in h.train_accuracy + h.test_accuracy)
    json.dumps(h.to_dict())
    assert History.from_dict(h.to_dict()) == h


# ----- the pruner protocol ----------------------------------------------------------------------------
class NoOpPruner:
    def on_epoch_start(self, model, epoch, n_classes):
        return []


class SVDPruner:
    """Test double: at ``at`` epochs, refactor layer 0 as rank-k SVD factors and log the event."""

    def __init__(self, at=(1,), k=3, reset_momentum=False):
        self.at, self.k, self.reset_momentum = at, k, reset_momentum
        self.seen = []

    def on_epoch_start(self, model, epoch, n_classes):
        self.seen.append((epoch, n_classes))
        if epoch not in self.at:
            return []
        layer = model.layers[0]
        U, S, Vt = np.linalg.svd(layer.weight.astype(np.float64), full_matrices=False)
        r = np.sqrt(S[: self.k])
        before = layer.n_params()
        layer.set_factors(r[:, None] * Vt[: self.k], U[:, : self.k] * r)
        return [{"layer": 0, "rank": np.int64(self.k), "params_before": before,
                 "params_after": layer.n_params(), "top": S[0]}]  # fmt: skip

    def state_dict(self):
        return {"seen": self.seen, "arr": np.arange(3.0)}

    def load_state_dict(self, d):
        assert np.array_equal(d["arr"], np.arange(3.0))
        self.seen = [tuple(s) for s in d["seen"]]


def test_noop_pruner_is_bit_identical_to_no_pruner():
    X, y = blobs()
    a, b = MLP([4, 32, 3], seed=5), MLP([4, 32, 3], seed=5)
    ha = train(a, (X, y), (X, y), epochs=3, l1=1e-4, l2=1e-4, verbose=False, seed=2)
    hb = train(b, (X, y), (X, y), epochs=3, l1=1e-4, l2=1e-4, pruner=NoOpPruner(), verbose=False,
               seed=2)  # fmt: skip
    for p, q in zip(a.params(), b.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert ha.train_loss == hb.train_loss and ha.test_accuracy == hb.test_accuracy


def test_pruner_events_param_counts_and_call_order():
    X, y = blobs()
    pruner = SVDPruner(at=(1,), k=3)
    model = MLP([4, 32, 3], seed=0)
    h = train(model, (X, y), (X, y), epochs=3, pruner=pruner, verbose=False)
    assert pruner.seen == [(0, 3), (1, 3), (2, 3)]  # before each epoch, 0-based, with n_classes
    dense, fact = 4 * 32 + 32 + 32 * 3 + 3, 3 * (4 + 32) + 32 + 32 * 3 + 3
    assert h.n_params == [dense, fact, fact] and model.n_params() == fact
    (ev,) = h.events
    assert ev["epoch"] == 1 and ev["source"] == "SVDPruner" and ev["rank"] == 3
    assert ev["params_after"] == 3 * (4 + 32) + 32
    assert model.layers[0].is_factorised and model.layers[0].rank == 3


def test_momentum_buffers_after_structure_change():
    model = MLP([4, 6, 3], seed=0)
    bufs = [[np.full_like(p, 7.0) for p in layer.params()] for layer in model.layers]
    versions = [layer.version for layer in model.layers]
    model.layers[0].set_factors(np.ones((2, 4)), np.ones((6, 2)))  # shapes change
    model.layers[1].set_dense(np.zeros((3, 6)))  # same shape, new values
    kept, _ = _sync_momentum(model, bufs, versions, reset=False)
    assert [b.shape for b in kept[0]] == [(2, 4), (6, 2), (6,)]
    assert not kept[0][0].any() and not kept[0][1].any() and (kept[0][2] == 7).all()  # bias kept
    assert all((b == 7).all() for b in kept[1])
    reset, new_versions = _sync_momentum(model, bufs, versions, reset=True)
    assert all(not b.any() for layer in reset for b in layer)
    assert new_versions == [layer.version for layer in model.layers]
    same, _ = _sync_momentum(model, bufs, new_versions, reset=True)  # nothing changed: no reset
    assert same is not bufs and all((b == 7).all() for layer in same[1:] for b in layer)


# ----- checkpoints ------------------------------------------------------------------------------------
def _run(tmp_path, epochs, resume, name="ck.npz", interrupt_after=None):
    from rmtheory.nn import Sparsifier

    X, y = blobs(300)
    model = MLP([4, 24, 3], seed=1)
    pruner = SVDPruner(at=(1,), k=2)
    sp = Sparsifier(every=1, start=0.01, stop=0.05, ramp_epochs=3, keep_mask=True)

    def stop(epoch, **_):
        return interrupt_after is not None and epoch + 1 >= interrupt_after

    h = train(model, (X[:200], y[:200]), (X[200:], y[200:]), epochs=epochs, l1=1e-4, l2=1e-3,
              pruner=pruner, sparsifier=sp, checkpoint=tmp_path / name, resume=resume,
              callbacks=[stop], seed=3, verbose=False)  # fmt: skip
    return model, h, pruner, sp


def test_resume_is_bit_identical(tmp_path):
    straight, hs, ps, ss = _run(tmp_path, 3, False, "a.npz")
    _run(tmp_path, 3, False, "b.npz", interrupt_after=2)  # stopped after 2 epochs
    resumed, hr, pr, sr = _run(tmp_path, 3, True, "b.npz")
    assert [layer.is_factorised for layer in resumed.layers] == [True, False]
    for p, q in zip(straight.params(), resumed.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    ds, dr = hs.to_dict(), hr.to_dict()
    ds.pop("epoch_time"), dr.pop("epoch_time")
    assert json.dumps(ds) == json.dumps(dr)  # incl. the pruner and sparsifier events
    assert ps.seen == pr.seen
    for a, b in zip(ss.masks, sr.masks, strict=True):
        for m, n in zip(a, b, strict=True):
            np.testing.assert_array_equal(m, n)
    assert not list(tmp_path.glob("*.tmp"))


def test_resume_without_checkpoint_starts_fresh_and_mismatch_is_refused(tmp_path):
    _, h, _, _ = _run(tmp_path, 1, True, "new.npz")
    assert h.epoch == [0] and (tmp_path / "new.npz").exists()
    X, y = blobs(300)
    with pytest.raises(ValueError, match="sizes"):
        train(MLP([4, 8, 3]), (X, y), None, epochs=2, checkpoint=tmp_path / "new.npz",
              resume=True, verbose=False)  # fmt: skip


class NaNAt:
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_start(self, model, epoch, n_classes):
        if epoch == self.epoch:
            model.layers[0].factors[0][0, 0] = np.nan
        return []


def test_nan_stops_with_epoch_and_batch_and_keeps_checkpoint(tmp_path):
    X, y = blobs()
    path = tmp_path / "run.npz"
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 0") as err:
        train(MLP([4, 8, 3], seed=0), (X, y), None, epochs=3, pruner=NaNAt(1), checkpoint=path,
              verbose=False)  # fmt: skip
    assert isinstance(err.value, FloatingPointError)
    assert (err.value.epoch, err.value.batch) == (1, 0) and math.isnan(err.value.value)
    fresh = MLP([4, 8, 3], seed=0)
    h = train(fresh, (X, y), None, epochs=2, checkpoint=path, resume=True, verbose=False)
    assert h.epoch == [0, 1] and all(np.isfinite(p).all() for p in fresh.params())


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_divergence_from_a_huge_learning_rate_is_reported():
    X, y = blobs()
    with pytest.raises(TrainingDiverged, match="epoch"):
        train(MLP([4, 8, 1], final_activation=None, seed=0), (X, 1e3 * y), None, epochs=5,
              lr=10.0, loss="mse", verbose=False)  # fmt: skip


# ----- input validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kwargs", "exc", "match"),
    [
        ((np.ones((10, 5)), np.zeros(10, int)), {}, ValueError, r"shape \(n >= 1, 4\)"),
        ((np.ones((10, 4)), np.full(10, 3)), {}, ValueError, r"\[0, 3\)"),
        ((np.ones((10, 4)), np.full(10, -1)), {}, ValueError, r"\[0, 3\)"),
        ((np.ones((10, 4)), np.zeros(9, int)), {}, ValueError, "one label per row"),
        ((np.ones((10, 4)), np.zeros(10)), {}, TypeError, "integers"),
        ((np.full((10, 4), np.nan), np.zeros(10, int)), {}, ValueError, "NaN"),
        ((np.ones((10, 4)), np.zeros((10, 2))), {"loss": "mse"}, ValueError, r"\(10, 3\)"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"loss": "hinge"}, ValueError, "loss"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"lr": -1.0}, ValueError, "lr"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"momentum": 1.0}, ValueError, "momentum"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"batch_size": 0}, ValueError, "batch_size"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"lr_decay": 0.0}, ValueError, "lr_decay"),
        ((np.ones((10, 4)), np.zeros(10, int)), {"epochs": -1}, ValueError, "epochs"),
        ((np.ones((10, 4)),), {}, TypeError, r"\(X, y\)"),
    ],
)
def test_bad_input_is_refused(data, kwargs, exc, match):
    kw = {"epochs": 1, **kwargs}
    with pytest.raises(exc, match=match):
        train(MLP([4, 5, 3]), data, None, verbose=False, **kw)


def test_evaluate_matches_a_direct_computation():
    X, y = blobs(333)
    model = MLP([4, 9, 3], init="pytorch", seed=2, dtype=np.float64)
    out = model.predict(X)
    nll = np.log(np.exp(out).sum(1)) - out[np.arange(len(y)), y]
    mean, paper, acc = evaluate(model, (X, y), batch_size=100)
    assert mean == pytest.approx(nll.mean(), rel=1e-12)
    assert paper == pytest.approx(nll.sum() / 4, rel=1e-12)
    assert acc == np.mean(out.argmax(1) == y)


# ----- PyTorch parity (optional) ----------------------------------------------------------------------
@pytest.mark.parametrize("final", [None, "relu"])
def test_two_sgd_steps_match_pytorch(final):
    torch = pytest.importorskip("torch")
    X, y = blobs(128, d=6, classes=4, seed=3)
    model = MLP([6, 20, 15, 4], final_activation=final, init="pytorch", seed=0)
    layers = [torch.nn.Linear(6, 20), torch.nn.Linear(20, 15), torch.nn.Linear(15, 4)]
    with torch.no_grad():
        for t, layer in zip(layers, model.layers, strict=True):
            t.weight.copy_(torch.from_numpy(layer.factors[0]))
            t.bias.copy_(torch.from_numpy(layer.bias))
    params = [p for t in layers for p in t.parameters()]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    l1, l2 = 1e-3, 2e-3
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    torch_losses = []
    for _ in range(2):  # the authors' train(): nll(log_softmax) + l1 Σ|θ| + l2 Σθ², then step
        a = tX
        for i, t in enumerate(layers):
            a = t(a)
            if i < 2 or final == "relu":
                a = torch.relu(a)
        loss = torch.nn.functional.nll_loss(torch.log_softmax(a, 1), ty)
        loss = (
            loss + l1 * sum(p.abs().sum() for p in params) + l2 * sum((p**2).sum() for p in params)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
    # one full batch per epoch, constant lr: two identical steps (row order only changes rounding)
    h = train(model, (X, y), None, epochs=2, lr=0.05, momentum=0.9, batch_size=128, l1=l1, l2=l2,
              lr_decay=None, verbose=False)  # fmt: skip
    np.testing.assert_allclose(h.train_loss, torch_losses, rtol=1e-5)
    for t, layer in zip(layers, model.layers, strict=True):
        np.testing.assert_allclose(
            layer.factors[0], t.weight.detach().numpy(), rtol=1e-4, atol=2e-6
        )
        np.testing.assert_allclose(layer.bias, t.bias.detach().numpy(), rtol=1e-4, atol=2e-6)


def test_sgd_step_refuses_mismatched_or_strided_arrays():
    p = np.ones((3, 4))
    with pytest.raises(ValueError, match="equal shapes"):
        sgd_step([p], [np.ones((3, 4))], [np.zeros(5)], 0.1, 0.9)
    with pytest.raises(ValueError, match="C-contiguous"):
        sgd_step([p.T], [np.ones((4, 3))], [np.zeros((4, 3))], 0.1, 0.9)


# ----- the fused optimiser and epoch: bit-identical to the per-array NumPy route -----------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (1e-3, 2e-3)])
def test_fused_sgd_step_is_bit_identical_to_numpy_momentum(dtype, l1, l2):
    g = np.random.default_rng(0)
    shapes = [(7, 5), (7,), (3, 7), (3,), (1, 3), (1,)]
    params = [g.standard_normal(s).astype(dtype) for s in shapes]
    params[0][0, :2] = 0  # sign θ = 0 at zero
    ref = [p.copy() for p in params]
    bufs = [np.zeros_like(p) for p in params]
    ref_bufs = [np.zeros_like(p) for p in params]
    t = np.dtype(dtype).type
    for _ in range(3):
        grads = [g.standard_normal(s).astype(dtype) for s in shapes]
        pen = sgd_step(params, grads, bufs, 0.05, 0.9, l1, l2)
        ref_pen = 0.0
        for p, gr, b in zip(ref, grads, ref_bufs, strict=True):
            d = gr + t(l1) * np.sign(p) if l1 else gr.copy()
            if l2:
                d = d + t(2 * l2) * p
            b[...] = t(0.9) * b + d
            ref_pen += l1 * float(np.abs(p).sum()) + l2 * float((p.astype(np.float64) ** 2).sum())
            p -= t(0.05) * b
        for p, r, b, rb in zip(params, ref, bufs, ref_bufs, strict=True):
            assert p.tobytes() == r.tobytes() and b.tobytes() == rb.tobytes()
        assert pen == pytest.approx(ref_pen, rel=1e-5)


def test_dense_training_is_bit_identical_to_a_numpy_reference_loop():
    """Two epochs of the trainer (fused passes, fused optimiser, clip-mode gather) against the same
    epochs written as plain NumPy passes: the same bytes in every weight, bias and momentum buffer."""
    X, y = blobs(200, d=6, classes=3, seed=5)
    X = X.astype(np.float32)
    model = MLP([6, 16, 12, 3], seed=4)
    ref = [[p.copy() for p in layer.params()] for layer in model.layers]
    acts = [layer.activation for layer in model.layers]
    bufs = [[np.zeros_like(p) for p in layer] for layer in ref]
    lr, mu, B = np.float32(0.05), np.float32(0.9), 32
    train(model, (X, y), None, epochs=2, lr=0.05, momentum=0.9, batch_size=B, lr_decay=None,
          seed=11, verbose=False)  # fmt: skip
    gen = np.random.default_rng(11)
    for _ in range(2):
        perm = gen.permutation(len(X))
        for s in range(0, len(X), B):
            idx = perm[s : s + B]
            a, cache = X[idx], []
            for (W, b), act in zip(ref, acts, strict=True):
                z = a @ W.T
                z += b
                cache.append((a, z))
                a = np.maximum(z, 0) if act == "relu" else z
            zmax = a - a.max(axis=1, keepdims=True)
            e = np.exp(zmax)
            e /= e.sum(axis=1)[:, None]
            e[np.arange(len(idx)), y[idx]] -= 1
            e *= 1.0 / len(idx)
            dz, grads = e, [None] * len(ref)
            for i in range(len(ref) - 1, -1, -1):
                a_in, z = cache[i]
                if acts[i] == "relu":
                    dz = dz * (np.maximum(z, 0) > 0)
                grads[i] = [dz.T @ a_in, np.sum(dz, axis=0)]
                dz = dz @ ref[i][0]
            for layer_p, layer_g, layer_b in zip(ref, grads, bufs, strict=True):
                for p, gr, bf in zip(layer_p, layer_g, layer_b, strict=True):
                    bf[...] = mu * bf + gr
                    p -= lr * bf
    # the optimiser's first step has buf = g exactly (mu * 0 + g), as here
    for layer, r in zip(model.layers, ref, strict=True):
        for p, q in zip(layer.params(), r, strict=True):
            assert p.tobytes() == q.tobytes()
