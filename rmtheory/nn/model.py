"""The multilayer perceptron of the paper's experiments (algorithms.md §2.1).

``MLP([784, 1000, 1000, 10])`` builds three fully connected layers with ReLU after each hidden layer. The
final layer has no activation unless ``final_activation="relu"``, which is the paper's setting for
Tables 1–6 ("ReLU applied after every layer, including the final layer"). The classifier's logits go to a
log-softmax in the loss (see :mod:`rmtheory.nn.train`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from rmtheory._validation import rng as _rng
from rmtheory.nn.layers import ACTIVATIONS, Layer

INITS = ("normal", "he", "xavier", "pytorch", "sparse")


def init_layer(
    fan_out: int, fan_in: int, init: str, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (W, b) in float64 for one layer.

    ``normal``: W ~ N(0, 1/fan_in), b = 0 (the authors' ``SplittableLinear`` and the paper's default);
    ``he``: N(0, 2/fan_in); ``xavier``: N(0, 2/(fan_in + fan_out)) (both with b = 0); ``pytorch``: PyTorch's
    ``nn.Linear`` default, ``kaiming_uniform_(a=√5)`` = U(±1/√fan_in) for W and U(±1/√fan_in) for b;
    ``sparse`` draws like ``normal`` (the zeroing is done by :class:`MLP`).
    """
    shape = (fan_out, fan_in)
    if init in ("normal", "sparse"):
        return gen.standard_normal(shape) / np.sqrt(fan_in), np.zeros(fan_out)
    if init == "he":
        return gen.standard_normal(shape) * np.sqrt(2.0 / fan_in), np.zeros(fan_out)
    if init == "xavier":
        return gen.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out)), np.zeros(fan_out)
    bound = 1.0 / np.sqrt(fan_in)
    return gen.uniform(-bound, bound, shape), gen.uniform(-bound, bound, fan_out)


class MLP:
    """A fully connected network ``x ↦ act_L(W_L … act_1(W_1 x + b_1) … + b_L)``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_in, h_1, …, n_out]`` (at least two entries).
    activation : {"relu", "abs", "identity"}
        Activation after every hidden layer; ``abs`` is the theorems' ``|·|``.
    final_activation : {None, "relu", "abs", "identity"}
        Activation after the last layer; None means identity (plain logits). ``"relu"`` reproduces the
        paper's Tables 1–6.
    init : {"normal", "he", "xavier", "pytorch", "sparse"}
        Weight initialisation, see :func:`init_layer`. ``"sparse"`` is N(0, 1/fan_in) followed by zeroing a
        fraction ``sparsity`` of every weight matrix (paper §10.2).
    seed : int or numpy.random.Generator
        Drives the initialisation: two models with the same seed start from identical weights (the normal
        and the pruned net of one experiment). Draws are made in float64 then rounded, so a float32 and a
        float64 model with one seed agree to float32 precision.
    dtype : numpy dtype
        float32 (default, as PyTorch) or float64.
    sparsity : float, optional
        Fraction of weights (not biases) set to zero after the initialisation; default 0.5 for
        ``init="sparse"`` and 0 otherwise (any init may be sparsified this way, e.g. He + 50 %).

    Examples
    --------
    >>> net = MLP([784, 1000, 10], final_activation="relu", seed=0)
    >>> net.n_params()
    795010
    >>> net.predict(np.zeros((2, 784), np.float32)).shape
    (2, 10)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        final_activation: str | None = None,
        init: str = "normal",
        seed: int | np.random.Generator = 0,
        dtype: type = np.float32,
        sparsity: float | None = None,
    ):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list >= 2 positive widths, got {sizes}")
        final = "identity" if final_activation is None else final_activation
        for name, act in (("activation", activation), ("final_activation", final)):
            if act not in ACTIVATIONS:
                raise ValueError(f"{name} must be one of {ACTIVATIONS} or None, got {act!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        sparsity = (0.5 if init == "sparse" else 0.0) if sparsity is None else float(sparsity)
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity must lie in [0, 1), got {sparsity}")
        gen = _rng(seed)
        self.sizes = sizes
        self.layers: list[Layer] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            W, b = init_layer(n_out, n_in, init, gen)
            if sparsity > 0:
                zero = gen.choice(W.size, size=round(sparsity * W.size), replace=False)
                W.flat[zero] = 0.0
            act = final if i == len(sizes) - 2 else activation
            self.layers.append(Layer([W.astype(self.dtype)], b.astype(self.dtype), act))

    # ----- inspection ------------------------------------------------------------------------------
    def params(self) -> list[np.ndarray]:
        """All trainable arrays, layer by layer (``[W, b]`` or ``[W1, W2, b]`` each)."""
        return [p for layer in self.layers for p in layer.params()]

    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads]

    def n_params(self) -> int:
        """Total parameter count, biases and both factors of split layers included."""
        return sum(layer.n_params() for layer in self.layers)

    def n_nonzero(self) -> int:
        """Number of nonzero parameters (biases included), the x-axis of Figs 6, 9, 11."""
        return sum(layer.n_nonzero() for layer in self.layers)

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    def copy(self) -> MLP:
        """An independent deep copy (weights, factor structure, activations)."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        body = ", ".join(repr(layer) for layer in self.layers)
        return f"MLP({self.sizes}, n_params={self.n_params()}, [{body}])"

    # ----- computation -----------------------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Network output for a batch, in a reused buffer (valid until the next same-size call)."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dout: np.ndarray) -> None:
        """Gradients of the loss whose output gradient is ``dout`` (overwritten) into ``layer.grads``."""
        for i in range(len(self.layers) - 1, -1, -1):
            dx = self.layers[i - 1].dz_buffer(dout.shape[0]) if i > 0 else None
            self.layers[i].backward(dout, dx)
            dout = dx

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Outputs (logits, after the final activation) for ``X`` of shape (n, sizes[0]), batched."""
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n, {self.sizes[0]}), got {X.shape}")
        out = np.empty((X.shape[0], self.sizes[-1]), self.dtype)
        for s in range(0, X.shape[0], batch_size):
            out[s : s + batch_size] = self.forward(X[s : s + batch_size])
        return out
