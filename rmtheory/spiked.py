r"""Spiked random matrices: where the outliers go and how well their singular vectors align.

Rectangular model (Benaych-Georges & Nadakuditi 2012; paper eqs 19–23, 44–55, Thm 6.1/6.2)
-------------------------------------------------------------------------------------------
Let :math:`X` be :math:`p\times q` with :math:`p\le q`, iid entries of mean 0 and variance
:math:`\sigma^2/q` (``sigma2`` :math:`=\sigma^2`), ``ratio`` :math:`c = p/q\in(0,1]`, and

.. math::  \tilde X = X + \sum_{i=1}^r \theta_i u_i v_i^\top,
   \qquad u_i\in\mathbb R^p,\ v_i\in\mathbb R^q \text{ orthonormal families}.

With :math:`t=\theta/\sigma`, as :math:`p,q\to\infty`, :math:`p/q\to c`, almost surely

.. math::

   s_i(\tilde X) &\to \sigma\,\frac{\sqrt{(1+t_i^2)(c+t_i^2)}}{t_i}
      \quad\text{if } \theta_i > \bar\theta = \sigma c^{1/4},
      \qquad\text{else } \sigma(1+\sqrt c), \\
   |\langle\tilde u_i, u_i\rangle|^2 &\to 1-\frac{c(1+t_i^2)}{t_i^2(t_i^2+c)},\qquad
   |\langle\tilde v_i, v_i\rangle|^2 \to 1-\frac{c+t_i^2}{t_i^2(t_i^2+1)}
      \quad(\theta_i>\bar\theta;\ 0 \text{ otherwise}),

and :math:`\langle\tilde u_i,u_j\rangle, \langle\tilde v_i,v_j\rangle\to0` for :math:`i\ne j`.
The *smaller-dimension* side (:math:`u\in\mathbb R^p`) always has the larger overlap.

These are the special case of the general theorem written with the D-transform of the noise's
limiting singular-value law.  With :math:`\mu` the MP law of :math:`XX^\top` (ratio :math:`c`,
variance :math:`\sigma^2`) and :math:`b=\sigma(1+\sqrt c)` the singular-value edge,

.. math::

   \varphi(z) = \int\frac{z}{z^2-x}\,d\mu(x),\quad
   \tilde\varphi(z) = c\,\varphi(z) + \frac{1-c}{z},\quad
   D(z) = \varphi(z)\tilde\varphi(z)\quad(z>b),

:math:`\bar\theta = D(b^+)^{-1/2}`, :math:`\rho_i = D^{-1}(1/\theta_i^2)`,
:math:`|\langle\tilde u_i,u_i\rangle|^2\to -2\varphi(\rho_i)/(\theta_i^2D'(\rho_i))` and
:math:`|\langle\tilde v_i,v_i\rangle|^2\to -2\tilde\varphi(\rho_i)/(\theta_i^2D'(\rho_i))`
(BGN 2012, Thms 2.8–2.10).  :func:`bgn_predictions` with ``method="d_transform"`` evaluates this
route by quadrature against the MP density and root finding; the tests check that it reproduces
the closed forms.

Wigner model (Benaych-Georges & Nadakuditi 2011; paper Example 5.6)
-------------------------------------------------------------------
:math:`X` symmetric :math:`n\times n`, off-diagonal variance :math:`\sigma^2/n` (semicircle on
:math:`[-2\sigma,2\sigma]`), :math:`\tilde X = X+\sum\theta_iu_iu_i^\top`:
:math:`\lambda_i\to\theta_i+\sigma^2/\theta_i` if :math:`\theta_i>\sigma`, else :math:`2\sigma`;
:math:`|\langle\tilde u_i,u_i\rangle|^2\to1-\sigma^2/\theta_i^2` if :math:`\theta_i>\sigma`, else 0.

Weight matrices
---------------
A weight ``W = R + S`` stored ``(out, in)`` with iid noise entries of variance ``v`` (not divided by
anything) and a spike of singular value :math:`\sigma_S` is this model after dividing by
:math:`\sqrt q`, :math:`q=\max(\text{out},\text{in})`: ``sigma2 = v``, ``ratio = p/q``,
:math:`\theta=\sigma_S/\sqrt q`, and predicted singular values of ``W`` are :math:`\sqrt q` times
the ones above (see :func:`weight_spike_predictions`).  The left singular vectors of ``W``
(length ``out``) are on the smaller side iff ``out <= in``.

References
----------
F. Benaych-Georges, R. R. Nadakuditi, "The singular values and vectors of low rank perturbations of
large rectangular random matrices", J. Multivariate Anal. 111 (2012) 120–135.
F. Benaych-Georges, R. R. Nadakuditi, "The eigenvalues and eigenvectors of finite, low rank
perturbations of large random matrices", Adv. Math. 227 (2011) 494–521.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from rmtheory._validation import positive_finite, positive_int, real_array, real_scalar
from rmtheory.marchenko_pastur import MarchenkoPastur

__all__ = [
    "Overlaps",
    "SpikePrediction",
    "WeightSpikePrediction",
    "bgn_predictions",
    "d_transform",
    "d_transform_derivative",
    "detection_threshold",
    "outlier_singular_value",
    "singular_vector_overlaps",
    "square_outlier",
    "theta_from_outlier",
    "weight_spike_predictions",
    "wigner_eigenvector_overlap",
    "wigner_outlier_eigenvalue",
    "wigner_theta_from_outlier",
]

# Midpoint nodes on [0, pi] per unit of 1/a, a = distance of the pole to the real u-axis; the
# error of the (periodic) midpoint rule is ~exp(-2 a n), so 20/a nodes give ~1e-17.
_NODES_PER_STRIP = 20.0
_MIN_NODES = 128
_MAX_NODES = 1 << 21
#: Above this normalised strength t = theta / sigma the closed forms are evaluated in r = sigma / theta
#: (their squares t**4 would overflow near 1e77); every correction there is O(1e-100), below rounding.
_LARGE_T = 1e50


# ---------------------------------------------------------------------------------- validation
def _nonnegative(value: ArrayLike, name: str) -> np.ndarray:
    """``value`` as a float64 array of finite numbers >= 0, else ValueError/TypeError."""
    a = real_array(value, name)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/Inf), got {value!r}")
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return a


def _ratio(ratio: Any) -> float:
    c = positive_finite(ratio, "ratio")
    if c > 1.0:
        raise ValueError(
            f"ratio must be in (0, 1] (smaller dimension / larger dimension), got {ratio!r}; "
            "for a p x q matrix with p > q pass q / p and read the overlaps with u and v swapped"
        )
    return c


def _out(a: np.ndarray) -> np.ndarray:
    """0-d results come back as numpy scalars, like scipy.stats."""
    return a[()] if a.ndim == 0 else a


# ---------------------------------------------------------------------------------- closed forms
def detection_threshold(ratio: float, sigma2: float = 1.0) -> float:
    r"""Phase-transition signal strength :math:`\bar\theta = \sigma\,c^{1/4}` (BGN 2012, eq 45).

    A spike :math:`\theta u v^\top` added to a :math:`p\times q` noise matrix (entries of variance
    ``sigma2 / q``, ``ratio`` :math:`c=p/q\le1`) produces a singular value separated from the bulk
    iff :math:`\theta>\bar\theta`.

    Parameters
    ----------
    ratio : float
        :math:`c` = smaller / larger dimension, in (0, 1].
    sigma2 : float, default 1.0
        Noise variance :math:`\sigma^2` in units of 1/(larger dimension).

    Returns
    -------
    float
        :math:`\sqrt{\sigma^2}\,c^{1/4}`, in the same units as ``theta``.

    Examples
    --------
    >>> detection_threshold(1.0)            # square, paper Ex 6.3: spikes > 1 are seen
    1.0
    >>> round(detection_threshold(0.0625, 4.0), 12)
    1.0
    """
    c = _ratio(ratio)
    s2 = positive_finite(sigma2, "sigma2")
    return math.sqrt(s2) * c**0.25


def _bulk_edge(c: float, sigma2: float) -> float:
    return math.sqrt(sigma2) * (1.0 + math.sqrt(c))


def outlier_singular_value(theta: ArrayLike, ratio: float, sigma2: float = 1.0) -> np.ndarray:
    r"""Almost-sure limit of the singular value created by a spike of strength ``theta``.

    .. math::

       \rho(\theta) = \sigma\,\frac{\sqrt{(1+t^2)(c+t^2)}}{t},\quad t=\theta/\sigma,
       \qquad\text{if }\theta>\sigma c^{1/4},\ \text{else the bulk edge } \sigma(1+\sqrt c)

    (BGN 2012, Sec. 3.1; paper eqs 19–21).  For rank :math:`r` apply it to each
    :math:`\theta_i`.  :math:`\rho` is continuous and increasing for :math:`\theta\ge\bar\theta`,
    with :math:`\rho(\bar\theta)=\sigma(1+\sqrt c)` and :math:`\rho(\theta)\approx\theta` for
    :math:`\theta\gg\sigma`.

    Parameters
    ----------
    theta : array_like
        Spike strengths :math:`\theta\ge0` (the singular values of the perturbation, in units
        where the noise entries have variance ``sigma2 / q``).
    ratio : float
        :math:`c` = smaller / larger dimension, in (0, 1].
    sigma2 : float, default 1.0
        Noise variance in units of 1/(larger dimension).

    Returns
    -------
    ndarray (numpy scalar for scalar input)
        Limit of the top singular values of :math:`X+\sum\theta_iu_iv_i^\top`.

    Examples
    --------
    >>> float(outlier_singular_value(2.0, 1.0))     # square: theta + 1/theta
    2.5
    >>> float(outlier_singular_value(0.5, 1.0))     # below threshold: bulk edge 2
    2.0
    """
    theta_arr = _nonnegative(theta, "theta")
    t, c, sigma = _normalised(theta_arr, ratio, sigma2)
    edge = 1.0 + math.sqrt(c)
    above = theta_arr > sigma * c**0.25  # as detection_threshold computes it: exactly 0 at it
    big = above & (t > _LARGE_T)
    above &= ~big
    out = np.full(t.shape, edge)
    ta = t[above]
    out[above] = np.sqrt((1.0 + ta**2) * (c + ta**2)) / ta
    out *= sigma
    # rho = theta sqrt((1 + r^2)(1 + c r^2)), r = sigma / theta: no t^4 to overflow
    r = sigma / theta_arr[big]
    out[big] = theta_arr[big] * np.sqrt((1.0 + r * r) * (1.0 + c * r * r))
    return _out(out)


def _normalised(
    theta: ArrayLike, ratio: float, sigma2: float, name: str = "theta"
) -> tuple[np.ndarray, float, float]:
    t = _nonnegative(theta, name)
    c = _ratio(ratio)
    sigma = math.sqrt(positive_finite(sigma2, "sigma2"))
    with np.errstate(over="ignore"):  # t = inf is fine: it only selects the large-t branches
        return t / sigma, c, sigma


class Overlaps(NamedTuple):
    """Squared cosines between the perturbed and the planted singular vectors.

    Attributes
    ----------
    smaller_side : ndarray
        :math:`|\\langle\\tilde u,u\\rangle|^2`, vectors of length ``min(p, q)``.
    larger_side : ndarray
        :math:`|\\langle\\tilde v,v\\rangle|^2`, vectors of length ``max(p, q)``.
    """

    smaller_side: np.ndarray
    larger_side: np.ndarray


def singular_vector_overlaps(theta: ArrayLike, ratio: float, sigma2: float = 1.0) -> Overlaps:
    r"""Limits of :math:`|\langle\tilde u,u\rangle|^2` and :math:`|\langle\tilde v,v\rangle|^2`.

    For :math:`X` of shape :math:`p\times q`, :math:`p\le q`, :math:`c=p/q`, spike
    :math:`\theta uv^\top` with :math:`u\in\mathbb R^p` (**smaller** dimension) and
    :math:`v\in\mathbb R^q` (**larger** dimension), and :math:`t=\theta/\sigma>c^{1/4}`
    (BGN 2012, Sec. 3.1; paper eqs 22–23, 49–55):

    .. math::

       |\langle\tilde u,u\rangle|^2 \to 1-\frac{c(1+t^2)}{t^2(t^2+c)}
         \quad\text{(smaller side)},\qquad
       |\langle\tilde v,v\rangle|^2 \to 1-\frac{c+t^2}{t^2(t^2+1)}
         \quad\text{(larger side)},

    both 0 for :math:`\theta\le\bar\theta`; :math:`\tilde u,\tilde v` are the singular vectors of
    the outlier.  For :math:`c=1` both equal :math:`1-\sigma^2/\theta^2` (paper Ex 6.3).

    Mapping to a weight matrix ``W`` stored ``(out, in)`` with ``W = U diag(s) Vh``: the left
    vectors ``U[:, i]`` (length ``out``) are the smaller side if ``out <= in``, and the right
    vectors ``Vh[i]`` (length ``in``) the larger side; if ``out > in`` it is the other way round.
    :func:`weight_spike_predictions` does this mapping for you.

    Parameters
    ----------
    theta : array_like
        Spike strengths :math:`\ge0`.
    ratio : float
        :math:`c` = smaller / larger dimension, in (0, 1].
    sigma2 : float, default 1.0
        Noise variance in units of 1/(larger dimension); the overlaps depend on
        :math:`\theta/\sigma` only.

    Returns
    -------
    Overlaps
        Named tuple ``(smaller_side, larger_side)``.

    Examples
    --------
    >>> ov = singular_vector_overlaps(1.5, 1 / 3)
    >>> round(float(ov.smaller_side), 4), round(float(ov.larger_side), 4)
    (0.8136, 0.6467)
    """
    theta_arr = _nonnegative(theta, "theta")
    t, c, sigma = _normalised(theta_arr, ratio, sigma2)
    above = theta_arr > sigma * c**0.25  # as detection_threshold computes it: exactly 0 at it
    big = above & (t > _LARGE_T)
    above &= ~big
    small = np.zeros(t.shape)
    large = np.zeros(t.shape)
    t2 = t[above] ** 2
    small[above] = 1.0 - c * (1.0 + t2) / (t2 * (t2 + c))
    large[above] = 1.0 - (c + t2) / (t2 * (t2 + 1.0))
    # the same in r = 1 / t^2 (t^4 would overflow): c r (1 + r) / (1 + c r), r (1 + c r) / (1 + r)
    r = (sigma / theta_arr[big]) ** 2
    small[big] = 1.0 - c * r * (1.0 + r) / (1.0 + c * r)
    large[big] = 1.0 - r * (1.0 + c * r) / (1.0 + r)
    return Overlaps(_out(small), _out(large))


def theta_from_outlier(
    s: ArrayLike, ratio: float, sigma2: float = 1.0, *, fill_value: float = 0.0
) -> np.ndarray:
    r"""Invert :func:`outlier_singular_value`: the spike strength that produces singular value ``s``.

    With :math:`y=s/\sigma` and :math:`b=1+\sqrt c`, for :math:`y>b`

    .. math::  \theta = \sigma\sqrt{\tfrac12\Big(y^2-1-c+\sqrt{(y^2-1-c)^2-4c}\Big)},

    the larger root of :math:`t^4+(1+c-y^2)t^2+c=0` (the one above the threshold; the product of
    the two roots in :math:`t^2` is :math:`c`).  In the square case :math:`c=\sigma^2=1` this is
    :math:`(s+\sqrt{s^2-4})/2` (algorithms.md §1.7).

    A singular value at or inside the bulk edge :math:`\sigma(1+\sqrt c)` is what *any*
    :math:`\theta\le\bar\theta` produces, so no strength can be read off it; those entries get
    ``fill_value`` (default 0: "no detectable signal", the convention of optimal shrinkage; pass
    ``np.nan`` to mark them instead).  Note the jump: just above the edge the estimate is
    :math:`\approx\bar\theta`, not 0.

    Parameters
    ----------
    s : array_like
        Observed singular values :math:`\ge0`, in the units of :func:`outlier_singular_value`.
    ratio : float
        :math:`c` = smaller / larger dimension, in (0, 1].
    sigma2 : float, default 1.0
        Noise variance in units of 1/(larger dimension).
    fill_value : float, default 0.0
        Returned for ``s <= sigma * (1 + sqrt(ratio))``.

    Returns
    -------
    ndarray (numpy scalar for scalar input)

    Examples
    --------
    >>> float(theta_from_outlier(2.5, 1.0))
    2.0
    >>> float(theta_from_outlier(1.9, 1.0))
    0.0
    """
    s_arr = _nonnegative(s, "s")
    y, c, sigma = _normalised(s_arr, ratio, sigma2, "s")
    fill = real_scalar(fill_value, "fill_value")
    above = s_arr > sigma * (1.0 + math.sqrt(c))  # the edge exactly as outlier_singular_value's
    big = above & (y > _LARGE_T)
    above &= ~big
    out = np.full(y.shape, fill)
    k = y[above] ** 2 - 1.0 - c
    # (k^2 - 4c) = (k - 2 sqrt c)(k + 2 sqrt c) avoids cancellation just above the edge.
    disc = np.maximum(k - 2.0 * math.sqrt(c), 0.0) * (k + 2.0 * math.sqrt(c))
    out[above] = sigma * np.sqrt(0.5 * (k + np.sqrt(disc)))
    # far above the edge, in w = (sigma / s)^2: theta = s sqrt((K + sqrt(K^2 - 4 c w^2)) / 2)
    w = (sigma / s_arr[big]) ** 2
    kk = 1.0 - (1.0 + c) * w
    disc_big = (kk - 2.0 * math.sqrt(c) * w) * (kk + 2.0 * math.sqrt(c) * w)
    out[big] = s_arr[big] * np.sqrt(0.5 * (kk + np.sqrt(disc_big)))
    return _out(out)


def square_outlier(sigma: ArrayLike, g: float = 1.0) -> np.ndarray:
    r"""Paper normalisation (Ex 5.5 / 6.3): square :math:`N\times N` noise :math:`R\sim N(0, g/N)`.

    A spike with singular value :math:`\sigma` gives :math:`s\to\sigma+g/\sigma` if
    :math:`\sigma>\sqrt g`, else the edge :math:`2\sqrt g` (LATER-TEX Cor. BGN_square_g).  This is
    :func:`outlier_singular_value` with ``ratio=1, sigma2=g``; the overlaps are
    ``singular_vector_overlaps(sigma, 1.0, g)``, both :math:`1-g/\sigma^2`.

    Parameters
    ----------
    sigma : array_like
        Singular values of the signal :math:`S` (>= 0); not a noise level.
    g : float, default 1.0
        Noise variance times :math:`N`.

    Examples
    --------
    >>> float(square_outlier(3.0))
    3.3333333333333335
    """
    return outlier_singular_value(sigma, 1.0, positive_finite(g, "g"))


# ---------------------------------------------------------------------------------- Wigner
def _wigner_args(theta: ArrayLike, sigma: float) -> tuple[np.ndarray, float]:
    return _nonnegative(theta, "theta"), positive_finite(sigma, "sigma")


def wigner_outlier_eigenvalue(theta: ArrayLike, sigma: float = 1.0) -> np.ndarray:
    r"""Limit of the top eigenvalue of a Wigner matrix plus :math:`\theta uu^\top` (BGN 2011, Ex 5.6).

    :math:`X` symmetric :math:`n\times n`, off-diagonal entries of variance :math:`\sigma^2/n`
    (semicircle on :math:`[-2\sigma, 2\sigma]`):

    .. math::  \lambda\to\theta+\sigma^2/\theta \ \text{ if } \theta>\sigma,
       \qquad\text{else } 2\sigma.

    ``sigma`` is the noise *standard deviation* times :math:`\sqrt n` (not a variance).  A
    negative spike gives, by :math:`X\mapsto-X`, the mirror image below the bulk; only
    :math:`\theta\ge0` is accepted here.

    Examples
    --------
    >>> float(wigner_outlier_eigenvalue(2.0))
    2.5
    """
    t, s = _wigner_args(theta, sigma)
    with np.errstate(over="ignore"):
        out = np.full(t.shape, 2.0 * s)  # inf only where 2 sigma itself exceeds the float range
    above = t > s
    ta = t[above]
    # s^2 overflows (or underflows) outside ~1e+-154; s (s / t) < s cannot
    out[above] = ta + (s * s / ta if 1e-150 < s < 1e150 else s * (s / ta))
    return _out(out)


def wigner_eigenvector_overlap(theta: ArrayLike, sigma: float = 1.0) -> np.ndarray:
    r"""Limit of :math:`|\langle\tilde u,u\rangle|^2` in the Wigner model (BGN 2011, Ex 5.6; eq 38).

    .. math::  |\langle\tilde u,u\rangle|^2\to 1-\sigma^2/\theta^2 \ \text{ if } \theta>\sigma,
       \qquad\text{else } 0.

    Examples
    --------
    >>> float(wigner_eigenvector_overlap(2.0))
    0.75
    """
    t, s = _wigner_args(theta, sigma)
    out = np.zeros(t.shape)
    above = t > s
    out[above] = 1.0 - (s / t[above]) ** 2
    return _out(out)


def wigner_theta_from_outlier(
    eigenvalue: ArrayLike, sigma: float = 1.0, *, fill_value: float = 0.0
) -> np.ndarray:
    r"""Invert :func:`wigner_outlier_eigenvalue`: :math:`\theta=(\lambda+\sqrt{\lambda^2-4\sigma^2})/2`.

    Eigenvalues at or below the edge :math:`2\sigma` get ``fill_value`` (see
    :func:`theta_from_outlier`).

    Examples
    --------
    >>> float(wigner_theta_from_outlier(2.5))
    2.0
    """
    lam = _nonnegative(eigenvalue, "eigenvalue")
    s = positive_finite(sigma, "sigma")
    out = np.full(lam.shape, real_scalar(fill_value, "fill_value"))
    above = lam > 2.0 * s
    big = above & ((lam > 1e150) | (lam < 1e-150))
    above &= ~big
    la = lam[above]
    out[above] = 0.5 * (la + np.sqrt((la - 2.0 * s) * (la + 2.0 * s)))
    lb = lam[big]  # the same with the product scaled by lambda^2 (it would over- or underflow)
    out[big] = 0.5 * lb * (1.0 + np.sqrt((1.0 - 2.0 * s / lb) * (1.0 + 2.0 * s / lb)))
    return _out(out)


# ---------------------------------------------------------------------------------- D-transform
def _mp_nodes(c: float, sigma2: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Midpoint nodes in :math:`u` for integrals against :math:`x\,d\mu_{MP}(x)`.

    The MP density is :math:`g(x)/x` with
    :math:`g(x)=\sqrt{(\lambda_+-x)(x-\lambda_-)}/(2\pi c\sigma^2)`.  With
    :math:`x=m-r\cos u` (:math:`m=\sigma^2(1+c)`, :math:`r=2\sigma^2\sqrt c`) the square-root
    edges disappear: :math:`g(x)\,dx = r^2\sin^2u/(2\pi c\sigma^2)\,du`, a smooth periodic
    integrand on which the midpoint rule converges geometrically.  Distances to the edges are
    formed from half angles (:math:`\lambda_+-x=2r\cos^2(u/2)`) so nothing cancels near them.
    Returns ``(x, gap_to_upper_edge, weight)`` with :math:`\sum w f(x)\approx\int f g\,dx`.
    """
    mp = MarchenkoPastur(c, sigma2)
    r = 2.0 * sigma2 * math.sqrt(c)
    u = (np.arange(n) + 0.5) * (math.pi / n)
    x = mp.lambda_minus + 2.0 * r * np.sin(0.5 * u) ** 2
    gap = 2.0 * r * np.cos(0.5 * u) ** 2
    weight = (r * np.sin(u)) ** 2 / (2.0 * c * sigma2 * n)  # (r sin u)^2 / (2 pi c s2) * (pi / n)
    return x, gap, weight


def _nodes_for(delta: float, c: float, sigma2: float) -> int:
    """Midpoint nodes for a pole of 1/(z^2 - x) at z^2 = lambda_+ + delta, in the u-plane."""
    if delta == 0.0:  # at the edge the pole cancels against sqrt(lambda_+ - x): entire integrand
        return _MIN_NODES
    # cos u = -(1 + delta / r): imaginary distance a = arccosh(1 + delta / r).
    y = delta / (2.0 * sigma2 * math.sqrt(c))
    if not y < 1e100:  # far from the edge: the pole is far off, the fewest nodes suffice
        return _MIN_NODES
    a = math.log1p(y + math.sqrt(y * (2.0 + y)))
    if a <= 0.0:
        return _MAX_NODES
    return int(min(_MAX_NODES, max(_MIN_NODES, math.ceil(_NODES_PER_STRIP / a))))


def _scaled_phi(z: float, c: float, sigma2: float = 1.0) -> tuple[float, float]:
    r""":math:`P=z\varphi(z)` and :math:`Q=z^2\varphi'(z)` for unit variance, :math:`c\le1`.

    Partial fractions, :math:`\frac{z}{(z^2-x)x}=\frac1z\big(\frac1x+\frac1{z^2-x}\big)`, and
    unit mass of the continuous part (no atom for :math:`c\le1`) give
    :math:`\varphi(z)=(1+I(z))/z` with :math:`I(z)=\int g(x)/(z^2-x)\,dx`, so the :math:`1/x`
    of the density (nearly singular at :math:`\lambda_-` when :math:`c\to1`) never enters the
    quadrature; :math:`\varphi'(z)=-(1+I)/z^2-2J`, :math:`J=\int g/(z^2-x)^2\,dx`.  Both are
    returned times the power of :math:`z` that makes them O(1), so that nothing overflows or
    underflows for huge :math:`z` (:math:`P, -Q\to1`).
    """
    edge = _bulk_edge(c, sigma2)
    with np.errstate(over="ignore"):
        delta = (z - edge) * (z + edge)  # z^2 - lambda_+, exact at z = edge; inf for z > 1e154
    x, gap, w = _mp_nodes(c, sigma2, _nodes_for(delta, c, sigma2))
    d = delta + gap  # z^2 - x without cancellation
    i_z = float(np.sum(w / d))
    if delta == 0.0:
        return 1.0 + i_z, -math.inf
    # z^2 / d: the plain ratio near the edge, 1 / (1 - x / z^2) far out (z^2 would overflow)
    ratio = z * z / d if z < 1e100 else 1.0 / (1.0 - (x / z) / z)
    zz_j = float(np.sum(w * ratio / d))
    return 1.0 + i_z, -(1.0 + i_z) - 2.0 * zz_j


def _scaled_d(z: float, c: float, sigma2: float = 1.0) -> tuple[float, float, float, float]:
    """``(z phi, z phi_tilde, z^2 D, z^3 D')`` at a scalar ``z`` above the edge (dimensionless)."""
    p, q = _scaled_phi(z, c, sigma2)
    pt = c * p + (1.0 - c)
    qt = c * q - (1.0 - c)
    return p, pt, p * pt, q * pt + p * qt


def _d_and_derivative(z: float, c: float, sigma2: float) -> tuple[float, float, float, float]:
    """``(phi, phi_tilde, D, D')`` at a scalar ``z`` above the edge.

    Evaluated in the scaled form of :func:`_scaled_d`; an extreme ``sigma2`` (whose quadrature
    weights would underflow) in unit variance, ``D(z; sigma2) = D(z / sigma; 1) / sigma2``.
    """
    if 1e-100 < sigma2 < 1e100:
        p, pt, _, f = _scaled_d(z, c, sigma2)
    else:
        edge = _bulk_edge(c, 1.0)
        y = edge if z == _bulk_edge(c, sigma2) else max(z / math.sqrt(sigma2), edge)
        p, pt, _, f = _scaled_d(y, c)
    # the scaled quantities are dimensionless: divide by the powers of z itself
    zz = np.float64(z)  # IEEE overflow/underflow, never an exception
    with np.errstate(over="ignore", under="ignore"):
        return float(p / zz), float(pt / zz), float((p / zz) * (pt / zz)), float(f / zz / zz / zz)


def _z_above_edge(z: ArrayLike, c: float, sigma2: float, *, strict: bool) -> np.ndarray:
    a = real_array(z, "z")
    edge = _bulk_edge(c, sigma2)
    bad = ~np.isfinite(a) | ((a <= edge) if strict else (a < edge))
    if np.any(bad):
        rel = ">" if strict else ">="
        raise ValueError(
            f"z must be finite and {rel} the singular-value edge sqrt(sigma2)*(1+sqrt(ratio)) "
            f"= {edge!r}, got {z!r}"
        )
    return a


def d_transform(z: ArrayLike, ratio: float, sigma2: float = 1.0) -> np.ndarray:
    r"""The D-transform :math:`D(z)=\varphi(z)\tilde\varphi(z)` of the MP noise (BGN 2012, eq 44).

    .. math::

       \varphi(z)=\int\frac{z}{z^2-x}\,d\mu_{c,\sigma^2}(x),\qquad
       \tilde\varphi(z)=c\,\varphi(z)+\frac{1-c}{z},\qquad z\ge b=\sigma(1+\sqrt c),

    with :math:`\mu_{c,\sigma^2}` the MP law (``MarchenkoPastur(ratio, sigma2)``), computed by
    the midpoint rule in :math:`u` after :math:`x=\sigma^2(1+c)-2\sigma^2\sqrt c\cos u`; the
    number of nodes grows as :math:`z\downarrow b` so that the relative error stays near
    :math:`10^{-14}`.  :math:`D` decreases from :math:`D(b)=\bar\theta^{-2}=\sigma^{-2}c^{-1/2}`
    to 0.

    Parameters
    ----------
    z : array_like
        Points :math:`\ge b`.
    ratio : float
        :math:`c` in (0, 1].
    sigma2 : float, default 1.0
        MP variance.

    Examples
    --------
    >>> round(float(d_transform(2.0, 1.0)), 10)       # D(b) = 1 / threshold^2 = 1
    1.0
    """
    c = _ratio(ratio)
    s2 = positive_finite(sigma2, "sigma2")
    zs = _z_above_edge(z, c, s2, strict=False)
    out = np.array([_d_and_derivative(float(v), c, s2)[2] for v in zs.ravel()]).reshape(zs.shape)
    return _out(out)


def d_transform_derivative(z: ArrayLike, ratio: float, sigma2: float = 1.0) -> np.ndarray:
    r""":math:`D'(z)=\varphi'\tilde\varphi+\varphi\tilde\varphi'` for :math:`z>b` (same quadrature).

    Uses :math:`\varphi'(z)=-\int(z^2+x)/(z^2-x)^2\,d\mu(x)` and
    :math:`\tilde\varphi'=c\varphi'-(1-c)/z^2`.  :math:`D'(z)\to-\infty` as :math:`z\downarrow b`
    (square-root edge), so ``z`` must be strictly above the edge.

    Examples
    --------
    >>> round(float(d_transform_derivative(2.5, 1.0)), 10)   # square: D = (z - sqrt(z^2-4))^2 / 4
    -0.3333333333
    """
    c = _ratio(ratio)
    s2 = positive_finite(sigma2, "sigma2")
    zs = _z_above_edge(z, c, s2, strict=True)
    out = np.array([_d_and_derivative(float(v), c, s2)[3] for v in zs.ravel()]).reshape(zs.shape)
    return _out(out)


# ---------------------------------------------------------------------------------- predictions
@dataclass(frozen=True)
class SpikePrediction:
    """BGN limits for spikes ``theta`` (arrays of the shape of ``theta``).

    Attributes
    ----------
    theta : ndarray
        The spike strengths asked about.
    threshold : float
        Detection threshold :math:`\\bar\\theta`.
    singular_value : ndarray
        Limit of the corresponding singular value (bulk edge for :math:`\\theta\\le\\bar\\theta`).
    overlap_smaller, overlap_larger : ndarray
        Squared overlaps on the smaller- and larger-dimension side (0 below the threshold).
    """

    theta: np.ndarray
    threshold: float
    singular_value: np.ndarray
    overlap_smaller: np.ndarray
    overlap_larger: np.ndarray


def bgn_predictions(
    theta: ArrayLike,
    ratio: float,
    sigma2: float = 1.0,
    *,
    method: Literal["closed_form", "d_transform"] = "closed_form",
) -> SpikePrediction:
    r"""Outlier location and both overlaps, from the closed forms or from the D-transform.

    ``method="d_transform"`` is the general BGN 2012 route (Thms 2.8–2.10), evaluated
    numerically against the MP law: :math:`\bar\theta=D(b)^{-1/2}`,
    :math:`\rho=D^{-1}(1/\theta^2)` by Brent's method on a bracket found by doubling,
    overlaps :math:`-2\varphi(\rho)/(\theta^2D'(\rho))` (smaller side) and
    :math:`-2\tilde\varphi(\rho)/(\theta^2D'(\rho))` (larger side).  It costs milliseconds per
    :math:`\theta` (more very close to the threshold) and agrees with ``"closed_form"`` to about
    1e-10; it exists to check the closed forms and as the template for non-MP noise.

    Parameters
    ----------
    theta : array_like
        Spike strengths :math:`\ge0`.
    ratio : float
        :math:`c` = smaller / larger dimension, in (0, 1].
    sigma2 : float, default 1.0
        Noise variance in units of 1/(larger dimension).
    method : {"closed_form", "d_transform"}

    Returns
    -------
    SpikePrediction

    Examples
    --------
    >>> p = bgn_predictions([0.5, 2.0], 0.5, method="d_transform")
    >>> [round(float(v), 8) for v in p.singular_value]
    [1.70710678, 2.37170825]
    """
    t = _nonnegative(theta, "theta")
    c = _ratio(ratio)
    s2 = positive_finite(sigma2, "sigma2")
    if method == "closed_form":
        ov = singular_vector_overlaps(t, c, s2)
        return SpikePrediction(
            t,
            detection_threshold(c, s2),
            np.asarray(outlier_singular_value(t, c, s2)),
            np.asarray(ov.smaller_side),
            np.asarray(ov.larger_side),
        )
    if method != "d_transform":
        raise ValueError(f"method must be 'closed_form' or 'd_transform', got {method!r}")
    # unit variance: theta / sigma, and the results scaled back (BGN is scale-covariant)
    sigma = math.sqrt(s2)
    with np.errstate(over="ignore"):
        tn = t / sigma
    edge = _bulk_edge(c, 1.0)
    d_edge = _scaled_d(edge, c)[2] / (edge * edge)
    rho = np.full(t.shape, sigma * edge)
    small = np.zeros(t.shape)
    large = np.zeros(t.shape)
    for idx, th in np.ndenumerate(tn):
        if th < 1e100 and th * th * d_edge <= 1.0:  # theta <= D(b)^{-1/2}: no outlier
            continue
        zeta = _solve_d(th, edge, c)  # rho / theta
        p, pt, _, f = _scaled_d(th * zeta if th < math.inf else th, c)
        # -2 phi / (theta^2 D') = -2 P (rho / theta)^2 / (rho^3 D'), all O(1)
        scale = zeta * zeta / f
        rho[idx] = t[idx] * zeta
        small[idx] = -2.0 * p * scale
        large[idx] = -2.0 * pt * scale
    return SpikePrediction(t, sigma / math.sqrt(d_edge), rho, small, large)


def _solve_d(theta: float, edge: float, c: float) -> float:
    """``zeta = z / theta`` for the z > edge with D(z) = 1 / theta^2 in unit variance.

    Written as z^2 D(z) = (z / theta)^2 (no underflow of 1 / theta^2); D decreases from D(edge)
    to 0.  For theta > 1e8, zeta = sqrt(z^2 D(theta zeta)) is a contraction (z^2 D = 1 + O(z^-2))
    and is iterated instead, which also holds for theta = inf (sigma2 so small that theta / sigma
    overflows: zeta = 1).
    """
    if theta > 1e8:
        zeta = 1.0
        for _ in range(20):
            z = theta * zeta if theta < math.inf else theta
            new = math.sqrt(_scaled_d(z, c)[2])
            if abs(new - zeta) <= 4.0 * np.finfo(float).eps:
                return new
            zeta = new
        return zeta

    def f(z: float) -> float:
        return _scaled_d(z, c)[2] - (z / theta) ** 2

    hi = 2.0 * edge
    while f(hi) > 0.0:
        hi *= 2.0
    root = brentq(f, edge, hi, xtol=1e-15 * hi, rtol=4.0 * np.finfo(float).eps, maxiter=200)
    return root / theta


# ---------------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class WeightSpikePrediction:
    """BGN limits in the units of a weight matrix ``W`` stored ``(out, in)``.

    Attributes
    ----------
    singular_value : ndarray
        Predicted singular values of ``W`` created by the spikes.
    threshold : float
        Smallest signal singular value that produces an outlier.
    edge : float
        Bulk edge of the noise singular values, :math:`\\sqrt v(\\sqrt{out}+\\sqrt{in})`.
    overlap_left, overlap_right : ndarray
        Squared overlaps of the left (length ``out``) and right (length ``in``) singular vectors.
    """

    singular_value: np.ndarray
    threshold: float
    edge: float
    overlap_left: np.ndarray
    overlap_right: np.ndarray


def weight_spike_predictions(
    spike_values: ArrayLike, shape: tuple[int, int], entry_variance: float = 1.0
) -> WeightSpikePrediction:
    r"""BGN predictions for ``W = R + S`` with ``R`` iid of variance ``entry_variance``.

    ``S`` has singular values ``spike_values``; ``W`` has shape ``shape = (out, in)``.  With
    :math:`p,q` the smaller and larger dimension, :math:`W/\sqrt q` is the BGN model with
    ``sigma2 = entry_variance``, ``ratio = p/q`` and :math:`\theta=\sigma_S/\sqrt q`; the results
    are scaled back by :math:`\sqrt q` and the overlaps assigned to left/right by which side is
    smaller.  The paper's square case :math:`R\sim N(0,1/N)`: ``entry_variance = 1/N`` gives
    threshold 1 and :math:`s\to\sigma_S+1/\sigma_S`.

    Examples
    --------
    >>> p = weight_spike_predictions([3.0], (500, 500), entry_variance=1 / 500)
    >>> round(float(p.singular_value[0]), 6), round(p.threshold, 12), round(p.edge, 12)
    (3.333333, 1.0, 2.0)
    """
    if not (isinstance(shape, tuple | list) and len(shape) == 2):
        raise ValueError(f"shape must be a pair (out, in), got {shape!r}")
    n_out = positive_int(shape[0], "shape[0]")
    n_in = positive_int(shape[1], "shape[1]")
    v = positive_finite(entry_variance, "entry_variance")
    p, q = min(n_out, n_in), max(n_out, n_in)
    sq = math.sqrt(q)
    pred = bgn_predictions(np.asarray(_nonnegative(spike_values, "spike_values")) / sq, p / q, v)
    left_is_small = n_out <= n_in
    return WeightSpikePrediction(
        singular_value=sq * pred.singular_value,
        threshold=sq * pred.threshold,
        edge=sq * _bulk_edge(p / q, v),
        overlap_left=pred.overlap_smaller if left_is_small else pred.overlap_larger,
        overlap_right=pred.overlap_larger if left_is_small else pred.overlap_smaller,
    )
