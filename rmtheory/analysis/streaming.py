"""One tensor's spectrum, streamed: the smaller Gram matrix accumulated in float64 from blocks of
rows read straight from the file, its eigenvalues, and the SVD fallback where the Gram cannot
resolve the bulk (``docs/large_models.md``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk as _syrk

from rmtheory.weights_io import TensorRef

__all__ = [
    "BLOCK_BYTES",
    "Spectrum",
    "block_rows",
    "matrix_dims",
    "read_block",
    "spectrum_of",
    "unscale",
]

#: Bytes of float64 rows converted at once when forming a Gram matrix.
BLOCK_BYTES = 64 * 2**20
# Entries beyond 2**+-500 in magnitude: the Gram (squares summed) would overflow or lose precision
# to subnormals, so the matrix is scaled by a power of two first (exact) and the results unscaled.
_SCALE_LIMIT = 500
# Below this spread (median / largest eigenvalue of the Gram) the Gram route cannot resolve the
# bulk (its absolute error is ~p * eps * largest): the singular values come from an SVD instead.
_GRAM_SPREAD_LIMIT = 1e-7


def matrix_dims(ref: TensorRef) -> tuple[int, int]:
    n = ref.shape[0]
    return n, ref.size // n


def block_rows(n: int, m: int) -> int:
    """Rows per block: a deterministic function of the shape, so that the same matrix gives the
    same floating-point sums whether it comes from memory or from a file."""
    if n >= m:
        budget = BLOCK_BYTES
    else:
        # Wide: pairs of row blocks; use the room a float64 copy of the tensor would take.
        budget = min(max(BLOCK_BYTES, (8 * n * m - 8 * n * n) // 2), 4 * BLOCK_BYTES)
    return max(1, min(n, budget // (8 * m)))


class _NonFinite(ValueError):
    pass


def read_block(
    ref: TensorRef, start: int, stop: int, scale: float, out: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Rows ``start:stop`` as C-ordered float64 times ``scale``, and their largest magnitude.

    ``out`` (rows x m float64) is reused across blocks: converting into memory already mapped is
    several times faster than into a fresh allocation.  One pass each for the max and the min:
    they also tell NaN (which propagates) and +-Inf.
    """
    raw = ref.rows(start, stop)
    if raw.dtype == np.float64 and raw.flags.c_contiguous and scale == 1.0:
        R = raw  # already what BLAS needs: no copy
    elif out is not None:
        R = out[: stop - start]
        np.copyto(R, raw)
    else:
        R = np.array(raw, dtype=np.float64, order="C")
    del raw
    if scale != 1.0:
        R *= scale
    if R.size == 0:
        return R, 0.0
    top, bottom = float(R.max()), float(R.min())
    if not (math.isfinite(top) and math.isfinite(bottom)):
        raise _NonFinite
    return R, max(top, -bottom)


def _count_nonfinite(ref: TensorRef, n: int, m: int) -> int:
    b, bad = block_rows(n, m), 0
    for i in range(0, n, b):
        R = ref.rows(i, min(n, i + b))
        bad += int(R.size - np.count_nonzero(np.isfinite(R)))
    return bad


def _raise_nonfinite(ref: TensorRef, n: int, m: int):
    bad = _count_nonfinite(ref, n, m)
    raise ValueError(
        f"weights[{ref.name!r}] contains {bad} NaN/Inf entries of {n * m}; the layer's weights "
        "must be finite (a diverged or corrupted checkpoint?)"
    ) from None


def _gram(ref: TensorRef, n: int, m: int, scale: float) -> tuple[np.ndarray, float]:
    """Lower triangle of the smaller Gram matrix of ``scale * M`` (Fortran order), and max |M|.

    Tall (``n >= m``): ``M^T M`` summed over row blocks in one pass.  Wide: ``M M^T`` block by
    block, ``G[J, I] = R_J R_I^T``, re-reading row blocks instead of holding the tensor.
    """
    b = block_rows(n, m)
    amax = 0.0
    buf = np.empty((b, m))
    if n >= m:
        G = np.zeros((m, m), order="F")
        for i in range(0, n, b):
            R, top = read_block(ref, i, min(n, i + b), scale, buf)
            amax = max(amax, top)
            # R is C-ordered (rows x m): R.T is Fortran-ordered, and syrk(R.T) = R^T R.
            G = _syrk(1.0, R.T, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        return G, amax / scale
    G = np.zeros((n, n), order="F")
    starts = list(range(0, n, b))
    buf2 = np.empty((b, m)) if len(starts) > 1 else None
    for bi, i in enumerate(starts):
        i1 = min(n, i + b)
        RI, top = read_block(ref, i, i1, scale, buf)
        amax = max(amax, top)
        G[i:i1, i:i1] = _syrk(1.0, RI.T, trans=1, lower=1)  # RI RI^T, RI.T Fortran-ordered
        for j in starts[bi + 1 :]:
            j1 = min(n, j + b)
            G[j:j1, i:i1] = read_block(ref, j, j1, scale, buf2)[0] @ RI.T
    return G, amax / scale


def _scale_exponent(amax: float) -> int:
    if amax == 0.0 or 2.0**-_SCALE_LIMIT <= amax <= 2.0**_SCALE_LIMIT:
        return 0
    return math.frexp(amax)[1]


def _lower_to_upper(G: np.ndarray, upper_to_lower: bool = False) -> None:
    """Copy one triangle of a square matrix onto the other, in blocks (no p x p temporaries)."""
    p, bs = G.shape[0], 512
    for i in range(0, p, bs):
        i1 = min(p, i + bs)
        D = G[i:i1, i:i1]
        if upper_to_lower:
            G[i1:, i:i1] = G[i:i1, i1:].T
            D[...] = np.triu(D) + np.triu(D, 1).T
        else:
            G[i:i1, i1:] = G[i1:, i:i1].T
            D[...] = np.tril(D) + np.tril(D, -1).T


@dataclass
class Spectrum:
    """Eigenvalues of the smaller Gram matrix of ``2**-e * M``, ascending; ``G`` kept for compress."""

    ev: np.ndarray  # Gram eigenvalues of the scaled matrix (s**2 * 4**-e), ascending, >= 0
    e: int
    route: str  # "gram" or "svd"
    G: np.ndarray | None = None
    M: np.ndarray | None = None  # the scaled float64 matrix, when the SVD route needed it whole


def _full_matrix(ref: TensorRef, n: int, m: int, scale: float) -> np.ndarray:
    try:
        M = read_block(ref, 0, n, scale)[0]
    except _NonFinite:
        _raise_nonfinite(ref, n, m)
    return M


def spectrum_of(ref: TensorRef, method: str, *, keep_gram: bool = False) -> Spectrum:
    n, m = matrix_dims(ref)
    if method == "svd":
        M = _full_matrix(ref, n, m, 1.0)
        amax = float(np.abs(M).max())
        e = _scale_exponent(amax)
        if e:
            M *= 2.0**-e
        s = scipy.linalg.svdvals(M, check_finite=False)
        return Spectrum((s * s)[::-1].copy(), e, "svd", M=M if keep_gram else None)
    try:
        G, amax = _gram(ref, n, m, 1.0)
        e = _scale_exponent(amax)
        if e:
            G, _ = _gram(ref, n, m, 2.0**-e)
    except _NonFinite:
        _raise_nonfinite(ref, n, m)
    if keep_gram:
        _lower_to_upper(G)
        diag = np.diag(G).copy()
    # LAPACK's syevd (values only) destroys the lower triangle and the diagonal, and leaves the
    # strict upper triangle as it was: compress restores G from it instead of recomputing it.
    ev = scipy.linalg.eigvalsh(G, lower=True, overwrite_a=True, check_finite=False, driver="evd")
    ev = np.clip(ev, 0.0, None)
    top = ev[-1] if ev.size else 0.0
    if top > 0 and ev[ev.size // 2] < _GRAM_SPREAD_LIMIT * top:
        # The bulk sits at the Gram's rounding level: take the values from an SVD (needs the
        # whole matrix in memory) so that a huge spike is not mistaken for a rank-deficient bulk.
        del G
        M = _full_matrix(ref, n, m, 2.0**-e)
        s = scipy.linalg.svdvals(M, check_finite=False)
        return Spectrum((s * s)[::-1].copy(), e, "svd", M=M if keep_gram else None)
    if keep_gram:
        _lower_to_upper(G, upper_to_lower=True)
        G[np.diag_indices_from(G)] = diag
        return Spectrum(ev, e, "gram", G=G)
    return Spectrum(ev, e, "gram")


def unscale(value: float, power: int, what: str, name: str) -> float:
    try:
        out = math.ldexp(value, power) if power else value
    except OverflowError:
        out = math.inf
    if power and (not math.isfinite(out) or (value > 0 and out < 1e-290)):
        raise ValueError(
            f"weights[{name!r}]: the layer's {what} ({value:g} * 2**{power}) lies outside float64's "
            "range: its entries are too large or too small to analyse; rescale the weights"
        )
    return out

