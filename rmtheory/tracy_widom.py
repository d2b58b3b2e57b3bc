r"""The Tracy–Widom laws :math:`F_1, F_2, F_4` and Johnstone's Wishart edge scaling.

Definitions (Fredholm determinants)
-----------------------------------
With the Airy kernel :math:`K_{\rm Ai}(x,y) = \frac{{\rm Ai}(x){\rm Ai}'(y)-{\rm Ai}'(x){\rm Ai}(y)}{x-y}`
(diagonal :math:`{\rm Ai}'(x)^2 - x\,{\rm Ai}(x)^2`) and the Hankel kernel
:math:`A_s(x,y) = \tfrac12{\rm Ai}\big(\tfrac{x+y}{2}+s\big)` on :math:`L^2(0,\infty)`
(Tracy & Widom 1994, 1996; Ferrari & Spohn 2005; Bornemann 2010, MPRF eqs (2.3), (2.7)–(2.9)):

.. math::

   F_2(s) = \det(I - K_{\rm Ai})_{L^2(s,\infty)}, \qquad
   F_1(s) = \det(I - A_s)_{L^2(0,\infty)}, \qquad
   F_4(s) = \tfrac12\big(\det(I - A_{\sqrt2 s}) + \det(I + A_{\sqrt2 s})\big).

:math:`F_4` is in the normalisation of Tracy & Widom (1996) and Bornemann (2010), where
:math:`F_4(s/\sqrt2) = \sqrt{F_2(s)}\cosh\big(\tfrac12\int_s^\infty q\big)` with :math:`q` the
Hastings–McLeod solution of Painlevé II; in it the GSE mean is :math:`-2.3069` (the other convention
in the literature, :math:`F_4(s\sqrt2)` here, has mean :math:`-1.6312`).

Numerics (Bornemann 2010, Math. Comp. 79)
-----------------------------------------
The determinants are discretised by the Nyström method with Gauss–Legendre quadrature on a truncated
half line (``DEFAULT_NODES`` = 96 nodes; the error decays exponentially with the number of nodes).
The symmetrised matrix :math:`W^{1/2} K W^{1/2}` is diagonalised and :math:`\log\det(I\mp K)
= \sum_i \log(1\mp\lambda_i)`; the upper tail :math:`1-F` is then formed without cancellation
(``-expm1``, and for :math:`F_4` as :math:`-\sum_{k\ge1} e_{2k}(\lambda)` with elementary symmetric
polynomials), so it keeps full *relative* accuracy far into the right tail.  The density uses the
Hellmann–Feynman derivative :math:`\lambda_i' = v_i^\top (\partial_s M) v_i` with
:math:`\partial_s K_{\rm Ai}(x+s,y+s) = -{\rm Ai}(x+s){\rm Ai}(y+s)`.
See :func:`fredholm_tracy_widom`.

Because one determinant costs milliseconds, :class:`TracyWidom` evaluates a shipped table
(``rmtheory/data/tracy_widom_table.npz``, written by ``tools/make_tracy_widom_table.py``): Chebyshev
series of degree 19 on unit intervals, of :math:`\log F` left of the median and of :math:`\log(1-F)`
right of it, so that both tails keep relative accuracy and the density is the derivative of the
series (:math:`f = F\,(\log F)' = -(1-F)\,(\log(1-F))'`).

Left of the table the exact asymptotic expansions are used (Deift–Its–Krasovsky 2008 for
:math:`F_2`, Baik–Buckingham–DiFranco 2008 for :math:`F_1, F_4`), written with
:math:`t=-s\to\infty` and the Hastings–McLeod expansion
:math:`q(-t) = \sqrt{t/2}\,\sum_{k\ge0} b_k t^{-3k}` (:math:`b_0=1, b_1=-1/8, b_2=-73/128, \dots`,
generated from :math:`q''=xq+2q^3`):

.. math::

   \log F_2(-t) = -\tfrac{t^3}{12} - \tfrac18\log t + \tfrac1{24}\log 2 + \zeta'(-1)
      + \tfrac{3}{64}t^{-3} + \dots,\qquad
   \int_{-t}^\infty q = \tfrac{\sqrt2}{3}t^{3/2} + \tfrac12\log 2 + \tfrac{1}{12\sqrt2}t^{-3/2}+\dots,

   \log F_1 = \tfrac12\log F_2 - \tfrac12\!\int q, \qquad
   \log F_4(-t/\sqrt2) = \tfrac12\log F_2 + \log\cosh\big(\tfrac12\!\int q\big).

Right of the table (where :math:`1-F < 10^{-36}`) the Fredholm determinant is evaluated directly
(slow, but exact in relative terms until it underflows to 0).

Accuracy (measured against fresh determinants, see ``docs/tracy_widom.md``): absolute error of the
CDF at most 3e-14 on :math:`[-8, 6]` (the requirement is 1e-9), of the density 3e-13; relative error
of :math:`1-F` and of the density in the right tail at most 2e-12 up to the end of the table;
relative error of :math:`F` at most 2e-10 for :math:`s\ge-5` and 5e-9 at the left end of the
table, where the determinant itself is no better (there :math:`F<3\cdot10^{-7}`).  Moments agree
with Bornemann's published values to 12 digits.

References
----------
C. A. Tracy, H. Widom, "Level-spacing distributions and the Airy kernel", Commun. Math. Phys. 159
(1994) 151–174.  C. A. Tracy, H. Widom, "On orthogonal and symplectic matrix ensembles",
Commun. Math. Phys. 177 (1996) 727–754.  P. L. Ferrari, H. Spohn, "A determinantal formula for the
GOE Tracy–Widom distribution", J. Phys. A 38 (2005) L557.  F. Bornemann, "On the numerical
evaluation of Fredholm determinants", Math. Comp. 79 (2010) 871–915.  F. Bornemann, "On the numerical
evaluation of distributions in random matrix theory: a review", Markov Process. Relat. Fields 16
(2010) 803–866.  P. Deift, A. Its, I. Krasovsky, Commun. Math. Phys. 278 (2008) 643–678.
J. Baik, R. Buckingham, J. DiFranco, Commun. Math. Phys. 280 (2008) 463–497.
I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components analysis",
Ann. Statist. 29 (2001) 295–327.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import numba
import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.polynomial.legendre import leggauss
from numpy.typing import ArrayLike
from scipy.special import airy, airye, kv

from rmtheory._validation import positive_finite, positive_int, real_array
from rmtheory.laws import Law

__all__ = [
    "TracyWidom",
    "FredholmValues",
    "fredholm_tracy_widom",
    "left_tail_log_cdf",
    "wishart_edge_scaling",
    "paper_code_edge_scaling",
]

BETAS = (1, 2, 4)
DEFAULT_NODES = 96
TABLE_FILE = "tracy_widom_table.npz"
_ZETA_PRIME_M1 = -0.16542114370045092921391966024278  # zeta'(-1)
_SQRT2 = math.sqrt(2.0)
_N_ASYMPTOTIC = 8  # terms b_0..b_7 of q(-t); the series is divergent, this is near optimal at t~7
_KNOTS_PER_PIECE = 32
#: Beyond this point 1 - F < exp(-(2/3) s^{3/2}) < 1e-500 for every beta: cdf = 1, sf = pdf = 0 and
#: log F = -0 exactly in float64 (the determinant would only lose its nodes to rounding there).
RIGHT_UNDERFLOW = 150.0
#: Left of this the 96-node Nystrom determinant loses relative accuracy in F (2e-8 at -8 for beta
#: 1, 2 and 1e-9 at -6.5 for beta 4, then fast, down to NaN near -12); fredholm_tracy_widom refuses
#: it, TracyWidom uses the exact asymptotic expansion there.
FREDHOLM_LEFT_LIMIT = {1: -8.0, 2: -8.0, 4: -6.5}


def _check_beta(beta: Any) -> int:
    if isinstance(beta, bool) or not isinstance(beta, int | float | np.integer | np.floating):
        raise TypeError(f"beta must be one of 1, 2, 4, got {beta!r}")
    if beta not in BETAS:
        raise ValueError(f"beta must be one of 1, 2, 4 (Dyson index), got {beta!r}")
    return int(beta)


# --------------------------------------------------------------------------------------------
# Fredholm determinants (Bornemann's method)
# --------------------------------------------------------------------------------------------


def _single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread: the matrices are ~100 x 100, where threading only costs (10-30x
    slower measured on a loaded 2-core machine).  threadpoolctl is optional."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _truncation(s: float) -> float:
    # The kernels decay like exp(-(2/3) x^{3/2}); past the edge s the relative decay rate is
    # ~sqrt(s), so 40/sqrt(s) argument units reach e^-40 relative; 16 suffices for s <= 6.
    return float(np.clip(40.0 / math.sqrt(max(s, 1e-12)), 6.0, 16.0))


def _airy_ai(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ai and Ai'; for z > 2 through K_{1/3}, K_{2/3} (same accuracy, ~10x faster than airy,
    which also evaluates the exponentially large Bi there)."""
    ai = np.empty_like(z)
    aip = np.empty_like(z)
    pos = z > 2.0
    zp = z[pos]
    zeta = (2.0 / 3.0) * zp**1.5
    ai[pos] = np.sqrt(zp / 3.0) / np.pi * kv(1.0 / 3.0, zeta)
    aip[pos] = -zp / (np.pi * math.sqrt(3.0)) * kv(2.0 / 3.0, zeta)
    small = airy(z[~pos])
    ai[~pos], aip[~pos] = small[0], small[1]
    return ai, aip


def _airy_eigs(s: float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the Nyström matrix of K_Ai on (s, inf) and their s-derivatives."""
    t, w = leggauss(m)
    length = max(-s, 0.0) + _truncation(s)
    z = s + length * (t + 1) / 2
    w = w * length / 2
    ai, aip = _airy_ai(z)
    diff = z[:, None] - z[None, :]
    np.fill_diagonal(diff, 1.0)
    kern = (ai[:, None] * aip[None, :] - aip[:, None] * ai[None, :]) / diff
    np.fill_diagonal(kern, aip**2 - z * ai**2)
    sw = np.sqrt(w)
    lam, vec = np.linalg.eigh(sw[:, None] * kern * sw[None, :])
    # d/ds K_Ai(x+s, y+s) = -Ai(x+s) Ai(y+s): rank one, so lambda_i' = -(v_i . a)^2.
    dlam = -(((sw * ai) @ vec) ** 2)
    return lam, dlam


def _hankel_eigs(s: float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the Nyström matrix of A_s(x,y) = Ai((x+y)/2 + s)/2 on (0, inf), derivatives."""
    t, w = leggauss(m)
    length = 2.0 * (max(-s, 0.0) + _truncation(s))
    x = length * (t + 1) / 2
    w = w * length / 2
    ai, aip = _airy_ai((x[:, None] + x[None, :]) / 2 + s)
    sw = np.sqrt(w)
    mat = 0.5 * sw[:, None] * ai * sw[None, :]
    dmat = 0.5 * sw[:, None] * aip * sw[None, :]
    lam, vec = np.linalg.eigh(mat)
    dlam = np.sum(vec * (dmat @ vec), axis=0)
    return lam, dlam


def _even_symmetric_sum(lam: np.ndarray, dlam: np.ndarray) -> tuple[float, float]:
    """sum_{k>=1} e_{2k}(lam) and its derivative, by the product recurrence (no cancellation)."""
    e = np.zeros(lam.size + 1)
    de = np.zeros(lam.size + 1)
    e[0] = 1.0
    for lk, dk in zip(lam, dlam, strict=True):
        de[1:] = de[1:] + dk * e[:-1] + lk * de[:-1]
        e[1:] = e[1:] + lk * e[:-1]
    return float(e[2::2].sum()), float(de[2::2].sum())


def _fredholm_point(beta: int, s: float, m: int) -> tuple[float, float, float]:
    """(log F, log(1-F), f) at one point s."""
    if s >= RIGHT_UNDERFLOW:
        return 0.0, -math.inf, 0.0
    if beta in (1, 2):
        lam, dlam = _airy_eigs(s, m) if beta == 2 else _hankel_eigs(s, m)
        log_f = float(np.sum(np.log1p(-lam)))
        dlog_f = float(-np.sum(dlam / (1.0 - lam)))
        with np.errstate(divide="ignore"):
            log_sf = math.log(-math.expm1(log_f)) if log_f < 0 else -math.inf
        return log_f, log_sf, math.exp(log_f) * dlog_f
    lam, dlam = _hankel_eigs(_SQRT2 * s, m)
    dlam = _SQRT2 * dlam
    log_minus = float(np.sum(np.log1p(-lam)))
    log_plus = float(np.sum(np.log1p(lam)))
    log_f = float(np.logaddexp(log_minus, log_plus) - math.log(2.0))
    if log_f < math.log(0.5):
        d_minus = -np.sum(dlam / (1.0 - lam))
        d_plus = np.sum(dlam / (1.0 + lam))
        pdf = 0.5 * (math.exp(log_minus) * d_minus + math.exp(log_plus) * d_plus)
        return log_f, math.log(-math.expm1(log_f)), float(pdf)
    # Right of the median 1 - F4 = -(e_2 + e_4 + ...): the leading terms of D- and D+ cancel.
    esum, desum = _even_symmetric_sum(lam, dlam)
    log_sf = math.log(-esum) if esum < 0 else -math.inf
    return math.log1p(esum), log_sf, desum


@dataclass(frozen=True)
class FredholmValues:
    """Direct Fredholm-determinant values of a Tracy–Widom law (arrays of the shape of ``s``)."""

    logcdf: np.ndarray
    logsf: np.ndarray
    pdf: np.ndarray

    @property
    def cdf(self) -> np.ndarray:
        return np.exp(self.logcdf)

    @property
    def sf(self) -> np.ndarray:
        return np.exp(self.logsf)


def fredholm_tracy_widom(s: ArrayLike, beta: int, n_nodes: int = DEFAULT_NODES) -> FredholmValues:
    r"""Evaluate :math:`F_\beta` by Bornemann's Nyström discretisation of the Fredholm determinant.

    Slow (about 5 ms per point for :math:`\beta=2`, 15 ms for :math:`\beta=1,4`) but needs no
    table; this is the reference that the shipped table is built from and tested against.

    Parameters
    ----------
    s : array_like
        Finite evaluation points.
    beta : {1, 2, 4}
        Dyson index.
    n_nodes : int
        Gauss–Legendre nodes (default 96; 64 already gives ~1e-14 in the centre).

    Returns
    -------
    FredholmValues
        ``logcdf``, ``logsf`` and ``pdf`` arrays (plus ``cdf``/``sf`` properties).  ``logsf`` is
        relative-accurate far into the right tail; ``logcdf`` loses relative accuracy in the far
        left tail (about 1e-9 at s = -6.5 for beta 1, 2), its absolute accuracy stays ~1e-16.

    Examples
    --------
    >>> round(float(fredholm_tracy_widom(-1.2686, beta=1).cdf), 4)
    0.5
    """
    beta = _check_beta(beta)
    n_nodes = positive_int(n_nodes, "n_nodes", minimum=8)
    x = real_array(s, "s")
    if not np.all(np.isfinite(x)):
        raise ValueError("s must be finite for the Fredholm evaluation")
    limit = FREDHOLM_LEFT_LIMIT[beta]
    if np.any(x < limit):
        raise ValueError(
            f"s must be >= {limit} for the Fredholm evaluation of beta={beta}: further left the "
            f"discretised determinant loses its accuracy (got min(s) = {float(np.min(x))!r}); "
            "TracyWidom(beta).logcdf covers the left tail with the asymptotic expansion"
        )
    with _single_thread_blas():
        out = np.array([_fredholm_point(beta, float(v), n_nodes) for v in x.ravel()])
    out = out.reshape(-1, 3)
    shape = x.shape
    return FredholmValues(
        out[:, 0].reshape(shape), out[:, 1].reshape(shape), out[:, 2].reshape(shape)
    )


# --------------------------------------------------------------------------------------------
# Left-tail asymptotics
# --------------------------------------------------------------------------------------------


@functools.cache
def _hastings_mcleod_series(n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """b_k of q(-t) = sqrt(t/2) sum b_k t^{-3k}, and c_k of q^2 = (t/2) sum c_k t^{-3k}.

    Substituting into q'' = x q + 2 q^3 (x = -t) gives, with u = sum b_k w^k, w = t^-3,
    sum_k b_k (9k^2 - 1/4) w^{k+1} = u^3 - u, solved order by order in exact arithmetic.
    """
    b = [Fraction(1)]
    for n in range(1, n_terms):
        padded = b + [Fraction(0)]
        cube = sum(
            padded[i] * padded[j] * padded[n - i - j]
            for i in range(n + 1)
            for j in range(n + 1 - i)
        )
        b.append((b[n - 1] * (9 * (n - 1) ** 2 - Fraction(1, 4)) - cube) / 2)
    c = [sum(b[i] * b[k - i] for i in range(k + 1)) for k in range(n_terms)]
    return np.array([float(v) for v in b]), np.array([float(v) for v in c])


def left_tail_log_cdf(s: ArrayLike, beta: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Asymptotic expansion of :math:`\log F_\beta(s)` and its derivative as :math:`s\to-\infty`.

    Uses the constants :math:`\log\tau_2 = \tfrac1{24}\log2+\zeta'(-1)` (Deift–Its–Krasovsky 2008),
    :math:`\log\tau_1 = -\tfrac{11}{48}\log2+\tfrac12\zeta'(-1)` and
    :math:`\log\tau_4 = -\tfrac{35}{48}\log 2+\tfrac12\zeta'(-1)` (Baik–Buckingham–DiFranco 2008,
    :math:`\tau_4` for :math:`F_4(s/\sqrt2)`), plus the Hastings–McLeod series to order
    :math:`t^{-21}`.  Relative accuracy about 1e-10 at :math:`s=-7` (:math:`\beta=1,2`) and
    :math:`s=-5` (:math:`\beta=4`), improving rapidly further left.

    Returns
    -------
    (log F, d log F / ds) : tuple of ndarray
    """
    beta = _check_beta(beta)
    s = np.asarray(s, dtype=np.float64)
    chain = _SQRT2 if beta == 4 else 1.0
    with np.errstate(over="ignore"):  # t = inf: the limit log F = -inf below
        t = -chain * s
    b, c = _hastings_mcleod_series(_N_ASYMPTOTIC)
    k = np.arange(_N_ASYMPTOTIC)
    with np.errstate(all="ignore"):
        tt = t[..., None]
        # log F2(-t): second antiderivative of -q(-t)^2; the k >= 2 terms give t^{3-3k}.
        kk = k[2:]
        d_k = -c[2:] / (2.0 * (3 - 3 * kk) * (2 - 3 * kk))
        log_f2 = (
            -(t**3) / 12
            - np.log(t) / 8
            + math.log(2.0) / 24
            + _ZETA_PRIME_M1
            + np.sum(d_k * tt ** (3.0 - 3 * kk), axis=-1)
        )
        dlog_f2 = (
            -(t**2) / 4 - 1 / (8 * t) + np.sum(d_k * (3 - 3 * kk) * tt ** (2.0 - 3 * kk), axis=-1)
        )
        if beta == 2:
            return log_f2, -dlog_f2
        kk = k[1:]
        integral_q = (
            _SQRT2 / 3 * t**1.5
            + 0.5 * math.log(2.0)
            + np.sum(b[1:] / (_SQRT2 * (1.5 - 3 * kk)) * tt ** (1.5 - 3 * kk), axis=-1)
        )
        q = np.sqrt(t / 2) * np.sum(b * tt ** (-3.0 * k), axis=-1)
        if beta == 1:
            return 0.5 * log_f2 - 0.5 * integral_q, -(0.5 * dlog_f2 - 0.5 * q)
        log_f4 = 0.5 * log_f2 + 0.5 * integral_q - math.log(2.0) + np.log1p(np.exp(-integral_q))
        dlog_f4 = 0.5 * dlog_f2 + 0.5 * q * np.tanh(0.5 * integral_q)
        # t^3 overflows beyond ~5e102 (-inf + inf above): there log F = -inf, its slope +inf
        far = t > 1e100
        log_f4 = np.where(far, -np.inf, log_f4)
        dlog_f4 = np.where(far, -np.inf, dlog_f4)
        return log_f4, -chain * dlog_f4


# --------------------------------------------------------------------------------------------
# The shipped table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Chebyshev pieces on [a + j w, a + (j+1) w]: log F for j < j_mid, log(1-F) for j >= j_mid."""

    beta: int
    a: float
    width: float
    j_mid: int
    coef_t: np.ndarray  # (n_coef, n_pieces), transposed so that each row gather is contiguous
    dcoef_t: np.ndarray  # derivative series w.r.t. s
    coef: np.ndarray  # (n_pieces, n_coef): one piece contiguous, for the per-point kernels
    dcoef: np.ndarray

    @property
    def n_pieces(self) -> int:
        return self.coef_t.shape[1]

    @property
    def b(self) -> float:
        return self.a + self.width * self.n_pieces

    @property
    def s_mid(self) -> float:
        return self.a + self.width * self.j_mid

    def locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = (x - self.a) / self.width
        idx = np.clip(np.floor(pos).astype(np.intp), 0, self.n_pieces - 1)
        return idx, 2.0 * (pos - idx) - 1.0

    def value(self, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _clenshaw(self.coef_t, idx, u)

    def slope(self, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _clenshaw(self.dcoef_t, idx, u)


def _clenshaw(coef_t: np.ndarray, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
    b1 = np.zeros_like(u)
    b2 = np.zeros_like(u)
    two_u = 2.0 * u
    for k in range(coef_t.shape[0] - 1, 0, -1):
        b1, b2 = coef_t[k].take(idx) + two_u * b1 - b2, b1
    return coef_t[0].take(idx) + u * b1 - b2


@functools.cache
def _load_table(beta: int) -> _Table:
    with resources.files("rmtheory").joinpath("data", TABLE_FILE).open("rb") as fh:
        data = np.load(fh)
        coef = np.array(data[f"coef_{beta}"], dtype=np.float64)
        a, width, j_mid = (float(v) for v in data[f"grid_{beta}"])
    dcoef = np.stack([_cheb.chebder(row) * (2.0 / width) for row in coef])
    return _Table(
        beta=beta,
        a=a,
        width=width,
        j_mid=int(j_mid),
        coef_t=np.ascontiguousarray(coef.T),
        dcoef_t=np.ascontiguousarray(dcoef.T),
        coef=np.ascontiguousarray(coef),
        dcoef=np.ascontiguousarray(dcoef),
    )


#: Degree of the local inverse series: 8 terms reach the rounding noise of the forward series
#: itself (measured: within 2e-15 relative of a converged Newton solve on every sub-interval).
_INVERSE_DEGREE = 7


@dataclass(frozen=True, eq=False)
class _InverseKnots:
    """The quantile of one side as a Chebyshev series in y on each knot interval.

    Knots are points of the shipped forward series (uniform in s, 32 per piece, so every
    interval lies inside one piece, where the inverse is analytic); y = log F on the left side,
    log(1 - F) on the right, increasing with k.  Row k of ``coef`` holds the series of s(y) on
    [y_k, y_{k+1}] in t = (y - y_k) * scale_k - 1.  ``guide[j]`` is the last knot with
    y_k <= y0 + j / inv_h; its step is below the smallest knot spacing, so the bracketing
    interval is at most one step on (no binary search per point).
    """

    y: np.ndarray
    scale: np.ndarray
    fwd: np.ndarray
    coef: np.ndarray
    guide: np.ndarray
    y0: float
    inv_h: float

    def evaluate(self, y: np.ndarray) -> np.ndarray:
        """s(y) in NumPy (the compiled kernel's formula, for checks)."""
        k = np.clip(np.searchsorted(self.y, y, side="right") - 1, 0, self.y.size - 2)
        t = (y - self.y[k]) * self.scale[k] - 1.0
        return _clenshaw(np.ascontiguousarray(self.coef.T), k, t)


def _solve_on_pieces(tab: _Table, y: np.ndarray, s: np.ndarray, piece: np.ndarray) -> np.ndarray:
    """Newton to convergence on the given pieces of the forward series (vectorised)."""
    for _ in range(8):
        u = 2.0 * ((s - tab.a) / tab.width - piece) - 1.0
        s = s - (tab.value(piece, u) - y) / tab.slope(piece, u)
    return s


@functools.cache
def _inverse_knots(beta: int, right: bool) -> _InverseKnots:
    tab = _load_table(beta)
    lo, hi = (tab.s_mid, tab.b) if right else (tab.a, tab.s_mid)
    n_pieces = round((hi - lo) / tab.width)
    s = np.linspace(lo, hi, n_pieces * _KNOTS_PER_PIECE + 1)
    # each knot interval [s_k, s_k+1] lies in one piece: the one holding its midpoint
    piece = tab.locate(0.5 * (s[:-1] + s[1:]))[0]
    u_lo = 2.0 * ((s[:-1] - tab.a) / tab.width - piece) - 1.0
    u_hi = 2.0 * ((s[1:] - tab.a) / tab.width - piece) - 1.0
    y_lo, y_hi = tab.value(piece, u_lo), tab.value(piece, u_hi)
    n_nodes = _INVERSE_DEGREE + 1
    nodes = np.cos(np.pi * (np.arange(n_nodes) + 0.5) / n_nodes)
    frac = (nodes + 1.0) / 2.0
    y_nodes = y_lo[:, None] + (y_hi - y_lo)[:, None] * frac
    s_start = s[:-1, None] + (s[1:] - s[:-1])[:, None] * frac
    s_nodes = _solve_on_pieces(
        tab, y_nodes.ravel(), s_start.ravel(), np.repeat(piece, nodes.size)
    ).reshape(y_nodes.shape)
    vander_inv = np.linalg.inv(_cheb.chebvander(nodes, _INVERSE_DEGREE))
    coef = s_nodes @ vander_inv.T
    # the forward series re-expanded on each interval (exact up to rounding: the piece's
    # polynomial on 1/32 of its width has negligible terms past degree 7), for the Newton polish
    s_fwd = s[:-1, None] + (s[1:] - s[:-1])[:, None] * frac
    u_fwd = 2.0 * ((s_fwd - tab.a) / tab.width - piece[:, None]) - 1.0
    y_fwd = tab.value(np.repeat(piece, nodes.size), u_fwd.ravel()).reshape(s_fwd.shape)
    fwd = y_fwd @ vander_inv.T
    s_lo, s_scale = s[:-1], 2.0 / (s[1:] - s[:-1])
    # y increasing: the right side's y = log(1 - F) falls with s
    if right:
        y_lo, y_hi, coef = y_hi[::-1], y_lo[::-1], coef[::-1]
        coef = coef * (-1.0) ** np.arange(_INVERSE_DEGREE + 1)  # t -> -t
        fwd, s_lo, s_scale = fwd[::-1], s_lo[::-1], s_scale[::-1]
    y = np.concatenate([y_lo, y_hi[-1:]])
    scale = 2.0 / (y_hi - y_lo)
    # secant ds/dy of each interval: enough for the polishing Newton step, whose correction is a
    # few ulp (a 1e-2 relative slope error leaves 1e-2 of it)
    dsdy = (-1.0 if right else 1.0) / _KNOTS_PER_PIECE * 0.5 * scale
    # one row per interval: s_lo, 2/ds, ds/dy, then the forward series (read together)
    fwd = np.ascontiguousarray(np.column_stack([s_lo, s_scale, dsdy, fwd]))
    step = 0.5 * float(np.min(np.diff(y)))
    n_guide = int(math.ceil((y[-1] - y[0]) / step)) + 1
    grid = y[0] + step * np.arange(n_guide)
    guide = np.clip(np.searchsorted(y, grid, side="right") - 1, 0, y.size - 2).astype(np.int32)
    coef = np.ascontiguousarray(coef)
    for arr in (y, scale, fwd, coef, guide):
        arr.setflags(write=False)
    return _InverseKnots(y, scale, fwd, coef, guide, float(y[0]), 1.0 / step)


# --------------------------------------------------------------------------------------------
# The distribution object
# --------------------------------------------------------------------------------------------


def _as_array(x: ArrayLike, name: str) -> tuple[np.ndarray, bool]:
    arr = real_array(x, name)
    return arr, arr.ndim == 0


def _finish(out: np.ndarray, scalar: bool) -> np.ndarray | float:
    return float(out[()]) if scalar else out


# --------------------------------------------------------------------------------------------
# Compiled evaluation: one pass per point over the table, the left expansion and the inversion
# --------------------------------------------------------------------------------------------
# Kinds of evaluation (the integer the kernels take)
_CDF, _SF, _LOGCDF, _LOGSF, _PDF, _LOGPDF = range(6)
_KINDS = {"cdf": _CDF, "sf": _SF, "logcdf": _LOGCDF, "logsf": _LOGSF, "pdf": _PDF, "logpdf": _LOGPDF}


@numba.njit(cache=True)
def _clenshaw_row(coef: np.ndarray, j: int, u: float) -> float:
    b1 = 0.0
    b2 = 0.0
    two_u = 2.0 * u
    for k in range(coef.shape[1] - 1, 0, -1):
        b1, b2 = coef[j, k] + two_u * b1 - b2, b1
    return coef[j, 0] + u * b1 - b2


@numba.njit(cache=True)
def _from_logs(log_f: float, log_sf: float, dlog: float, on_cdf_side: bool, kind: int) -> float:
    # One of log_f / log_sf is accurate (the side the value came from), the other is formed from
    # it without cancellation; dlog is the derivative of the accurate one.
    if on_cdf_side:
        if kind == 0:
            return math.exp(log_f)
        if kind == 1:
            return -math.expm1(log_f)
        if kind == 2:
            return log_f
        if kind == 3:
            return math.log(-math.expm1(log_f)) if log_f < 0.0 else -math.inf
        if kind == 4:
            return math.exp(log_f) * dlog if log_f > -math.inf else 0.0
        return log_f + math.log(dlog) if dlog > 0.0 else -math.inf
    if kind == 0:
        return -math.expm1(log_sf)
    if kind == 1:
        return math.exp(log_sf)
    if kind == 2:
        return math.log1p(-math.exp(log_sf))
    if kind == 3:
        return log_sf
    if kind == 4:
        return -math.exp(log_sf) * dlog
    return log_sf + math.log(-dlog) if dlog < 0.0 else -math.inf


@numba.njit(cache=True)
def _left_tail_point(s: float, beta: int, b: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Scalar form of left_tail_log_cdf for finite s (same series, same order of operations)."""
    chain = math.sqrt(2.0) if beta == 4 else 1.0
    t = -chain * s
    n = b.size
    log_f2 = -(t**3) / 12 - math.log(t) / 8 + math.log(2.0) / 24 + _ZETA_PRIME_M1
    dlog_f2 = -(t**2) / 4 - 1 / (8 * t)
    for k in range(2, n):
        d_k = -c[k] / (2.0 * (3 - 3 * k) * (2 - 3 * k))
        log_f2 += d_k * t ** (3.0 - 3 * k)
        dlog_f2 += d_k * (3 - 3 * k) * t ** (2.0 - 3 * k)
    if beta == 2:
        return log_f2, -dlog_f2
    integral_q = math.sqrt(2.0) / 3 * t**1.5 + 0.5 * math.log(2.0)
    q_sum = b[0]
    for k in range(1, n):
        integral_q += b[k] / (math.sqrt(2.0) * (1.5 - 3 * k)) * t ** (1.5 - 3 * k)
        q_sum += b[k] * t ** (-3.0 * k)
    q = math.sqrt(t / 2) * q_sum
    if beta == 1:
        return 0.5 * log_f2 - 0.5 * integral_q, -(0.5 * dlog_f2 - 0.5 * q)
    if t > 1e100:  # t^3 overflows further out: log F = -inf, its slope +inf
        return -math.inf, math.inf
    log_f4 = 0.5 * log_f2 + 0.5 * integral_q - math.log(2.0) + math.log1p(math.exp(-integral_q))
    dlog_f4 = 0.5 * dlog_f2 + 0.5 * q * math.tanh(0.5 * integral_q)
    return log_f4, -chain * dlog_f4


@numba.njit(cache=True)
def _evaluate_kernel(x, kind, beta, a, width, j_mid, coef, dcoef, hm_b, hm_c, out):
    """Fill ``out`` for the points of the table and left of it; return how many lie right of it
    (those are left as NaN for the caller's beyond-table route)."""
    n_pieces = coef.shape[0]
    b = a + width * n_pieces
    need_slope = kind >= 4
    beyond = 0
    for i in range(x.size):
        xi = x[i]
        if xi != xi:
            out[i] = np.nan
        elif xi > b:
            out[i] = np.nan
            beyond += 1
        elif xi < a:
            if xi == -math.inf:
                log_f, dlog = -math.inf, 0.0
            else:
                log_f, dlog = _left_tail_point(xi, beta, hm_b, hm_c)
            out[i] = _from_logs(log_f, 0.0, dlog, True, kind)
        else:
            pos = (xi - a) / width
            j = min(max(int(math.floor(pos)), 0), n_pieces - 1)
            u = 2.0 * (pos - j) - 1.0
            val = _clenshaw_row(coef, j, u)
            dlog = _clenshaw_row(dcoef, j, u) if need_slope else 0.0
            if j < j_mid:
                out[i] = _from_logs(val, 0.0, dlog, True, kind)
            else:
                out[i] = _from_logs(0.0, val, dlog, False, kind)
    return beyond


@numba.njit(cache=True, inline="always")
def _inverse_series(y, ky, scale, fwd, coef, guide, y0, inv_h):
    """s(y): the side's local inverse series, then one Newton step on the local forward series
    of the same interval (see _InverseKnots)."""
    m = ky.size
    j = min(max(int((y - y0) * inv_h), 0), guide.size - 1)
    k = guide[j]
    while k < m - 2 and ky[k + 1] <= y:
        k += 1
    t = (y - ky[k]) * scale[k] - 1.0
    b1 = 0.0
    b2 = 0.0
    for n in range(coef.shape[1] - 1, 0, -1):
        b1, b2 = coef[k, n] + 2.0 * t * b1 - b2, b1
    s = coef[k, 0] + t * b1 - b2
    # the start is within a few ulp; the step takes it to the forward series' own root, so
    # cdf(ppf(q)) matches q to rounding (the slope's secant error only scales that tiny step)
    v = (s - fwd[k, 0]) * fwd[k, 1] - 1.0
    b1 = 0.0
    b2 = 0.0
    for n in range(fwd.shape[1] - 1, 3, -1):
        b1, b2 = fwd[k, n] + 2.0 * v * b1 - b2, b1
    return s - (fwd[k, 3] + v * b1 - b2 - y) * fwd[k, 2]


@numba.njit(cache=True)
def _left_tail_solve(y, beta, a, hm_b, hm_c):
    """Solve log F(s) = y for s < a by Newton on the left-tail expansion (monotone there)."""
    lead = 12.0 if beta == 2 else 24.0
    s = -((lead * -y) ** (1.0 / 3.0))
    if beta == 4:
        s /= math.sqrt(2.0)
    s = min(s, a)
    for _ in range(40):
        val, slope = _left_tail_point(s, beta, hm_b, hm_c)
        step = (val - y) / slope
        s = min(s - step, a)
        if abs(step) <= 1e-15 * max(1.0, abs(s)):
            break
    return s


@numba.njit(cache=True)
def _invert_kernel(
    q,
    upper,
    beta,
    p_mid,
    sf_mid,
    a,
    s_mid,
    b,
    ky_l,
    scale_l,
    fwd_l,
    inv_l,
    guide_l,
    y0_l,
    inv_h_l,
    ky_r,
    scale_r,
    fwd_r,
    inv_r,
    guide_r,
    y0_r,
    inv_h_r,
    hm_b,
    hm_c,
    out,
):
    """Quantiles in one pass: the side's local inverse series (one guide-table lookup, two
    8-term Clenshaw sums, see _inverse_series); left of the table Newton on the asymptotic
    expansion.  Returns how many points lie right of the table (left NaN for the caller's
    determinant route).  The two sides' arrays come as separate arguments, so that the loop
    body selects no tuple of arrays per point."""
    missing = 0
    for i in range(q.size):
        qi = q[i]
        if not (qi > 0.0 and qi < 1.0):
            if qi == (1.0 if upper else 0.0):
                out[i] = -math.inf
            elif qi == (0.0 if upper else 1.0):
                out[i] = math.inf
            else:
                out[i] = np.nan
            continue
        # the side from q itself, so that only the one logarithm needed is taken
        if (qi < sf_mid) if upper else (qi > p_mid):
            y = math.log(qi) if upper else math.log1p(-qi)
            if y < y0_r:
                out[i] = np.nan
                missing += 1
                continue
            s = _inverse_series(y, ky_r, scale_r, fwd_r, inv_r, guide_r, y0_r, inv_h_r)
            out[i] = min(max(s, s_mid), b)
        else:
            y = math.log1p(-qi) if upper else math.log(qi)
            if y < y0_l:
                out[i] = _left_tail_solve(y, beta, a, hm_b, hm_c)
                continue
            s = _inverse_series(y, ky_l, scale_l, fwd_l, inv_l, guide_l, y0_l, inv_h_l)
            out[i] = min(max(s, a), s_mid)
    return missing


# --------------------------------------------------------------------------------------------
# Beyond the table: the right tail where 1 - F < 1e-36
# --------------------------------------------------------------------------------------------


def _zeta(z: np.ndarray | float) -> np.ndarray | float:
    # beyond s ~ 1e205 zeta is inf, and the tail built from exp(-zeta) is then exactly 0: no
    # overflow warning for a value that is right
    with np.errstate(over="ignore"):
        return (2.0 / 3.0) * np.power(z, 1.5)


@functools.cache
def _laguerre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.laguerre.laggauss(n)


def _far_right_point(beta: int, s: float) -> tuple[float, float]:
    """(log(1 - F), log f) at one s right of the table, without underflow at any finite s.

    There 1 - F = e_1 - e_2 + ... of the kernel's eigenvalues with e_2 / e_1 <= e_1 < 1e-36, so
    beta = 2: 1 - F = tr K_Ai = int_s^inf K_Ai(t, t) dt and f = K_Ai(s, s) = Ai'^2 - s Ai^2;
    beta = 1: 1 - F = tr A_s = (1/2) int_s^inf Ai and f = Ai(s) / 2.  The integrals are taken by
    Gauss–Laguerre in v = zeta(t) - zeta(s) (twice that for beta = 2), where the integrand is
    smooth, with Ai scaled by exp(zeta) (scipy's airye), zeta = (2/3) s^{3/2}.  (The closed form
    of tr K_Ai cancels to O(s^{-3}) of its terms; the quadrature does not.)
    beta = 4: 1 - F = -e_2 - e_4 - ... of A_{sqrt2 s}, e_2 from the
    eigenvalues of the Nystrom matrix scaled by exp(zeta(sqrt2 s)) (their values are O(1)),
    the density by Hellmann–Feynman on the scaled matrix.
    """
    if s == math.inf:
        return -math.inf, -math.inf
    if s >= _FAR_RIGHT_ASYMPTOTIC[beta]:
        log_sf, log_pdf = _far_right_asymptotic(beta, s)
        # beyond ~1e205 zeta overflows: the logs themselves leave the float range
        return (log_sf, log_pdf) if math.isfinite(log_sf + log_pdf) else (-math.inf, -math.inf)
    z = float(_zeta(s))
    v, w = _laguerre(40)
    if beta == 2:
        # K(t, t) e^{2 zeta(t)} = ai'^2 - t ai^2 (scaled Airy); v = 2 (zeta(t) - zeta(s))
        t = (1.5 * (z + 0.5 * v)) ** (2.0 / 3.0)
        ai, aip, _, _ = airye(t)
        integral = float(np.sum(w * (aip * aip - t * ai * ai) / (2.0 * np.sqrt(t))))
        ai, aip, _, _ = airye(s)
        return math.log(integral) - 2.0 * z, math.log(aip * aip - s * ai * ai) - 2.0 * z
    if beta == 1:
        t = (1.5 * (z + v)) ** (2.0 / 3.0)
        integral = float(np.sum(w * airye(t)[0] / np.sqrt(t)))
        ai = airye(s)[0]
        return math.log(0.5 * integral) - z, math.log(0.5 * ai) - z
    sigma = _SQRT2 * s
    lam, dlam = _scaled_hankel_eigs(sigma, DEFAULT_NODES)
    e2 = 0.5 * (lam.sum() ** 2 - np.dot(lam, lam))
    de2 = dlam.sum() * lam.sum() - np.dot(lam, dlam)
    z = float(_zeta(sigma))
    log_sf = math.log(-e2) - 2.0 * z
    dlog_sf = _SQRT2 * (de2 / e2 - 2.0 * math.sqrt(sigma))
    return log_sf, log_sf + math.log(-dlog_sf)


#: From here on the leading terms of the traces are used (their relative corrections are O(1/zeta),
#: below 2e-5 in log(1 - F) of magnitude > 4e5 here, i.e. < 5e-11 relative); beyond, the 96-node
#: scaled Hankel matrix of beta = 4 loses its resolution (and airye its accuracy near 1e6).
_FAR_RIGHT_ASYMPTOTIC = {1: 1e4, 2: 1e4, 4: 3e3}


def _far_right_asymptotic(beta: int, s: float) -> tuple[float, float]:
    """Leading terms of (log(1 - F), log f) as s -> inf, from Ai(s) ~ e^{-zeta} / (2 sqrt(pi) s^{1/4}).

    beta 1: (1/2) int_s^inf Ai ~ e^{-zeta} / (4 sqrt(pi) s^{3/4}), f ~ e^{-zeta} / (4 sqrt(pi) s^{1/4});
    beta 2: tr K_Ai ~ e^{-2 zeta} / (16 pi s^{3/2}), f ~ e^{-2 zeta} / (8 pi s);
    beta 4: -e_2(A_sigma) ~ Ai(sigma)^2 / (32 sigma^{5/2}) = e^{-2 zeta(sigma)} / (128 pi sigma^3),
    sigma = sqrt2 s (the Hankel kernel Ai(sigma + h) ~ Ai(sigma) e^{-sqrt(sigma) h - h^2 / (4 sqrt(sigma))}
    to second order, whose rank-one part cancels in e_2), f = -(1 - F)' ~ sqrt2 (2 sqrt(sigma)) (1 - F).
    """
    if beta == 1:
        z = float(_zeta(s))
        base = -z - math.log(4.0 * math.sqrt(math.pi))
        return base - 0.75 * math.log(s), base - 0.25 * math.log(s)
    if beta == 2:
        z = float(_zeta(s))
        return -2.0 * z - math.log(16.0 * math.pi) - 1.5 * math.log(s), (
            -2.0 * z - math.log(8.0 * math.pi) - math.log(s)
        )
    sigma = _SQRT2 * s
    log_sf = -2.0 * float(_zeta(sigma)) - math.log(128.0 * math.pi) - 3.0 * math.log(sigma)
    return log_sf, log_sf + math.log(2.0 * _SQRT2 * math.sqrt(sigma))


def _scaled_hankel_eigs(sigma: float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of exp(zeta(sigma)) A_sigma and their sigma-derivatives (see _hankel_eigs)."""
    t, w = leggauss(m)
    # e^{-40} relative decay without _truncation's lower clip (which only guards the
    # unscaled determinant near the median): far out the kernel lives on a width ~ 1/sqrt(sigma)
    length = 2.0 * min(16.0, 40.0 / math.sqrt(sigma))
    x = length * (t + 1) / 2
    w = w * length / 2
    zz = (x[:, None] + x[None, :]) / 2 + sigma
    ai, aip, _, _ = airye(zz)
    scale = np.exp(-(_zeta(zz) - _zeta(sigma)))
    sw = np.sqrt(w)
    mat = 0.5 * sw[:, None] * (ai * scale) * sw[None, :]
    # d/dsigma [exp(zeta(sigma)) A_sigma] = sqrt(sigma) * it + exp(zeta(sigma)) * A'_sigma
    dmat = 0.5 * sw[:, None] * (aip * scale) * sw[None, :] + math.sqrt(sigma) * mat
    with _single_thread_blas():
        lam, vec = np.linalg.eigh(mat)
    dlam = np.sum(vec * (dmat @ vec), axis=0)
    return lam, dlam


class TracyWidom(Law):
    r"""Tracy–Widom law :math:`F_\beta` of the rescaled largest eigenvalue, :math:`\beta\in\{1,2,4\}`.

    A scipy.stats-style frozen distribution with the contract of :mod:`rmtheory.laws`:
    vectorised ``cdf``, ``sf``, ``logcdf``, ``logsf``, ``pdf``, ``logpdf``, ``ppf``, ``isf``,
    ``rvs``, ``interval``; ``mean``, ``var``, ``moment``, ``stats`` by quadrature of the density
    (cached).  Definitions and numerics are in the module docstring; :math:`F_4` uses the
    Tracy–Widom (1996) normalisation (mean :math:`-2.3069`).

    Each log-method is formed where it is accurate: ``logcdf`` from :math:`\log F` (the left
    pieces of the table and the left asymptotic expansion), ``logsf`` from :math:`\log(1-F)` (the
    right pieces, then, right of the table, the traces of the Airy and Hankel kernels scaled by
    :math:`e^{\zeta(s)}`, finite at every finite ``s``), ``logpdf`` as
    :math:`\log F + \log(\log F)'` or :math:`\log(1-F) + \log(-(\log(1-F))')`; none is
    ``log`` of a value that has underflowed.

    Conventions (as scipy): NaN in gives NaN out; ``cdf(-inf) = 0``, ``cdf(inf) = 1``;
    ``ppf(0) = -inf``, ``ppf(1) = inf`` and ``ppf(q) = nan`` for ``q`` outside [0, 1].  Scalars in,
    Python floats out.

    Parameters
    ----------
    beta : {1, 2, 4}
        Dyson index: 1 = real (GOE, real Wishart), 2 = complex (GUE), 4 = quaternion (GSE).

    Examples
    --------
    >>> tw = TracyWidom(1)
    >>> round(tw.ppf(0.95), 4)
    0.9793
    >>> round(tw.mean(), 6)
    -1.206534
    """

    def __init__(self, beta: int = 1) -> None:
        self.beta = _check_beta(beta)

    def __repr__(self) -> str:
        return f"TracyWidom(beta={self.beta})"

    @property
    def _table(self) -> _Table:
        return _load_table(self.beta)

    _wrap = staticmethod(_finish)

    # ---- evaluation ------------------------------------------------------------------------

    def _evaluate(self, x: ArrayLike, kind: str) -> np.ndarray | float:
        arr, scalar = _as_array(x, "x")
        return _finish(self._evaluate_array(arr, kind), scalar)

    def _evaluate_array(self, arr: np.ndarray, kind: str) -> np.ndarray:
        tab = self._table
        code = _KINDS[kind]
        flat = np.ascontiguousarray(arr).reshape(-1)
        out = np.empty_like(flat)
        hm_b, hm_c = _hastings_mcleod_series(_N_ASYMPTOTIC)
        beyond = _evaluate_kernel(
            flat, code, self.beta, tab.a, tab.width, tab.j_mid, tab.coef, tab.dcoef, hm_b, hm_c, out
        )
        if beyond:
            right = flat > tab.b
            out[right] = self._beyond_table(flat[right], kind)
        return out.reshape(arr.shape)

    def _beyond_table(self, xs: np.ndarray, kind: str) -> np.ndarray:
        # 1 - F < 1e-36 here: cdf = 1 - sf and logcdf = -sf to full precision; the logs come from
        # the scaled kernel traces (_far_right_point), exact in relative terms at any finite s
        res = np.empty_like(xs)
        for i, s in enumerate(xs):
            log_sf, log_pdf = _far_right_point(self.beta, float(s))
            res[i] = {
                "cdf": -math.expm1(log_sf) if log_sf > -math.inf else 1.0,
                "sf": math.exp(log_sf),
                "logcdf": -math.exp(log_sf),
                "logsf": log_sf,
                "pdf": math.exp(log_pdf),
                "logpdf": log_pdf,
            }[kind]
        return res

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "cdf")

    def _sf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "sf")

    def _logcdf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "logcdf")

    def _logsf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "logsf")

    def _pdf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "pdf")

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate_array(x, "logpdf")

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        r""":math:`F_\beta(x) = P(\mathrm{TW}_\beta \le x)`.

        >>> round(TracyWidom(2).cdf(-1.8), 3)
        0.502
        """
        return super().cdf(x)

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        r"""Survival function :math:`1-F_\beta(x)`, relative-accurate in the right tail."""
        return super().sf(x)

    def logcdf(self, x: ArrayLike) -> np.ndarray | float:
        r""":math:`\log F_\beta(x)`, relative-accurate in the left tail (asymptotic series)."""
        return super().logcdf(x)

    def logsf(self, x: ArrayLike) -> np.ndarray | float:
        r""":math:`\log(1-F_\beta(x))`, relative-accurate in the right tail at every finite ``x``.

        >>> round(TracyWidom(2).logsf(200.0))
        -3783
        """
        return super().logsf(x)

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        r"""Density :math:`F_\beta'(x)`, the derivative of the Chebyshev interpolant."""
        return super().pdf(x)

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        r"""Log density, from the log of the tail on the side of ``x`` (no underflow)."""
        return super().logpdf(x)

    # ---- inversion ---------------------------------------------------------------------------

    def ppf(self, q: ArrayLike) -> np.ndarray | float:
        r"""Quantile function :math:`F_\beta^{-1}(q)`.

        Compiled, one pass: :math:`y=\log q` (or :math:`\log(1-q)` right of the median), a
        local Chebyshev series of the inverse on the knot interval holding :math:`y` (found by a
        guide table, no search), then one Newton step on the forward series re-expanded on that
        interval; :math:`q` below the table uses Newton on the left-tail expansion.  The round
        trip :math:`|F(\mathrm{ppf}(q)) - q|/q` is at most ~5e-15 for :math:`q\in[10^{-3},
        1-10^{-3}]` and within about 2 ulp of :math:`x` (its condition) in the tails.

        >>> round(TracyWidom(1).ppf(0.9), 4)
        0.4501
        """
        return super().ppf(q)

    def isf(self, q: ArrayLike) -> np.ndarray | float:
        r"""Inverse survival function: the :math:`x` with :math:`1-F_\beta(x) = q`."""
        return super().isf(q)

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return self._invert_array(q, upper=False)

    def _isf(self, q: np.ndarray) -> np.ndarray:
        return self._invert_array(q, upper=True)

    def _invert(self, q: ArrayLike, upper: bool) -> np.ndarray | float:
        arr, scalar = _as_array(q, "q")
        return _finish(self._invert_array(arr, upper), scalar)

    def _invert_array(self, arr: np.ndarray, upper: bool) -> np.ndarray:
        tab = self._table
        flat = np.ascontiguousarray(arr).reshape(-1)
        out = np.empty_like(flat)
        hm_b, hm_c = _hastings_mcleod_series(_N_ASYMPTOTIC)
        p_mid, sf_mid = _load_mid(self.beta)
        missing = _invert_kernel(
            flat,
            upper,
            self.beta,
            p_mid,
            sf_mid,
            tab.a,
            tab.s_mid,
            tab.b,
            *_inverse_args(self.beta, right=False),
            *_inverse_args(self.beta, right=True),
            hm_b,
            hm_c,
            out,
        )
        if missing:
            # q of the upper tail below 1 - F(b) ~ 1e-36: root-finding on the determinant
            beyond = np.isnan(out) & (flat > 0) & (flat < 1)
            y = np.log(flat[beyond]) if upper else np.log1p(-flat[beyond])
            out[beyond] = [_solve_right_fredholm(v, self.beta, tab.b) for v in y]
        return out.reshape(arr.shape)

    # ---- moments and sampling ----------------------------------------------------------------

    def mean(self) -> float:
        """Mean, by Gauss–Legendre quadrature of the density (cached)."""
        return super().mean()

    def var(self) -> float:
        """Variance, by Gauss–Legendre quadrature of the density (cached)."""
        return super().var()

    def _mean(self) -> float:
        return _moments(self.beta)[0]

    def _var(self) -> float:
        return _moments(self.beta)[1]

    def _moment(self, k: int) -> float:
        return _raw_moment(self.beta, k)

    def _central_moment(self, k: int) -> float:
        return _central_moment(self.beta, k)

    def _support(self) -> tuple[float, float]:
        """The support, the whole real line."""
        return (-math.inf, math.inf)

    def stats(self, moments: str = "mv") -> tuple[float, ...]:
        """Mean, variance (and with ``moments="mvsk"`` skewness, excess kurtosis)."""
        return super().stats(moments)

    def _rvs(self, size: int | tuple[int, ...] | None, gen: np.random.Generator) -> Any:
        # Uniforms on the open interval (0, 1): midpoints of a 2^-53 grid.
        u = (gen.integers(0, 2**53, size=size, dtype=np.int64) + 0.5) / 2.0**53
        return self.ppf(u)

    def rvs(
        self, size: int | tuple[int, ...] | None = None, seed: Any = None
    ) -> np.ndarray | float:
        """Random variates by inverse transform sampling.

        Parameters
        ----------
        size : int or tuple of int, optional
            Output shape; ``None`` gives one float.
        seed : int, numpy.random.Generator or None
            Randomness source (no global state is used).

        Examples
        --------
        >>> x = TracyWidom(2).rvs(1000, seed=0)
        >>> x.shape
        (1000,)
        """
        return super().rvs(size, seed)


@functools.cache
def _load_mid(beta: int) -> tuple[float, float]:
    """(F, 1 - F) at the switch point between the log F and the log(1-F) pieces."""
    tab = _load_table(beta)
    log_sf = float(tab.value(np.array([tab.j_mid]), np.array([-1.0]))[0])
    return -math.expm1(log_sf), math.exp(log_sf)


@functools.cache
def _inverse_args(beta: int, right: bool) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The tuple the compiled inversion takes for one side (built once per law)."""
    kn = _inverse_knots(beta, right)
    return kn.y, kn.scale, kn.fwd, kn.coef, kn.guide, kn.y0, kn.inv_h


def _solve_right_fredholm(y: float, beta: int, b: float) -> float:
    """Solve log(1-F)(s) = y beyond the table (isf of tiny q) by Brent's method; slow."""
    from scipy.optimize import brentq

    def g(s: float) -> float:
        # the same log(1 - F) as logsf beyond the table (finite at every finite s)
        return _far_right_point(beta, s)[0] - y

    with _single_thread_blas():
        hi = b + 1.0
        while g(hi) > 0:
            hi = b + 2.0 * (hi - b)
        return float(brentq(g, b, hi, xtol=1e-14, rtol=1e-15))


@functools.cache
def _density_nodes(beta: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and density-weighted weights: Gauss–Legendre on every table piece plus the left
    asymptotic tail (40 units, where F ~ exp(-40^3 / 24)); normalised to total mass 1."""
    tab = _load_table(beta)
    t, w = leggauss(40)
    edges = np.concatenate(
        [np.arange(tab.a - 40.0, tab.a, 1.0), tab.a + tab.width * np.arange(tab.n_pieces + 1)]
    )
    lo, hi = edges[:-1, None], edges[1:, None]
    x = (lo + (hi - lo) * (t + 1) / 2).ravel()
    wx = ((hi - lo) / 2 * w).ravel()
    f = np.asarray(TracyWidom(beta).pdf(x)) * wx
    f = f / np.sum(f)
    for arr in (x, f):
        arr.setflags(write=False)
    return x, f


@functools.cache
def _moments(beta: int) -> tuple[float, float]:
    """(mean, variance) by quadrature of the density (_density_nodes)."""
    x, f = _density_nodes(beta)
    mean = float(np.sum(x * f))
    var = float(np.sum((x - mean) ** 2 * f))
    return mean, var


@functools.cache
def _raw_moment(beta: int, k: int) -> float:
    """E[X^k] by the same quadrature (the tails beyond the nodes hold < 1e-36 of the mass)."""
    x, f = _density_nodes(beta)
    return float(np.sum(x**k * f))


@functools.cache
def _central_moment(beta: int, k: int) -> float:
    """E[(X - mean)^k] by direct quadrature (no cancellation between raw moments)."""
    x, f = _density_nodes(beta)
    return float(np.sum((x - _moments(beta)[0]) ** k * f))


# --------------------------------------------------------------------------------------------
# Johnstone's edge scaling of real Wishart matrices
# --------------------------------------------------------------------------------------------


def _shape(n: Any, p: Any) -> tuple[int, int]:
    n = positive_int(n, "n")
    p = positive_int(p, "p")
    return (n, p) if n >= p else (p, n)


def wishart_edge_scaling(
    n: int, p: int, sigma2: float = 1.0, exact: bool = False
) -> tuple[float, float]:
    r"""Centre and scale of the largest eigenvalue of a real white Wishart matrix (Johnstone 2001).

    For :math:`X` a :math:`p\times n` matrix with iid :math:`N(0,\sigma^2)` entries, :math:`n\ge p`,
    :math:`\gamma=p/n`, the largest eigenvalue of :math:`XX^\top/n` satisfies
    :math:`\lambda_{\max} \approx \text{center} + \text{scale}\cdot\mathrm{TW}_1`, with

    * ``exact=False`` (asymptotic form, the one in the paper's BEMA): center
      :math:`=\sigma^2(1+\sqrt\gamma)^2`, scale :math:`=\sigma^2 n^{-2/3}\gamma^{-1/6}(1+\sqrt\gamma)^{4/3}`;
    * ``exact=True`` (Johnstone 2001, Thm 1.1, with the :math:`n-1` correction): center
      :math:`=\sigma^2(\sqrt{n-1}+\sqrt p)^2/n`, scale
      :math:`=\sigma^2(\sqrt{n-1}+\sqrt p)(1/\sqrt{n-1}+1/\sqrt p)^{1/3}/n`.

    ``n`` is the larger dimension.  If ``p > n`` the two are swapped: the non-zero eigenvalues of
    :math:`XX^\top` and :math:`X^\top X` agree, and the matrix is then normalised by the larger
    dimension, i.e. this always describes :math:`\lambda_{\max}(XX^\top)/\max(n,p)`.

    Parameters
    ----------
    n, p : int
        Matrix dimensions (``exact=True`` needs ``max(n, p) >= 2``).
    sigma2 : float
        Entry variance :math:`\sigma^2 > 0`.
    exact : bool
        Johnstone's finite-:math:`n` centring/scaling instead of the asymptotic one.

    Returns
    -------
    (center, scale) : tuple of float

    Examples
    --------
    >>> c, s = wishart_edge_scaling(3000, 3000)
    >>> c, round(s * TracyWidom(1).ppf(0.9), 4)
    (4.0, 0.0055)
    """
    n, p = _shape(n, p)
    sigma2 = positive_finite(sigma2, "sigma2")
    if exact:
        if n < 2:
            raise ValueError(f"exact=True needs the larger dimension >= 2, got {n}")
        root = math.sqrt(n - 1) + math.sqrt(p)
        center = root**2
        scale = root * (1 / math.sqrt(n - 1) + 1 / math.sqrt(p)) ** (1 / 3)
        return sigma2 * center / n, sigma2 * scale / n
    gamma = p / n
    edge = 1 + math.sqrt(gamma)
    return sigma2 * edge**2, sigma2 * n ** (-2 / 3) * gamma ** (-1 / 6) * edge ** (4 / 3)


def paper_code_edge_scaling(n: int, p: int, sigma2: float = 1.0) -> tuple[float, float]:
    r"""The authors' BEMA edge scaling, reproducing their operator-precedence bug.

    The code (algorithms.md §1.3, bug 1) writes ``(1+np.sqrt(gamma))**4/3``, which Python reads as
    :math:`(1+\sqrt\gamma)^4/3` instead of :math:`(1+\sqrt\gamma)^{4/3}`:
    center :math:`=\sigma^2(1+\sqrt\gamma)^2`, scale
    :math:`=\sigma^2 n^{-2/3}\gamma^{-1/6}(1+\sqrt\gamma)^4/3`.  Use it only to reproduce the
    paper's numbers (e.g. Fig. 17); :func:`wishart_edge_scaling` is the correct law.  The two agree
    only where :math:`(1+\sqrt\gamma)^{8/3}=3`, i.e. :math:`\gamma\approx0.25`.

    Examples
    --------
    >>> c, s = paper_code_edge_scaling(3000, 3000)
    >>> round(s * TracyWidom(1).ppf(0.9), 4)
    0.0115
    """
    n, p = _shape(n, p)
    sigma2 = positive_finite(sigma2, "sigma2")
    gamma = p / n
    edge = 1 + math.sqrt(gamma)
    return sigma2 * edge**2, sigma2 * n ** (-2 / 3) * gamma ** (-1 / 6) * edge**4 / 3
