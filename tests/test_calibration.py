"""The calibration check (rmtheory.calibration, ``rmtheory calibrate``).

Oracles: a recount of the same seeded matrices through the public ``analyze`` (bookkeeping), the
BBP threshold by its closed form (nm)^(1/4), and the binomial law of the counts: with N trials and
true rate beta the false-spike count has standard error sqrt(beta (1 - beta) / N), and the
tolerances below are stated in those units.  The full-size figures (>= 1000 trials per shape) are
in docs/large_models.md; here the trials are few, so the tests take seconds.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from rmtheory.analysis import analyze
from rmtheory.analyze_cli import add_commands
from rmtheory.calibration import SPIKE_COUNTS, calibrate, planted_spikes_matrix


def test_counts_match_a_recount_through_analyze():
    r = calibrate(50, 90, trials=12, spike_trials=9, spike_factor=1.5, seed=7)
    null_ss, spike_ss = np.random.SeedSequence(7).spawn(2)
    bbp = (50 * 90) ** 0.25
    null = [
        analyze({"w": planted_spikes_matrix(50, 90, (), s)})[0].mp_rank for s in null_ss.spawn(12)
    ]
    spiked = [
        analyze({"w": planted_spikes_matrix(50, 90, (1.5 * bbp,) * k, s)})[0].mp_rank
        for s, k in zip(spike_ss.spawn(9), [SPIKE_COUNTS[i % 3] for i in range(9)], strict=True)
    ]
    planted = [SPIKE_COUNTS[i % 3] for i in range(9)]
    assert r.false_spikes == sum(k >= 1 for k in null)
    assert r.exact == sum(k == p for k, p in zip(spiked, planted, strict=True))
    assert r.missed == sum(k < p for k, p in zip(spiked, planted, strict=True))
    assert r.extra == sum(k > p for k, p in zip(spiked, planted, strict=True))
    assert r.exact + r.missed + r.extra == 9
    assert r.bbp_threshold == pytest.approx(bbp, rel=1e-12)


def test_planted_matrix_has_the_planted_singular_values_in_the_limit():
    # noise-free check of the construction: theta u v^T with orthonormal u, v
    W = planted_spikes_matrix(40, 70, (5.0, 3.0), 0) - planted_spikes_matrix(40, 70, (), 0)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False)[:3], [5.0, 3.0, 0.0], atol=1e-12)


def test_false_spike_rate_is_beta_within_the_binomial_error():
    # 300 pure-noise 80 x 160 matrices: SE = sqrt(0.1 * 0.9 / 300) = 0.017; allow 4 SE (0.069),
    # so that the test itself fails by chance with probability ~1e-4.
    r = calibrate(80, 160, trials=300, spike_trials=0, seed=1)
    se = math.sqrt(0.1 * 0.9 / 300)
    assert abs(r.false_spike_rate - 0.1) <= 4 * se, r.to_text()
    assert r.false_spike_se == pytest.approx(
        math.sqrt(r.false_spike_rate * (1 - r.false_spike_rate) / 300)
    )
    assert math.isnan(r.exact_rate)
    d = json.loads(r.to_json())  # strict JSON: no NaN for what was not measured
    assert d["exact_rate"] is None and d["false_spike_rate"] == r.false_spike_rate


def test_strong_spikes_are_all_found():
    # 3x the BBP threshold is far above the edge at this size: no spike may be missed; the
    # extras are false spikes of the bulk, rate ~beta: allow beta + 4 SE (60 trials: 0.10 + 0.16).
    r = calibrate(100, 200, trials=0, spike_trials=60, spike_factor=3.0, seed=2)
    assert r.missed == 0, r.to_text()
    assert r.extra_rate <= 0.1 + 4 * math.sqrt(0.09 / 60)
    assert r.exact == 60 - r.extra


def test_results_do_not_depend_on_jobs():
    a = calibrate(40, 80, trials=16, spike_trials=6, seed=3)
    b = calibrate(40, 80, trials=16, spike_trials=6, seed=3, jobs=2)
    assert a == b


def test_bad_arguments_and_too_small_shapes():
    with pytest.raises(ValueError, match=r"500x10.*20 bulk eigenvalues"):
        calibrate(500, 10, trials=5)
    with pytest.raises(ValueError, match="beta"):
        calibrate(50, 50, beta=1.5)
    with pytest.raises(TypeError, match="rows"):
        calibrate(50.5, 50)
    with pytest.raises(ValueError, match="nothing to measure"):
        calibrate(50, 50, trials=0, spike_trials=0)
    with pytest.raises(ValueError, match="spike_factor"):
        calibrate(50, 50, spike_factor=-1)


def test_cli_calibrate(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="rmtheory")
    add_commands(parser.add_subparsers(dest="command", required=True))
    argv = ["calibrate", "60", "100", "--trials", "20", "--spike-trials", "6", "--no-progress"]
    args = parser.parse_args([*argv, "--json", str(tmp_path / "c.json")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "pure noise: 20 trials" in out and "planted spikes" in out
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["shape"] == [60, 100] and data["trials"] == 20 and "false_spike_rate" in data
    args = parser.parse_args(["calibrate", "500", "10", "--trials", "5"])
    assert args.func(args) == 2
    assert "20 bulk eigenvalues" in capsys.readouterr().err
