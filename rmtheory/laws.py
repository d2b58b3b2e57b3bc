r"""One contract for the probability laws of the package (Marchenko–Pastur, Tracy–Widom).

The model is scipy's ``rv_continuous``: *public methods check, private ones compute*.  A law
subclasses :class:`Law` and implements the private hooks on arrays that are already validated
float64 (``_cdf``, ``_sf``, ``_logcdf``, ``_logsf``, ``_pdf``, ``_logpdf``, ``_ppf``, ``_isf``,
``_moment``, ``_support``, ``_rvs``, and optionally ``_mean``, ``_var``, ``_central_moment``);
:class:`Law` supplies the public surface listed in :data:`LAW_METHODS`, the same on every law:

``pdf cdf sf ppf isf logpdf logcdf logsf mean var std median interval support rvs stats moment``

Each hook must be accurate *in its own tail*: ``sf`` and ``logsf`` from the upper tail, ``cdf``
and ``logcdf`` from the lower, and the log-methods never formed as ``log(cdf)`` where ``cdf``
underflows or loses its relative precision (each law says in its docstring how it does this).
:class:`ContinuousLaw` is the same contract as a :class:`typing.Protocol`, for code that accepts
any law (``isinstance(obj, ContinuousLaw)`` checks the method names only).

Conventions, as in scipy: NaN in gives NaN out; ``ppf``/``isf`` give NaN outside ``[0, 1]``;
``interval(confidence)`` is the equal-tailed interval ``(ppf(a), isf(a))`` with
``a = (1 - confidence) / 2`` (the upper end from the upper tail, so it keeps its digits);
``stats(moments="mv")`` returns the requested subset of mean, variance, skewness and excess
kurtosis in the order ``m, v, s, k``.

Examples
--------
>>> from rmtheory.marchenko_pastur import MarchenkoPastur
>>> from rmtheory.tracy_widom import TracyWidom
>>> all(isinstance(law, ContinuousLaw) for law in (MarchenkoPastur(0.5), TracyWidom(1)))
True
>>> lo, hi = TracyWidom(1).interval(0.9)
>>> round(lo, 4), round(hi, 4)
(-3.1804, 0.9793)
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from rmtheory._validation import positive_int, probability, real_array, rng, size_argument

__all__ = ["ContinuousLaw", "Law", "LAW_METHODS"]

#: The public method set every law exposes (checked by ``tests/test_laws_contract.py``).
LAW_METHODS = (
    "pdf",
    "cdf",
    "sf",
    "ppf",
    "isf",
    "logpdf",
    "logcdf",
    "logsf",
    "mean",
    "var",
    "std",
    "median",
    "interval",
    "support",
    "rvs",
    "stats",
    "moment",
)

_STATS_LETTERS = "mvsk"


@runtime_checkable
class ContinuousLaw(Protocol):
    """What every law of the package offers (the public half of :class:`Law`)."""

    def pdf(self, x: ArrayLike) -> Any: ...
    def cdf(self, x: ArrayLike) -> Any: ...
    def sf(self, x: ArrayLike) -> Any: ...
    def ppf(self, q: ArrayLike) -> Any: ...
    def isf(self, q: ArrayLike) -> Any: ...
    def logpdf(self, x: ArrayLike) -> Any: ...
    def logcdf(self, x: ArrayLike) -> Any: ...
    def logsf(self, x: ArrayLike) -> Any: ...
    def mean(self) -> float: ...
    def var(self) -> float: ...
    def std(self) -> float: ...
    def median(self) -> float: ...
    def interval(self, confidence: float) -> tuple[float, float]: ...
    def support(self) -> tuple[float, float]: ...
    def rvs(self, size: Any = None, seed: Any = None) -> Any: ...
    def stats(self, moments: str = "mv") -> tuple[float, ...]: ...
    def moment(self, k: int) -> float: ...


class Law:
    """Base of the laws: the public methods validate their arguments and call private hooks.

    Subclasses implement the hooks named in the module docstring.  ``_wrap(out, scalar)`` decides
    what a scalar argument gives back (a 0-d array by default; :class:`~rmtheory.tracy_widom.TracyWidom`
    returns Python floats, as it always has).
    """

    # ---- hooks a law implements ----------------------------------------------------------
    def _pdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _sf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _logcdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _logsf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _isf(self, q: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _moment(self, order: int) -> float:
        raise NotImplementedError

    def _support(self) -> tuple[float, float]:
        raise NotImplementedError

    def _rvs(self, size: int | tuple[int, ...] | None, gen: np.random.Generator) -> Any:
        return self.ppf(gen.random(size))

    def _mean(self) -> float:
        return self._moment(1)

    def _var(self) -> float:
        return self._central_moment(2)

    def _central_moment(self, order: int) -> float:
        # E[(X - mu)^n] from the raw moments (binomial expansion); a law with a better route
        # (closed form, direct quadrature) overrides it
        mu = self._mean()
        return float(
            sum(math.comb(order, j) * self._moment(j) * (-mu) ** (order - j) for j in range(order + 1))
        )

    @staticmethod
    def _wrap(out: np.ndarray, scalar: bool) -> Any:
        return out

    # ---- public, checked -------------------------------------------------------------------
    def _apply(self, hook: Any, x: ArrayLike, name: str) -> Any:
        arr = real_array(x, name)
        return self._wrap(hook(arr), arr.ndim == 0)

    def pdf(self, x: ArrayLike) -> Any:
        """Probability density at ``x``."""
        return self._apply(self._pdf, x, "x")

    def logpdf(self, x: ArrayLike) -> Any:
        """Log of the density, formed where it does not underflow (``-inf`` off the support)."""
        return self._apply(self._logpdf, x, "x")

    def cdf(self, x: ArrayLike) -> Any:
        """Cumulative distribution function :math:`P(X \\le x)`."""
        return self._apply(self._cdf, x, "x")

    def logcdf(self, x: ArrayLike) -> Any:
        """Log of the cdf, relative-accurate in the lower tail."""
        return self._apply(self._logcdf, x, "x")

    def sf(self, x: ArrayLike) -> Any:
        """Survival function :math:`P(X > x)`, relative-accurate in the upper tail."""
        return self._apply(self._sf, x, "x")

    def logsf(self, x: ArrayLike) -> Any:
        """Log of the survival function, relative-accurate in the upper tail."""
        return self._apply(self._logsf, x, "x")

    def ppf(self, q: ArrayLike) -> Any:
        """Quantile function, the inverse of ``cdf``; NaN outside ``[0, 1]``."""
        return self._apply(self._ppf, q, "q")

    def isf(self, q: ArrayLike) -> Any:
        """Inverse survival function, solved from the upper tail (a tiny ``q`` keeps its digits)."""
        return self._apply(self._isf, q, "q")

    def mean(self) -> float:
        """Mean."""
        return float(self._mean())

    def var(self) -> float:
        """Variance."""
        return float(self._var())

    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var())

    def median(self) -> float:
        """Median ``ppf(0.5)``."""
        return float(self.ppf(0.5))

    def support(self) -> tuple[float, float]:
        """Smallest closed interval holding all the mass."""
        return self._support()

    def interval(self, confidence: float) -> tuple[float, float]:
        """Equal-tailed interval holding ``confidence`` of the mass: ``(ppf(a), isf(a))``,
        ``a = (1 - confidence) / 2``."""
        c = probability(confidence, "confidence", open_interval=False)
        a = 0.5 * (1.0 - c)
        return float(self.ppf(a)), float(self.isf(a))

    def moment(self, k: int) -> float:
        """Raw moment :math:`E[X^k]` (``k`` a non-negative integer)."""
        k = positive_int(k, "k", minimum=0)
        return 1.0 if k == 0 else float(self._moment(k))

    def stats(self, moments: str = "mv") -> tuple[float, ...]:
        """The requested subset of mean (``m``), variance (``v``), skewness (``s``) and excess
        kurtosis (``k``), in that order, as scipy's ``stats``."""
        if not isinstance(moments, str) or not moments or set(moments) - set(_STATS_LETTERS):
            raise ValueError(
                f"moments must be a non-empty string of the letters 'm', 'v', 's', 'k', got {moments!r}"
            )
        out: list[float] = []
        var = self.var() if set(moments) & set("vsk") else math.nan
        for letter in _STATS_LETTERS:
            if letter not in moments:
                continue
            if letter == "m":
                out.append(self.mean())
            elif letter == "v":
                out.append(var)
            elif letter == "s":
                out.append(float(self._central_moment(3)) / var**1.5)
            else:
                out.append(float(self._central_moment(4)) / var**2 - 3.0)
        return tuple(out)

    def rvs(
        self,
        size: int | tuple[int, ...] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> Any:
        """Independent draws (inverse transform sampling); ``seed`` an int or a Generator."""
        return self._rvs(size_argument(size), rng(seed))
