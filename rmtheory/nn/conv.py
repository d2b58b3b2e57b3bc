r"""Convolutional layers for the NumPy trainer: 2-D convolution, max-pooling, batch norm, dropout, flatten.

Images travel through a network in NHWC layout ``(batch, height, width, channels)``, so that one
convolution is one matrix product: the input patches are gathered (*im2col*, a numba kernel) into
``cols`` of shape ``(batch·oh·ow, kh·kw·in)`` and

.. math:: z = \mathrm{cols}\;W^\top + b,\qquad W \in \mathbb{R}^{\text{out}\times(\text{in}\cdot kh\cdot kw)},

which is the matrix view of Algorithm 1 (algorithms.md §1.5, paper §4.2.2): the kernel
``(out, in, kh, kw)`` reshaped to ``out × (in·kh·kw)`` as :func:`rmtheory.lowrank.conv_to_matrix` does.
Weights are stored in PyTorch's layout (columns ordered ``(in, kh, kw)``); the patches are gathered
in ``(kh, kw, in)`` order, which is three times faster, and the weight is permuted to match before
each product (a copy of the weight only, never of the activations).

A :class:`Conv2d` *is* a :class:`~rmtheory.nn.layers.Layer` with that matrix view: ``shape``,
``weight``, ``rank``, ``set_dense``, ``set_factors``, ``factors``, ``bias``, ``n_params`` mean what
they mean for a dense layer, so the pruners, the sparsifier, the optimiser and the checkpoints treat
both alike. The split of Algorithm 1 is ``W = W2 @ W1`` with ``W1`` of shape ``(k, in·kh·kw)``, i.e. a
convolution with ``k`` filters and no bias, followed by a 1×1 convolution ``W2`` ``(out, k)`` that
carries the bias — the authors' ``SplittableConv`` (``Conv2d(in, k, 3, bias=False)`` then
``Conv2d(k, out, 1)``).

Layers without a weight matrix (:class:`MaxPool2d`, :class:`BatchNorm`, :class:`Dropout`,
:class:`Flatten`, :class:`BatchLogSoftmax`) have no ``weight`` attribute, which is how the pruners know
to leave them alone, and no ``factors``, which is how the sparsifier does. :class:`BatchNorm` and
:class:`Dropout` behave differently in training and evaluation (their ``training`` attribute, set by
:class:`rmtheory.nn.cnn.CNN`).

Every layer follows the dense layer's protocol: ``forward(x)`` returns a buffer reused for the next
batch of the same shape and remembers what ``backward`` needs; ``dz_buffer(batch)`` is where the next
layer writes ∂loss/∂output; ``backward(dz, dx)`` fills ``grads`` and writes ∂loss/∂input into ``dx``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

from rmtheory._validation import rng as _rng
from rmtheory.nn.layers import Layer

__all__ = ["Conv2d", "MaxPool2d", "BatchNorm", "Dropout", "Flatten", "BatchLogSoftmax"]

_MAX_WORKSPACES = 4  # training batch, last partial batch, evaluation chunk, its remainder


# ----- numba kernels (single-threaded: BLAS owns the cores during the products) ------------------------
@numba.njit(cache=True, nogil=True)
def _im2col(x, cols, kh, kw):  # pragma: no cover - compiled
    """cols[(n, i, j), (a, b, c)] = x[n, i + a, j + b, c] (valid convolution, stride 1)."""
    N, H, W, C = x.shape
    OH, OW = H - kh + 1, W - kw + 1
    r = 0
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for a in range(kh):
                    for b in range(kw):
                        o = (a * kw + b) * C
                        for c in range(C):
                            cols[r, o + c] = x[n, i + a, j + b, c]
                r += 1


@numba.njit(cache=True, nogil=True)
def _col2im(dcols, dx, kh, kw):  # pragma: no cover - compiled
    """The adjoint of :func:`_im2col`: dx[n, i + a, j + b, c] += dcols[(n, i, j), (a, b, c)]."""
    N, H, W, C = dx.shape
    OH, OW = H - kh + 1, W - kw + 1
    dx[...] = 0
    r = 0
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for a in range(kh):
                    for b in range(kw):
                        o = (a * kw + b) * C
                        for c in range(C):
                            dx[n, i + a, j + b, c] += dcols[r, o + c]
                r += 1


@numba.njit(cache=True, nogil=True)
def _relu_backward(dz, z):  # pragma: no cover - compiled
    """dz *= (z > 0) in place, for flat arrays (z holds relu(pre-activation))."""
    for i in range(dz.size):
        if not z[i] > 0:
            dz[i] = 0


@numba.njit(cache=True, nogil=True)
def _maxpool2_forward(x, out, arg):  # pragma: no cover - compiled
    """2×2 max-pool, stride 2, floor mode; ``arg`` = position 0..3 of the first maximum (as torch)."""
    N, OH, OW, C = out.shape
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for c in range(C):
                    best = x[n, 2 * i, 2 * j, c]
                    k = 0
                    v = x[n, 2 * i, 2 * j + 1, c]
                    if v > best:
                        best = v
                        k = 1
                    v = x[n, 2 * i + 1, 2 * j, c]
                    if v > best:
                        best = v
                        k = 2
                    v = x[n, 2 * i + 1, 2 * j + 1, c]
                    if v > best:
                        best = v
                        k = 3
                    out[n, i, j, c] = best
                    arg[n, i, j, c] = k


@numba.njit(cache=True, nogil=True)
def _maxpool2_backward(dout, arg, dx):  # pragma: no cover - compiled
    N, OH, OW, C = dout.shape
    dx[...] = 0
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for c in range(C):
                    k = arg[n, i, j, c]
                    dx[n, 2 * i + k // 2, 2 * j + k % 2, c] = dout[n, i, j, c]


@numba.njit(cache=True, nogil=True)
def _bn_moments(x, mean, var):  # pragma: no cover - compiled
    """Per-column mean and biased variance of x (M, C), accumulated in float64."""
    M, C = x.shape
    s = np.zeros(C)
    q = np.zeros(C)
    for m in range(M):
        for c in range(C):
            v = np.float64(x[m, c])
            s[c] += v
            q[c] += v * v
    for c in range(C):
        mu = s[c] / M
        mean[c] = mu
        var[c] = max(q[c] / M - mu * mu, 0.0)


@numba.njit(cache=True, nogil=True)
def _bn_apply(x, scale, shift, y, relu):  # pragma: no cover - compiled
    M, C = x.shape
    for m in range(M):
        for c in range(C):
            v = x[m, c] * scale[c] + shift[c]
            if relu and v < 0:
                v = 0
            y[m, c] = v


@numba.njit(cache=True, nogil=True)
def _bn_backward(
    x, dy, y, mean, inv_std, gamma, relu, dgamma, dbeta, dx, want_dx
):  # pragma: no cover
    """Batch-norm backward over rows (training statistics), ReLU mask first when ``relu``."""
    M, C = x.shape
    s1 = np.zeros(C)
    s2 = np.zeros(C)
    for m in range(M):
        for c in range(C):
            d = dy[m, c]
            if relu and not y[m, c] > 0:
                d = 0
                dy[m, c] = 0
            s1[c] += d
            s2[c] += d * ((x[m, c] - mean[c]) * inv_std[c])
    for c in range(C):
        dbeta[c] = s1[c]
        dgamma[c] = s2[c]
    if want_dx:
        a = np.empty(C, dx.dtype)
        b = np.empty(C, dx.dtype)
        g = np.empty(C, dx.dtype)
        for c in range(C):
            g[c] = gamma[c] * inv_std[c]
            a[c] = s1[c] / M
            b[c] = s2[c] / M
        for m in range(M):
            for c in range(C):
                xh = (x[m, c] - mean[c]) * inv_std[c]
                dx[m, c] = g[c] * (dy[m, c] - a[c] - xh * b[c])


@numba.njit(cache=True, nogil=True)
def _dropout_forward(x, r, p, scale, out):  # pragma: no cover - compiled
    """out = x·mask with mask = scale·(r >= p); r is overwritten by the mask (for backward)."""
    for i in range(x.size):
        if r[i] >= p:
            r[i] = scale
            out[i] = x[i] * scale
        else:
            r[i] = 0
            out[i] = 0


# ----- helpers ----------------------------------------------------------------------------------------
def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if a < 1 or b < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return a, b


class _Workspaces:
    """Work arrays per input shape, at most ``_MAX_WORKSPACES`` of them (oldest dropped first)."""

    def __init__(self) -> None:
        self.store: dict[tuple, dict[str, np.ndarray]] = {}

    def get(self, key: tuple, make) -> dict[str, np.ndarray]:
        ws = self.store.get(key)
        if ws is None:
            if len(self.store) >= _MAX_WORKSPACES:
                self.store.pop(next(iter(self.store)))
            ws = self.store[key] = make()
        return ws

    def clear(self) -> None:
        self.store.clear()


class _NoMatrix:
    """Shared protocol of the layers without a weight matrix (never pruned, never sparsified)."""

    kind = "other"
    version = 0  # never changes: no pruner touches these layers

    def __init__(self) -> None:
        self._wss = _Workspaces()
        self._cur: dict[str, np.ndarray] | None = None
        self.grads: list[np.ndarray] = []

    def params(self) -> list[np.ndarray]:
        return []

    def n_params(self) -> int:
        return sum(p.size for p in self.params())

    def n_nonzero(self) -> int:
        return sum(int(np.count_nonzero(p)) for p in self.params())

    def dz_buffer(self, batch: int) -> np.ndarray:
        if self._cur is None or self._cur["dz"].shape[0] != batch:
            raise RuntimeError(
                f"{type(self).__name__}: no forward pass with batch {batch} to go back on"
            )
        return self._cur["dz"]

    def clear_workspaces(self) -> None:
        self._wss.clear()
        self._cur = None

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input ``shape`` (NHWC: (h, w, c))."""
        return tuple(shape)


# ----- convolution ------------------------------------------------------------------------------------
class Conv2d(Layer):
    """2-D convolution, stride 1, no padding, dense ``[K]`` or factorised ``[K1, K2]``, with activation.

    Parameters
    ----------
    factors : list of ndarray
        ``[K]`` with the kernel K of shape (out, in, kh, kw) or its matrix (out, in·kh·kw); or
        ``[K1, K2]`` with K1 (k, in, kh, kw) or (k, in·kh·kw) and K2 (out, k) or (out, k, 1, 1): the
        convolution with ``k`` filters followed by a 1×1 convolution (Algorithm 1's split).
    bias : ndarray, shape (out,)
    activation : {"relu", "abs", "identity"}
        Applied to the output (the authors' CNN: ReLU, then batch norm).
    kernel_size : int or (int, int), optional
        Needed only when the kernel is given as a matrix.

    The matrix view ``shape = (out, in·kh·kw)``, ``weight``, ``rank``, ``set_dense``, ``set_factors``
    are :class:`~rmtheory.nn.layers.Layer`'s; ``set_dense`` / ``set_factors`` also take 4-D kernels.
    ``kind = "conv"`` selects the convolution entry of a pruner's ``gof_cutoff`` mapping.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2d([np.ones((2, 1, 3, 3))], np.zeros(2), "identity")
    >>> conv.shape, conv.kernel_shape, conv.n_params()
    ((2, 9), (2, 1, 3, 3), 20)
    >>> conv.forward(np.ones((1, 4, 4, 1))).shape       # NHWC in, NHWC out
    (1, 2, 2, 2)
    >>> conv.set_factors(np.ones((1, 9)), np.ones((2, 1)))
    >>> conv.rank, conv.n_params()                       # 1 filter of 3×3, then a 1×1 conv
    (1, 13)
    """

    kind = "conv"

    def __init__(
        self,
        factors: Sequence[np.ndarray],
        bias: np.ndarray,
        activation: str = "relu",
        kernel_size: int | tuple[int, int] | None = None,
    ):
        factors = [np.asarray(f) for f in factors]
        if not factors or len(factors) > 2:
            raise ValueError("factors must be [K] or [K1, K2]")
        if factors[0].ndim == 4:
            ks = tuple(int(s) for s in factors[0].shape[2:])
            if kernel_size is not None and _pair(kernel_size, "kernel_size") != ks:
                raise ValueError(f"kernel_size {kernel_size!r} disagrees with the kernel's {ks}")
            kernel_size = ks
        if kernel_size is None:
            raise ValueError("kernel_size is needed when the kernel is given as a matrix")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        super().__init__(self._matrices(factors), bias, activation)
        kk = self.kernel_size[0] * self.kernel_size[1]
        if self.shape[1] % kk:
            raise ValueError(
                f"the matrix has {self.shape[1]} columns, not a multiple of kh·kw = {kk}"
            )

    # ----- structure -------------------------------------------------------------------------------
    def _matrices(self, factors: Sequence[np.ndarray]) -> list[np.ndarray]:
        kh, kw = self.kernel_size
        out = []
        for j, f in enumerate(np.asarray(f) for f in factors):
            if f.ndim == 4:
                if j == 0 and f.shape[2:] != (kh, kw):
                    raise ValueError(f"kernel has spatial size {f.shape[2:]}, the layer {(kh, kw)}")
                if j == 1 and f.shape[2:] != (1, 1):
                    raise ValueError(f"the second factor must be a 1×1 kernel, got {f.shape}")
                f = f.reshape(f.shape[0], -1)
            out.append(f)
        return out

    def _install(self, factors: list[np.ndarray], shape: tuple[int, int]) -> None:
        super()._install(factors, shape)
        self._wss = _Workspaces()
        self._perm: dict[str, np.ndarray] = {}

    def set_dense(self, W: np.ndarray) -> None:
        """Replace the kernel by ``W``, a matrix (out, in·kh·kw) or a kernel (out, in, kh, kw); bias kept."""
        self._install(self._matrices([W]), self.shape)

    def set_factors(self, W1: np.ndarray, W2: np.ndarray) -> None:
        """Replace the kernel by the split ``W2 @ W1``: W1 (k, in·kh·kw) or (k, in, kh, kw) filters, then
        W2 (out, k) or (out, k, 1, 1) as a 1×1 convolution; bias kept."""
        self._install(self._matrices([W1, W2]), self.shape)

    @property
    def in_channels(self) -> int:
        return self.shape[1] // (self.kernel_size[0] * self.kernel_size[1])

    @property
    def out_channels(self) -> int:
        return self.shape[0]

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        """(out, in, kh, kw) of the effective kernel."""
        return (self.out_channels, self.in_channels, *self.kernel_size)

    @property
    def kernel(self) -> np.ndarray:
        """The effective kernel (out, in, kh, kw) (a new array; ``W2 @ W1`` reshaped if split)."""
        return self.weight.reshape(self.kernel_shape)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        h, w, c = shape
        kh, kw = self.kernel_size
        if c != self.in_channels or h < kh or w < kw:
            raise ValueError(
                f"input (h, w, c) = {tuple(shape)} does not fit a {kh}×{kw} kernel on "
                f"{self.in_channels} channels"
            )
        return h - kh + 1, w - kw + 1, self.out_channels

    def clear_workspaces(self) -> None:
        self._wss.clear()
        self._perm = {}

    def __repr__(self) -> str:
        kind = f"factorised k={self.rank}" if self.is_factorised else "dense"
        kh, kw = self.kernel_size
        return (
            f"Conv2d({self.in_channels}->{self.out_channels}, {kh}x{kw}, {kind}, {self.activation})"
        )

    # ----- computation -----------------------------------------------------------------------------
    def _permuted(self, name: str, M: np.ndarray) -> np.ndarray:
        """``M`` (rows, in·kh·kw) with columns reordered (in, kh, kw) → (kh, kw, in), as the patches."""
        C = self.in_channels
        kh, kw = self.kernel_size
        if C == 1 or kh * kw == 1:
            return M  # the two orders coincide
        buf = self._perm.get(name)
        if buf is None or buf.shape != M.shape:
            buf = self._perm[name] = np.empty_like(M)
        buf.reshape(M.shape[0], kh, kw, C)[...] = M.reshape(M.shape[0], C, kh, kw).transpose(
            0, 2, 3, 1
        )
        return buf

    def _unpermute(self, G: np.ndarray, out: np.ndarray) -> None:
        """Inverse of :meth:`_permuted`, written into ``out`` (a gradient in PyTorch's column order)."""
        C = self.in_channels
        kh, kw = self.kernel_size
        if C == 1 or kh * kw == 1:
            if G is not out:
                out[...] = G
            return
        out.reshape(G.shape[0], C, kh, kw)[...] = G.reshape(G.shape[0], kh, kw, C).transpose(
            0, 3, 1, 2
        )

    def _make_workspace(self, N: int, H: int, W: int) -> dict[str, np.ndarray]:
        OH, OW, O = self.output_shape((H, W, self.in_channels))
        M = N * OH * OW
        ws = {
            "cols": np.empty((M, self.shape[1]), self.dtype),
            "z": np.empty((N, OH, OW, O), self.dtype),
            "dz": np.empty((N, OH, OW, O), self.dtype),
        }
        if self.activation == "abs":
            ws["a"] = np.empty((N, OH, OW, O), self.dtype)
        if self.is_factorised:
            ws["h"] = np.empty((M, self.rank), self.dtype)
            ws["dh"] = np.empty((M, self.rank), self.dtype)
        return ws

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``act(conv(x, K) + b)`` for NHWC ``x`` (batch, h, w, in), in a reused buffer (NHWC)."""
        if x.ndim != 4 or not x.flags.c_contiguous:
            raise ValueError(f"Conv2d expects a C-contiguous NHWC batch, got shape {x.shape}")
        N, H, W, _ = x.shape
        ws = self._wss.get((N, H, W), lambda: self._make_workspace(N, H, W))
        cols, z = ws["cols"], ws["z"]
        _im2col(x, cols, *self.kernel_size)
        z2 = z.reshape(-1, self.shape[0])
        W1 = self._permuted("w0", self.factors[0])
        if self.is_factorised:
            np.matmul(cols, W1.T, out=ws["h"])
            np.matmul(ws["h"], self.factors[1].T, out=z2)
        else:
            np.matmul(cols, W1.T, out=z2)
        z2 += self.bias
        self._x, self._cur = x, ws
        if self.activation == "relu":
            return np.maximum(z, 0, out=z)
        if self.activation == "abs":
            return np.abs(z, out=ws["a"])
        return z

    def dz_buffer(self, batch: int) -> np.ndarray:
        if self._cur is None or self._cur["dz"].shape[0] != batch:
            raise RuntimeError(f"Conv2d: no forward pass with batch {batch} to go back on")
        return self._cur["dz"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        """Fill ``grads`` from ``dz`` = ∂loss/∂output (NHWC, overwritten); ∂loss/∂input into ``dx``."""
        ws = self._cur
        z = ws["z"]
        if self.activation == "relu":
            _relu_backward(dz.reshape(-1), z.reshape(-1))
        elif self.activation == "abs":
            dz *= np.sign(z, out=z)
        dz2 = dz.reshape(-1, self.shape[0])
        cols = ws["cols"]
        np.sum(dz2, axis=0, out=self.grads[-1])
        W1 = self._permuted("w0", self.factors[0])  # the weights have not moved since forward
        if self.is_factorised:
            np.matmul(dz2.T, ws["h"], out=self.grads[1])
            np.matmul(dz2, self.factors[1], out=ws["dh"])
            back = ws["dh"]
        else:
            back = dz2
        if W1 is self.factors[0]:  # the patch and kernel column orders coincide
            np.matmul(back.T, cols, out=self.grads[0])
        else:
            g0 = self._perm.get("g0")
            if g0 is None or g0.shape != self.factors[0].shape:
                g0 = self._perm["g0"] = np.empty_like(self.factors[0])
            np.matmul(back.T, cols, out=g0)
            self._unpermute(g0, self.grads[0])
        if dx is not None:
            np.matmul(back, W1, out=cols)  # the patches are not needed any more
            _col2im(cols, dx, *self.kernel_size)


# ----- pooling ----------------------------------------------------------------------------------------
class MaxPool2d(_NoMatrix):
    """2×2 max-pooling with stride 2 (``F.max_pool2d(x, 2)``: floor mode, the first maximum wins ties).

    >>> import numpy as np
    >>> MaxPool2d().forward(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """

    kind = "pool"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        h, w, c = shape
        if h < 2 or w < 2:
            raise ValueError(f"cannot 2×2-pool a {h}×{w} map")
        return h // 2, w // 2, c

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, H, W, C = x.shape
        oh, ow, _ = self.output_shape((H, W, C))

        def make():
            return {
                "out": np.empty((N, oh, ow, C), x.dtype),
                "arg": np.empty((N, oh, ow, C), np.int8),
                "dz": np.empty((N, oh, ow, C), x.dtype),
            }

        ws = self._wss.get(x.shape, make)
        _maxpool2_forward(x, ws["out"], ws["arg"])
        self._cur = ws
        return ws["out"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        if dx is not None:
            _maxpool2_backward(dz, self._cur["arg"], dx)

    def __repr__(self) -> str:
        return "MaxPool2d(2)"


# ----- batch normalisation ----------------------------------------------------------------------------
class BatchNorm(_NoMatrix):
    r"""Batch normalisation over all axes but the last (``BatchNorm2d`` on NHWC, ``BatchNorm1d`` on (N, C)).

    Training: :math:`y = \gamma\,(x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon} + \beta` with the batch mean and
    biased variance, and the running statistics updated as PyTorch does (``momentum`` 0.1, the unbiased
    variance in the running estimate). Evaluation: the running statistics. ``activation="relu"`` applies
    a ReLU after the normalisation (the authors' first fully connected block: Linear → BN → ReLU).

    Parameters
    ----------
    n_features : int
    eps, momentum : float
    activation : {"identity", "relu"}
    dtype : numpy dtype

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm(2)
    >>> y = bn.forward(np.array([[1.0, 5.0], [3.0, 5.0]], np.float32))
    >>> np.round(y, 3).tolist(), bn.running_mean.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [0.20000000298023224, 0.5])
    """

    kind = "batchnorm"

    def __init__(
        self,
        n_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        activation: str = "identity",
        dtype: Any = np.float32,
    ):
        super().__init__()
        if activation not in ("identity", "relu"):
            raise ValueError(f"activation must be 'identity' or 'relu', got {activation!r}")
        if not (isinstance(n_features, int | np.integer) and n_features >= 1):
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
        if not (0 < eps and 0 <= momentum <= 1):
            raise ValueError(f"need eps > 0 and 0 <= momentum <= 1, got {eps!r}, {momentum!r}")
        self.dtype = np.dtype(dtype)
        self.activation = activation
        self.eps, self.momentum = float(eps), float(momentum)
        self.gamma = np.ones(int(n_features), self.dtype)
        self.beta = np.zeros(int(n_features), self.dtype)
        self.running_mean = np.zeros(int(n_features), self.dtype)
        self.running_var = np.ones(int(n_features), self.dtype)
        self.grads = [np.zeros_like(self.gamma), np.zeros_like(self.beta)]
        self.training = True
        self._cur_training = False

    @property
    def n_features(self) -> int:
        return self.gamma.size

    def params(self) -> list[np.ndarray]:
        return [self.gamma, self.beta]

    def forward(self, x: np.ndarray) -> np.ndarray:
        C = self.n_features
        if x.shape[-1] != C or not x.flags.c_contiguous:
            raise ValueError(f"BatchNorm({C}) expects C-contiguous input (..., {C}), got {x.shape}")

        def make():
            return {"y": np.empty(x.shape, x.dtype), "dz": np.empty(x.shape, x.dtype)}

        ws = self._wss.get(x.shape, make)
        x2, y2 = x.reshape(-1, C), ws["y"].reshape(-1, C)
        M = x2.shape[0]
        if self.training:
            if M < 2:
                raise ValueError(
                    "batch norm in training mode needs more than one value per channel"
                )
            mean, var = np.empty(C), np.empty(C)
            _bn_moments(x2, mean, var)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += (m * mean).astype(self.dtype)
            self.running_var *= 1 - m
            self.running_var += (m * var * (M / (M - 1))).astype(self.dtype)
            self._stats = (mean.astype(x.dtype), inv_std.astype(x.dtype))
            mean_t, inv_t = self._stats
        else:
            mean_t = self.running_mean
            inv_t = (1.0 / np.sqrt(self.running_var.astype(np.float64) + self.eps)).astype(x.dtype)
        scale = self.gamma * inv_t
        shift = self.beta - mean_t * scale
        _bn_apply(x2, scale, shift, y2, self.activation == "relu")
        self._x, self._cur, self._cur_training = x, ws, self.training
        return ws["y"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        if not self._cur_training:
            raise RuntimeError("BatchNorm: backward after an evaluation-mode forward pass")
        C = self.n_features
        mean, inv_std = self._stats
        x2 = self._x.reshape(-1, C)
        dx2 = dx.reshape(-1, C) if dx is not None else x2[:0]
        _bn_backward(x2, dz.reshape(-1, C), self._cur["y"].reshape(-1, C), mean, inv_std,
                     self.gamma, self.activation == "relu", self.grads[0], self.grads[1], dx2,
                     dx is not None)  # fmt: skip

    def __repr__(self) -> str:
        act = "" if self.activation == "identity" else f", {self.activation}"
        return f"BatchNorm({self.n_features}{act})"


# ----- dropout ----------------------------------------------------------------------------------------
class Dropout(_NoMatrix):
    """Inverted dropout: in training, zero each value with probability ``p`` and scale the rest by 1/(1-p).

    The masks come from the layer's own generator (``seed``), whose state the checkpoints save, so a
    resumed run draws the same masks. ``always=True`` keeps dropout on in evaluation too — the authors'
    ``F.dropout(x, p)`` without ``training=self.training`` (algorithms.md §3 item 8), off by default.

    >>> import numpy as np
    >>> d = Dropout(0.5, seed=0)
    >>> out = d.forward(np.ones((1, 8), np.float32))
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    >>> d.training = False
    >>> d.forward(np.ones((1, 8), np.float32)).tolist() == np.ones((1, 8)).tolist()
    True
    """

    kind = "dropout"

    def __init__(self, p: float, seed: int | np.random.Generator = 0, always: bool = False):
        super().__init__()
        if not (isinstance(p, int | float) and 0 <= p < 1):
            raise ValueError(f"p must lie in [0, 1), got {p!r}")
        self.p = float(p)
        self.gen = _rng(seed)
        self.always = bool(always)
        self.training = True
        self._active = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._active = (self.training or self.always) and self.p > 0
        ws = self._wss.get(x.shape, dict)  # filled on demand: evaluation needs no buffers
        self._cur, self._in = ws, (x.shape, x.dtype)
        if not self._active:
            return x
        if "mask" not in ws:
            ws["mask"], ws["out"] = np.empty(x.shape, x.dtype), np.empty(x.shape, x.dtype)
        mask = ws["mask"]
        self.gen.random(dtype=x.dtype.type, out=mask)
        _dropout_forward(x.reshape(-1), mask.reshape(-1), x.dtype.type(self.p),
                         x.dtype.type(1.0 / (1.0 - self.p)), ws["out"].reshape(-1))  # fmt: skip
        return ws["out"]

    def dz_buffer(self, batch: int) -> np.ndarray:
        if self._cur is None or self._in[0][0] != batch:
            raise RuntimeError(f"Dropout: no forward pass with batch {batch} to go back on")
        if "dz" not in self._cur:
            self._cur["dz"] = np.empty(*self._in)
        return self._cur["dz"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        if dx is None:
            return
        if self._active:
            np.multiply(dz, self._cur["mask"], out=dx)
        else:  # p = 0 (or evaluation): the identity
            dx[...] = dz

    def state_dict(self) -> dict:
        return {"rng": self.gen.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.gen.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return f"Dropout({self.p:g}{', always' if self.always else ''})"


# ----- flatten ----------------------------------------------------------------------------------------
class Flatten(_NoMatrix):
    """NHWC maps (batch, h, w, c) to rows (batch, c·h·w) in PyTorch's (c, h, w) order.

    The order makes the next dense weight the one ``torch.flatten`` on NCHW would meet, so weights move
    between this trainer and PyTorch unchanged.
    """

    kind = "flatten"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int]:
        return (int(math.prod(shape)),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, H, W, C = x.shape

        def make():
            return {
                "out": np.empty((N, C * H * W), x.dtype),
                "dz": np.empty((N, C * H * W), x.dtype),
            }

        ws = self._wss.get(x.shape, make)
        ws["out"].reshape(N, C, H, W)[...] = x.transpose(0, 3, 1, 2)
        self._shape, self._cur = x.shape, ws
        return ws["out"]

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        if dx is not None:
            N, H, W, C = self._shape
            dx[...] = dz.reshape(N, C, H, W).transpose(0, 2, 3, 1)

    def __repr__(self) -> str:
        return "Flatten()"


# ----- the authors' batch-axis log-softmax (a documented bug, off by default) --------------------------
class BatchLogSoftmax(_NoMatrix):
    """``F.log_softmax(x, dim=0)``: log-softmax over the *batch* axis, per class column.

    This is the authors' CNN output (algorithms.md §3 item 8); with ``F.nll_loss`` it trains on
    log-probabilities normalised across the samples of a batch, not across the classes. Rows are
    normalised in consecutive groups of ``group`` (the authors' batch of 128, in training and in their
    test loader), so evaluating in larger chunks gives what their loader gave. Train it with
    ``loss="nll"``. Only for reproducing their numbers; :func:`rmtheory.nn.cnn.authors_cnn` adds it
    with ``paper_bugs=True``.
    """

    kind = "logsoftmax"

    def __init__(self, group: int = 128):
        super().__init__()
        if not (isinstance(group, int) and group >= 1):
            raise ValueError(f"group must be a positive integer, got {group!r}")
        self.group = group

    def forward(self, x: np.ndarray) -> np.ndarray:
        def make():
            return {"out": np.empty(x.shape, x.dtype), "dz": np.empty(x.shape, x.dtype)}

        ws = self._wss.get(x.shape, make)
        out = ws["out"]
        for s in range(0, x.shape[0], self.group):
            blk = x[s : s + self.group]
            mx = blk.max(axis=0, keepdims=True)
            lse = np.log(np.exp(blk - mx).sum(axis=0, keepdims=True)) + mx
            np.subtract(blk, lse, out=out[s : s + self.group])
        self._cur = ws
        return out

    def backward(self, dz: np.ndarray, dx: np.ndarray | None = None) -> None:
        if dx is None:
            return
        out = self._cur["out"]
        for s in range(0, dz.shape[0], self.group):
            d = dz[s : s + self.group]
            dx[s : s + self.group] = d - np.exp(out[s : s + self.group]) * d.sum(
                axis=0, keepdims=True
            )

    def __repr__(self) -> str:
        return f"BatchLogSoftmax(group={self.group})"
