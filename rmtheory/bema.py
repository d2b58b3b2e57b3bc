r"""BEMA: the bulk-edge estimate of the Marchenko–Pastur noise level, and the MP goodness of fit.

BEMA (Ke, Ma & Lin 2021, "Estimation of the number of spiked eigenvalues in a covariance
matrix by bulk eigenvalue matching analysis", JASA) fits the variance :math:`\sigma^2` of the
noise part of a spectrum using only its central eigenvalues, which spikes cannot reach, and adds a
Tracy–Widom margin to the MP edge (paper §9.1, algorithms.md §1.3):

.. math::

   \hat\sigma^2 = \frac{\sum_{i\in I} q_i \lambda_{(i)}}{\sum_{i\in I} q_i^2},\qquad
   I = \{\lfloor\alpha p\rfloor,\dots,\lfloor(1-\alpha)p\rfloor-1\},

where :math:`\lambda_{(i)}` are the sorted eigenvalues (convention of :mod:`rmtheory.spectrum`)
and :math:`q_i` the quantiles of the unit-variance MP law of ratio :math:`\gamma=p/q` at levels
:math:`(i+\tfrac12)/p`; then

.. math::

   \lambda_+ = \hat\sigma^2\Big[(1+\sqrt\gamma)^2
      + t_{1-\beta}\, q^{-2/3}\gamma^{-1/6}(1+\sqrt\gamma)^{4/3}\Big],

with :math:`t_{1-\beta}` the :math:`(1-\beta)`-quantile of TW1 and Johnstone's (2001) scaling,
:math:`q` the larger dimension.  Eigenvalues above :math:`\lambda_+` are spikes (signal); the
singular-value threshold is :math:`\sqrt{q\lambda_+}`.

``variant="paper_code"`` reproduces the authors' ``bema_inside`` exactly: quantile levels
:math:`i/p`, eigenvalues ``s**2 / fan_in`` and their precedence bug ``(1+sqrt(g))**4/3`` (that
is :math:`(1+\sqrt\gamma)^4/3`) in the TW term.  The paper's Fig 17 was made with it.  Like the
authors' code it fits however few central eigenvalues there are (a 10×500 output layer has a
window of 5), where the default variant refuses windows below :data:`MIN_BULK_EIGENVALUES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike

from rmtheory._validation import finite_matrix, finite_vector, positive_int, probability
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import esd, spectral_convention
from rmtheory.tracy_widom import TracyWidom, paper_code_edge_scaling, wishart_edge_scaling

__all__ = [
    "BEMA",
    "NotFittedError",
    "mp_goodness_of_fit",
    "MIN_BULK_EIGENVALUES",
    "MIN_BULK_EIGENVALUES_PAPER_CODE",
]

#: Fewest central eigenvalues BEMA will fit; below this the estimate is noise, not a threshold.
MIN_BULK_EIGENVALUES = 20
#: The authors' code fits any non-empty window (``variant="paper_code"``).
MIN_BULK_EIGENVALUES_PAPER_CODE = 1

Variant = Literal["default", "paper_code"]


def _check_variant(variant: Any) -> str:
    if not isinstance(variant, str) or variant not in ("default", "paper_code"):
        raise ValueError(f"variant must be 'default' or 'paper_code', got {variant!r}")
    return variant


class NotFittedError(ValueError, AttributeError):
    """An estimator's learned attribute or method was used before ``fit``.

    A subclass of both ``ValueError`` and ``AttributeError``, as scikit-learn's: ``hasattr`` is
    ``False`` for a learned attribute of an unfitted estimator, and callers that catch either
    exception keep working.
    """


@dataclass(frozen=True)
class _OpenInterval:
    """A real number in (low, high)."""

    low: float
    high: float

    def check(self, value: Any, name: str) -> float:
        x = probability(value, name)  # the kind check and (0, 1), with the argument's name
        if not self.low < x < self.high:
            raise ValueError(f"{name} must lie in ({self.low:g}, {self.high:g}), got {value!r}")
        return x


@dataclass(frozen=True)
class _OneOf:
    """One of a few strings."""

    options: tuple[str, ...]

    def check(self, value: Any, name: str) -> str:
        if not isinstance(value, str) or value not in self.options:
            listed = " or ".join(repr(o) for o in self.options)
            raise ValueError(f"{name} must be {listed}, got {value!r}")
        return value


#: Eigenvalues below this fraction of the largest are numerical zeros (a truncated or factorised
#: layer, W2 @ W1 of rank k, has p - k of them; float32 factors leave them near 1e-12 * lambda_max).
#: Used for eigenvalues of unknown precision (1-D input) and for float32 matrices.
ZERO_TOL = 1e-10
#: The same for a matrix that carries float64 precision: its SVD leaves the zeros of a rank-deficient
#: matrix near (1e-16 p)**2 * lambda_max, so a genuine bulk up to 1e10 times below a spike (in singular
#: value) is still a bulk, not "zeros".
ZERO_TOL_FLOAT64 = 1e-20
#: Below this beta the TW quantile is taken as ``isf(beta)``: ``ppf(1 - beta)`` loses the digits of
#: beta that ``1 - beta`` rounds away (and is ``inf`` once ``1 - beta`` rounds to 1, beta < 1.1e-16).
_ISF_BELOW = 0.01


def _zero_tolerance(A: np.ndarray) -> float:
    """ZERO_TOL_FLOAT64 for a float64 matrix with float64 content, else ZERO_TOL.

    A float64 array whose entries are all exactly float32 numbers (an upcast float32 layer, whose
    truncation left float32-sized zeros) is treated as float32.
    """
    if A.dtype != np.float64:
        return ZERO_TOL
    with np.errstate(over="ignore"):
        # one row usually decides (genuine float64 weights are not float32 numbers); the whole
        # matrix is compared only when it passes (this check was ~2% of a fit)
        for part in (A[:1], A):
            if not np.array_equal(part.astype(np.float32), part):
                return ZERO_TOL_FLOAT64
    return ZERO_TOL


def _range_shift(ev: np.ndarray) -> int:
    """An even exponent bringing the largest eigenvalue near 1, or 0 inside [2**-600, 2**600]."""
    top = float(np.max(ev)) if ev.size else 0.0
    if not top > 0:
        return 0
    e = math.frexp(top)[1]
    return 2 * (e // 2) if abs(e) > 600 else 0


def _tw_quantile(beta: float) -> float:
    """The TW1 (1 - beta) quantile, from the upper tail where beta is small."""
    tw = TracyWidom(1)
    return float(tw.isf(beta) if beta < _ISF_BELOW else tw.ppf(1.0 - beta))


def _window(p: int, alpha: float, n_censored: int = 0) -> np.ndarray:
    # The smallest n_censored eigenvalues are unknown (truncated away): the remaining ones are still
    # the top order statistics of the spectrum, so the window keeps their positions i / p.
    return np.arange(max(int(alpha * p), n_censored), int((1 - alpha) * p))


def count_zeros(eigenvalues: np.ndarray, tol: float = ZERO_TOL) -> int:
    """How many eigenvalues are numerical zeros (<= ``tol`` * the largest): a rank-deficient matrix."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    top = float(np.max(ev)) if ev.size else 0.0
    return int(np.count_nonzero(ev <= tol * top)) if top > 0 else int(ev.size)


def mp_goodness_of_fit(
    eigenvalues: ArrayLike,
    sigma2: float,
    ratio: float,
    alpha: float = 0.25,
    variant: Variant = "default",
    n_censored: int = 0,
) -> float:
    r"""Sup-distance between the empirical and the MP cdf on the central quantile window (§9.4).

    With the eigenvalues sorted, :math:`x_i=\lambda_{(i)}` for :math:`i\in I` (the BEMA window)
    and :math:`F` the cdf of ``MarchenkoPastur(ratio, sigma2)``:

    .. math:: \mu_{fit} = \max_{i\in I}\max\big(|F(x_i)-i/p|,\ |F(x_i)-(i+1)/p|\big),

    the Kolmogorov distance restricted to the window (both sides of each ECDF jump).
    ``variant="paper_code"`` is the authors' ``error``: :math:`\max_j|F(x_j)-(\alpha+(1-2\alpha)j/m)|`
    with their closed-form cdf that returns 0 above :math:`\lambda_+` (algorithms.md §3 item 2),
    which makes good fits fail spuriously; it is kept for comparisons only.

    Parameters
    ----------
    eigenvalues : array_like, 1-D
        The eigenvalues (any order), convention of :mod:`rmtheory.spectrum`.
    sigma2, ratio : float
        The MP law to compare with (``ratio <= 1`` for the p non-trivial eigenvalues).
    alpha : float in (0, 0.5)
        Window: the central ``1 - 2 alpha`` fraction.
    n_censored : int, default 0
        The smallest ``n_censored`` eigenvalues were truncated away: the window starts above them.

    Returns
    -------
    float in [0, 1]
    """
    ev = np.sort(finite_vector(eigenvalues, "eigenvalues", min_length=1))
    alpha = probability(alpha, "alpha")
    if alpha >= 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    variant = _check_variant(variant)
    law = MarchenkoPastur(ratio, sigma2)
    p = ev.size
    idx = _window(p, alpha, positive_int(n_censored, "n_censored", minimum=0))
    if idx.size == 0:
        raise ValueError(f"the window of {p} eigenvalues at alpha={alpha} is empty")
    x = ev[idx]
    F = law.cdf(x)
    if variant == "paper_code":
        F = np.where(x >= law.lambda_plus, 0.0, F)
        m = idx.size
        return float(np.max(np.abs(F - (alpha + (1 - 2 * alpha) * np.arange(m) / m))))
    return float(max(np.max(np.abs(F - idx / p)), np.max(np.abs(F - (idx + 1) / p))))


class BEMA:
    r"""Bulk-edge estimator of the MP noise level and edge (scikit-learn style).

    Parameters
    ----------
    alpha : float in (0, 0.5), default 0.25
        Fraction of eigenvalues dropped at each end of the spectrum before fitting.
    beta : float in (0, 1), default 0.1
        Tracy–Widom level: :math:`\lambda_+` is the MP edge plus the TW1 :math:`(1-\beta)`
        quantile margin, so pure noise exceeds it with probability about ``beta``.
    variant : {"default", "paper_code"}
        ``"paper_code"`` reproduces the authors' code, bugs included (module docstring).

    Attributes
    ----------
    sigma2_ : float
        Fitted noise variance (the entry variance of the noise, in the default convention).
    lambda_plus_ : float
        Edge with the TW margin; eigenvalues above it are spikes.
    lambda_plus_mp_ : float
        Plain MP edge :math:`\hat\sigma^2(1+\sqrt\gamma)^2`.
    singular_value_threshold_ : float
        :math:`\sqrt{q\lambda_+}` (``sqrt(fan_in * lambda_plus_)`` for ``paper_code``).
    n_spikes_ : int
        Number of eigenvalues above ``lambda_plus_``.
    gof_ : float
        :func:`mp_goodness_of_fit` of the spectrum to the fitted law (same ``variant``).
    ratio_ : float
        :math:`\gamma = p/q`.
    eigenvalues_ : ndarray
        The sorted eigenvalues that were fitted.
    p_, q_ : int
        Smaller and larger dimension.
    tw_quantile_ : float
        :math:`t_{1-\beta}`.
    n_censored_ : int
        Smallest eigenvalues left out of the fit as truncated away (numerical zeros).
    window_size_ : int
        Number of central eigenvalues the noise level was fitted on (``paper_code`` accepts
        fewer than :data:`MIN_BULK_EIGENVALUES`, down to one).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).normal(size=(600, 900))
    >>> b = BEMA().fit(W)
    >>> round(b.sigma2_, 2), b.n_spikes_ <= 1
    (1.0, True)
    """

    #: The domain of each parameter, declared once: ``__init__``, ``set_params`` and ``fit``
    #: check against it (scikit-learn's ``_parameter_constraints``).
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "alpha": _OpenInterval(0.0, 0.5),
        "beta": _OpenInterval(0.0, 1.0),
        "variant": _OneOf(("default", "paper_code")),
    }

    def __init__(
        self, alpha: float = 0.25, beta: float = 0.1, variant: Variant = "default"
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.variant = variant
        self._check_params()

    def __repr__(self) -> str:
        return f"BEMA(alpha={self.alpha!r}, beta={self.beta!r}, variant={self.variant!r})"

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: a learned (trailing-underscore) attribute of an
        # unfitted estimator gets the not-fitted error, everything else the usual AttributeError
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(
                f"this BEMA instance is not fitted yet: call fit(X) before using {name}"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_params(self) -> tuple[float, float, str]:
        values = [
            rule.check(getattr(self, name), name)
            for name, rule in self._parameter_constraints.items()
        ]
        return values[0], values[1], values[2]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as a dict (scikit-learn semantics; ``deep`` is accepted
        for compatibility: BEMA holds no nested estimators)."""
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def set_params(self, **params: Any) -> BEMA:
        """Set constructor parameters (checked against their declared domains); returns self.

        An unknown name raises ``ValueError`` listing the valid ones; nothing is changed unless
        every new value is valid.
        """
        for name in params:
            if name not in self._parameter_constraints:
                raise ValueError(
                    f"invalid parameter {name!r} for BEMA; valid parameters are "
                    f"{sorted(self._parameter_constraints)}"
                )
        for name, value in params.items():
            self._parameter_constraints[name].check(value, name)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(
        self,
        X: ArrayLike,
        q: int | None = None,
        fan_in: int | None = None,
        n_censored: int | None = None,
    ) -> BEMA:
        """Fit to a weight matrix ``X`` (2-D) or to its eigenvalues (1-D, then ``q`` is required).

        Parameters
        ----------
        X : array_like
            A 2-D weight matrix ``(out, in)``, or the ``p`` eigenvalues ``s**2 / q`` of one.
        q : int, optional
            The larger dimension, required with 1-D eigenvalues (it sets the ratio ``p/q`` and the
            Tracy–Widom scale).
        fan_in : int, optional
            Only for ``variant="paper_code"`` with 1-D input: the eigenvalues are then taken as
            ``s**2 / fan_in`` and the threshold as ``sqrt(fan_in * lambda_plus)``.
        n_censored : int, optional
            How many of the smallest eigenvalues are missing (a rank-``k`` truncation has
            ``p - k``): the fit then uses the window above them, at their original quantile levels.
            Default: the number of numerical zeros (:func:`count_zeros`), so a recombined
            ``W2 @ W1`` (Algorithm 1's second pass) is fitted on its surviving bulk rather than on
            zeros.  The default variant only; ``paper_code`` fits the zeros, as the authors' code.

        Returns
        -------
        self
        """
        alpha, beta, variant = self._check_params()
        if X is None:
            raise TypeError("X must be a 2-D matrix or 1-D eigenvalues, got None")
        arr = np.asarray(X)
        zero_tol = ZERO_TOL
        if arr.ndim == 2:
            arr = finite_matrix(arr, "X")
            # float64 throughout (float32 input too); the SVD takes over where the Gram cannot
            # resolve the spectrum, so exact zeros stay distinguishable from a bulk under a spike
            ev = esd(arr, method="gram")
            zero_tol = _zero_tolerance(arr)
            conv = spectral_convention(arr.shape)
            p, q_dim, fan = conv.p, conv.q, conv.fan_in
            if variant == "paper_code":
                ev = ev * (q_dim / fan)
        elif arr.ndim == 1:
            ev = np.sort(finite_vector(arr, "X"))
            p = ev.size
            if q is None:
                raise ValueError(
                    f"X is 1-D (shape {arr.shape}), so it is read as the eigenvalues s**2 / q of a "
                    "matrix, and q (the larger matrix dimension) is then required: "
                    "BEMA().fit(eigenvalues, q=...); pass a weight matrix as a 2-D array"
                )
            q_dim = positive_int(q, "q", minimum=p)
            fan = q_dim if fan_in is None else positive_int(fan_in, "fan_in")
        else:
            raise ValueError(f"X must be a 2-D matrix or 1-D eigenvalues, got shape {arr.shape}")

        if not np.any(ev):
            raise ValueError(
                f"X is all zeros (all {p} eigenvalues are 0): there is no noise level to fit, the "
                "matrix is exactly rank-deficient (rank 0)"
            )
        if variant == "paper_code":
            censored = 0
        elif n_censored is None:
            censored = count_zeros(ev, zero_tol)
        else:
            censored = positive_int(n_censored, "n_censored", minimum=0)
        idx = _window(p, alpha, censored)
        minimum = (
            MIN_BULK_EIGENVALUES_PAPER_CODE if variant == "paper_code" else MIN_BULK_EIGENVALUES
        )
        if idx.size < minimum:
            why = (
                f" above the {censored} zero (truncated) eigenvalues"
                if censored > int(alpha * p)
                else ""
            )
            if why and n_censored is None and arr.ndim == 1:
                why += (
                    f" (eigenvalues <= {zero_tol:g} x the largest are taken as the zeros of a "
                    "truncated matrix; if they are a genuine bulk under spikes that large, pass "
                    "n_censored=0 or fit the float64 matrix itself)"
                )
            raise ValueError(
                f"BEMA needs at least {minimum} bulk eigenvalues but the central window "
                f"(alpha={alpha}) of the {p} eigenvalues of X holds {idx.size}{why}; the matrix is "
                "too small (or too rank-deficient) for an MP fit"
            )
        ratio = p / q_dim
        # BEMA is exactly scale-equivariant: eigenvalues near the ends of the float range are fitted
        # in units 2**shift (exact) so that sigma2 * (edge + TW margin) and q * lambda_+ never
        # overflow on the way; the results are scaled back (an unrepresentable one is refused)
        shift = _range_shift(ev)
        evs = np.ldexp(ev, -shift) if shift else ev
        unit = MarchenkoPastur(ratio)
        levels = idx / p if variant == "paper_code" else (idx + 0.5) / p
        quant = unit.ppf(levels)
        sigma2 = float(np.dot(quant, evs[idx]) / np.dot(quant, quant))
        if not sigma2 > 0:
            raise ValueError(
                "the central eigenvalues are all zero: BEMA cannot fit a noise level to a matrix "
                "whose bulk is exactly rank-deficient"
            )
        t = _tw_quantile(beta)
        scaling = paper_code_edge_scaling if variant == "paper_code" else wishart_edge_scaling
        center, scale = scaling(q_dim, p, sigma2)
        lambda_plus = float(center + scale * t)
        back = fan if variant == "paper_code" else q_dim
        with np.errstate(over="ignore"):
            self.sigma2_ = math.ldexp(sigma2, shift)
            self.lambda_plus_mp_ = math.ldexp(sigma2 * (1 + math.sqrt(ratio)) ** 2, shift)
            self.lambda_plus_ = math.ldexp(lambda_plus, shift)
            self.singular_value_threshold_ = math.ldexp(math.sqrt(back * lambda_plus), shift // 2)
        if not all(
            math.isfinite(v)
            for v in (self.sigma2_, self.lambda_plus_, self.singular_value_threshold_)
        ):
            raise ValueError(
                "the fitted edge of X overflows float64 (largest eigenvalue "
                f"{float(np.max(ev)):.3g}); scale the matrix down: BEMA is scale-equivariant"
            )
        self.tw_quantile_ = t
        self.n_spikes_ = int(np.count_nonzero(evs > lambda_plus))
        self.gof_ = mp_goodness_of_fit(evs, sigma2, ratio, alpha, variant, censored)
        self.n_censored_ = censored
        self.window_size_ = int(idx.size)
        self.ratio_ = ratio
        self.eigenvalues_ = ev
        self.p_, self.q_ = p, q_dim
        return self

    def law(self) -> MarchenkoPastur:
        """The fitted ``MarchenkoPastur(ratio_, sigma2_)``; :class:`NotFittedError` before ``fit``."""
        if "sigma2_" not in self.__dict__:
            raise NotFittedError("this BEMA instance is not fitted yet: call fit(X) before law()")
        return MarchenkoPastur(self.ratio_, self.sigma2_)
