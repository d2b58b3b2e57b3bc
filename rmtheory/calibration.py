r"""How well the MP threshold is calibrated at a given matrix shape: a check users run themselves.

:func:`calibrate` draws matrices of one shape and applies the threshold exactly as
:func:`rmtheory.analysis.analyze` does (values-only Gram eigenvalues, BEMA with a Tracy–Widom
margin at level :math:`\beta`, the MP rank = eigenvalues above :math:`\lambda_+`):

* **false spikes**: on pure Gaussian noise, the fraction of matrices in which at least one
  direction is kept.  BEMA's edge puts :math:`\lambda_+` at the :math:`1-\beta` quantile of the
  largest noise eigenvalue (Tracy–Widom, Johnstone's centring and scaling), so this fraction
  should be :math:`\beta` up to the finite-size error of that approximation and of BEMA's
  :math:`\hat\sigma^2`;
* **planted spikes**: on noise plus :math:`r\in\{1,2,3\}` (cycling) rank-one spikes
  :math:`\theta\,u_iv_i^\top` (orthonormal :math:`u_i, v_i`) of strength
  :math:`\theta = f\,\bar\theta`, :math:`f` = ``spike_factor`` times the BBP detection threshold
  :math:`\bar\theta = \sigma\,(nm)^{1/4}` (:func:`rmtheory.spiked.detection_threshold` in these
  units), the fraction in which the MP rank equals :math:`r` exactly, with the misses (fewer) and
  the extras (more) counted apart.  An extra direction is a false spike of the remaining bulk, so
  the exact-count rate is at most about :math:`1-\beta`; the misses measure the threshold's power.

Every rate comes with its binomial standard error :math:`\sqrt{f(1-f)/N}`; 900 trials give a
standard error of at most 1 % at :math:`\beta = 0.1`.  Trials are seeded independently
(``numpy.random.SeedSequence(seed).spawn``), so the result does not depend on ``jobs``.

Examples
--------
>>> r = calibrate(60, 120, trials=40, spike_trials=12, spike_factor=3.0, seed=1)
>>> r.shape, r.trials, r.spike_trials
((60, 120), 40, 12)
>>> 0.0 <= r.false_spike_rate <= 1.0 and r.missed == 0
True
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from rmtheory._validation import n_jobs, positive_finite, positive_int, probability
from rmtheory.analysis import AnalysisOptions, analysis_options, analyze_tensor
from rmtheory.atomic import atomic_write
from rmtheory.spiked import detection_threshold

__all__ = ["CalibrationResult", "calibrate", "planted_spikes_matrix"]

#: Planted spike counts, cycled over the spiked trials.
SPIKE_COUNTS = (1, 2, 3)


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` measured.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)``.
    alpha, beta : float
        BEMA's window and Tracy–Widom level.
    seed : int
        The seed of the whole run.
    trials : int
        Pure-noise matrices drawn.
    false_spikes : int
        Of them, how many had at least one direction kept (MP rank >= 1).
    spike_trials : int
        Matrices with planted spikes.
    spike_factor : float
        Spike strength over the BBP detection threshold.
    bbp_threshold : float
        That threshold as a singular-value strength for unit noise variance, :math:`(nm)^{1/4}`.
    exact, missed, extra : int
        Spiked trials whose MP rank equalled / fell short of / exceeded the planted count.
    """

    shape: tuple[int, int]
    alpha: float
    beta: float
    seed: int
    trials: int
    false_spikes: int
    spike_trials: int
    spike_factor: float
    bbp_threshold: float
    exact: int
    missed: int
    extra: int

    @staticmethod
    def _rate(k: int, n: int) -> tuple[float, float]:
        if n == 0:
            return math.nan, math.nan
        f = k / n
        return f, math.sqrt(f * (1 - f) / n)

    @property
    def false_spike_rate(self) -> float:
        """Fraction of pure-noise matrices with at least one direction kept (target: ``beta``)."""
        return self._rate(self.false_spikes, self.trials)[0]

    @property
    def false_spike_se(self) -> float:
        """Binomial standard error of :attr:`false_spike_rate`."""
        return self._rate(self.false_spikes, self.trials)[1]

    @property
    def exact_rate(self) -> float:
        """Fraction of spiked matrices whose spike count was found exactly."""
        return self._rate(self.exact, self.spike_trials)[0]

    @property
    def exact_se(self) -> float:
        """Binomial standard error of :attr:`exact_rate`."""
        return self._rate(self.exact, self.spike_trials)[1]

    @property
    def missed_rate(self) -> float:
        """Fraction of spiked matrices where fewer directions than planted were kept."""
        return self._rate(self.missed, self.spike_trials)[0]

    @property
    def extra_rate(self) -> float:
        """Fraction of spiked matrices where more directions than planted were kept."""
        return self._rate(self.extra, self.spike_trials)[0]

    @property
    def beta_within_2se(self) -> bool:
        """Whether ``|false_spike_rate - beta| <= 2 * SE``, the SE taken at ``beta`` itself
        (so a run with no false spike at all is not judged by a zero SE)."""
        se = math.sqrt(self.beta * (1 - self.beta) / self.trials) if self.trials else math.nan
        return abs(self.false_spike_rate - self.beta) <= 2 * se

    def to_dict(self) -> dict[str, Any]:
        """Counts, rates and standard errors as a JSON-ready dict."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        for key in (
            "false_spike_rate",
            "false_spike_se",
            "exact_rate",
            "exact_se",
            "missed_rate",
            "extra_rate",
            "beta_within_2se",
        ):
            d[key] = getattr(self, key)
        if not self.trials:
            d["beta_within_2se"] = None
        # nothing measured: null, not NaN (which is not JSON)
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """:meth:`to_dict` as JSON text, written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            atomic_write(path, text + "\n", what="calibration result")
        return text

    def to_text(self) -> str:
        """A short human-readable summary."""
        n, m = self.shape
        lines = [
            f"calibrate {n}x{m} (MP ratio {min(n, m) / max(n, m):.3g}), alpha {self.alpha}, "
            f"beta {self.beta}, seed {self.seed}"
        ]
        if self.trials:
            verdict = "within" if self.beta_within_2se else "NOT within"
            lines.append(
                f"pure noise: {self.trials} trials, >= 1 direction kept in {self.false_spikes}: "
                f"{self.false_spike_rate:.4f} +- {self.false_spike_se:.4f} (SE); target "
                f"beta = {self.beta}: {verdict} 2 SE"
            )
        if self.spike_trials:
            lines.append(
                f"planted spikes (1-3 per matrix, strength {self.spike_factor:g} x BBP threshold "
                f"= {self.spike_factor * self.bbp_threshold:.4g} for unit noise): "
                f"{self.spike_trials} trials, count found exactly in {self.exact}: "
                f"{self.exact_rate:.4f} +- {self.exact_se:.4f}; missed a spike in {self.missed} "
                f"({self.missed_rate:.4f}), kept an extra direction in {self.extra} "
                f"({self.extra_rate:.4f})"
            )
            lines.append(
                "(an extra direction is a false spike of the remaining bulk: the exact rate is "
                "at most about 1 - beta)"
            )
        return "\n".join(lines)


def planted_spikes_matrix(
    rows: int, cols: int, thetas: Any, seed: int | np.random.Generator | np.random.SeedSequence
) -> np.ndarray:
    """Standard Gaussian noise plus :math:`\\sum_i\\theta_i u_iv_i^\\top`, orthonormal ``u``, ``v``.

    The matrix :func:`calibrate` draws (``thetas`` empty for pure noise); ``seed`` as for
    ``numpy.random.default_rng``.
    """
    rng = np.random.default_rng(seed)
    thetas = np.asarray(thetas, dtype=np.float64).reshape(-1)
    W = rng.standard_normal((rows, cols))
    r = thetas.size
    if r:
        U, _ = np.linalg.qr(rng.standard_normal((rows, r)))
        V, _ = np.linalg.qr(rng.standard_normal((cols, r)))
        W += (U * thetas) @ V.T
    return W


def _mp_rank(W: np.ndarray, options: AnalysisOptions) -> int | str:
    """The MP rank exactly as :func:`rmtheory.analysis.analyze` computes it, or BEMA's reason."""
    row = analyze_tensor(W, "w", keep_eigenvalues=False, options=options)
    return row.reason if row.reason else int(row.mp_rank)


def _batch(rows, cols, alpha, beta, jobs_seeds, one_thread):
    """Run a batch of ``(seed, thetas)`` trials; returns the MP ranks."""
    out = []
    options = analysis_options(alpha=alpha, beta=beta)
    with threadpool_limits(1) if one_thread else _nothing():
        for seed, thetas in jobs_seeds:
            k = _mp_rank(planted_spikes_matrix(rows, cols, thetas, seed), options)
            if isinstance(k, str):
                raise ValueError(f"shape {rows}x{cols}: {k}")
            out.append(k)
    return out


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def calibrate(
    rows: int,
    cols: int,
    *,
    beta: float = 0.1,
    alpha: float = 0.25,
    trials: int = 1000,
    spike_trials: int = 400,
    spike_factor: float = 1.2,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
) -> CalibrationResult:
    r"""False-spike rate and spike recovery of the MP threshold on ``rows x cols`` matrices.

    Parameters
    ----------
    rows, cols : int
        The shape to calibrate (a layer's ``(out, in)``; the orientation does not matter).
    beta, alpha : float
        The Tracy–Widom level and BEMA window, as for :func:`rmtheory.analysis.analyze`.
    trials : int
        Pure-noise matrices (0 to skip).  The standard error of the false-spike rate is
        :math:`\sqrt{\beta(1-\beta)/N}`: 900 trials for 1 % at :math:`\beta = 0.1`.
    spike_trials : int
        Matrices with 1, 2, 3 (cycling) planted spikes (0 to skip).
    spike_factor : float
        Spike strength in units of the BBP threshold :math:`(nm)^{1/4}` (unit noise variance);
        1.2 by default.
    seed : int
        Seed of the run; trial ``i`` uses the ``i``-th child of ``SeedSequence(seed)``.
    jobs : int
        Processes (joblib, one BLAS thread each); results do not depend on it.  ``-1`` means all
        CPUs; more than the CPUs this process may use is cut to that number with a warning; 0 is
        refused (:func:`rmtheory._validation.n_jobs`).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValueError
        For invalid arguments, or a shape too small for BEMA (fewer than 20 bulk eigenvalues in
        its window, e.g. an output layer of 10 units).
    """
    rows = positive_int(rows, "rows")
    cols = positive_int(cols, "cols")
    beta = probability(beta, "beta")
    alpha = probability(alpha, "alpha")
    trials = positive_int(trials, "trials", minimum=0)
    spike_trials = positive_int(spike_trials, "spike_trials", minimum=0)
    spike_factor = positive_finite(spike_factor, "spike_factor")
    seed = positive_int(seed, "seed", minimum=0)
    jobs = n_jobs(jobs, "jobs")
    if trials + spike_trials == 0:
        raise ValueError("trials and spike_trials are both 0: nothing to measure")
    p, q = min(rows, cols), max(rows, cols)
    # BBP threshold for entries of variance 1: sqrt(q) * c^(1/4) = (p q)^(1/4).
    bbp = math.sqrt(q) * detection_threshold(p / q)
    null_ss, spike_ss = np.random.SeedSequence(seed).spawn(2)
    tasks: list[tuple[np.random.SeedSequence, tuple[float, ...]]] = [
        (s, ()) for s in null_ss.spawn(trials)
    ]
    planted = [SPIKE_COUNTS[i % len(SPIKE_COUNTS)] for i in range(spike_trials)]
    tasks += [
        (s, (spike_factor * bbp,) * r)
        for s, r in zip(spike_ss.spawn(spike_trials), planted, strict=True)
    ]
    # Fail fast (and clearly) on a shape BEMA cannot fit.
    probe = _mp_rank(
        planted_spikes_matrix(rows, cols, (), np.random.SeedSequence(seed)),
        analysis_options(alpha=alpha, beta=beta),
    )
    if isinstance(probe, str):
        raise ValueError(f"shape {rows}x{cols}: {probe}")
    size = max(1, min(50, len(tasks) // (4 * jobs) or 1))
    batches = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    bar = tqdm(
        total=len(tasks), unit="matrix", desc="calibrate", disable=not progress, file=sys.stderr
    )
    ranks: list[int] = []
    try:
        if jobs == 1:
            results = (_batch(rows, cols, alpha, beta, b, False) for b in batches)
        else:
            results = Parallel(n_jobs=jobs, return_as="generator")(
                delayed(_batch)(rows, cols, alpha, beta, b, True) for b in batches
            )
        for r in results:
            ranks += r
            bar.update(len(r))
    finally:
        bar.close()
    null, spiked = ranks[:trials], ranks[trials:]
    return CalibrationResult(
        shape=(rows, cols),
        alpha=alpha,
        beta=beta,
        seed=seed,
        trials=trials,
        false_spikes=sum(k >= 1 for k in null),
        spike_trials=spike_trials,
        spike_factor=spike_factor,
        bbp_threshold=bbp,
        exact=sum(k == r for k, r in zip(spiked, planted, strict=True)),
        missed=sum(k < r for k, r in zip(spiked, planted, strict=True)),
        extra=sum(k > r for k, r in zip(spiked, planted, strict=True)),
    )
