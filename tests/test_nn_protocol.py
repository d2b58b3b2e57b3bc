"""The switches that let Algorithm 1 run as the authors ran it (issue 15): paper_code fits a 10×500
output layer while the default refuses it, layer selection, the lr schedule, momentum resets without a
layer change, the bias drop on a re-split, and the one-call preset."""

import math

import numpy as np
import pytest

from rmtheory.bema import BEMA
from rmtheory.datasets import make_tiny_classification
from rmtheory.nn import MLP, MomentumReset, lr_at_passes, paper_protocol, train
from rmtheory.nn.pruners import MPPruner
from rmtheory.thresholds import keep_rank


def output_layer_net(seed=0):
    """[20, 500, 10] whose 10×500 output weight is noise plus a strong rank-2 signal."""
    net = MLP([20, 500, 10], final_activation="relu", seed=seed, dtype=np.float64)
    g = np.random.default_rng(seed)
    U = np.linalg.qr(g.normal(size=(10, 2)))[0]
    V = np.linalg.qr(g.normal(size=(500, 2)))[0]
    W = g.normal(size=(10, 500)) / math.sqrt(500) + (U * [8.0, 6.0]) @ V.T
    net.layers[1].set_dense(W)
    return net, W


def test_paper_code_cuts_a_10x500_output_layer_and_the_default_refuses_it():
    net, W = output_layer_net()
    events = MPPruner(variant="paper_code", protect_output=False, keep_fraction=0.5).prune(
        net, epoch=2, n_classes=10
    )
    out = events[1]
    # independent route: the authors' fit on the bare eigenvalues s²/fan_in of the output weight
    s = np.linalg.svd(W, compute_uv=False)
    fit = BEMA(variant="paper_code").fit(s**2 / 500, q=500, fan_in=500)
    assert fit.window_size_ == 5 and out["bema_window"] == 5 and "paper_code" in out["fit"]
    assert out["n_above"] == np.count_nonzero(s > fit.singular_value_threshold_) == 2
    assert out["rank_after"] == keep_rank(2, 10, 0.5) == 6
    assert (
        out["action"] in ("split", "truncate") and np.linalg.matrix_rank(net.layers[1].weight) == 6
    )

    net2, _ = output_layer_net()
    ev = MPPruner(protect_output=False, keep_fraction=0.5).prune(net2, epoch=2, n_classes=10)[1]
    assert ev["action"] == "skip" and "at least 20 bulk eigenvalues" in ev["reason"]
    np.testing.assert_array_equal(net2.layers[1].weight, W)


def test_protected_output_is_never_cut_below_the_classes_even_with_paper_code():
    net, _ = output_layer_net()
    ev = MPPruner(variant="paper_code", keep_fraction=0.0).prune(net, epoch=2, n_classes=10)[1]
    assert ev["rank_after"] == 10 and np.linalg.matrix_rank(net.layers[1].weight) == 10


@pytest.mark.parametrize("layers, pruned", [([-1], {1}), ([0], {0}), ([], set()), (None, {0, 1})])
def test_layer_selection_prunes_only_the_chosen_layers(layers, pruned):
    net, _ = output_layer_net()
    net.layers[0].set_dense(np.random.default_rng(1).normal(size=(500, 20)))  # pure noise
    before = [layer.weight.copy() for layer in net.layers]
    events = MPPruner(variant="paper_code", protect_output=False, keep_fraction=0.0,
                      layers=layers).prune(net, epoch=2, n_classes=10)  # fmt: skip
    assert {e["layer"] for e in events} == pruned
    for i, layer in enumerate(net.layers):
        changed = not np.array_equal(layer.weight, before[i])
        assert changed == (i in pruned)


@pytest.mark.parametrize("bad, exc", [(5, TypeError), ([0.5], TypeError), ("0", TypeError)])
def test_layer_selection_refuses_bad_input(bad, exc):
    with pytest.raises(exc, match="layers"):
        MPPruner(layers=bad)


def test_layer_selection_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"layers \[5\] out of range"):
        MPPruner(layers=[5]).prune(MLP([4, 3, 2]), epoch=7, n_classes=2)


def test_lr_schedule_drives_every_epoch_and_equals_hand_written_gd():
    """Full-batch linear MSE: the learning rate of each epoch must be the schedule's."""
    g = np.random.default_rng(0)
    X, Y = g.standard_normal((30, 3)), g.standard_normal((30, 2))
    model = MLP([3, 2], final_activation=None, seed=0, dtype=np.float64)
    W, b = model.layers[0].factors[0].copy(), model.layers[0].bias.copy()
    rates = [0.1, 0.03, 0.07, 0.01]
    h = train(model, (X, Y), None, epochs=4, lr=99.0, lr_decay=0.5, momentum=0.0, batch_size=30,
              loss="mse", lr_schedule=lambda e: rates[e], verbose=False)  # fmt: skip
    for lr in rates:
        R = X @ W.T + b - Y
        W, b = W - lr * 2 * R.T @ X / R.size, b - lr * 2 * R.sum(0) / R.size
    assert h.lr == rates
    np.testing.assert_allclose(model.layers[0].factors[0], W, rtol=1e-12)


@pytest.mark.parametrize("value, exc", [(lambda e: 0.0, ValueError), (lambda e: math.nan, ValueError),
                                        (lambda e: "0.1", TypeError), (0.1, TypeError)])  # fmt: skip
def test_lr_schedule_refuses_bad_values(value, exc):
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(exc, match="lr_schedule"):
        train(MLP([2, 2]), (X, y), None, epochs=1, lr_schedule=value, verbose=False)


def test_lr_at_passes_is_piecewise_constant_at_the_pass_epochs():
    f = lr_at_passes(0.02, 0.96, every=7)
    # passes before 0-based epochs 6, 13, ...: lr 0.02 until then, 0.02·0.96^6 from epoch 6 to 12
    assert [f(e) for e in (0, 5)] == [0.02, 0.02]
    assert f(6) == f(12) == pytest.approx(0.02 * 0.96**6)
    assert f(13) == pytest.approx(0.02 * 0.96**13)
    with pytest.raises(ValueError, match="decay"):
        lr_at_passes(0.02, 1.5)


def _tiny():
    d = make_tiny_classification(n_train=256, n_test=64, seed=0)
    return (d[0], d[1]), (d[2], d[3])


def test_momentum_reset_changes_the_run_without_changing_any_layer():
    tr, te = _tiny()
    runs = {}
    for name, hook in (("none", None), ("reset", MomentumReset(every=2)),
                       ("never", MomentumReset(every=2, reset_momentum=False))):  # fmt: skip
        m = MLP([784, 16, 10], seed=0)
        h = train(m, tr, te, epochs=3, pruner=hook, batch_size=64, verbose=False)
        runs[name] = (m, h)
    w = {k: v[0].layers[0].weight for k, v in runs.items()}
    np.testing.assert_array_equal(w["none"], w["never"])
    assert not np.array_equal(w["none"], w["reset"])  # the reset before epoch 2 changed the path
    assert [e["epoch"] for e in runs["reset"][1].events] == [1]
    assert runs["reset"][0].n_params() == runs["none"][0].n_params()


def test_momentum_reset_equals_restarting_the_optimiser():
    """Two epochs with a reset before the second = one epoch, then a fresh train() from there."""
    tr, te = _tiny()
    a = MLP([784, 16, 10], seed=0)
    train(a, tr, te, epochs=2, pruner=MomentumReset(every=2), lr_decay=None, batch_size=64,
          seed=3, verbose=False)  # fmt: skip
    b = MLP([784, 16, 10], seed=0)
    gen = np.random.default_rng(3)
    train(b, tr, te, epochs=1, lr_decay=None, batch_size=64, seed=gen, verbose=False)
    train(b, tr, te, epochs=1, lr_decay=None, batch_size=64, seed=gen, verbose=False)
    np.testing.assert_array_equal(a.layers[0].weight, b.layers[0].weight)


def test_reset_momentum_always_emits_a_reset_event():
    net, _ = output_layer_net()
    events = MPPruner(reset_momentum="always", layers=[]).prune(net, epoch=2, n_classes=10)
    assert events == [{"action": "momentum_reset", "reason": "reset_momentum='always'"}]
    with pytest.raises(ValueError, match="reset_momentum"):
        MPPruner(reset_momentum="sometimes")


@pytest.mark.parametrize("drop", [False, True])
def test_bias_drop_on_resplit_is_a_switch(drop):
    net, _ = output_layer_net()
    net.layers[0].set_dense(np.random.default_rng(2).normal(size=(500, 20)))
    net.layers[1].bias[:] = 1.5
    pruner = MPPruner(variant="paper_code", protect_output=False, keep_fraction=lambda e: 0.9 if e == 2 else 0.0,
                      drop_bias_on_resplit=drop, layers=[1])  # fmt: skip
    first = pruner.prune(net, epoch=2, n_classes=10)[0]
    assert net.layers[1].is_factorised and first["action"] == "split"
    np.testing.assert_array_equal(net.layers[1].bias, 1.5)  # the first split always keeps it
    second = pruner.prune(net, epoch=4, n_classes=10)[0]
    assert second["action"] == "split" and second.get("bias_dropped", False) == drop
    np.testing.assert_array_equal(net.layers[1].bias, 0.0 if drop else 1.5)
    with pytest.raises(TypeError, match="drop_bias_on_resplit"):
        MPPruner(drop_bias_on_resplit="yes")


def test_preset_is_the_authors_protocol_and_runs_in_one_call():
    p = paper_protocol()
    assert (p.sizes, p.epochs, p.every, p.T, p.l1, p.l2) == ((784, 1000, 1000, 500, 10), 8, 2, 12.0,
                                                           5e-6, 5e-6)  # fmt: skip
    pr = p.pruner()
    assert (pr.variant, pr.protect_output, pr.reset_momentum, pr.drop_bias_on_resplit,
            pr.gof_cutoff, pr.alpha, pr.beta) == ("paper_code", False, "always", True, 1.0, 0.25, 0.1)  # fmt: skip
    assert [pr.fraction(e) for e in (2, 8, 12)] == pytest.approx([1 - 2 / 12, 1 - 8 / 12, 0.0])
    with pytest.raises(TypeError, match="unknown protocol settings"):
        paper_protocol(epoch=3)

    tr, te = _tiny()
    small = paper_protocol(sizes=(784, 64, 32, 10), epochs=4, T=6)
    model, h = small.run(tr, te, seed=0, verbose=False)
    cut = [e for e in h.events if e.get("action") in ("split", "truncate")]
    assert {e["layer"] for e in cut} >= {2}  # the 10-row output layer is cut, as theirs
    assert h.lr == pytest.approx([small.lr_schedule()(e) for e in range(4)])
    normal, h0 = small.run(tr, te, seed=0, prune=False, verbose=False)
    assert h0.events == [] and normal.n_params() > model.n_params()


def test_untrained_weights_are_not_pruned_unless_asked():
    """every=1 fires before the first epoch: random weights have no spike (issue 11)."""
    net = MLP([784, 64, 10], seed=0)
    w0 = net.layers[0].weight
    ev = MPPruner(every=1, keep_fraction=0.0).on_epoch_start(net, epoch=0, n_classes=10)
    assert ev[0]["action"] == "skip" and "untrained" in ev[0]["reason"]
    np.testing.assert_array_equal(net.layers[0].weight, w0)
    ev = MPPruner(every=1, keep_fraction=0.0, prune_at_start=True).on_epoch_start(net, 0, 10)
    assert ev[0]["action"] in ("split", "truncate")


def test_no_layer_is_cut_to_rank_zero_and_the_event_says_why():
    net = MLP([200, 300, 10], seed=0, dtype=np.float64)  # pure noise: BEMA finds no spike
    ev = MPPruner(keep_fraction=0.0).prune(net, epoch=7, n_classes=10)[0]
    assert ev["n_above"] == 0 and ev["rank_after"] == 1 and "never cut to rank 0" in ev["floor"]
    assert np.linalg.matrix_rank(net.layers[0].weight) == 1
