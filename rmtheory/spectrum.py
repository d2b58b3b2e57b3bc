r"""The one place that says which eigenvalues of a weight matrix are compared to which MP law.

Convention (used everywhere in rmtheory)
----------------------------------------
A weight matrix :math:`W` of shape ``(n, m)`` (stored ``(out, in)`` as PyTorch does) has
:math:`p=\min(n,m)` non-trivial singular values :math:`s_1\ge\dots\ge s_p`.  With
:math:`q=\max(n,m)` we compare

.. math::  \lambda_i = s_i^2 / q, \qquad i = 1..p,

to the Marchenko–Pastur law of ratio :math:`\gamma = p/q \le 1` (no atom).  If the entries of
:math:`W` are iid with variance :math:`v`, these are the eigenvalues of the smaller Gram matrix
divided by the larger dimension, so their law is ``MarchenkoPastur(p/q, v)`` whichever way the
matrix is oriented, and the singular-value edge is

.. math::  s_+ = \sqrt{q\,\lambda_+} = \sqrt v\,(\sqrt n + \sqrt m).

The paper's code instead divides by the fan-in (``S**2 / in_features``, algorithms.md §1.1).
When ``in >= out`` that is the same thing.  When ``out > in`` its eigenvalues are ours times
``out/in``, so a scale-equivariant fit (BEMA) returns :math:`\hat\sigma^2` times ``out/in`` and
the threshold :math:`\sqrt{\text{in}\cdot\hat\sigma^2_{\text{paper}}(1+\sqrt\gamma)^2}` equals ours:
the two conventions give the same singular-value threshold in both orientations (tested in
``tests/test_spectrum.py``).  Ours has the advantage that :math:`\hat\sigma^2` *is* the entry
variance in either orientation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from rmtheory._validation import finite_matrix, positive_finite, positive_int, real_array

__all__ = ["SpectralConvention", "spectral_convention", "esd", "singular_values"]

_TINY = float(np.finfo(np.float64).tiny)
_EPS = float(np.finfo(np.float64).eps)


def _squares_over(singular_values: ArrayLike, divisor: int) -> np.ndarray:
    """``s**2 / divisor``, refusing a result that float64 cannot hold.

    Overflow (``s`` above ~1e154) and underflow of a meaningful value (one above the numerical-rank
    floor ``p * eps * s_max``, squared below the smallest normal float) raise ``ValueError`` instead
    of returning ``inf`` or ``0``: the spectrum of ``c * W`` is ``c**2`` times that of ``W`` and the
    MP fit is scale-equivariant, so rescaling the matrix is always possible.
    """
    s = real_array(singular_values, "singular_values")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("singular_values must be finite and >= 0")
    if s.size == 0:
        return s * s / divisor
    top = float(np.max(s))
    with np.errstate(over="ignore", under="ignore"):
        # s (s / q) where s * s alone would overflow although s**2 / q fits
        ev = s * s / divisor if top < 1e150 else s * (s / divisor)
    if not np.all(np.isfinite(ev)):
        raise ValueError(
            f"the eigenvalues s**2 / {divisor} overflow float64 (largest singular value {top:.3g}); "
            "scale the matrix down: the MP fit is scale-equivariant"
        )
    meaningful = s > top * max(s.size, 1) * 8.0 * _EPS
    if np.any(meaningful & (ev < _TINY)):
        raise ValueError(
            f"the eigenvalues s**2 / {divisor} underflow float64 (largest singular value "
            f"{top:.3g}); scale the matrix up: the MP fit is scale-equivariant"
        )
    return ev


@dataclass(frozen=True)
class SpectralConvention:
    """How the spectrum of an ``(n, m)`` matrix maps onto a Marchenko–Pastur law.

    Attributes
    ----------
    shape : tuple of int
        The matrix shape ``(n, m)``.
    p, q : int
        Smaller and larger dimension; there are ``p`` eigenvalues ``s**2 / q``.
    ratio : float
        ``p / q``, the MP ratio (always <= 1).
    fan_in : int
        ``m``, the number of columns (input features for an ``(out, in)`` weight).
    """

    shape: tuple[int, int]
    p: int
    q: int
    ratio: float
    fan_in: int

    def eigenvalues(self, singular_values: ArrayLike) -> np.ndarray:
        """Map singular values to the eigenvalues compared with MP: ``s**2 / q``.

        Raises ``ValueError`` where float64 cannot hold them (``s`` beyond ~1e154, or a
        meaningful ``s`` below ~1e-154) rather than returning ``inf`` or ``0``.
        """
        return _squares_over(singular_values, self.q)

    def singular_value(self, eigenvalue: float) -> float:
        """Map an eigenvalue threshold back to singular values: ``sqrt(q * eigenvalue)``."""
        return _sqrt_product(self.q, positive_finite(eigenvalue, "eigenvalue"))

    def paper_eigenvalues(self, singular_values: ArrayLike) -> np.ndarray:
        """The authors' eigenvalues ``s**2 / fan_in`` (for comparisons with their code only)."""
        return _squares_over(singular_values, self.fan_in)

    def paper_singular_value(self, eigenvalue: float) -> float:
        """The authors' back-map ``sqrt(fan_in * eigenvalue)``."""
        return _sqrt_product(self.fan_in, positive_finite(eigenvalue, "eigenvalue"))


def _sqrt_product(n: int, x: float) -> float:
    # sqrt(n * x) without overflow (or underflow) of the product; the plain form where it is safe.
    y = n * x
    if _TINY < y < math.inf:
        return math.sqrt(y)
    return math.sqrt(n) * math.sqrt(x)


def spectral_convention(shape: tuple[int, int]) -> SpectralConvention:
    """The :class:`SpectralConvention` for a matrix of the given ``(n, m)`` shape.

    Examples
    --------
    >>> c = spectral_convention((1000, 784))
    >>> c.p, c.q, round(c.ratio, 3)
    (784, 1000, 0.784)
    """
    if not isinstance(shape, tuple | list | np.ndarray) or np.ndim(shape) != 1:
        raise TypeError(f"shape must be a pair (n, m) of integers, got {shape!r}")
    if len(shape) != 2:
        raise ValueError(f"shape must be (n, m) for a 2-D matrix, got {shape!r}")
    n = positive_int(shape[0], "shape[0]")
    m = positive_int(shape[1], "shape[1]")
    p, q = min(n, m), max(n, m)
    return SpectralConvention(shape=(n, m), p=p, q=q, ratio=p / q, fan_in=m)


#: float32 Gram eigenvalues carry an absolute error of a few 1e-6 * lambda_max (measured up to 2e-5
#: at 3000 x 3000); below this spread lambda_max / lambda_median the central eigenvalues that BEMA
#: fits keep ~1e-3 relative accuracy, above it the float64 Gram is used instead.
FLOAT32_SPREAD_LIMIT = 50.0


#: Entries of magnitude outside [2**-_SAFE_EXP, 2**_SAFE_EXP] are rescaled by an exact power of two
#: before the Gram matrix is formed (its entries are squares: they would overflow or underflow).
_SAFE_EXP = {np.dtype(np.float64): 300, np.dtype(np.float32): 40}
#: The float64 Gram resolves eigenvalues to ~p * eps * lambda_max in absolute terms.  Below
#: _NOISE_FLOOR times that, an eigenvalue is unresolved (a numerical zero or a bulk swamped by a
#: huge spike); below _BULK_FLOOR times it, one at the 10% quantile has lost more than ~1e-6 of
#: relative accuracy.  Either sends the matrix to the SVD, whose error is ~eps * s_max on the values.
_NOISE_FLOOR = 64.0
_BULK_FLOOR = 1e6


def _power_of_two_scale(A: np.ndarray, dtype) -> int:
    """The exponent ``e`` with ``max|A| * 2**-e`` in [0.5, 1), or 0 where no rescaling is needed."""
    amax = float(np.max(np.abs(A)))
    if amax == 0.0:
        return 0
    e = math.frexp(amax)[1]
    return e if abs(e) > _SAFE_EXP[np.dtype(dtype)] else 0


def _gram_eigenvalues(A: np.ndarray, dtype, exponent: int = 0) -> np.ndarray:
    """Eigenvalues (ascending, >= 0) of the smaller Gram of ``A * 2**-exponent``, in that scale."""
    B = np.asarray(A, dtype=dtype)
    if exponent:
        B = np.ldexp(B, -exponent).astype(dtype, copy=False)  # exact: a power of two
    if B.shape[0] > B.shape[1]:
        B = B.T
    # syrk forms the lower triangle only, half the flops of B @ B.T (that product made BEMA.fit
    # 1.1-1.3x slower than analyze, which uses syrk); passed in Fortran order, so never copied
    syrk = scipy.linalg.blas.get_blas_funcs("syrk", (B,))
    if B.flags.c_contiguous:
        G = syrk(1.0, B.T, trans=1, lower=1)
    else:
        G = syrk(1.0, np.asfortranarray(B), trans=0, lower=1)
    ev = scipy.linalg.eigvalsh(G, lower=True, overwrite_a=True, check_finite=False, driver="evd")
    return np.clip(ev.astype(np.float64), 0.0, None)


def _gram_is_resolved(ev: np.ndarray) -> bool:
    """Whether float64 Gram eigenvalues (ascending) carry the accuracy the MP comparison needs."""
    top = ev[-1]
    if not top > 0:
        return True  # the zero matrix: exact
    floor = ev.size * _EPS * top
    return bool(ev[0] > _NOISE_FLOOR * floor and ev[ev.size // 10] > _BULK_FLOOR * floor)


def _svd_values(A: np.ndarray) -> np.ndarray:
    # gesdd scales internally; float64 so that float32 input keeps its full precision
    return np.asarray(
        scipy.linalg.svdvals(np.asarray(A, dtype=np.float64), check_finite=False), dtype=np.float64
    )


def singular_values(W: ArrayLike, method: str = "auto") -> np.ndarray:
    """Singular values of ``W`` in descending order, float64, values only (U, V are never formed).

    Parameters
    ----------
    method : {"auto", "gram", "svd"}
        ``"gram"``: ``eigvalsh`` of the smaller Gram matrix in float64 — absolute error
        ~1e-16 * s_max**2 on the squared values, which is all the MP comparison needs, and 2-3x
        faster than LAPACK's divide-and-conquer SVD (``benchmarks/bench_spectral.py``).
        ``"auto"`` (default): the same, except that a float32 matrix uses a float32 Gram when its
        spectrum is not too spread out (``lambda_max / lambda_median <= FLOAT32_SPREAD_LIMIT``),
        falling back to float64 otherwise.  ``"svd"``: ``gesdd`` values only, with full relative
        accuracy on small singular values.

    Notes
    -----
    Any finite matrix works.  Entries beyond ~1e±90 are rescaled by an exact power of two before
    the Gram is formed and the values scaled back, so nothing overflows or underflows.  Where the
    Gram cannot resolve the spectrum — eigenvalues at its rounding floor (a rank-deficient matrix)
    or a bulk more than ~1e6 times below the largest eigenvalue (a huge spike) — both Gram methods
    fall back to the SVD, whose absolute error is ~eps * s_max on the singular values themselves:
    exact zeros come out near 1e-16 * s_max and a bulk 1e8 times below a spike keeps ~1e-8 relative
    accuracy instead of drowning in the Gram's rounding.
    """
    A = finite_matrix(W, "W")
    if method == "svd":
        return _svd_values(A)
    if method not in ("gram", "auto"):
        raise ValueError(f"method must be 'auto', 'gram' or 'svd', got {method!r}")
    ev = None
    if method == "auto" and A.dtype == np.float32:
        e32 = _power_of_two_scale(A, np.float32)
        ev = _gram_eigenvalues(A, np.float32, e32)
        median = ev[ev.size // 2]
        if median > 0 and ev[-1] / median <= FLOAT32_SPREAD_LIMIT:
            return np.ldexp(np.sqrt(ev[::-1]), e32)
    e64 = _power_of_two_scale(A, np.float64)
    ev = _gram_eigenvalues(A, np.float64, e64)
    if not _gram_is_resolved(ev):
        return _svd_values(A)
    return np.ldexp(np.sqrt(ev[::-1]), e64)


def esd(W: ArrayLike, method: str = "auto") -> np.ndarray:
    """The eigenvalues ``s**2 / q`` of a weight matrix, sorted ascending (the module's convention).

    These are the ``p = min(n, m)`` values compared with ``MarchenkoPastur(p / q, sigma2)``.
    Raises ``ValueError`` when they do not fit in float64 (entries beyond ~1e±150): rescale
    ``W`` then — every spectral quantity of ``c * W`` is that of ``W`` scaled by ``c**2``.

    Examples
    --------
    >>> import numpy as np
    >>> ev = esd(np.random.default_rng(0).normal(size=(300, 600)))
    >>> ev.shape, round(float(ev.mean()), 1)
    ((300,), 1.0)
    """
    A = finite_matrix(W, "W")
    s = singular_values(A, method)
    return spectral_convention(A.shape).eigenvalues(s[::-1])
