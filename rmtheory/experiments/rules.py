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
    "paired_effect",
    "paired_sign",
    "detectable_shift",
    "detectable_sd_ratio",
    "range_on_seeds",
    "variance_test",
    "variance_rule",
    "mean_sd",
    "unpaired_gain",
    "seed_majority",
    "all_of",
    "TAGS",
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
    "by construction",
    "n/a",
)
#: Labels a claim may carry beside its verdict: ``calibrated`` (the number depends on a constant
#: fitted to the paper, e.g. the pruning threshold T), ``substitute`` (judged on a stand-in for
#: the paper's net or data, not the paper's own).
TAGS = ("calibrated", "substitute")
#: A statement is "violated" when its Monte Carlo p-value (Bonferroni-corrected) is below this.
ALPHA = 1e-3


@dataclass(frozen=True)
class Claim:
    """One numbered claim of the paper with our value and a verdict.

    ``power`` says what the check is sensitive to (a perturbation under which it must change
    verdict), or why it has none ("none: ..."); ``tags`` are labels from :data:`TAGS`.  A row
    that cannot fail (its quantity is fixed by how it is built) has the verdict
    ``by construction``, which the verdict page counts apart.
    """

    claim: str
    paper: str
    ours: str
    verdict: str  # one of VERDICTS
    note: str = ""
    power: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        object.__setattr__(self, "tags", tuple(self.tags))
        bad = [t for t in self.tags if t not in TAGS]
        if bad:
            raise ValueError(f"tags must be among {TAGS}, got {bad}")

    def as_dict(self) -> dict:
        """The JSON record of the claim (``power`` and ``tags`` only where stated)."""
        out = {k: getattr(self, k) for k in ("claim", "paper", "ours", "verdict", "note")}
        if self.power:
            out["power"] = self.power
        if self.tags:
            out["tags"] = list(self.tags)
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


def paired_effect(
    mean: float, lo: float, hi: float, n: int, paper: float, min_seeds: int = 3
) -> str:
    """A paired effect over seeds against the paper's effect ``paper`` (its sign is the
    paper's direction): ``reproduced`` with >= ``min_seeds`` seeds and the 95 % CI ``[lo, hi]``
    wholly on the paper's side of 0; ``partly`` when the mean is in the paper's direction and
    the CI covers both 0 and ``paper`` (or lies on the paper's side with too few seeds);
    ``not reproduced`` otherwise; ``n/a`` without a CI (fewer than 2 seeds).

    >>> paired_effect(7.7, -7.9, 23.3, 6, paper=13.5)
    'partly'
    >>> paired_effect(7.7, 2.0, 13.0, 30, paper=13.5)
    'reproduced'
    >>> paired_effect(-1.0, -3.0, 1.0, 30, paper=13.5)
    'not reproduced'
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or n < 2:
        return "n/a"
    sign = 1.0 if paper >= 0 else -1.0
    lo_s, hi_s = sorted((sign * lo, sign * hi))
    if lo_s > 0:  # the paper's direction shown; too few seeds to call it reproduced
        return grade(n >= min_seeds, True)
    covers = lo_s <= 0 <= hi_s and lo_s <= abs(paper) <= hi_s
    return grade(False, sign * mean > 0 and covers)


def paired_sign(mean: float, lo: float, hi: float, n: int, sign: int, min_seeds: int = 3) -> str:
    """A paired effect whose paper states a direction (``sign`` +1 or −1) but no size:
    ``reproduced`` with >= ``min_seeds`` seeds and the CI wholly on that side of 0, ``partly``
    when only the mean is, ``not reproduced`` otherwise; ``n/a`` without a CI.

    >>> paired_sign(-0.24, -0.34, -0.14, 30, sign=-1)
    'reproduced'
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    if not (math.isfinite(lo) and math.isfinite(hi)) or n < 2:
        return "n/a"
    lo_s, hi_s = sorted((sign * lo, sign * hi))
    return grade(n >= min_seeds and lo_s > 0, sign * mean > 0)


def detectable_shift(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true paired mean a two-sided t-test at ``alpha`` detects with probability
    ``power`` over ``n`` seeds whose differences have standard deviation ``sd``:
    ``(t_{1-α/2, n-1} + t_{power, n-1}) · sd / √n`` (the usual normal-approximation formula with
    t quantiles; e.g. Lehmann & Romano, *Testing Statistical Hypotheses*, §3.1).  This is the
    power of a seed-paired check: a gain of this size would not be missed."""
    from scipy import stats

    if n < 2 or not math.isfinite(sd):
        return math.nan
    t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * sd / math.sqrt(n))


def detectable_sd_ratio(n_a: int, n_b: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The largest true sd ratio (b / a, below 1) the one-sided F-test of var(b) < var(a) at
    ``alpha`` detects with probability ``power``: ``ρ² = F_α(n_b−1, n_a−1) / F_power(n_b−1,
    n_a−1)``, since the test rejects when ``ρ² F < F_α`` with ``F`` an F variable."""
    from scipy import stats

    d = (n_b - 1, n_a - 1)
    return float(math.sqrt(stats.f.ppf(alpha, *d) / stats.f.ppf(power, *d)))


def range_on_seeds(values: Sequence[float], lo: float, hi: float) -> str:
    """A paper range ``[lo, hi]`` judged on the seeds, not their mean: ``reproduced`` when
    every seed lies in it, ``partly`` when at least one does, ``not reproduced`` when none.

    >>> range_on_seeds([60.0, 98.0], 70, 85)
    'not reproduced'
    """
    v = np.asarray(values, np.float64)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return "n/a"
    inside = (v >= lo) & (v <= hi)
    return grade(bool(inside.all()), bool(inside.any()))


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1, the one convention of every table; nan for one
    value)."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan


def variance_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(sd ratio b/a, one-sided F-test p-value of var(b) < var(a), Brown–Forsythe/Levene
    p-value (median-centred, two-sided)) of two samples (ddof 1)."""
    from scipy import stats

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    va, vb = a.var(ddof=1), b.var(ddof=1)
    ratio = math.sqrt(vb / va) if va > 0 else math.inf
    p_f = float(stats.f.cdf(vb / va, b.size - 1, a.size - 1)) if va > 0 else math.nan
    p_lev = float(stats.levene(a, b, center="median").pvalue)
    return ratio, p_f, p_lev


def variance_rule(ratio: float, p_levene: float, alpha: float = 0.05) -> str:
    """The claim "decreases the variance": ``reproduced`` when the pruned sd is smaller (``ratio < 1``)
    and the Levene test rejects equal variances at ``alpha``; ``partly`` when smaller but not
    significant; ``not reproduced`` when not smaller."""
    if not math.isfinite(ratio):
        return "n/a"
    return grade(ratio < 1 and p_levene < alpha, ratio < 1)


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


def all_of(*verdicts: str) -> str:
    """The verdict of a claim made of several parts judged apart (e.g. "a lower training
    accuracy *and* a narrower gap"): ``n/a`` if any part is, ``reproduced`` if every part is,
    ``partly`` if none is ``not reproduced``, else ``not reproduced``.

    >>> all_of("reproduced", "reproduced"), all_of("reproduced", "partly")
    ('reproduced', 'partly')
    >>> all_of("reproduced", "not reproduced"), all_of("n/a", "reproduced")
    ('not reproduced', 'n/a')
    """
    if "n/a" in verdicts:
        return "n/a"
    return grade(all(v == "reproduced" for v in verdicts), "not reproduced" not in verdicts)


# ------------------------------------------------------------------ against our reconstruction
def reconstruction(verdict: str) -> str:
    """A tolerance verdict whose reference is our own reconstruction of a formula, the paper's
    value being lost: agreement says the number is *consistent with our reconstruction*, not
    that the paper is reproduced, so it reads as a statement about the reconstruction —
    ``reproduced`` → ``holds``, ``not reproduced`` → ``violated``; ``partly`` and ``n/a`` stay.

    >>> reconstruction(absolute(1.401, 1.3956, tol=0.03, loose=0.1))
    'holds'
    >>> reconstruction(absolute(1.55, 1.3956, tol=0.03, loose=0.1))
    'violated'
    """
    return {"reproduced": "holds", "not reproduced": "violated"}.get(verdict, verdict)


__all__ += ["reconstruction"]
