"""The verdict rules: every claim's verdict comes from one function here.

A claim compares our number with the paper's (figures, tables: *reproduced*, *partly*, *not
reproduced*) or checks a statement (theorems: *holds*, *violated*, *vacuous*).  Each rule is a
named public function that takes its tolerances as keyword arguments, so a claim states its
rule and its tolerance in one call, e.g. ``rules.absolute(ours, paper, tol=0.05)``; what a rule
is sensitive to (its power) is stated next to it on the :class:`Claim` (``power=``).  Changing how
lenient a rule is happens here, in one place, and ``tests/test_committed_verdicts.py`` shows
every committed verdict it moves.

>>> relative(1.02, 1.0)
'reproduced'
>>> absolute(0.31, 0.25, tol=0.03, loose=0.1)
'partly'
>>> statement(violated=False, vacuous=True)
'vacuous'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "VERDICTS",
    "ALPHA",
    "Claim",
    "grade",
    "statement",
    "at_most",
    "at_least",
    "absolute",
    "relative",
    "in_range",
    "in_band",
    "upper95",
    "worst_pvalue",
    "binomial_pvalue",
    "pvalue_rule",
    "excess_rule",
    "rate_rule",
    "paired",
    "paired_seeds",
    "paired_difference",
    "paired_gain",
    "unpaired_gain",
    "seed_majority",
]

#: Verdicts of a claim: against the paper's numbers (figures, tables) or of a statement (theorems).
VERDICTS = (
    "reproduced",
    "partly",
    "not reproduced",
    "holds",
    "violated",
    "vacuous",
    "not checkable",
    "n/a",
)
#: A statement is "violated" when its Monte Carlo p-value (Bonferroni-corrected) is below this.
ALPHA = 1e-3


@dataclass(frozen=True)
class Claim:
    """One numbered claim of the paper with our value and a verdict.

    ``power`` says what the check is sensitive to (a perturbation under which it must change
    verdict); empty where none is stated yet.
    """

    claim: str
    paper: str
    ours: str
    verdict: str  # one of VERDICTS
    note: str = ""
    power: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict:
        """The JSON record of the claim (``power`` only where one is stated)."""
        out = {k: getattr(self, k) for k in ("claim", "paper", "ours", "verdict", "note")}
        if self.power:
            out["power"] = self.power
        return out


# ------------------------------------------------------------------ against the paper's numbers
def grade(ok: bool, partly: bool = False) -> str:
    """``reproduced`` when ``ok``, ``partly`` when only ``partly``, else ``not reproduced``."""
    return "reproduced" if ok else "partly" if partly else "not reproduced"


def at_most(value: float, good: float, loose: float | None = None, *, strict: bool = False) -> str:
    """A quantity that should be small (an error, a drop, a GoF): ``value <= good`` reproduces,
    ``value <= loose`` partly (``<`` for both when ``strict``); a non-finite value is ``n/a``."""
    if not math.isfinite(value):
        return "n/a"
    le = (lambda a, b: a < b) if strict else (lambda a, b: a <= b)
    return grade(le(value, good), loose is not None and le(value, loose))


def at_least(value: float, good: float, loose: float | None = None, *, strict: bool = False) -> str:
    """A quantity that should be large: ``value >= good`` reproduces, ``value >= loose`` partly
    (``>`` for both when ``strict``); a non-finite value is ``n/a``."""
    if not math.isfinite(value):
        return "n/a"
    ge = (lambda a, b: a > b) if strict else (lambda a, b: a >= b)
    return grade(ge(value, good), loose is not None and ge(value, loose))


def absolute(
    ours: float, paper: float, tol: float, loose: float | None = None, *, strict: bool = False
) -> str:
    """Absolute tolerance: ``|ours - paper| <= tol`` reproduces, ``<= loose`` partly."""
    return at_most(abs(ours - paper), tol, loose, strict=strict)


def relative(ours: float, paper: float, rel: float = 0.05, partly: float = 0.15) -> str:
    """Relative tolerance: ``reproduced`` within ``rel`` relative error, ``partly`` within
    ``partly``, else not; ``n/a`` when either number is not finite."""
    if not (math.isfinite(ours) and math.isfinite(paper)):
        return "n/a"
    err = abs(ours - paper) / max(abs(paper), 1e-300)
    return at_most(err, rel, partly)


def in_range(ours: float, lo: float, hi: float, rel: float, partly: float) -> str:
    """A value against a paper range ``[lo, hi]`` (a point when ``lo == hi``), widened by the
    relative tolerances ``rel`` (reproduced) and ``partly``."""
    if lo * (1 - rel) <= ours <= hi * (1 + rel):
        return "reproduced"
    return grade(False, lo * (1 - partly) <= ours <= hi * (1 + partly))


def in_band(value: float, good: tuple[float, float], loose: tuple[float, float]) -> str:
    """``reproduced`` when ``good[0] <= value <= good[1]``, ``partly`` inside ``loose``."""
    return grade(good[0] <= value <= good[1], loose[0] <= value <= loose[1])


# ------------------------------------------------------------------ statements (theorems)
def statement(violated: bool, vacuous: bool = False) -> str:
    """``violated`` when a counter-example was found, else ``vacuous`` (true but useless) or
    ``holds``."""
    return "violated" if violated else "vacuous" if vacuous else "holds"


def upper95(k: int, n: int) -> float:
    """One-sided 95 % Clopper–Pearson upper bound on a binomial probability (``k`` of ``n``)."""
    import scipy.stats

    return 1.0 if k >= n else float(scipy.stats.beta.ppf(0.95, k + 1, n - k))


def worst_pvalue(per_input: Iterable[int], n: int, p: float) -> float:
    """Bonferroni-corrected p-value of H0 "P(violation) <= p for every input" (binomial)."""
    import scipy.stats

    k = np.asarray(per_input)
    pv = scipy.stats.binom.sf(k - 1, n, p)
    return float(min(1.0, pv.min() * k.size))


def binomial_pvalue(k: int, n: int, p: float, tests: int = 1) -> float:
    """P(at least ``k`` of ``n`` when each has probability ``p``), times ``tests`` (Bonferroni)."""
    import scipy.stats

    return float(scipy.stats.binom.sf(k - 1, n, p) * tests)


def pvalue_rule(pvalue: float, tests: int = 1, alpha: float = ALPHA) -> str:
    """Monte Carlo test of a probability bound: ``violated`` when ``pvalue * tests < alpha``."""
    return statement(pvalue * tests < alpha)


def excess_rule(excess_sd: float, limit: float = 4.0) -> str:
    """``violated`` when an empirical tail exceeds its bound by more than ``limit`` Monte Carlo
    standard deviations."""
    return statement(excess_sd > limit)


def rate_rule(
    rates: Sequence[float], ses: Sequence[float], decreasing: bool, checkable: bool, k: float = 2.0
) -> str:
    """A limit at finite N: ``holds`` when the quantity decreases and every fitted rate is
    significantly positive (``rate - k s.e. > 0``); ``not checkable`` without enough sizes/seeds."""
    if not checkable:
        return "not checkable"
    significant = all(r - k * s > 0 for r, s in zip(rates, ses, strict=True))
    return statement(not (decreasing and significant))


# ------------------------------------------------------------------ over seeds
def _acc(runs: list[dict], epoch: int = -1) -> np.ndarray:
    return np.array([100 * r["test_accuracy"][epoch] for r in runs], dtype=np.float64)


def paired_seeds(a_runs: list[dict], b_runs: list[dict]) -> list[int]:
    """The seeds two arms both have, in the order :func:`paired` returns them."""
    a = {r.get("seed", i) for i, r in enumerate(a_runs)}
    return sorted(a & {r.get("seed", i) for i, r in enumerate(b_runs)})


def paired(a_runs: list[dict], b_runs: list[dict], epoch: int = -1) -> tuple[np.ndarray, ...]:
    """Final accuracies (%) of two arms over the seeds both have, in seed order."""
    a = {r.get("seed", i): r for i, r in enumerate(a_runs)}
    b = {r.get("seed", i): r for i, r in enumerate(b_runs)}
    common = sorted(set(a) & set(b))
    return _acc([a[s] for s in common], epoch), _acc([b[s] for s in common], epoch)


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``b - a`` over paired seeds and its 95 % t confidence interval (lo, hi)."""
    from scipy import stats

    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    if d.size < 2:
        return float(d.mean()), math.nan, math.nan
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def paired_gain(lo: float, n: int, gain_seeds: int, min_seeds: int = 3) -> str:
    """Paired over seeds: ``reproduced`` with >= ``min_seeds`` seeds and the CI's lower end
    ``lo`` above 0; ``partly`` when some seed gains (``gain_seeds > 0``)."""
    return grade(n >= min_seeds and lo > 0, gain_seeds > 0)


def unpaired_gain(normal: Sequence[float], pruned: Sequence[float], z: float = 2.0,
                  min_seeds: int = 3) -> str:  # fmt: skip
    """Pruned beats normal by more than ``z`` standard errors of the difference of means
    (ddof 1); any positive gain is ``partly``, and so is every gain on fewer than ``min_seeds``."""
    n, p = np.asarray(normal), np.asarray(pruned)
    gain = p.mean() - n.mean()
    if gain <= 0:
        return "not reproduced"
    if min(n.size, p.size) < min_seeds:
        return "partly"  # a positive gain, but too few seeds to call it
    se = math.sqrt(n.var(ddof=1) / n.size + p.var(ddof=1) / p.size)
    return grade(gain > z * se, True)


def seed_majority(wins: int, seeds: int, ratio: float, ratio_good: float = 0.8) -> str:
    """``reproduced`` when the effect shows in every seed with a median ratio <= ``ratio_good``;
    ``partly`` in most seeds."""
    return grade(wins == seeds and ratio <= ratio_good, wins > seeds / 2)
