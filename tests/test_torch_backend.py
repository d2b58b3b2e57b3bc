"""rmtheory.torch is the same method as rmtheory.nn: the cross-backend proof (issue 21, item 3).

The NumPy trainer (:func:`rmtheory.nn.train`) and a plain PyTorch loop train one network from the
same initial weights over the same batches in float64, with the same pruner settings; the ranks
cut at every pass are identical and the loss and accuracy curves agree to 1e-6.  A factorised
Linear / Conv reproduces the outputs of the truncated matrix (computed independently with
``torch.nn.functional`` on the rank-k SVD).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import rmtheory.torch as rt  # noqa: E402
from rmtheory.nn import (  # noqa: E402
    CNN,
    MLP,
    Conv2d,
    Flatten,
    Layer,
    MaxPool2d,
    linear_schedule,  # noqa: E402
    train,
)
from rmtheory.nn import EnergyPruner as NpEnergy  # noqa: E402
from rmtheory.nn import MPPruner as NpMP  # noqa: E402


@pytest.fixture(autouse=True)
def _float64():
    """Every tensor of these tests in float64; the default is restored for the rest of the suite."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# ----- the same network in both backends -----------------------------------------------------------
def _torch_mlp(net: MLP) -> nn.Sequential:
    mods: list[nn.Module] = []
    for layer in net.layers:
        lin = nn.Linear(layer.shape[1], layer.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
        mods.append(lin)
        if layer.activation == "relu":
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _numpy_cnn(seed: int) -> CNN:
    g = np.random.default_rng(seed)

    def w(*shape):
        return g.standard_normal(shape) / math.sqrt(math.prod(shape[1:]))

    dense1 = Layer([w(40, 12 * 5 * 5)], np.zeros(40), "relu")
    dense2 = Layer([w(4, 40)], np.zeros(4), "identity")
    dense1.kind = dense2.kind = "dense"  # as authors_cnn marks its dense layers
    layers = [Conv2d([w(24, 1, 3, 3)], np.zeros(24), "relu"),
              Conv2d([w(12, 24, 3, 3)], np.zeros(12), "relu"),
              MaxPool2d(), Flatten(), dense1, dense2]  # fmt: skip
    return CNN(layers, input_shape=(1, 14, 14), dtype=np.float64)


def _torch_cnn(net: CNN) -> nn.Sequential:
    c1, c2, _, _, d1, d2 = net.layers
    mods = [nn.Conv2d(1, 24, 3), nn.ReLU(), nn.Conv2d(24, 12, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(300, 40), nn.ReLU(), nn.Linear(40, 4)]  # fmt: skip
    with torch.no_grad():
        for src, dst in ((c1, mods[0]), (c2, mods[2])):
            dst.weight.copy_(torch.from_numpy(src.kernel))
            dst.bias.copy_(torch.from_numpy(src.bias))
        for src, dst in ((d1, mods[6]), (d2, mods[8])):
            dst.weight.copy_(torch.from_numpy(src.weight))
            dst.bias.copy_(torch.from_numpy(src.bias))
    return nn.Sequential(*mods)


def _torch_train(model, pruner, train_data, test_data, epochs, lr, momentum, l1, l2, lr_decay,
                 batch_size, seed):  # fmt: skip
    """A plain PyTorch loop doing what rmtheory.nn.train does (same shuffles, same penalties)."""
    X, y = (torch.as_tensor(a) for a in train_data)
    Xt, yt = (torch.as_tensor(a) for a in test_data)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    gen = np.random.default_rng(seed)
    curves = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
    events = []
    for epoch in range(epochs):
        for group in opt.param_groups:
            group["lr"] = lr * lr_decay**epoch
        events += pruner.step(model, opt, epoch)
        perm = torch.as_tensor(gen.permutation(len(X)))
        total, correct, n_batches = 0.0, 0, math.ceil(len(X) / batch_size)
        model.train()
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            out = model(X[idx])
            loss = F.cross_entropy(out, y[idx])
            ps = list(model.parameters())
            loss = loss + l1 * sum(p.abs().sum() for p in ps) + l2 * sum((p * p).sum() for p in ps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            correct += int((out.argmax(1) == y[idx]).sum())
        model.eval()
        with torch.no_grad():
            out = model(Xt)
        curves["train_loss"].append(total / n_batches)
        curves["train_accuracy"].append(correct / len(X))
        curves["test_loss"].append(float(F.cross_entropy(out, yt)))
        curves["test_accuracy"].append(float((out.argmax(1) == yt).double().mean()))
    return curves, events, opt


def _data(n_in, n, n_classes, seed, image=None):
    """Inputs with a low-rank structure (so the trained layers have spikes) and teacher labels."""
    g = np.random.default_rng(seed)
    shape = (n, n_in) if image is None else (n, *image)
    X = g.standard_normal(shape) + 2.0 * np.sin(np.arange(math.prod(shape[1:]))).reshape(shape[1:])
    T = g.standard_normal((math.prod(shape[1:]), n_classes))
    y = (X.reshape(n, -1) @ T).argmax(1)
    return X, y


def _ranks(events):
    return [(e["epoch"], e["action"], e["rank_before"], e["rank_after"], e["params_after"])
            for e in events if "rank_after" in e]  # fmt: skip


SETTINGS = dict(epochs=6, lr=0.05, momentum=0.9, l1=1e-5, l2=1e-5, lr_decay=0.9, batch_size=64,
                seed=3)  # fmt: skip


def _compare(np_model, torch_model, np_pruner, torch_pruner, train_data, test_data, n_cut):
    h = train(np_model, train_data, test_data, pruner=np_pruner, verbose=False, **SETTINGS)
    curves, events, opt = _torch_train(torch_model, torch_pruner, train_data, test_data, **SETTINGS)
    passes = [e for e in events if "rank_after" in e]
    assert sum(e["action"] in ("truncate", "split") for e in passes) >= n_cut  # the test bites
    assert _ranks(events) == _ranks(h.events)
    np_events = [{k: v for k, v in e.items()} for e in h.events]
    th_events = [{k: v for k, v in e.items() if k != "name"} for e in events]
    for a, b in zip(np_events, th_events, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12, nan_ok=True), k
            elif k != "layer":  # NumPy indexes model.layers, torch the matrix layers
                assert a[k] == b[k], k
    for key, values in curves.items():
        np.testing.assert_allclose(values, getattr(h, key), rtol=0, atol=1e-6, err_msg=key)
    assert np_model.n_params() == sum(p.numel() for p in torch_model.parameters())
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    assert in_opt == {id(p) for p in torch_model.parameters()}  # new factors registered, old gone
    return h, events


def test_mlp_same_ranks_and_curves():
    X, y = _data(40, 768, 5, seed=0)
    Xt, yt = _data(40, 256, 5, seed=1)
    net = MLP([40, 64, 48, 5], dtype=np.float64, seed=0)
    tnet = _torch_mlp(net)
    kw = dict(every=2, keep_fraction=linear_schedule(8), variant="paper_code")
    h, events = _compare(net, tnet, NpMP(**kw), rt.MPPruner(**kw), (X, y), (Xt, yt), n_cut=2)
    assert any(isinstance(m, rt.FactorizedLinear) for m in tnet.modules())


@pytest.mark.parametrize("reset_momentum", [True, False])
def test_cnn_same_ranks_and_curves(reset_momentum):
    X, y = _data(0, 384, 4, seed=0, image=(1, 14, 14))
    Xt, yt = _data(0, 128, 4, seed=1, image=(1, 14, 14))
    net = _numpy_cnn(seed=0)
    tnet = _torch_cnn(net)
    kw = dict(every=2, keep_fraction=0.3, energy=0.95, reset_momentum=reset_momentum)
    h, events = _compare(net, tnet, NpEnergy(**kw), rt.EnergyPruner(**kw), (X, y), (Xt, yt),
                         n_cut=2)  # fmt: skip
    cut = {e["name"] for e in events if e.get("action") in ("truncate", "split")}
    assert {"0", "2"} & cut  # a convolution was cut
    assert all(e["kind"] in ("conv", "dense") for e in events if "rank_after" in e)


# ----- a factorised layer is the truncated matrix ----------------------------------------------------
def _truncated(W2d: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    U, s, Vt = torch.linalg.svd(W2d, full_matrices=False)
    r = torch.sqrt(s[:k])
    return (U[:, :k] * s[:k]) @ Vt[:k], Vt[:k] * r[:, None], U[:, :k] * r


def test_factorised_linear_is_the_truncated_matrix():
    g = torch.Generator().manual_seed(0)
    W, b, x = (torch.randn(30, 20, generator=g), torch.randn(30, generator=g),
               torch.randn(7, 20, generator=g))  # fmt: skip
    Wk, W1, W2 = _truncated(W, 6)
    layer = rt.FactorizedLinear(W1, W2, b)
    torch.testing.assert_close(layer(x), F.linear(x, Wk, b), rtol=0, atol=1e-12)
    assert layer.rank == 6 and torch.allclose(layer.weight, Wk, atol=1e-12)


@pytest.mark.parametrize("geometry", [dict(), dict(stride=2, padding=1, dilation=2)])
def test_factorised_conv_is_the_truncated_matrix(geometry):
    g = torch.Generator().manual_seed(1)
    conv = nn.Conv2d(5, 9, (3, 2), **geometry)
    K, b, x = conv.weight.detach(), conv.bias.detach(), torch.randn(2, 5, 11, 10, generator=g)
    Wk, W1, W2 = _truncated(K.reshape(9, -1), 4)
    layer = rt.FactorizedConv2d(W1, W2, b, conv)
    want = F.conv2d(x, Wk.reshape(K.shape), b, **geometry)
    torch.testing.assert_close(layer(x), want, rtol=0, atol=1e-12)
    assert layer.first.out_channels == 4 and layer.second.kernel_size == (1, 1)


def test_pruned_model_outputs_equal_the_truncated_weights():
    """prune_model's split layers compute the rank-k truncation of the original weights."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 40, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(40 * 8 * 8, 60), nn.ReLU(), nn.Linear(60, 10))  # fmt: skip
    reference = [m.weight.detach().clone() for m in (model[0], model[3], model[5])]
    events = rt.prune_model(model, "energy", energy=0.5)
    ks = [e["rank_after"] for e in events]
    assert [e["action"] for e in events][:2] == ["split", "split"]
    x = torch.randn(4, 3, 8, 8)
    W0 = _truncated(reference[0].reshape(40, -1), ks[0])[0].reshape(reference[0].shape)
    W3 = _truncated(reference[1], ks[1])[0]
    h = F.relu(F.conv2d(x, W0, model[0].bias, padding=1)).flatten(1)
    h = F.relu(F.linear(h, W3, model[3].bias))
    last = model[5].weight if isinstance(model[5], nn.Linear) else model[5].weight
    torch.testing.assert_close(model(x), F.linear(h, last, model[5].bias), rtol=0, atol=1e-10)


# ----- the optimiser and the schedule ----------------------------------------------------------------
def _spiked_linear(out=80, n_in=60, rank=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(n_in, out)
    with torch.no_grad():
        noise = torch.randn(out, n_in, generator=g) / math.sqrt(n_in)
        spikes = 5 * torch.randn(out, rank, generator=g) @ torch.randn(rank, n_in, generator=g)
        lin.weight.copy_(noise + spikes / math.sqrt(n_in * out))
    return lin


def _one_step(model, opt):
    opt.zero_grad()
    model(torch.randn(8, model[0].in_features)).square().sum().backward()
    opt.step()


def test_optimizer_state_follows_the_numpy_rule():
    for reset in (True, False):
        model = nn.Sequential(_spiked_linear(), nn.ReLU(), nn.Linear(80, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        _one_step(model, opt)
        bias = model[0].bias
        events = rt.MPPruner(every=1, prune_at_start=True, reset_momentum=reset).step(model, opt, 0)
        assert events[0]["action"] == "split" and events[0]["rank_after"] == 3
        assert model[0].bias is bias  # the same Parameter moved into the split
        held = {id(p) for g in opt.param_groups for p in g["params"]}
        assert held == {id(p) for p in model.parameters()}
        assert (bias in opt.state) is (not reset)  # kept, as NumPy keeps the bias buffer
        assert model[0].first.weight not in opt.state
        assert (model[2].weight in opt.state) is (not reset)
        _one_step(model, opt)  # the new parameters train


def test_schedule_and_bad_input():
    model = nn.Sequential(_spiked_linear(), nn.ReLU(), nn.Linear(80, 10))
    pruner = rt.MPPruner(every=3)
    assert pruner.step(model, None, 0) == [] and pruner.step(model, None, 1) == []
    assert pruner.step(model, None, 2)[0]["epoch"] == 2
    first = rt.MPPruner(every=1).step(model, None, 0)
    assert first[0]["action"] == "skip" and "prune_at_start" in first[0]["reason"]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pruner.step(np.zeros(3), None, 2)
    with pytest.raises(TypeError, match="optimizer"):
        pruner.step(model, "sgd", 2)
    with pytest.raises(TypeError, match="step"):
        pruner.on_epoch_start(model, 2)
    with pytest.raises(ValueError, match="method must be one of"):
        rt.prune_model(model, "magnitude")
    with pytest.raises(ValueError, match="layers"):
        rt.prune_model(model, layers=[5])


def test_layers_found_by_walking_the_tree():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.depthwise = nn.Conv2d(8, 8, 3, groups=8)  # not one matrix: passed over
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 4))

    names = [n for n, _ in rt.matrix_layers(Block())]
    assert names == ["conv", "head.1"]
    model = nn.Sequential(_spiked_linear(), nn.ReLU(), nn.Linear(80, 10))
    rt.prune_model(model)
    assert [n for n, _ in rt.matrix_layers(model)] == ["0", "2"]  # the split is one layer
    again = rt.prune_model(model, "energy", energy=0.99)
    assert again[0]["rank_before"] == 3


def test_table_builds_the_torch_classes():
    p, s = rt.training_hooks("mp", every=7, T=50)
    assert type(p) is rt.MPPruner and s is None and p.fraction(35) == pytest.approx(0.3)
    _, s = rt.training_hooks("magnitude", epochs=20)
    assert type(s) is rt.MagnitudePruner and s.keep_mask
    assert type(rt.training_hooks("momentum_reset").pruner) is rt.MomentumReset
    assert isinstance(p, NpMP)  # same parameters and meaning: it is the NumPy pruner


def test_magnitude_baseline_matches_numpy():
    """MagnitudePruner zeroes what the NumPy Sparsifier zeroes and keeps the mask after steps."""
    net = MLP([20, 30, 5], dtype=np.float64, seed=0)
    tnet = _torch_mlp(net)
    from rmtheory.nn import Sparsifier

    np_s = Sparsifier(every=1, start=0.2, stop=0.2, keep_mask=True)
    th_s = rt.MagnitudePruner(every=1, start=0.2, stop=0.2, keep_mask=True)
    a = np_s.on_epoch_start(net, 1)
    opt = torch.optim.SGD(tnet.parameters(), lr=0.1)
    b = th_s.step(tnet, opt, 1)
    assert [a[0][k] for k in ("nonzero_before", "nonzero_after")] == [
        b[0][k] for k in ("nonzero_before", "nonzero_after")]  # fmt: skip
    zeros = (tnet[0].weight == 0).clone()
    opt.zero_grad()
    tnet(torch.randn(4, 20)).sum().backward()
    opt.step()
    assert bool((tnet[0].weight[zeros] == 0).all())  # the post-step hook re-applied the mask
    sweep = rt.sparsify_sweep(tnet, (torch.randn(16, 20), torch.zeros(16, dtype=torch.long)),
                              [10.0, 0.0])  # fmt: skip
    assert sweep[0][0] == sum(int((p != 0).sum()) for m in tnet if isinstance(m, nn.Linear)
                              for p in [m.bias])  # fmt: skip
