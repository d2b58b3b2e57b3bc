"""The headline's checks can fail: each flips when the effect it judges is reversed or absent.

The headline's claims are judged from 30 seeds of full-size training (``figures/full/``), too
costly to re-run in a test, so the perturbations act on the committed seed records: the arms
swapped (a sign flip of the predicted effect), the normal net replaced by one without dead
units.  The powers the claims state (the smallest gain a seed-paired t-test detects, the
largest sd ratio an F-test detects) are checked against Monte Carlo here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from rmtheory.experiments import EXPERIMENTS, rules

HEADLINE = Path(__file__).resolve().parents[1] / "figures" / "full" / "headline.json"


@pytest.fixture(scope="module")
def result():
    if not HEADLINE.exists():
        pytest.skip("figures/full/headline.json is not committed")
    return json.loads(HEADLINE.read_text())


def _verdicts(result: dict) -> dict[str, str]:
    return {c.claim: c.verdict for c in EXPERIMENTS["headline"].claims(result)}


def _pick(verdicts: dict, start: str) -> str:
    (key,) = [k for k in verdicts if k.startswith(start)]
    return verdicts[key]


def _with_runs(result: dict, **runs) -> dict:
    return {**result, "runs": {**result["runs"], **runs}}


GAIN = "headline: MP pruning raises accuracy"
VARIANCE = "abstract: pruning decreases the variance"
MINIMA = "deeper minima"
RANGE = "headline: unpruned test accuracy"


def test_the_committed_headline_has_thirty_paired_seeds(result):
    seeds = {a: sorted(r["seed"] for r in result["runs"][a]) for a in ("normal", "mp")}
    assert seeds["normal"] == seeds["mp"] == list(range(30))
    v = _verdicts(result)
    assert _pick(v, GAIN) == "reproduced"
    assert _pick(v, VARIANCE) == "reproduced" and _pick(v, MINIMA) == "reproduced"


def test_a_sign_flip_of_the_effect_flips_every_paired_claim(result):
    runs = result["runs"]
    swapped = _with_runs(result, normal=runs["mp"], mp=runs["normal"])
    v = _verdicts(swapped)
    assert _pick(v, GAIN) == "not reproduced"
    assert _pick(v, VARIANCE) == "not reproduced"
    assert _pick(v, MINIMA) == "not reproduced"


def test_no_gain_at_all_is_not_reproduced(result):
    """mp := normal exactly: zero difference on every seed, so no CI lies above 0."""
    runs = result["runs"]
    v = _verdicts(_with_runs(result, mp=runs["normal"]))
    assert _pick(v, GAIN) == "n/a" or _pick(v, GAIN) == "not reproduced"


def test_the_range_claim_fails_on_a_net_without_dead_units(result):
    """The corrected net (no final ReLU) never loses a unit: no seed lies in 70–85."""
    runs = result["runs"]
    fake = [{**r, "zero_fraction": r["zero_fraction"]} for r in runs["normal_no_relu"]]
    v = _verdicts(_with_runs(result, normal=fake, mp=runs["mp_no_relu"]))
    assert _pick(v, RANGE) == "not reproduced"
    assert _pick(_verdicts(result), RANGE) == "partly"  # 5 of 30 seeds in 70–85


def test_the_stated_paired_power_matches_monte_carlo():
    """A true gain of ``detectable_shift(sd, n)`` is detected (CI above 0) 80 % of the time."""
    rng = np.random.default_rng(7)
    n, sd, trials = 30, 2.0, 4000
    shift = rules.detectable_shift(sd, n)
    d = rng.normal(shift, sd, size=(trials, n))
    half = stats.t.ppf(0.975, n - 1) * d.std(axis=1, ddof=1) / math.sqrt(n)
    rate = float(np.mean(d.mean(axis=1) - half > 0))
    # the formula neglects the far rejection tail (< 1e-4 here); 4000 trials: s.e. 0.0063
    assert abs(rate - 0.8) < 0.03, rate


def test_the_stated_variance_power_matches_monte_carlo():
    rng = np.random.default_rng(8)
    n, trials = 30, 4000
    ratio = rules.detectable_sd_ratio(n, n)
    a = rng.normal(0.0, 1.0, size=(trials, n))
    b = rng.normal(0.0, ratio, size=(trials, n))
    f = b.var(axis=1, ddof=1) / a.var(axis=1, ddof=1)
    rate = float(np.mean(stats.f.cdf(f, n - 1, n - 1) < 0.05))
    assert abs(rate - 0.8) < 0.03, rate


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        ((7.7, -7.9, 23.3, 6, 13.5), "partly"),  # covers 0 and the paper's size
        ((7.7, 2.0, 13.0, 30, 13.5), "reproduced"),
        ((7.7, 2.0, 13.0, 2, 13.5), "partly"),  # CI above 0 but too few seeds
        ((1.0, -1.0, 3.0, 30, 13.5), "not reproduced"),  # covers 0, not the paper's size
        ((-2.0, -4.0, 0.5, 30, 13.5), "not reproduced"),  # wrong direction
        ((-2.0, -4.0, -0.5, 30, -1.0), "reproduced"),  # a paper effect below 0
    ],
)
def test_paired_effect_rule(args, verdict):
    assert rules.paired_effect(*args) == verdict


def test_range_on_seeds_judges_seeds_not_the_mean():
    # the audit's case: seeds 60 and 98 average 79, inside 70–85, but neither seed is
    assert rules.range_on_seeds([60.0, 98.0], 70, 85) == "not reproduced"
    assert rules.range_on_seeds([72.0, 98.0], 70, 85) == "partly"
    assert rules.range_on_seeds([72.0, 84.0], 70, 85) == "reproduced"
