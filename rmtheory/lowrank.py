r"""Low-rank surgery on weight matrices: truncation, the paper's two-factor split, recombination,
and the reshape that lets the same routines act on convolution kernels.

The split of Algorithm 1 (algorithms.md §1.5 step 5): with the SVD :math:`W = U\,\mathrm{diag}(s)\,V^\top`
kept to rank :math:`k`,

.. math:: W_1 = \mathrm{diag}(\sqrt{s_{1:k}})\,V_{:,1:k}^\top\ (k\times\text{in}),\qquad
          W_2 = U_{:,1:k}\,\mathrm{diag}(\sqrt{s_{1:k}})\ (\text{out}\times k),

so :math:`W_2W_1` is the best rank-:math:`k` approximation (Eckart–Young) and the two factors
are balanced (equal singular values).  A layer ``x -> W x + b`` becomes ``x -> W2 (W1 x) + b``
with no activation in between.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from rmtheory._validation import finite_matrix, positive_int

__all__ = ["svd", "truncate", "factorize", "recombine", "conv_to_matrix", "matrix_to_conv"]


def svd(W: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``U, s, Vt`` by LAPACK ``gesdd`` (the one decomposition the routines below share)."""
    A = finite_matrix(W, "W")
    return scipy.linalg.svd(A, full_matrices=False, check_finite=False, lapack_driver="gesdd")


def _rank(rank: int, W_shape: tuple[int, int]) -> int:
    k = positive_int(rank, "rank", minimum=0)
    if k > min(W_shape):
        raise ValueError(f"rank must be <= min(shape) = {min(W_shape)}, got {k}")
    return k


def truncate(W: ArrayLike, rank: int, *, decomposition=None) -> np.ndarray:
    """Best rank-``rank`` approximation of ``W`` (Eckart–Young), same shape and dtype.

    ``decomposition`` may pass a precomputed ``svd(W)`` to avoid recomputing it.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.arange(12.0).reshape(3, 4)
    >>> int(np.linalg.matrix_rank(truncate(W, 1)))
    1
    """
    A = finite_matrix(W, "W")
    k = _rank(rank, A.shape)
    U, s, Vt = svd(A) if decomposition is None else decomposition
    return ((U[:, :k] * s[:k]) @ Vt[:k]).astype(A.dtype, copy=False)


def factorize(W: ArrayLike, rank: int, *, decomposition=None) -> tuple[np.ndarray, np.ndarray]:
    """Split ``W`` (out x in) into ``W1`` (rank x in) and ``W2`` (out x rank), ``W2 @ W1 ~ W``.

    ``W1 = diag(sqrt(s)) Vt`` and ``W2 = U diag(sqrt(s))`` over the top ``rank`` singular
    triplets (the paper's split); a rank-``k`` layer then has ``k * (in + out)`` weights.
    """
    A = finite_matrix(W, "W")
    k = _rank(rank, A.shape)
    U, s, Vt = svd(A) if decomposition is None else decomposition
    root = np.sqrt(s[:k])
    W1 = (Vt[:k] * root[:, None]).astype(A.dtype, copy=False)
    W2 = (U[:, :k] * root).astype(A.dtype, copy=False)
    return W1, W2


def recombine(W1: ArrayLike, W2: ArrayLike) -> np.ndarray:
    """``W2 @ W1``: the dense matrix of a factorised layer (Remark 4.1: re-split, never split factors)."""
    A1, A2 = np.asarray(W1), np.asarray(W2)
    if A1.ndim != 2 or A2.ndim != 2:
        raise ValueError(f"W1 and W2 must be 2-D, got shapes {A1.shape} and {A2.shape}")
    if A1.shape[0] > 0:  # a rank-0 split (no rows/columns) is allowed and recombines to zeros
        A1, A2 = finite_matrix(A1, "W1"), finite_matrix(A2, "W2")
    if A2.shape[1] != A1.shape[0]:
        raise ValueError(
            f"W2 has {A2.shape[1]} columns but W1 has {A1.shape[0]} rows; expected W2 (out, k), W1 (k, in)"
        )
    return A2 @ A1


def conv_to_matrix(kernel: ArrayLike) -> np.ndarray:
    """Reshape a conv kernel ``(out, in, kh, kw)`` to the matrix ``(out, in * kh * kw)`` (a view)."""
    if kernel is None:
        raise TypeError("kernel must be a 4-D array (out, in, kh, kw), got None")
    K = np.asarray(kernel)
    if K.ndim != 4:
        raise ValueError(f"kernel must be 4-D (out, in, kh, kw), got shape {K.shape}")
    return K.reshape(K.shape[0], -1)


def matrix_to_conv(M: ArrayLike, kernel_shape: tuple[int, int, int, int]) -> np.ndarray:
    """Inverse of :func:`conv_to_matrix`; ``M`` may have fewer rows (a first factor ``W1``)."""
    if not isinstance(kernel_shape, tuple | list | np.ndarray) or np.ndim(kernel_shape) != 1:
        raise TypeError(
            f"kernel_shape must be a tuple (out, in, kh, kw) of ints, got {kernel_shape!r}"
        )
    if len(kernel_shape) != 4:
        raise ValueError(f"kernel_shape must be (out, in, kh, kw), got {kernel_shape!r}")
    _, cin, kh, kw = (positive_int(v, f"kernel_shape[{i}]") for i, v in enumerate(kernel_shape))
    if isinstance(M, np.ndarray) and M.ndim == 2 and M.shape == (0, cin * kh * kw):
        return M.reshape(0, cin, kh, kw)  # the first factor of a rank-0 layer: no filters
    A = finite_matrix(M, "M")
    if A.ndim != 2 or A.shape[1] != cin * kh * kw:
        raise ValueError(
            f"M must have shape (rows, {cin * kh * kw}) for kernel_shape {kernel_shape}, got {A.shape}"
        )
    return A.reshape(A.shape[0], cin, kh, kw)
