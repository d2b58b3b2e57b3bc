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

from rmtheory._validation import finite_matrix, positive_finite, positive_int

__all__ = ["SpectralConvention", "spectral_convention", "esd", "singular_values"]


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
        """Map singular values to the eigenvalues compared with MP: ``s**2 / q``."""
        s = np.asarray(singular_values, dtype=np.float64)
        return s * s / self.q

    def singular_value(self, eigenvalue: float) -> float:
        """Map an eigenvalue threshold back to singular values: ``sqrt(q * eigenvalue)``."""
        return math.sqrt(self.q * positive_finite(eigenvalue, "eigenvalue"))

    def paper_eigenvalues(self, singular_values: ArrayLike) -> np.ndarray:
        """The authors' eigenvalues ``s**2 / fan_in`` (for comparisons with their code only)."""
        s = np.asarray(singular_values, dtype=np.float64)
        return s * s / self.fan_in

    def paper_singular_value(self, eigenvalue: float) -> float:
        """The authors' back-map ``sqrt(fan_in * eigenvalue)``."""
        return math.sqrt(self.fan_in * positive_finite(eigenvalue, "eigenvalue"))


def spectral_convention(shape: tuple[int, int]) -> SpectralConvention:
    """The :class:`SpectralConvention` for a matrix of the given ``(n, m)`` shape.

    Examples
    --------
    >>> c = spectral_convention((1000, 784))
    >>> c.p, c.q, round(c.ratio, 3)
    (784, 1000, 0.784)
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be (n, m) for a 2-D matrix, got {shape!r}")
    n = positive_int(int(shape[0]), "shape[0]")
    m = positive_int(int(shape[1]), "shape[1]")
    p, q = min(n, m), max(n, m)
    return SpectralConvention(shape=(n, m), p=p, q=q, ratio=p / q, fan_in=m)


#: float32 Gram eigenvalues carry an absolute error of a few 1e-6 * lambda_max (measured up to 2e-5
#: at 3000 x 3000); below this spread lambda_max / lambda_median the central eigenvalues that BEMA
#: fits keep ~1e-3 relative accuracy, above it the float64 Gram is used instead.
FLOAT32_SPREAD_LIMIT = 50.0


def _gram_eigenvalues(A: np.ndarray, dtype) -> np.ndarray:
    B = np.asarray(A, dtype=dtype)
    if B.shape[0] > B.shape[1]:
        B = B.T
    ev = scipy.linalg.eigvalsh(B @ B.T, check_finite=False, driver="evd")
    return np.clip(ev.astype(np.float64), 0.0, None)


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
    """
    A = finite_matrix(W, "W")
    if method == "svd":
        return np.asarray(scipy.linalg.svdvals(A, check_finite=False), dtype=np.float64)
    if method not in ("gram", "auto"):
        raise ValueError(f"method must be 'auto', 'gram' or 'svd', got {method!r}")
    ev = None
    if method == "auto" and A.dtype == np.float32:
        ev = _gram_eigenvalues(A, np.float32)
        median = ev[ev.size // 2]
        if not (median > 0 and ev[-1] / median <= FLOAT32_SPREAD_LIMIT):
            ev = None
    if ev is None:
        ev = _gram_eigenvalues(A, np.float64)
    return np.sqrt(ev[::-1])


def esd(W: ArrayLike, method: str = "auto") -> np.ndarray:
    """The eigenvalues ``s**2 / q`` of a weight matrix, sorted ascending (the module's convention).

    These are the ``p = min(n, m)`` values compared with ``MarchenkoPastur(p / q, sigma2)``.

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
