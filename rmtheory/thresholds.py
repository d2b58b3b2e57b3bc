r"""Rank rules: how many singular values of a weight matrix carry signal.

Each rule is a small frozen dataclass whose ``__call__(s, shape)`` takes the singular values (any
order) and the matrix shape and returns a :class:`Threshold`; the functions :func:`mp_rank`,
:func:`gavish_donoho_threshold` and friends apply a rule to a matrix directly.

* :class:`MPRule` — the paper's rule: BEMA's singular-value threshold :math:`\sqrt{q\lambda_+}`.
* :class:`GavishDonohoRule` — the optimal hard threshold of Gavish & Donoho (2014),
  :math:`\tau=\lambda_*(\beta)\sqrt{q}\,\sigma` with known noise and
  :math:`\tau=\omega(\beta)\,s_{\mathrm{med}}` with unknown noise, where
  :math:`\lambda_*(\beta)=\sqrt{2(\beta+1)+8\beta/(\beta+1+\sqrt{\beta^2+14\beta+1})}` and
  :math:`\omega(\beta)=\lambda_*(\beta)/\sqrt{\mu_\beta}`, :math:`\mu_\beta` the median of
  ``MarchenkoPastur(beta)`` (:math:`\beta=p/q`).
* :class:`EnergyRule` — the smallest :math:`k` with :math:`\sum_{i\le k}s_i^2\ge f\sum_i s_i^2`.

:func:`keep_rank` is Algorithm 1's keep rule (algorithms.md §1.5 step 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from rmtheory._validation import (
    finite_matrix,
    finite_vector,
    positive_finite,
    positive_int,
    probability,
)
from rmtheory.bema import BEMA, count_zeros
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import singular_values, spectral_convention

__all__ = [
    "Threshold",
    "MPRule",
    "GavishDonohoRule",
    "EnergyRule",
    "mp_rank",
    "mp_threshold",
    "gavish_donoho_threshold",
    "gavish_donoho_rank",
    "gavish_donoho_lambda",
    "gavish_donoho_omega",
    "energy_rank",
    "keep_rank",
]


@dataclass(frozen=True)
class Threshold:
    """Result of a rank rule: the singular-value ``threshold``, how many values lie above it
    (``n_above``), the MP goodness of fit where the rule computes one (else ``nan``) and the
    number of central eigenvalues BEMA fitted (``window``; None for other rules)."""

    threshold: float
    n_above: int
    gof: float = math.nan
    window: int | None = None


def _sorted_s(s: ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    v = finite_vector(s, "s")
    if v.size != min(shape):
        raise ValueError(
            f"expected min(shape) = {min(shape)} singular values for shape {shape}, got {v.size}"
        )
    return np.sort(v)[::-1]


@dataclass(frozen=True)
class MPRule:
    """BEMA threshold (paper §9.1): values above :math:`\\sqrt{q\\lambda_+}` are signal."""

    alpha: float = 0.25
    beta: float = 0.1
    variant: str = "default"

    def __call__(self, s: ArrayLike, shape: tuple[int, int]) -> Threshold:
        s = _sorted_s(s, shape)
        conv = spectral_convention(shape)
        scale = conv.q if self.variant == "default" else conv.fan_in
        b = BEMA(self.alpha, self.beta, self.variant).fit(
            s * s / scale, q=conv.q, fan_in=conv.fan_in
        )
        return Threshold(
            b.singular_value_threshold_,
            int(np.count_nonzero(s > b.singular_value_threshold_)),
            b.gof_,
            b.window_size_,
        )


def gavish_donoho_lambda(beta: float) -> float:
    r""":math:`\lambda_*(\beta)`, the known-noise optimal threshold coefficient (4/√3 at β = 1)."""
    b = probability(beta, "beta", open_interval=False)
    if b == 0:
        raise ValueError("beta must be > 0")
    return math.sqrt(2 * (b + 1) + 8 * b / (b + 1 + math.sqrt(b * b + 14 * b + 1)))


def gavish_donoho_omega(beta: float) -> float:
    r""":math:`\omega(\beta)=\lambda_*(\beta)/\sqrt{\mu_\beta}`, the unknown-noise coefficient (≈2.858 at β = 1)."""
    return gavish_donoho_lambda(beta) / math.sqrt(MarchenkoPastur(beta).median())


@dataclass(frozen=True)
class GavishDonohoRule:
    """Gavish–Donoho optimal hard threshold; ``sigma2`` = known entry variance of the noise."""

    sigma2: float | None = None

    def __call__(self, s: ArrayLike, shape: tuple[int, int]) -> Threshold:
        s = _sorted_s(s, shape)
        conv = spectral_convention(shape)
        if self.sigma2 is None:
            zeros = count_zeros(s * s)
            if 2 * zeros >= s.size:
                raise ValueError(
                    f"{zeros} of the {s.size} singular values are numerical zeros (a truncated or "
                    "factorised matrix): the median the unknown-noise Gavish-Donoho rule scales is "
                    "gone; pass the noise variance as sigma2"
                )
            tau = gavish_donoho_omega(conv.ratio) * float(np.median(s))
        else:
            sigma = math.sqrt(positive_finite(self.sigma2, "sigma2"))
            tau = gavish_donoho_lambda(conv.ratio) * math.sqrt(conv.q) * sigma
        return Threshold(tau, int(np.count_nonzero(s > tau)))


@dataclass(frozen=True)
class EnergyRule:
    """Keep the fewest leading singular values holding ``fraction`` of :math:`\\sum s_i^2`."""

    fraction: float = 0.9

    def __call__(self, s: ArrayLike, shape: tuple[int, int]) -> Threshold:
        s = _sorted_s(s, shape)
        f = probability(self.fraction, "fraction", open_interval=False)
        energy = np.cumsum(s * s)
        if energy[-1] == 0:
            return Threshold(0.0, 0)
        k = int(np.searchsorted(energy, f * energy[-1] * (1 - 1e-12)) + 1) if f > 0 else 0
        k = min(k, s.size)
        tau = float(s[k]) if k < s.size else 0.0
        return Threshold(tau, k)


def _apply(rule, W: ArrayLike) -> Threshold:
    A = finite_matrix(W, "W")
    s = singular_values(A)
    e = math.frexp(float(s[0]))[1] if s[0] > 0 else 0
    if abs(e) <= 500:
        return rule(s, A.shape)
    # squares of values near the float range's ends overflow or underflow: apply the rule to
    # s / 2**e (exact) and scale its threshold back; a known noise variance scales by 2**(2e)
    if isinstance(rule, GavishDonohoRule) and rule.sigma2 is not None:
        rule = replace(rule, sigma2=math.ldexp(positive_finite(rule.sigma2, "sigma2"), -2 * e))
    th = rule(np.ldexp(s, -e), A.shape)
    return replace(th, threshold=math.ldexp(th.threshold, e))


def mp_threshold(
    W: ArrayLike, alpha: float = 0.25, beta: float = 0.1, variant: str = "default"
) -> float:
    """BEMA singular-value threshold of ``W``."""
    return _apply(MPRule(alpha, beta, variant), W).threshold


def mp_rank(W: ArrayLike, alpha: float = 0.25, beta: float = 0.1, variant: str = "default") -> int:
    """How many singular values of ``W`` lie above the BEMA threshold (the MP rank).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> noise = rng.normal(size=(500, 800)) / np.sqrt(800)
    >>> signal = 3.0 * np.outer(rng.normal(size=500), rng.normal(size=800)) / np.sqrt(500 * 800)
    >>> mp_rank(noise + signal)
    1
    """
    return _apply(MPRule(alpha, beta, variant), W).n_above


def gavish_donoho_threshold(W: ArrayLike, sigma2: float | None = None) -> float:
    """Gavish–Donoho optimal hard threshold for the singular values of ``W``."""
    return _apply(GavishDonohoRule(sigma2), W).threshold


def gavish_donoho_rank(W: ArrayLike, sigma2: float | None = None) -> int:
    """Number of singular values of ``W`` above the Gavish–Donoho threshold."""
    return _apply(GavishDonohoRule(sigma2), W).n_above


def energy_rank(W: ArrayLike, fraction: float = 0.9) -> int:
    """Fewest leading singular values of ``W`` holding ``fraction`` of the squared Frobenius norm."""
    return _apply(EnergyRule(fraction), W).n_above


def keep_rank(n_above: int, p: int, keep_fraction: float, min_rank: int = 0) -> int:
    r"""Algorithm 1's keep rule: all ``n_above`` signal values plus the largest
    :math:`\lfloor f\cdot(p - n_{above})\rfloor` of the ``p - n_above`` below the threshold,
    never fewer than ``min_rank`` (e.g. the number of classes for an output layer).
    """
    p = positive_int(p, "p")
    n_above = positive_int(n_above, "n_above", minimum=0)
    if n_above > p:
        raise ValueError(f"n_above must be <= p = {p}, got {n_above}")
    f = probability(keep_fraction, "keep_fraction", open_interval=False)
    k = n_above + math.floor(f * (p - n_above))
    return min(p, max(k, positive_int(min_rank, "min_rank", minimum=0)))
