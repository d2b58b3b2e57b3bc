"""Fully connected layers, dense or factorised, with hand-written forward and backward passes.

A dense layer computes ``a = act(x Wᵀ + b)``; a factorised layer (the split of Algorithm 1) computes
``a = act((x W1ᵀ) W2ᵀ + b)`` with ``W1`` of shape (k, in) and no bias, ``W2`` of shape (out, k) carrying the
bias and no activation between the factors. Weights are stored (out, in) as in PyTorch. The layer keeps its
parameters as ``factors`` (``[W]`` or ``[W1, W2]``, applied left to right) plus ``bias``; ``params()`` and
``grads`` list them in that order, which is what the optimiser, the penalties and the checkpoints use.

Work arrays are allocated once per batch size and reused, so a training step allocates almost nothing.
"""

from __future__ import annotations

import numba
import numpy as np

ACTIVATIONS = ("relu", "abs", "identity")
# batch sizes kept at once: training batch, last partial batch, evaluation chunk, its remainder
_MAX_WORKSPACES = 4


# ----- fused elementwise passes -------------------------------------------------------------------------
# Each kernel does in one pass what NumPy did in two or three, with the same operations in the same
# order and the same dtype, so results are bit-identical (tests/test_nn_layers.py checks it against the
# NumPy passes, signed zeros and NaN included). Single-threaded: BLAS owns the cores.
@numba.njit(cache=True, nogil=True)
def _bias_relu(z, b, zero):  # pragma: no cover - compiled
    """``z = maximum(z + b, 0)`` in place (NumPy's maximum: NaN propagates, -0 becomes +0)."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + b[j]
            z[i, j] = v if (v > zero or v != v) else zero


@numba.njit(cache=True, nogil=True)
def _bias_add(z, b):  # pragma: no cover - compiled
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] + b[j]


@numba.njit(cache=True, nogil=True)
def _relu_grad_bias(dz, a, gb, zero, one):  # pragma: no cover - compiled
    """``dz *= (a > 0)`` in place and ``gb = dz.sum(axis=0)`` (rows added in order from +0, as NumPy)."""
    for j in range(gb.shape[0]):
        gb[j] = zero
    for i in range(dz.shape[0]):
        for j in range(dz.shape[1]):
            d = dz[i, j] * (one if a[i, j] > zero else zero)
            dz[i, j] = d
            gb[j] += d


@numba.njit(cache=True, nogil=True)
def _column_sums(dz, gb, zero):  # pragma: no cover - compiled
    """``gb = dz.sum(axis=0)``: rows added in order from +0, as NumPy reduces a C array's axis 0."""
    for j in range(gb.shape[0]):
        gb[j] = zero
    for i in range(dz.shape[0]):
        for j in range(dz.shape[1]):
            gb[j] += dz[i, j]


@numba.njit(cache=True, nogil=True)
def _outer(a, b, out, zero):  # pragma: no cover - compiled
    """``out = a @ b`` for an inner dimension of 1, as NumPy's loop computes it (``0 + a*b``)."""
    for i in range(out.shape[0]):
        ai = a[i, 0]
        for j in range(out.shape[1]):
            out[i, j] = zero + ai * b[0, j]


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``np.matmul(a, b, out=out)``; a rank-1 product (inner dimension 1, which NumPy does not hand to
    BLAS and runs 20x slower than a multiply) goes through :func:`_outer` with the same result."""
    if a.shape[1] == 1:
        _outer(a, b, out, out.dtype.type(0))
    else:
        np.matmul(a, b, out=out)


class Layer:
    """One fully connected layer, dense (``[W]``) or factorised (``[W1, W2]``).

    Parameters
    ----------
    factors : list of ndarray
        ``[W]`` with W of shape (out, in), or ``[W1, W2]`` with W1 (k, in) and W2 (out, k).
    bias : ndarray, shape (out,)
    activation : {"relu", "abs", "identity"}
        ``abs`` is the absolute value used by the paper's theorems.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Layer([np.eye(3, dtype=np.float32)], np.zeros(3, np.float32), "abs")
    >>> layer.forward(np.array([[-1.0, 2.0, 0.5]], np.float32)).tolist()
    [[1.0, 2.0, 0.5]]
    >>> layer.set_factors(np.ones((1, 3)), np.ones((3, 1)))
    >>> layer.rank, layer.n_params()
    (1, 9)
    """

    def __init__(self, factors: list[np.ndarray], bias: np.ndarray, activation: str = "relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        bias = np.asarray(bias)
        if bias.ndim != 1 or not np.issubdtype(bias.dtype, np.floating):
            raise ValueError(f"bias must be a 1-D float array, got shape {bias.shape} {bias.dtype}")
        self.activation = activation
        self.bias = np.array(bias, order="C")
        self.dtype = self.bias.dtype
        self._zero, self._one = self.dtype.type(0), self.dtype.type(1)  # the kernels' constants
        self.version = 0  # bumped by set_dense / set_factors so the trainer sees structural changes
        self._install(factors, self.shape_from(factors))

    # ----- structure -------------------------------------------------------------------------------
    @staticmethod
    def shape_from(factors: list[np.ndarray]) -> tuple[int, int]:
        return int(factors[-1].shape[0]), int(factors[0].shape[1])

    def _install(self, factors: list[np.ndarray], shape: tuple[int, int]) -> None:
        if len(factors) not in (1, 2) or any(np.ndim(f) != 2 for f in factors):
            raise ValueError("factors must be [W] or [W1, W2] with 2-D arrays")
        if len(factors) == 2 and factors[0].shape[0] != factors[1].shape[1]:
            raise ValueError(
                f"W1 has {factors[0].shape[0]} rows but W2 has {factors[1].shape[1]} columns"
            )
        if self.shape_from(factors) != shape or shape[0] != self.bias.shape[0]:
            raise ValueError(
                f"factors give shape {self.shape_from(factors)}, the layer is {shape} (out, in)"
            )
        self.factors = [np.array(f, dtype=self.dtype, order="C") for f in factors]
        self.grads = [np.zeros_like(p) for p in self.params()]
        self._ws: dict[int, dict[str, np.ndarray]] = {}
        self.version += 1

    def set_dense(self, W: np.ndarray) -> None:
        """Replace the weight by the dense (out, in) matrix ``W`` (copied); the bias is kept."""
        self._install([np.asarray(W)], self.shape)

    def set_factors(self, W1: np.ndarray, W2: np.ndarray) -> None:
        """Replace the weight by ``W2 @ W1`` kept as factors (W1: k×in, W2: out×k); bias kept."""
        self._install([np.asarray(W1), np.asarray(W2)], self.shape)

    @property
    def shape(self) -> tuple[int, int]:
        """(out, in) of the effective weight."""
        return self.shape_from(self.factors)

    @property
    def is_factorised(self) -> bool:
        return len(self.factors) == 2

    @property
    def rank(self) -> int:
        """k for a factorised layer, min(out, in) for a dense one (the rank bound, not numerical)."""
        return self.factors[0].shape[0] if self.is_factorised else min(self.shape)

    @property
    def weight(self) -> np.ndarray:
        """The effective (out, in) weight, ``W`` or ``W2 @ W1`` (formed on demand, a new array)."""
        return self.factors[1] @ self.factors[0] if self.is_factorised else self.factors[0].copy()

    @property
    def W1(self) -> np.ndarray | None:
        return self.factors[0] if self.is_factorised else None

    @property
    def W2(self) -> np.ndarray | None:
        return self.factors[1] if self.is_factorised else None

    def params(self) -> list[np.ndarray]:
        """The trainable arrays: ``[W, b]`` or ``[W1, W2, b]``."""
        return [*self.factors, self.bias]

    def n_params(self) -> int:
        """out·in + out (dense) or k·(in + out) + out (factorised)."""
        return sum(p.size for p in self.params())

    def n_nonzero(self) -> int:
        return sum(int(np.count_nonzero(p)) for p in self.params())

    def __repr__(self) -> str:
        kind = f"factorised k={self.rank}" if self.is_factorised else "dense"
        return f"Layer({self.shape[1]}->{self.shape[0]}, {kind}, {self.activation})"

    # ----- computation -----------------------------------------------------------------------------
    def _workspace(self, batch: int) -> dict[str, np.ndarray]:
        ws = self._ws.get(batch)
        if ws is None:
            if len(self._ws) >= _MAX_WORKSPACES:
                self._ws.pop(next(iter(self._ws)))
            out, k = self.shape[0], self.rank
            ws = {"z": np.empty((batch, out), self.dtype), "dz": np.empty((batch, out), self.dtype)}
            if self.activation == "abs":
                ws["a"] = np.empty((batch, out), self.dtype)
            if self.is_factorised:
                ws["h"] = np.empty((batch, k), self.dtype)
                ws["dh"] = np.empty((batch, k), self.dtype)
            self._ws[batch] = ws
        return ws

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``act(x Wᵀ + b)`` in a reused buffer (valid until the next call with this batch size).

        The input is remembered for :meth:`backward`. A factorised layer never forms ``W2 @ W1``.
        """
        ws = self._workspace(x.shape[0])
        z = ws["z"]
        if self.is_factorised:
            np.matmul(x, self.factors[0].T, out=ws["h"])
            _matmul(ws["h"], self.factors[1].T, z)
        else:
            np.matmul(x, self.factors[0].T, out=z)
        self._x, self._cur = x, ws
        if self.activation == "relu":  # in place: the mask z > 0 survives in the output
            _bias_relu(z, self.bias, self._zero)
            return z
        _bias_add(z, self.bias)
        if self.activation == "abs":
            return np.abs(z, out=ws["a"])
        return z

    def dz_buffer(self, batch: int) -> np.ndarray:
        """Where the next layer writes ∂loss/∂(this layer's output) for a batch of this size."""
        return self._workspace(batch)["dz"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        """Back-propagate ``dz`` = ∂loss/∂output of the last :meth:`forward` call.

        Fills ``self.grads`` (same order as :meth:`params`); ``dz`` is overwritten. If ``dx`` is given,
        ∂loss/∂input is written there (skipped for the first layer, whose input needs no gradient).
        """
        ws, x = self._cur, self._x
        if self.activation == "relu":  # z holds relu(z); torch also uses the derivative 0 at 0
            _relu_grad_bias(dz, ws["z"], self.grads[-1], self._zero, self._one)
        else:
            if self.activation == "abs":
                dz *= np.sign(ws["z"], out=ws["z"])  # z is not needed any more
            _column_sums(dz, self.grads[-1], self._zero)
        if self.is_factorised:
            W1, W2 = self.factors
            np.matmul(dz.T, ws["h"], out=self.grads[1])
            np.matmul(dz, W2, out=ws["dh"])
            np.matmul(ws["dh"].T, x, out=self.grads[0])
            if dx is not None:
                _matmul(ws["dh"], W1, dx)
        else:
            np.matmul(dz.T, x, out=self.grads[0])
            if dx is not None:
                np.matmul(dz, self.factors[0], out=dx)
