"""Sparsification (post-training sweep and during training) and model files."""

import numpy as np
import pytest

from rmtheory.nn import MLP, Sparsifier, load_model, save_model, sparsify, sparsify_sweep, train


def blobs(n=300, d=5, classes=3, seed=0):
    g = np.random.default_rng(seed)
    centres = 2 * g.standard_normal((classes, d))
    y = g.integers(0, classes, n)
    return (centres[y] + g.standard_normal((n, d))).astype(np.float32), y


def split_model(seed=0):
    model = MLP([5, 12, 3], init="pytorch", seed=seed)
    g = np.random.default_rng(seed)
    model.layers[0].set_factors(0.5 * g.standard_normal((4, 5)), 0.5 * g.standard_normal((12, 4)))
    return model


def test_sparsify_zeroes_small_weights_of_both_factors_but_not_biases():
    model = split_model()
    before = [p.copy() for p in model.params()]
    xi = 0.3
    zeroed = sparsify(model, xi)
    expect = 0
    for layer, old in zip(model.layers, np.split(np.array(before, dtype=object), [3]), strict=True):
        for f, f0 in zip(layer.factors, old[:-1], strict=True):
            np.testing.assert_array_equal(f, np.where(np.abs(f0) > xi, f0, 0))
            expect += np.count_nonzero((np.abs(f0) <= xi) & (f0 != 0))
        np.testing.assert_array_equal(layer.bias, old[-1])  # biases untouched
    assert zeroed == expect > 0
    with pytest.raises(ValueError, match="threshold"):
        sparsify(model, -1.0)


def test_sweep_matches_fresh_sparsification_at_each_threshold():
    X, y = blobs()
    model = split_model()
    train(model, (X, y), None, epochs=3, lr=0.05, verbose=False)
    snapshot = [p.copy() for p in model.params()]
    ths = [0.5, 0.01, 0.2, 1.0]
    got = sparsify_sweep(model, (X, y), ths)
    for p, q in zip(model.params(), snapshot, strict=True):
        np.testing.assert_array_equal(p, q)  # the model itself is not touched
    for xi, (nnz, acc) in zip(ths, got, strict=True):
        fresh = model.copy()
        # independent route: mask every weight matrix directly, count all nonzero params by hand
        for layer in fresh.layers:
            for f in layer.factors:
                f *= np.abs(f) > xi
        assert nnz == sum(np.count_nonzero(p) for p in fresh.params())
        assert acc == pytest.approx(np.mean(fresh.predict(X).argmax(1) == y))
    counts = [n for n, _ in got]
    assert counts[1] > counts[2] > counts[0] >= counts[3]


def test_sweep_default_thresholds_are_the_papers():
    X, y = blobs(50)
    got = sparsify_sweep(MLP([5, 4, 3]), (X, y))
    assert len(got) == 50
    # ξ_0 = 1 zeroes every N(0, 1/5) and N(0, 1/4) weight with |w| <= 1 (almost all); biases are 0
    assert got[0][0] < got[-1][0]


def test_sparsifier_schedule_follows_the_authors_notebook():
    s = Sparsifier(every=5, start=0.001, stop=0.02, ramp_epochs=20)
    # notebook: min(0.001 + (0.02 - 0.001)/20 · epoch, 0.02), applied after epochs 5, 10, ...
    for e in range(40):
        assert s.threshold(e) == pytest.approx(min(0.001 + 0.00095 * e, 0.02))
    model = MLP([5, 30, 3], seed=0)
    fired = [e for e in range(16) if s.on_epoch_start(model, epoch=e)]
    assert fired == [5, 10, 15]
    with pytest.raises(ValueError):
        Sparsifier(start=0.1, stop=0.01)


@pytest.mark.parametrize("keep_mask", [False, True])
def test_keep_mask_keeps_pruned_weights_at_zero(keep_mask):
    X, y = blobs()
    model = MLP([5, 30, 3], seed=0)
    sp = Sparsifier(every=1, start=0.1, stop=0.1, ramp_epochs=1, keep_mask=keep_mask)
    h = train(model, (X, y), None, epochs=3, lr=0.05, sparsifier=sp, verbose=False)
    assert [ev["epoch"] for ev in h.events] == [1, 2]
    ev = h.events[0]
    assert ev["source"] == "Sparsifier" and ev["nonzero_after"] < ev["nonzero_before"]
    n_weights_nonzero = sum(np.count_nonzero(f) for layer in model.layers for f in layer.factors)
    if keep_mask:  # every weight zeroed at epoch 1 or 2 is still exactly zero after training
        masks = [m for layer_masks in sp.masks for m in layer_masks]
        factors = [f for layer in model.layers for f in layer.factors]
        assert sum(np.count_nonzero(~m) for m in masks) > 30
        assert all(not f[~m].any() for f, m in zip(factors, masks, strict=True))
        assert n_weights_nonzero == sum(np.count_nonzero(m) for m in masks)
        assert h.n_nonzero[-1] == model.n_nonzero()
    else:  # without the mask SGD moves the zeroed weights again
        assert n_weights_nonzero == sum(f.size for layer in model.layers for f in layer.factors)


def test_mask_dropped_when_a_layer_is_reshaped():
    model = MLP([5, 30, 3], seed=0)
    sp = Sparsifier(every=1, start=0.05, stop=0.05, keep_mask=True)
    sp.on_epoch_start(model, epoch=1)
    model.layers[0].set_factors(np.ones((2, 5)), np.ones((30, 2)))
    sp.after_step(model)  # must not fail or zero the new factors
    assert sp.masks[0] is None and model.layers[0].factors[0].all()


def test_save_and_load_model_round_trip(tmp_path):
    model = split_model()
    model.layers[1].activation = "abs"
    save_model(tmp_path / "m.npz", model)
    back = load_model(tmp_path / "m.npz")
    assert back.activations == model.activations and back.sizes == model.sizes
    assert [layer.rank for layer in back.layers] == [layer.rank for layer in model.layers]
    for p, q in zip(model.params(), back.params(), strict=True):
        np.testing.assert_array_equal(p, q)
        assert p.dtype == q.dtype
    X = np.random.default_rng(0).standard_normal((7, 5))
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert not list(tmp_path.glob("*.tmp"))
