r"""The Approximation Lemma (paper App. B, Lemma 7.4, eqs 37, 61–62): how well the pruned matrix
approximates the deterministic part.

Setting (paper Ex 5.5 / 6.3)
----------------------------
:math:`W = R + S` of shape :math:`n\times m`, :math:`R` iid :math:`N(0, g/q)` with
:math:`q=\max(n,m)` (the paper's square case: :math:`n=m=N`, :math:`g=1`, :math:`R\sim N(0,1/N)`,
singular-value bulk edge 2), :math:`S=\sum_{i\le r}\sigma_iu_iv_i^\top` of fixed rank with
:math:`\sigma_i` above the BBP threshold (1 in the paper's case).  :math:`W'` keeps the singular
values of :math:`W` that are :math:`\ge\tau=\text{edge}+\varepsilon` and drops the rest
(Def. 7.2).  The lemma bounds :math:`\|(W'-S)x\|\le\theta(N)\|x\|`; the best such
:math:`\theta(N)` is :math:`\|W'-S\|_{op}` (:func:`theta_empirical`, :func:`approximation_error`).

Its limit (reconstruction, algorithms.md §1.8 — the paper's eq 37 was lost)
--------------------------------------------------------------------------------
By BGN (paper Thms 6.1/6.2), spike :math:`i` produces an outlier
:math:`s_i\to\rho(\sigma_i)` (square case :math:`\sigma_i+1/\sigma_i`) whose singular vectors
satisfy :math:`\tilde u_i = a_iu_i+\sqrt{1-a_i^2}\,\hat u_i`,
:math:`\tilde v_i = b_iv_i+\sqrt{1-b_i^2}\,\hat v_i` with :math:`\hat u_i\perp u`,
:math:`\hat v_i\perp v`, :math:`a_i^2, b_i^2` the overlaps (square case both
:math:`1-1/\sigma_i^2`), and all cross overlaps vanish.  From
:math:`\langle\tilde u_i,\tilde u_j\rangle=0` the residual directions :math:`\hat u_i` are
asymptotically orthonormal too.  So asymptotically :math:`W'-S=\sum_i(s_i\tilde u_i\tilde v_i^\top
-\sigma_iu_iv_i^\top)` is a direct sum of :math:`r` blocks; in the bases
:math:`(u_i,\hat u_i)\times(v_i,\hat v_i)` block :math:`i` is

.. math::  M_i=\begin{pmatrix} s a b-\sigma & s a\sqrt{1-b^2}\\
                                s b\sqrt{1-a^2} & s\sqrt{1-a^2}\sqrt{1-b^2}\end{pmatrix},

with :math:`\|M_i\|_F^2 = s^2+\sigma^2-2\sigma s ab =: F` and
:math:`|\det M_i| = \sigma s\sqrt{1-a^2}\sqrt{1-b^2}`, hence

.. math::  \|M_i\|_{op}^2 = \tfrac12\Big(F+\sqrt{F^2-4\det{}^2}\Big), \qquad
           \theta_\infty = \max_i \|M_i\|_{op}.

A spike whose outlier does not clear :math:`\tau` is cut and contributes :math:`\sigma_i`.  In the
square case (:math:`s=\sigma+1/\sigma`, :math:`ab=1-1/\sigma^2`) this is
:math:`F=2+3/\sigma^2`, :math:`\det^2=(1+1/\sigma^2)^2` and

.. math::  f(\sigma) = \frac1{2\sigma}+\sqrt{1+\frac5{4\sigma^2}},

decreasing from :math:`f(1)=\tfrac12+\tfrac32=2` at the BBP threshold to 1 as :math:`\sigma\to\infty`,
so :math:`\theta_\infty=f(\sigma_r)` with :math:`\sigma_r` the smallest spike, always below the
edge 2 that Lemma 5.1 pays for the same cut ("better than Lemma 5.1", paper §5.6).  With noise
variance :math:`g/N`: :math:`\sqrt g\,f(\sigma/\sqrt g)`.

Wigner analogue (Ex 5.6, BGN 2011): :math:`X` symmetric with off-diagonal variance
:math:`\sigma^2/n`, :math:`\tilde X = X+\sum\theta_iu_iu_i^\top`, :math:`\tilde X'` keeps the
eigenvalues :math:`\ge 2\sigma+\varepsilon`.  Block
:math:`\begin{pmatrix}\lambda a^2-\theta & \lambda a\sqrt{1-a^2}\\ \cdot & \lambda(1-a^2)\end{pmatrix}`
with :math:`\lambda=\theta+\sigma^2/\theta`, :math:`a^2=1-\sigma^2/\theta^2`; its norm is
:math:`\sigma^2/(2\theta)+\sqrt{\sigma^2+5\sigma^4/(4\theta^2)}`.

The limits assume :math:`\varepsilon\to0^+` *after* :math:`N\to\infty`: with
:math:`\varepsilon=0` a finite matrix keeps bulk values just above the edge (Tracy–Widom
fluctuations) and :math:`\|W'-S\|` jumps to about the edge.  Measured convergence rate: see
``docs/theorems.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike
from scipy.sparse.linalg import svds

from rmtheory._validation import (
    choice,
    finite_matrix,
    nonnegative_finite,
    positive_finite,
    positive_int,
    real_array,
)
from rmtheory._validation import rng as _rng
from rmtheory.bema import BEMA
from rmtheory.lowrank import svd
from rmtheory.spiked import (
    outlier_singular_value,
    theta_from_outlier,
    wigner_outlier_eigenvalue,
)

__all__ = [
    "Truncation",
    "ThetaConvergence",
    "truncate_below",
    "spike_block_norm",
    "theta_asymptotic",
    "wigner_spike_block_norm",
    "wigner_theta_asymptotic",
    "theta_from_weights",
    "approximation_error",
    "theta_empirical",
    "wigner_theta_empirical",
    "theta_convergence",
    "cut_and_theta",
]

# Below this smaller dimension a full SVD is cheaper than ARPACK's restarts.
_FULL_SVD_BELOW = 400


# ---------------------------------------------------------------------------------- truncation
@dataclass(frozen=True, eq=False)
class Truncation:
    """Result of :func:`truncate_below`.

    Attributes
    ----------
    matrix : ndarray
        :math:`W'`, the singular values below the threshold set to zero.
    rank : int
        Number of singular values kept (those ``>= threshold``).
    largest_dropped : float
        The largest singular value that was set to zero (0 if none): exactly
        :math:`\\|W-W'\\|_{op}`.
    """

    matrix: np.ndarray
    rank: int
    largest_dropped: float


def truncate_below(W: ArrayLike, threshold: float) -> Truncation:
    r"""Zero the singular values of ``W`` that are strictly below ``threshold`` (paper Def. 7.2).

    :math:`W'=\sum_{s_i\ge\tau}s_iu_iv_i^\top`.  If nothing is dropped ``W'`` is an exact copy of
    ``W`` (no round-off from a reconstruction), so :math:`W-W'` is exactly 0 then.

    Examples
    --------
    >>> t = truncate_below(np.diag([3.0, 2.0, 0.5]), 1.0)
    >>> t.rank, t.largest_dropped
    (2, 0.5)
    """
    A = np.asarray(finite_matrix(W, "W"), dtype=np.float64)
    tau = nonnegative_finite(threshold, "threshold")
    U, s, Vt = svd(A)
    keep = s >= tau
    k = int(np.count_nonzero(keep))
    if k == s.size:
        return Truncation(A.copy(), k, 0.0)
    if 2 * k <= s.size:
        Wp = (U[:, :k] * s[:k]) @ Vt[:k]
    else:  # fewer dropped than kept: subtract the dropped part (less work, less round-off)
        Wp = A - (U[:, k:] * s[k:]) @ Vt[k:]
    return Truncation(Wp, k, float(s[k]))


# ---------------------------------------------------------------------------------- asymptotics
def _unit_block_norm(t: np.ndarray, c: float) -> np.ndarray:
    r""":math:`\|M\|_{op}` for a kept spike of strength ``t`` (> c**0.25) over unit noise, ratio c.

    Written without cancellation for large ``t`` (where :math:`F=O(1)` but
    :math:`s^2,\sigma^2=O(t^2)`): with :math:`1-a^2=\sin^2A`, :math:`1-b^2=\sin^2B`,
    :math:`F=(s-\sigma)^2+2\sigma s(\sin^2\frac{A-B}2+\sin^2\frac{A+B}2)` and
    :math:`F\mp2|\det|=(s-\sigma)^2+4\sigma s\sin^2\frac{A\mp B}2`.  The complements of the
    BGN overlaps (:func:`rmtheory.spiked.singular_vector_overlaps`) are evaluated directly.
    """
    # beyond 1e50 every correction is O(1e-50) relative: the value there is the limit, and t**4
    # (which overflows near 1e77) never forms
    t = np.minimum(t, 1e50)
    t2 = t * t
    root = np.sqrt((1.0 + t2) * (c + t2))
    s = root / t
    s_minus = (c + t2 * (1.0 + c)) / (t * (root + t2))  # s - t
    alpha = c * (1.0 + t2) / (t2 * (t2 + c))  # 1 - a^2, smaller side
    beta = (c + t2) / (t2 * (t2 + 1.0))  # 1 - b^2, larger side
    A = np.arcsin(np.sqrt(np.clip(alpha, 0.0, 1.0)))
    B = np.arcsin(np.sqrt(np.clip(beta, 0.0, 1.0)))
    sm = np.sin(0.5 * (A - B)) ** 2
    sp = np.sin(0.5 * (A + B)) ** 2
    base = s_minus * s_minus
    F = base + 2.0 * t * s * (sm + sp)
    disc = (base + 4.0 * t * s * sm) * (base + 4.0 * t * s * sp)
    return np.sqrt(0.5 * (F + np.sqrt(disc)))


def _spikes(sigma: ArrayLike, name: str) -> np.ndarray:
    a = real_array(sigma, name)
    if a.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {sigma!r}")
    return a


def _eps(eps: Any) -> float:
    return nonnegative_finite(eps, "eps")


def spike_block_norm(
    sigma: ArrayLike, ratio: float = 1.0, g: float = 1.0, *, eps: float = 0.0
) -> np.ndarray:
    r"""Limit of the part of :math:`\|W'-S\|_{op}` due to each spike: :math:`\|M_i\|_{op}`.

    Elementwise over ``sigma``; :math:`\theta_\infty` is the maximum (:func:`theta_asymptotic`).
    Square case: :math:`f(\sigma)=\sqrt g\,(1/(2t)+\sqrt{1+5/(4t^2)})`, :math:`t=\sigma/\sqrt g`.
    A spike whose outlier limit :math:`\rho(\sigma)` is not above the cut
    :math:`\sqrt g(1+\sqrt c)+\varepsilon` is removed by the pruning and contributes
    :math:`\sigma` itself.

    Parameters
    ----------
    sigma : float or 1-D array
        Nonzero singular values of :math:`S` (> 0).
    ratio : float in (0, 1]
        :math:`c=\min(n,m)/\max(n,m)`.
    g : float
        Noise variance times :math:`\max(n,m)` (1 in the paper).
    eps : float >= 0
        The :math:`\varepsilon` of the cut :math:`\text{edge}+\varepsilon`.

    Examples
    --------
    >>> round(float(spike_block_norm(2.0)), 6)    # 1/4 + sqrt(1 + 5/16)
    1.395644
    """
    sig = _spikes(sigma, "sigma")
    gg = positive_finite(g, "g")
    rho = np.asarray(outlier_singular_value(sig, ratio, gg), dtype=np.float64)
    cut = math.sqrt(gg) * (1.0 + math.sqrt(ratio)) + _eps(eps)
    kept = rho > cut
    out = sig.copy()
    with np.errstate(over="ignore"):  # inf is clipped to the limit in _unit_block_norm
        t = sig[kept] / math.sqrt(gg)
    out[kept] = math.sqrt(gg) * _unit_block_norm(t, float(ratio))
    return out[()] if out.ndim == 0 else out


def theta_asymptotic(
    sigma: ArrayLike, ratio: float = 1.0, g: float = 1.0, *, eps: float = 0.0
) -> float:
    r""":math:`\theta_\infty=\lim_N\|W'-S\|_{op}=\max_i\|M_i\|_{op}` (Approximation Lemma, eq 37 as
    reconstructed in algorithms.md §1.8).

    For the paper's square model this is :math:`f(\sigma_r)=1/(2\sigma_r)+\sqrt{1+5/(4\sigma_r^2)}`
    (``f`` is decreasing, so the smallest spike decides).  The derivation is in the module
    docstring; tests compare it with a numerical 2x2 SVD, the closed form and simulation.

    Parameters
    ----------
    sigma : float or 1-D array
        The nonzero singular values of :math:`S` (or just :math:`\sigma_r`).
    ratio, g, eps
        As in :func:`spike_block_norm`.

    Examples
    --------
    >>> round(theta_asymptotic([4.0, 3.0, 2.0]), 6)
    1.395644
    """
    return float(np.max(spike_block_norm(sigma, ratio, g, eps=eps)))


def wigner_spike_block_norm(
    theta: ArrayLike, sigma: float = 1.0, *, eps: float = 0.0
) -> np.ndarray:
    r"""Wigner analogue of :func:`spike_block_norm` (Ex 5.6):
    :math:`\sigma^2/(2\theta)+\sqrt{\sigma^2+5\sigma^4/(4\theta^2)}` for a kept spike.

    Computed from the block of the module docstring with :math:`\lambda=\theta+\sigma^2/\theta`
    and :math:`a^2=1-\sigma^2/\theta^2` (BGN 2011); a spike whose eigenvalue limit is not above
    :math:`2\sigma+\varepsilon` contributes :math:`\theta`.

    Examples
    --------
    >>> round(float(wigner_spike_block_norm(2.0)), 6)
    1.395644
    """
    th = _spikes(theta, "theta")
    sg = positive_finite(sigma, "sigma")
    lam = np.asarray(wigner_outlier_eigenvalue(th, sg), dtype=np.float64)
    kept = lam > 2.0 * sg + _eps(eps)
    tk = th[kept]
    # symmetric block, trace lam - theta = s^2/theta, det = -theta*lam*(1 - a^2) with
    # 1 - a^2 = s^2/theta^2 (BGN 2011): eigenvalues of opposite sign, the norm is the larger one
    out = th.copy()
    if 1e-100 < sg < 1e100:
        half_trace = 0.5 * sg * sg / tk
        out[kept] = half_trace + np.sqrt(half_trace**2 + sg * sg * (1.0 + (sg / tk) ** 2))
    else:  # the same over sg (sg^2 would over- or underflow); r = sg / theta < 1 when kept
        r = sg / tk
        out[kept] = sg * (0.5 * r + np.sqrt(0.25 * r * r + 1.0 + r * r))
    return out[()] if out.ndim == 0 else out


def wigner_theta_asymptotic(theta: ArrayLike, sigma: float = 1.0, *, eps: float = 0.0) -> float:
    """Max of :func:`wigner_spike_block_norm` over the spikes (Ex 5.6, Fig 15).

    Examples
    --------
    >>> round(wigner_theta_asymptotic([3.0, 2.0]), 6)
    1.395644
    """
    return float(np.max(wigner_spike_block_norm(theta, sigma, eps=eps)))


def theta_from_weights(
    W: ArrayLike, noise_var: float, threshold: float, *, edge: float | None = None
) -> float:
    r"""Estimate :math:`\theta_\infty` from the singular values of :math:`W` alone (paper §5.6,
    remark after eq 37: "as :math:`N\to\infty` this estimate can be obtained in terms of
    singular values of :math:`W` only").

    :math:`W` is ``(n, m)`` with noise entries of variance ``noise_var`` (e.g. ``BEMA().fit(W)
    .sigma2_``).  In the BGN units of :mod:`rmtheory.spiked` (divide by :math:`\sqrt q`,
    :math:`q=\max(n,m)`, ``ratio`` :math:`c=\min/\max`, ``sigma2 = noise_var``) every singular
    value above the noise edge (default :math:`\sqrt{q\,v}(1+\sqrt c)`) is an outlier and
    :func:`~rmtheory.spiked.theta_from_outlier` gives its spike :math:`\hat\sigma_i`.  Outliers
    ``>= threshold`` are kept by the pruning and contribute :math:`\|M_i\|_{op}`; those below it
    are cut and contribute :math:`\hat\sigma_i`.  Returns the maximum, in the units of ``W``
    (0 when there is no outlier).

    Spikes too weak to leave the bulk are invisible here; their contribution (at most the
    detection threshold :math:`\sqrt{q v}\,c^{1/4}`) is not included.

    Examples
    --------
    >>> g = np.random.default_rng(0); N = 600
    >>> W = g.standard_normal((N, N)) / np.sqrt(N); W[0, 0] += 3.0; W[1, 1] += 2.0
    >>> abs(theta_from_weights(W, 1 / N, 2.1) - theta_asymptotic([3.0, 2.0])) < 0.15
    True
    """
    A = finite_matrix(W, "W")
    v = positive_finite(noise_var, "noise_var")
    tau = nonnegative_finite(threshold, "threshold")
    p, q = min(A.shape), max(A.shape)
    c = p / q
    root = math.sqrt(q)
    if edge is None:
        noise_edge = root * math.sqrt(v) * (1.0 + math.sqrt(c))
    else:
        noise_edge = nonnegative_finite(edge, "edge")
    s = scipy.linalg.svdvals(np.asarray(A, dtype=np.float64), check_finite=False)
    out = s[s > noise_edge]
    if out.size == 0:
        return 0.0
    t = np.atleast_1d(np.asarray(theta_from_outlier(out / root, c, v), dtype=np.float64))
    sd = math.sqrt(v)
    # the block of a kept spike uses the BGN limits at the estimated strength
    with np.errstate(over="ignore"):  # t / sd = inf is clipped to the limit in _unit_block_norm
        ratio_t = np.maximum(t / sd, c**0.25)
    norms = np.where(out >= tau, sd * _unit_block_norm(ratio_t, c), t)
    return float(root * np.max(norms))


# ---------------------------------------------------------------------------------- empirical
def approximation_error(W: ArrayLike, S: ArrayLike, threshold: float) -> float:
    r""":math:`\|W'-S\|_{op}` for given dense matrices, :math:`W'` = ``truncate_below(W, threshold)``.

    The smallest :math:`\theta` with :math:`\|(W'-S)x\|\le\theta\|x\|` for all :math:`x` (eq 61).

    Examples
    --------
    >>> W = np.diag([3.0, 0.1]); S = np.diag([2.9, 0.0])
    >>> round(approximation_error(W, S, 1.0), 12)
    0.1
    """
    A = finite_matrix(W, "W")
    B = finite_matrix(S, "S")
    if A.shape != B.shape:
        raise ValueError(f"W and S must have the same shape, got {A.shape} and {B.shape}")
    D = truncate_below(A, threshold).matrix - np.asarray(B, dtype=np.float64)
    if not np.all(np.isfinite(D)):
        raise ValueError("W' - S overflows float64: W and S are too large for their difference")
    return float(scipy.linalg.svdvals(D, check_finite=False)[0])


def _top_triplets(
    W: np.ndarray, cut: float, start: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Singular triplets of ``W`` with value >= cut (ARPACK for big matrices, LAPACK otherwise)."""
    p = min(W.shape)
    k = max(1, start)
    while p >= _FULL_SVD_BELOW and k < p - 1:
        v0 = gen.standard_normal(min(W.shape))
        U, s, Vt = svds(W, k=k, v0=v0, solver="arpack")
        if s.min() < cut:  # the returned set reaches below the cut: it holds every kept value
            order = np.argsort(s)[::-1]
            keep = order[s[order] >= cut]
            return U[:, keep], s[keep], Vt[keep]
        k = min(2 * k, p - 2)
    U, s, Vt = scipy.linalg.svd(W, full_matrices=False, lapack_driver="gesdd")
    keep = s >= cut
    return U[:, keep], s[keep], Vt[keep]


def _lowrank_difference_norm(A: np.ndarray, B: np.ndarray, d: np.ndarray) -> float:
    """||A diag(d) B^T||_op through thin QR of the tall factors (rank <= len(d))."""
    if d.size == 0:
        return 0.0
    Qa, Ra = np.linalg.qr(A)
    Qb, Rb = np.linalg.qr(B)
    return float(scipy.linalg.svdvals((Ra * d) @ Rb.T)[0])


def cut_and_theta(
    W: np.ndarray,
    cut: float,
    U: np.ndarray,
    sigma: np.ndarray,
    V: np.ndarray,
    gen: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r"""Cut ``W`` below ``cut`` and measure the cut's distance to a known low-rank signal.

    Returns ``(Uk, sk, Vtk, theta)``: the singular triplets of ``W`` with value
    :math:`\ge` ``cut`` (so :math:`W' = U_k\,\mathrm{diag}(s_k)\,V_k^\top`, ARPACK with a
    doubling start for big matrices, LAPACK ``gesdd`` otherwise) and
    :math:`\theta = \|W' - U\,\mathrm{diag}(\sigma)\,V^\top\|_{op}`, computed through thin QR
    of the stacked factors (rank :math:`\le k + r`), never forming the :math:`n\times m`
    difference.  ``gen`` seeds ARPACK's start vector.  This is the :math:`\theta_N` of
    Theorem 5.4 / eq. 37 for a draw whose signal :math:`S` is known.

    >>> gen = np.random.default_rng(0)
    >>> U = np.linalg.qr(gen.standard_normal((60, 1)))[0]; V = np.linalg.qr(gen.standard_normal((50, 1)))[0]
    >>> W = 3.0 * U @ V.T + gen.standard_normal((60, 50)) / np.sqrt(60)
    >>> Uk, sk, Vtk, theta = cut_and_theta(W, 2.2, U, np.array([3.0]), V, gen)
    >>> sk.size, bool(np.isclose(theta, np.linalg.norm((Uk * sk) @ Vtk - 3.0 * U @ V.T, 2)))
    (1, True)
    """
    sig = np.asarray(sigma, dtype=np.float64)
    Uk, sk, Vtk = _top_triplets(W, float(cut), sig.size + 4, gen)
    theta = _lowrank_difference_norm(
        np.hstack([Uk, U]), np.hstack([Vtk.T, V]), np.concatenate([sk, -sig])
    )
    return Uk, sk, Vtk, theta


def _orthonormal(n: int, r: int, gen: np.random.Generator, vectors: str) -> np.ndarray:
    if vectors == "diagonal":
        return np.eye(n, r)
    Q, Rr = np.linalg.qr(gen.standard_normal((n, r)))
    return Q * np.sign(np.diag(Rr))  # Haar-distributed columns


def theta_empirical(
    sigma: ArrayLike,
    n: int,
    m: int | None = None,
    *,
    g: float = 1.0,
    eps: float = 0.1,
    threshold: Literal["mp", "bema"] | float = "mp",
    vectors: Literal["random", "diagonal"] = "random",
    seed: int | np.random.Generator | None = 0,
) -> float:
    r"""Simulate :math:`W=R+S` and return :math:`\|W'-S\|_{op}` (paper Figs 13–14).

    :math:`R` is :math:`n\times m` iid :math:`N(0,g/\max(n,m))`, :math:`S=\sum_i\sigma_iu_iv_i^\top`
    with Haar-random orthonormal :math:`u_i, v_i` (``vectors="random"``) or the first coordinate
    vectors (``"diagonal"``: :math:`S` diagonal, Fig 14).  :math:`W'` keeps the singular values
    :math:`\ge` base + ``eps``, base being the MP singular-value edge
    :math:`\sqrt g(1+\sqrt{c})` (``"mp"``), the :class:`~rmtheory.bema.BEMA` threshold of
    :math:`W` (``"bema"``, the paper's numerical pipeline) or a given number.

    Only the singular triplets above the cut are computed (ARPACK for ``min(n, m) >= 400``), and
    :math:`W'-S` is handled in factored form, so :math:`N=3000` takes about 2.5 s on one core.

    Examples
    --------
    >>> th = theta_empirical([4.0, 3.0, 2.0], 400, seed=0)
    >>> abs(th - theta_asymptotic([4.0, 3.0, 2.0])) < 0.15
    True
    """
    sig = _spikes(sigma, "sigma")
    n = positive_int(n, "n")
    m = n if m is None else positive_int(m, "m")
    r = sig.size
    if r >= min(n, m):
        raise ValueError(f"need rank(S) = {r} < min(n, m) = {min(n, m)}")
    gg = positive_finite(g, "g")
    e = _eps(eps)
    choice(vectors, "vectors", ("random", "diagonal"))
    if not isinstance(threshold, str):
        threshold = nonnegative_finite(threshold, "threshold")
    else:
        choice(threshold, "threshold", ("mp", "bema"))
    gen = _rng(seed)
    q = max(n, m)
    U = _orthonormal(n, r, gen, vectors)
    V = _orthonormal(m, r, gen, vectors)
    W = gen.standard_normal((n, m)) * math.sqrt(gg / q)
    W += (U * sig) @ V.T
    if isinstance(threshold, str):
        if threshold == "mp":
            base = math.sqrt(gg) * (1.0 + math.sqrt(min(n, m) / q))
        elif threshold == "bema":
            base = BEMA().fit(W).singular_value_threshold_
        else:
            raise ValueError(f"threshold must be 'mp', 'bema' or a number, got {threshold!r}")
    else:
        base = threshold
    return cut_and_theta(W, base + e, U, sig, V, gen)[3]


def wigner_theta_empirical(
    theta: ArrayLike,
    n: int,
    *,
    sigma: float = 1.0,
    eps: float = 0.1,
    vectors: Literal["random", "diagonal"] = "random",
    seed: int | np.random.Generator | None = 0,
) -> float:
    r"""Wigner analogue of :func:`theta_empirical` (Ex 5.6, Fig 15).

    :math:`X` symmetric :math:`n\times n` Gaussian, variance :math:`\sigma^2/n` off the diagonal
    and :math:`2\sigma^2/n` on it; :math:`\tilde X=X+\sum\theta_iu_iu_i^\top`; :math:`\tilde X'`
    keeps the eigen-components with eigenvalue :math:`\ge2\sigma+\varepsilon`; returns
    :math:`\|\tilde X'-\sum\theta_iu_iu_i^\top\|_{op}`.

    Examples
    --------
    >>> th = wigner_theta_empirical([3.0, 2.0], 400, seed=0)
    >>> abs(th - wigner_theta_asymptotic([3.0, 2.0])) < 0.15
    True
    """
    th = _spikes(theta, "theta")
    n = positive_int(n, "n")
    if th.size >= n:
        raise ValueError(f"need rank = {th.size} < n = {n}")
    sg = positive_finite(sigma, "sigma")
    e = _eps(eps)
    choice(vectors, "vectors", ("random", "diagonal"))
    gen = _rng(seed)
    U = _orthonormal(n, th.size, gen, vectors)
    G = gen.standard_normal((n, n))
    X = (G + G.T) * (sg / math.sqrt(2.0 * n))
    X += (U * th) @ U.T
    lam, Ut = scipy.linalg.eigh(X, subset_by_value=(2.0 * sg + e, np.inf), driver="evr")
    return _lowrank_difference_norm(
        np.hstack([Ut, U]), np.hstack([Ut, U]), np.concatenate([lam, -th])
    )


# ---------------------------------------------------------------------------------- rate
@dataclass(frozen=True, eq=False)
class ThetaConvergence:
    """How :func:`theta_empirical` approaches :func:`theta_asymptotic` (Fig 13).

    Attributes
    ----------
    sizes : ndarray
        The matrix sizes N.
    theta : ndarray, shape (len(sizes), n_seeds)
        :math:`\\|W'-S\\|_{op}` per size and seed.
    theta_inf : float
        The limit :func:`theta_asymptotic`.
    rms_error : ndarray
        :math:`\\sqrt{\\text{mean}_\\text{seeds}(\\theta-\\theta_\\infty)^2}` per size.
    rate, constant : float
        Least-squares fit of ``log rms_error = log constant - rate * log N``.
    """

    sizes: np.ndarray
    theta: np.ndarray
    theta_inf: float
    rms_error: np.ndarray
    rate: float
    constant: float


def theta_convergence(
    sigma: ArrayLike,
    sizes: ArrayLike = (200, 400, 800, 1600, 3000),
    n_seeds: int = 5,
    *,
    g: float = 1.0,
    eps: float = 0.1,
    threshold: Literal["mp", "bema"] | float = "mp",
    vectors: Literal["random", "diagonal"] = "random",
    seed: int = 0,
) -> ThetaConvergence:
    r"""Square :math:`N\times N` sweep of :func:`theta_empirical` and the fit
    :math:`\text{rms}|\theta_N-\theta_\infty|\approx C N^{-a}`.

    Seeds are spawned from ``seed`` (one independent stream per (size, repetition)).

    Examples
    --------
    >>> res = theta_convergence([3.0, 2.0], sizes=(100, 200), n_seeds=2)
    >>> res.theta.shape
    (2, 2)
    """
    if sizes is None or isinstance(sizes, str):
        raise TypeError(f"sizes must be a sequence of matrix sizes, got {sizes!r}")
    Ns = np.asarray(
        [positive_int(s, f"sizes[{i}]") for i, s in enumerate(np.atleast_1d(np.asarray(sizes)))]
    )
    if Ns.size < 2:
        raise ValueError("sizes must hold at least two matrix sizes to fit a rate")
    reps = positive_int(n_seeds, "n_seeds")
    children = np.random.SeedSequence(seed).spawn(Ns.size * reps)
    th = np.empty((Ns.size, reps))
    for i, N in enumerate(Ns):
        for j in range(reps):
            th[i, j] = theta_empirical(
                sigma,
                int(N),
                g=g,
                eps=eps,
                threshold=threshold,
                vectors=vectors,
                seed=np.random.default_rng(children[i * reps + j]),
            )
    inf = theta_asymptotic(sigma, 1.0, g, eps=eps)
    rms = np.sqrt(np.mean((th - inf) ** 2, axis=1))
    slope, intercept = np.polyfit(np.log(Ns), np.log(rms), 1)
    return ThetaConvergence(Ns, th, inf, rms, float(-slope), float(np.exp(intercept)))
