"""One-shot layer interventions (rmtheory.nn.interventions): each does one thing, and only once."""

import copy

import numpy as np
import pytest

from rmtheory.nn import MLP, train
from rmtheory.nn.interventions import LayerIntervention
from rmtheory.nn.pruners import MomentumReset, MPPruner


def _pruner():
    return MPPruner(every=1, variant="paper_code", protect_output=False, prune_at_start=True,
                    keep_fraction=0.0)  # fmt: skip


def _trained(seed=0):
    g = np.random.default_rng(seed)
    X = g.standard_normal((600, 30)).astype(np.float32)
    y = (X[:, :5].argmax(1)).astype(int)
    m = MLP([30, 60, 40, 5], seed=seed)
    train(m, (X, y), None, epochs=2, lr=0.05, seed=seed, verbose=False)
    return m, X, y


def test_cut_equals_the_pruners_own_cut_in_place():
    m, _, _ = _trained()
    reference = copy.deepcopy(m)
    ev_ref = _pruner().prune(reference, 2, n_classes=5)
    out_ref = [e for e in ev_ref if e.get("layer") == 2][0]
    ev = LayerIntervention("cut", at=0, layer=-1, rank_from=_pruner()).on_epoch_start(m, 0, 5)
    assert ev[0]["rank_after"] == out_ref["rank_after"]
    # the pruner split the layer (fewer parameters); ours stays dense: the same matrix either way
    np.testing.assert_allclose(m.layers[-1].weight, reference.layers[-1].weight, atol=2e-5)
    assert not m.layers[-1].is_factorised
    assert np.linalg.matrix_rank(m.layers[-1].weight.astype(np.float64), tol=1e-4) == ev[0]["rank_after"]
    # the other layers are untouched
    np.testing.assert_array_equal(m.layers[0].weight, _trained()[0].layers[0].weight)


def test_shake_has_the_cuts_frobenius_norm_and_keeps_full_rank():
    m, _, _ = _trained()
    W0 = m.layers[-1].weight.astype(np.float64)
    s = np.linalg.svd(W0, compute_uv=False)
    ev = LayerIntervention("shake", at=0, rank_from=_pruner(), seed=3).on_epoch_start(m, 0, 5)[0]
    expected = np.sqrt(np.sum(s[_cut_of(W0) :] ** 2))
    assert ev["frobenius_change"] == pytest.approx(expected, rel=1e-6)
    assert np.linalg.norm(m.layers[-1].weight - W0) == pytest.approx(expected, rel=1e-4)
    assert np.linalg.matrix_rank(m.layers[-1].weight.astype(np.float64)) == min(W0.shape)


def _cut_of(W0):
    m, _, _ = _trained()
    ev = _pruner().prune(m, 2, n_classes=5)
    return [e for e in ev if e.get("layer") == 2][0]["rank_after"]


def test_fires_once_only():
    m, _, _ = _trained()
    hook = LayerIntervention("cut", at=1, rank_from=_pruner())
    assert hook.on_epoch_start(m, 0, 5) == []
    assert hook.on_epoch_start(m, 1, 5)
    assert hook.on_epoch_start(m, 2, 5) == []


def test_reset_alone_equals_the_momentum_reset_control():
    g = np.random.default_rng(1)
    X = g.standard_normal((400, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    h1 = train(MLP([10, 20, 2], seed=1), (X, y), (X, y), epochs=3, lr=0.05, seed=1,
               pruner=LayerIntervention("reset", at=1), verbose=False)  # fmt: skip
    h2 = train(MLP([10, 20, 2], seed=1), (X, y), (X, y), epochs=3, lr=0.05, seed=1,
               pruner=MomentumReset(every=2), verbose=False)  # fmt: skip
    assert h1.train_loss == h2.train_loss
    h0 = train(MLP([10, 20, 2], seed=1), (X, y), (X, y), epochs=3, lr=0.05, seed=1, verbose=False)
    assert h0.train_loss[:1] == h1.train_loss[:1] and h0.train_loss[1:] != h1.train_loss[1:]


def test_cut_with_and_without_momentum_reset_differ_only_by_the_reset():
    g = np.random.default_rng(2)
    X = g.standard_normal((600, 30)).astype(np.float32)
    y = X[:, :5].argmax(1)
    runs = {}
    for kind in ("cut", "cut_reset"):
        runs[kind] = train(MLP([30, 60, 5], seed=2), (X, y), (X, y), epochs=3, lr=0.05, seed=2,
                           pruner=LayerIntervention(kind, at=1, rank_from=_pruner()),
                           verbose=False)  # fmt: skip
    cut, reset = runs["cut"], runs["cut_reset"]
    assert [e["action"] for e in cut.events] == ["truncate"]
    assert [e["action"] for e in reset.events] == ["truncate", "momentum_reset"]
    assert cut.events[0]["rank_after"] == reset.events[0]["rank_after"] < 5
    assert cut.train_loss[0] == reset.train_loss[0] and cut.train_loss[1] != reset.train_loss[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "rotate"}, "kind must be one of"),
        ({"kind": "cut"}, "needs rank_from"),
        ({"kind": "reset", "at": -1}, "at must be"),
        ({"kind": "reset", "at": 1.5}, "at must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LayerIntervention(**kwargs)


def test_intervention_arms_cut_where_the_authors_first_pass_cuts():
    """Same seed, same epoch-1 state: the cut arms choose the rank output_only's first pass chose,
    the shake moves the output layer by the cut's Frobenius norm, and epoch 1 is shared."""
    from rmtheory.experiments.training.protocol import INTERVENTION_ARMS, protocol_run

    proto = {"sizes": [784, 64, 32, 10], "epochs": 3, "every": 2, "T": 6.0}
    run = {arm: protocol_run(0, arm=arm, dataset="tiny", subset=[1000, 300], protocol=proto)
           for arm in ("output_only", "normal", *INTERVENTION_ARMS)}  # fmt: skip
    first_cut = [e for e in run["output_only"]["events"] if e["epoch"] == 1][0]["rank_after"]
    for arm in ("cut_keep_momentum", "cut_reset_momentum"):
        (ev,) = run[arm]["events"]
        assert (ev["action"], ev["epoch"], ev["rank_after"]) == ("truncate", 1, first_cut)
        assert run[arm]["final_ranks"][-1] == first_cut
    (shake,) = run["shake_output"]["events"]
    assert shake["action"] == "perturb" and shake["rank_after"] == 10
    assert shake["frobenius_change"] == pytest.approx(run["cut_keep_momentum"]["events"][0]["frobenius_change"])
    for arm in run:
        assert run[arm]["test_accuracy"][0] == run["normal"]["test_accuracy"][0]
    assert run["cut_keep_momentum"]["test_accuracy"][1:] != run["cut_reset_momentum"]["test_accuracy"][1:]


def test_the_method_table_builds_the_intervention_with_the_authors_pruner():
    from rmtheory.nn import paper_protocol
    from rmtheory.nn.methods import protocol_hooks

    proto = paper_protocol()
    hook = protocol_hooks("cut_reset_momentum", proto, 4).pruner
    assert isinstance(hook, LayerIntervention)
    assert (hook.kind, hook.at, hook.layer) == ("cut_reset", proto.every - 1, 3)
    authors = proto.pruner()
    for name in ("alpha", "beta", "variant", "protect_output", "gof_cutoff", "every"):
        assert getattr(hook.rank_from, name) == getattr(authors, name)
