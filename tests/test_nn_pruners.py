"""Algorithm 1 (MPPruner) and its baselines: the keep rule, split-or-truncate, bias and output
protection, no-op settings, and a short training run."""

import math

import numpy as np
import pytest

from rmtheory.bema import BEMA
from rmtheory.datasets import make_tiny_classification
from rmtheory.nn import MLP, train
from rmtheory.nn.pruners import (
    EnergyPruner,
    GavishDonohoPruner,
    MPPruner,
    NoPruner,
    linear_schedule,
)
from rmtheory.thresholds import keep_rank


def spiked_net(seed=0, sizes=(300, 400, 10), rank=3):
    """An MLP whose first weight is noise plus a rank-`rank` signal well above the MP edge."""
    net = MLP(list(sizes), seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out, inp = net.layers[0].shape
    U = np.linalg.qr(rng.normal(size=(out, rank)))[0]
    V = np.linalg.qr(rng.normal(size=(inp, rank)))[0]
    noise = rng.normal(size=(out, inp)) / math.sqrt(max(out, inp))
    net.layers[0].set_dense(noise + (U * np.linspace(3, 6, rank)) @ V.T)
    net.layers[0].bias[:] = rng.normal(size=out)
    return net


@pytest.mark.parametrize("f", [0.0, 0.1, 0.5])
def test_pruned_rank_is_what_the_keep_rule_says(f):
    net = spiked_net()
    W = net.layers[0].weight
    n_above = BEMA().fit(W).n_spikes_  # independent route: BEMA on the matrix itself
    events = MPPruner(keep_fraction=f).prune(net, epoch=7, n_classes=10)
    expected = keep_rank(n_above, min(W.shape), f)
    assert n_above == 3
    assert net.layers[0].rank == expected == events[0]["rank_after"]
    assert events[0]["action"] == ("split" if expected * sum(W.shape) < W.size else "truncate")


def test_split_param_count_and_bias():
    net = spiked_net()
    bias = net.layers[0].bias.copy()
    W = net.layers[0].weight
    MPPruner(keep_fraction=0.0).prune(net, epoch=7, n_classes=10)
    layer = net.layers[0]
    k, (out, inp) = layer.rank, layer.shape
    assert layer.is_factorised
    assert layer.n_params() == k * (inp + out) + out
    np.testing.assert_array_equal(layer.bias, bias)
    # the split reproduces the best rank-k approximation of the old weight
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    np.testing.assert_allclose(layer.weight, (U[:, :k] * s[:k]) @ Vt[:k], atol=1e-10)
    # a second pass re-splits the recombined weight and still keeps the bias (authors' bug 4)
    before = layer.weight
    MPPruner(keep_fraction=0.0).prune(net, epoch=14, n_classes=10)
    np.testing.assert_array_equal(net.layers[0].bias, bias)
    assert net.layers[0].rank <= k
    np.testing.assert_allclose(net.layers[0].weight, before, atol=1e-8)


def test_full_keep_fraction_or_zero_cutoff_changes_nothing():
    for pruner in (MPPruner(keep_fraction=1.0), MPPruner(gof_cutoff=0.0), NoPruner()):
        net = spiked_net()
        before = [p.copy() for p in net.params()]
        events = pruner.on_epoch_start(net, epoch=6, n_classes=10)
        after = net.params()
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            np.testing.assert_array_equal(a, b)
        assert all(e["action"] in ("keep", "skip") for e in events)


def test_output_layer_never_below_n_classes():
    net = MLP([50, 60, 30], seed=1, dtype=np.float64)
    rng = np.random.default_rng(1)
    net.layers[1].set_dense(rng.normal(size=(30, 60)) / math.sqrt(60))  # pure noise: MP rank ~ 0
    events = EnergyPruner(energy=0.05).prune(net, epoch=7, n_classes=30)
    assert net.layers[1].rank == 30 and events[1]["rank_after"] == 30
    events = EnergyPruner(energy=0.05, protect_output=False).prune(net, epoch=7, n_classes=30)
    assert net.layers[1].rank < 30


def test_schedule_and_epochs():
    f = linear_schedule(50)
    assert f(0) == 1.0 and f(25) == 0.5 and f(60) == 0.0
    p = MPPruner(every=7)
    net = spiked_net()
    fired = [e for e in range(40) if p.on_epoch_start(net.copy(), e, 10)]
    assert fired == [6, 13, 20, 27, 34]  # before 1-based epochs 7, 14, 21, 28, 35
    with pytest.raises(ValueError, match="keep_fraction"):
        MPPruner(keep_fraction=1.5)
    with pytest.raises(ValueError, match="every"):
        MPPruner(every=0)
    with pytest.raises(ValueError, match="keep_fraction"):
        MPPruner(keep_fraction=lambda e: 2.0).prune(spiked_net(), 7, 10)


def test_small_layers_are_skipped_with_a_reason():
    net = MLP([30, 8, 3], seed=0)
    events = MPPruner().prune(net, epoch=7, n_classes=3)
    assert all(e["action"] == "skip" and "bulk eigenvalues" in e["reason"] for e in events)


def test_gavish_donoho_baseline_finds_the_spikes():
    net = spiked_net()
    events = GavishDonohoPruner().prune(net, epoch=7, n_classes=10)
    assert events[0]["n_above"] == 3 and net.layers[0].rank == 3


def test_training_with_the_pruner_reduces_parameters_and_still_learns():
    data = make_tiny_classification(n_train=1500, n_test=500, n_features=100, seed=0)
    kw = dict(epochs=6, lr=0.05, batch_size=64, verbose=False, seed=0)
    normal = MLP([100, 200, 200, 10], seed=0)
    pruned = MLP([100, 200, 200, 10], seed=0)
    h0 = train(normal, data[:2], data[2:], **kw)
    h1 = train(pruned, data[:2], data[2:], pruner=MPPruner(every=3, keep_fraction=0.1), **kw)
    assert h1.n_params[-1] < 0.8 * h0.n_params[-1]
    assert h1.test_accuracy[-1] > 0.85
    splits = [e for e in h1.events if e.get("action") == "split"]
    assert splits and all(e["params_after"] < e["params_before"] for e in splits)


def test_second_pass_fits_the_surviving_bulk_and_keeps_shrinking():
    """After a split, W2 @ W1 has p - k zero singular values; BEMA must fit above them (censored
    window) instead of on the zeros, so a later, smaller keep fraction shrinks the layer again."""
    net = MLP([784, 1000, 1000, 10], seed=0)
    ranks, thresholds, pruner = [], [], MPPruner()
    for epoch, f in ((7, 0.3), (14, 0.25), (21, 0.1)):
        pruner.keep_fraction = f
        ev = pruner.prune(net, epoch=epoch, n_classes=10)[1]
        ranks.append(net.layers[1].rank)
        thresholds.append(ev["threshold"])
    assert ranks == [300, 250, 100]  # 0 spikes + floor(f * 1000) each time
    # the third pass cannot see the bulk (only the top 25% survive): it reuses the last threshold
    assert "reused" in ev["reason"]
    # pure-noise init N(0, 1/1000): the singular edge is 2 at every pass (TW margin ~1%)
    np.testing.assert_allclose(thresholds, 2.0, rtol=0.03)


def test_bema_on_a_truncated_noise_matrix_recovers_the_noise_level():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(600, 900)) / math.sqrt(900)
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    T = (U[:, :300] * s[:300]) @ Vt[:300]  # half the spectrum truncated away
    full, cut = BEMA().fit(W), BEMA().fit(T)
    assert cut.n_censored_ == 300
    assert cut.sigma2_ == pytest.approx(full.sigma2_, rel=0.02)
    assert cut.n_spikes_ <= 2
    with pytest.raises(ValueError, match="zeros"):
        GavishDonohoPruner().rule()(np.linalg.svd(T, compute_uv=False), T.shape)
