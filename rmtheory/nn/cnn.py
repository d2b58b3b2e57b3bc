"""The convolutional network of the paper's §4.2.2–4.2.3 (Figs 7–11) as a model of the NumPy trainer.

:class:`CNN` chains layers of :mod:`rmtheory.nn.layers` and :mod:`rmtheory.nn.conv` and has the
:class:`~rmtheory.nn.MLP` interface the trainer, the pruners, the sparsifier and the checkpoints use
(``layers``, ``params()``, ``grads()``, ``forward``, ``backward``, ``n_params()``, ``n_nonzero()``,
``sizes``, ``dtype``, ``copy()``, ``predict``), plus ``input_shape`` (``(c, h, w)``: the trainer then
takes images ``(n, c, h, w)``) and ``training`` (batch norm and dropout behave differently in training
and evaluation; the trainer switches it).

:func:`authors_cnn` builds the authors' network (algorithms.md §2.4, their notebook's ``CNNModel``):

- for each convolution ``k = 0, 1, …``: 3×3 conv (stride 1, no padding) → ReLU → BatchNorm2d →
  2×2 max-pool if ``k`` is even and ``k != 0`` → dropout 0.35;
- flatten → Linear → BatchNorm1d → ReLU → dropout 0.5 → Linear (the output, plain logits).

With the code's channels ``[1, 32, 64, 128, 256, 512]`` on 28×28 images the maps go
28 → 26 → 24 → 22 → pool 11 → 9 → 7 → pool 3, so the head is ``[4608, 1000, 10]``; the paper's text
describes ``[1, 64, 128, 256, 512]`` (:data:`PAPER_CHANNELS`, head ``[41472, 1000, 10]``). Convolutions
start as PyTorch's ``Conv2d`` (kernel and bias U(±1/√fan_in)); linear layers as the authors'
``SplittableLinear`` (N(0, 1/fan_in), bias 0); batch norm at γ = 1, β = 0.

The authors' CNN has three bugs (algorithms.md §3 item 8), documented here and not copied:

1. ``F.log_softmax(x, dim=0)``: the log-softmax runs over the *batch* axis, so the NLL trains each
   class column to pick its sample out of the batch. Here the output is the logits and the trainer's
   cross-entropy normalises over the classes. ``paper_bugs=True`` appends
   :class:`~rmtheory.nn.conv.BatchLogSoftmax` (groups of 128 rows, their batch) and sets
   ``model.loss = "nll"``.
2. ``F.dropout(x, p)`` without ``training=self.training``: dropout stays on at test time (the test
   accuracy of a random sub-network). Here dropout is off in evaluation; ``paper_bugs=True`` keeps it
   on (:class:`~rmtheory.nn.conv.Dropout` ``always=True``).
3. The ReLU flags have the inverted meaning of the FC model's ``without_rel`` (True *applies* the
   ReLU). Their CNN cell sets them so that a ReLU follows every convolution and the first linear layer
   and none follows the output, which is what is built here — a naming bug without effect on the
   network, so it needs no switch.

Also not copied: the output BatchNorm1d the notebook builds but never applies (20 parameters it
counts and penalises) is not built, and further hidden linear layers (none in the default head) get a
ReLU where the code's flags would leave them linear.

Examples
--------
>>> import numpy as np
>>> net = authors_cnn(channels=(1, 4, 8, 8), fc=(16, 10), input_shape=(1, 12, 12), seed=0)
>>> net.sizes, net.input_shape
([72, 16, 10], (1, 12, 12))
>>> net.predict(np.zeros((3, 1, 12, 12), np.float32)).shape
(3, 10)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rmtheory._validation import rng as _rng
from rmtheory.nn.conv import (
    BatchLogSoftmax,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    MaxPool2d,
    _Workspaces,
)
from rmtheory.nn.layers import ACTIVATIONS, Layer
from rmtheory.nn.model import init_layer

__all__ = ["CNN", "authors_cnn", "AUTHORS_CHANNELS", "PAPER_CHANNELS", "FORMAT"]

#: The authors' notebook (CNN cell): five 3×3 convolutions.
AUTHORS_CHANNELS = (1, 32, 64, 128, 256, 512)
#: The paper's text (Example 4.5): four 3×3 convolutions.
PAPER_CHANNELS = (1, 64, 128, 256, 512)
#: Checkpoint format of a CNN (:mod:`rmtheory.nn.checkpoint` delegates to :meth:`CNN.checkpoint_arrays`).
FORMAT = "rmtheory.nn.cnn/1"
_TRANSIENT = ("_ws", "_wss", "_cur", "_x", "_perm", "_stats", "_shape", "_active", "_in")


def _layer_shapes(layers: Sequence[Any], input_shape: tuple[int, int, int]) -> list[tuple]:
    """Per-sample output shape of every layer (NHWC maps, then rows), checking that they chain."""
    c, h, w = input_shape
    shape: tuple = (h, w, c)
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2d | MaxPool2d | Flatten):
            if len(shape) != 3 and not isinstance(layer, Flatten):
                raise ValueError(f"layer {i} ({layer!r}) needs image maps, gets rows of {shape}")
            shape = layer.output_shape(shape)
        elif isinstance(layer, Layer):
            if len(shape) != 1 or shape[0] != layer.shape[1]:
                raise ValueError(
                    f"layer {i} ({layer!r}) takes rows of {layer.shape[1]}, gets {shape}"
                )
            shape = (layer.shape[0],)
        elif isinstance(layer, BatchNorm) and shape[-1] != layer.n_features:
            raise ValueError(
                f"layer {i} ({layer!r}) normalises {layer.n_features} channels, gets {shape}"
            )
        out.append(shape)
    if len(shape) != 1:
        raise ValueError(
            f"the network must end in rows (a Flatten, then linear layers), ends in {shape}"
        )
    return out


class CNN:
    """A feed-forward network of convolution, pooling, batch-norm, dropout, flatten and dense layers.

    Parameters
    ----------
    layers : sequence
        :class:`~rmtheory.nn.conv.Conv2d`, :class:`~rmtheory.nn.conv.MaxPool2d`,
        :class:`~rmtheory.nn.conv.BatchNorm`, :class:`~rmtheory.nn.conv.Dropout`,
        :class:`~rmtheory.nn.conv.Flatten`, :class:`~rmtheory.nn.layers.Layer` (and
        :class:`~rmtheory.nn.conv.BatchLogSoftmax` last), in order.
    input_shape : (int, int, int)
        ``(channels, height, width)`` of one image.
    dtype : numpy dtype
        float32 (default) or float64; every layer must hold this dtype.
    eval_chunk : int
        Evaluation runs in chunks of this many images (memory: the patch matrices grow with it).
    spec : dict, optional
        The builder's arguments, which :func:`rmtheory.nn.load_model` uses to rebuild the network.
    loss : {"cross_entropy", "nll"}
        The loss the network is meant to be trained with (``"nll"`` after a BatchLogSoftmax).

    Attributes
    ----------
    sizes : list of int
        Widths of the dense part, ``[flattened, hidden…, n_out]`` (the authors' ``fc_dims``).
    training : bool
        Training mode (batch statistics, dropout on) or evaluation mode.
    """

    def __init__(
        self,
        layers: Sequence[Any],
        input_shape: tuple[int, int, int],
        dtype: Any = np.float32,
        eval_chunk: int = 128,
        spec: dict | None = None,
        loss: str = "cross_entropy",
    ):
        self.layers = list(layers)
        if len(input_shape) != 3 or min(int(d) for d in input_shape) < 1:
            raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        if not (isinstance(eval_chunk, int) and eval_chunk >= 2):
            raise ValueError(f"eval_chunk must be an integer >= 2, got {eval_chunk!r}")
        self.eval_chunk = eval_chunk
        self.spec = spec
        self.loss = loss
        shapes = _layer_shapes(self.layers, self.input_shape)
        dense = [
            layer
            for layer in self.layers
            if isinstance(layer, Layer) and not isinstance(layer, Conv2d)
        ]
        if not dense:
            raise ValueError("a CNN needs at least one dense (Layer) output layer")
        self.sizes = [dense[0].shape[1]] + [layer.shape[0] for layer in dense]
        self.n_outputs = shapes[-1][0]
        for layer in self.layers:
            for p in layer.params():
                if p.dtype != self.dtype:
                    raise ValueError(f"{layer!r} holds {p.dtype}, the network is {self.dtype}")
        self._training = True
        self.training = True
        self._in: dict[int, np.ndarray] = {}

    # ----- mode --------------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self._training

    @training.setter
    def training(self, flag: bool) -> None:
        self._training = bool(flag)
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = self._training

    # ----- inspection --------------------------------------------------------------------------------
    def params(self) -> list[np.ndarray]:
        """All trainable arrays, layer by layer (kernels/weights and biases, batch-norm γ and β)."""
        return [p for layer in self.layers for p in layer.params()]

    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads]

    def n_params(self) -> int:
        """Trainable parameters (batch-norm γ, β included; running statistics are not parameters)."""
        return sum(layer.n_params() for layer in self.layers)

    def n_nonzero(self) -> int:
        return sum(layer.n_nonzero() for layer in self.layers)

    @property
    def matrix_layers(self) -> list[int]:
        """Indices of the layers Algorithm 1 acts on (convolutions and dense layers)."""
        return [i for i, layer in enumerate(self.layers) if isinstance(layer, Layer)]

    def copy(self) -> CNN:
        """An independent deep copy (weights, factor structure, running statistics, dropout streams),
        without the work arrays."""
        saved = [{k: layer.__dict__.pop(k) for k in _TRANSIENT if k in layer.__dict__}
                 for layer in self.layers]  # fmt: skip
        saved_in, self._in = self._in, {}
        try:
            new = copy.deepcopy(self)
        finally:
            for layer, d in zip(self.layers, saved, strict=True):
                layer.__dict__.update(d)
            self._in = saved_in
        for layer in new.layers:
            _reset_transient(layer)
        return new

    def __repr__(self) -> str:
        body = ", ".join(repr(layer) for layer in self.layers)
        return f"CNN(input {self.input_shape}, n_params={self.n_params()}, [{body}])"

    # ----- computation -------------------------------------------------------------------------------
    def _to_nhwc(self, X: np.ndarray) -> np.ndarray:
        N = X.shape[0]
        C, H, W = self.input_shape
        if X.shape[1:] != self.input_shape:
            if X.ndim == 2 and X.shape[1] == C * H * W:
                X = X.reshape(N, C, H, W)
            else:
                raise ValueError(f"X must have shape (n, {C}, {H}, {W}), got {X.shape}")
        X = np.asarray(X, dtype=self.dtype)
        if C == 1:
            return np.ascontiguousarray(X).reshape(N, H, W, 1)
        buf = self._in.get(N)
        if buf is None:
            if len(self._in) >= 4:
                self._in.pop(next(iter(self._in)))
            buf = self._in[N] = np.empty((N, H, W, C), self.dtype)
        buf[...] = X.transpose(0, 2, 3, 1)
        return buf

    def _forward(self, X: np.ndarray) -> np.ndarray:
        x = self._to_nhwc(X)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Outputs for a batch ``X`` (n, c, h, w); a reused buffer in training mode.

        In evaluation mode the batch is processed in chunks of ``eval_chunk`` images.
        """
        n = X.shape[0]
        if self.training or n <= self.eval_chunk:
            return self._forward(X)
        out = np.empty((n, self.n_outputs), self.dtype)
        for s in range(0, n, self.eval_chunk):
            out[s : s + self.eval_chunk] = self._forward(X[s : s + self.eval_chunk])
        return out

    def backward(self, dout: np.ndarray) -> None:
        """Gradients of the loss whose output gradient is ``dout`` (overwritten) into the layers' grads."""
        batch = dout.shape[0]
        for i in range(len(self.layers) - 1, -1, -1):
            dx = self.layers[i - 1].dz_buffer(batch) if i > 0 else None
            self.layers[i].backward(dout, dx)
            dout = dx

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Outputs for images ``X`` (n, c, h, w) in evaluation mode (the mode is restored after)."""
        X = np.asarray(X)
        C, H, W = self.input_shape
        if X.ndim == 2 and X.shape[1] == C * H * W:
            X = X.reshape(len(X), C, H, W)
        if X.shape[1:] != self.input_shape:
            raise ValueError(f"X must have shape (n, {C}, {H}, {W}), got {X.shape}")
        chunk = batch_size or self.eval_chunk
        previous = self.training
        self.training = False
        try:
            out = np.empty((len(X), self.n_outputs), self.dtype)
            for s in range(0, len(X), chunk):
                out[s : s + chunk] = self._forward(X[s : s + chunk])
        finally:
            self.training = previous
        return out

    # ----- checkpoints (rmtheory.nn.checkpoint delegates here) ----------------------------------------
    def _describe(self) -> list[str]:
        """One line per layer, identifying the architecture (not the factor structure or values)."""
        out = []
        for layer in self.layers:
            if isinstance(layer, Conv2d):
                out.append(f"Conv2d({layer.in_channels},{layer.out_channels},{layer.kernel_size},"
                           f"{layer.activation})")  # fmt: skip
            elif isinstance(layer, Layer):
                out.append(f"Layer({layer.shape[1]},{layer.shape[0]},{layer.activation})")
            else:
                out.append(repr(layer))
        return out

    def checkpoint_arrays(self) -> tuple[dict, dict]:
        """``(arrays, meta)`` for :mod:`rmtheory.nn.checkpoint`: factors and biases as an MLP's
        (``layer{i}_f{j}``, ``layer{i}_b``), batch-norm γ, β and running statistics, dropout streams."""
        arrays: dict[str, np.ndarray] = {}
        n_factors, dropout = [], {}
        for i, layer in enumerate(self.layers):
            factors = getattr(layer, "factors", [])
            n_factors.append(len(factors))
            for j, f in enumerate(factors):
                arrays[f"layer{i}_f{j}"] = f
            if isinstance(layer, Layer):
                arrays[f"layer{i}_b"] = layer.bias
            if isinstance(layer, BatchNorm):
                for name in ("gamma", "beta", "running_mean", "running_var"):
                    arrays[f"layer{i}_{name}"] = getattr(layer, name)
            if isinstance(layer, Dropout):
                dropout[str(i)] = layer.state_dict()
        meta = {
            "format": FORMAT,
            "sizes": self.sizes,
            "input_shape": list(self.input_shape),
            "layers": self._describe(),
            "dtype": self.dtype.name,
            "n_factors": n_factors,
            "dropout": dropout,
            "spec": self.spec,
            "loss": self.loss,
        }
        return arrays, meta

    def load_checkpoint_arrays(self, z: Any, meta: dict) -> None:
        """Give this network a checkpoint's weights, factor structure, statistics and dropout streams."""
        if meta.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} checkpoint (format {meta.get('format')!r})")
        if meta["layers"] != self._describe() or list(meta["input_shape"]) != list(
            self.input_shape
        ):
            raise ValueError(
                f"checkpoint is for the network {meta['layers']} on {meta['input_shape']}, "
                f"this one is {self._describe()} on {list(self.input_shape)}"
            )
        for i, (layer, nf) in enumerate(zip(self.layers, meta["n_factors"], strict=True)):
            if isinstance(layer, Layer):
                layer._install([z[f"layer{i}_f{j}"] for j in range(nf)], layer.shape)
                layer.bias[...] = z[f"layer{i}_b"]
            if isinstance(layer, BatchNorm):
                for name in ("gamma", "beta", "running_mean", "running_var"):
                    getattr(layer, name)[...] = z[f"layer{i}_{name}"]
            if isinstance(layer, Dropout):
                layer.load_state_dict(meta["dropout"][str(i)])

    @classmethod
    def from_checkpoint(cls, z: Any, meta: dict) -> CNN:
        """Rebuild a network saved by :func:`rmtheory.nn.save_model` (needs the builder's ``spec``)."""
        spec = meta.get("spec")
        if not spec:
            raise ValueError("this CNN checkpoint has no builder spec; build the network and load "
                             "the arrays with load_checkpoint_arrays")  # fmt: skip
        model = authors_cnn(**spec)
        model.load_checkpoint_arrays(z, meta)
        return model


def _reset_transient(layer: Any) -> None:
    """Fresh (empty) work arrays for a layer copied without them."""
    if isinstance(layer, Layer):
        layer._ws = {}
        if isinstance(layer, Conv2d):
            layer._wss, layer._perm = _Workspaces(), {}
    else:
        layer._wss, layer._cur = _Workspaces(), None
        if isinstance(layer, Dropout):
            layer._active = False


def authors_cnn(
    channels: Sequence[int] = AUTHORS_CHANNELS,
    fc: Sequence[int] = (1000, 10),
    input_shape: Sequence[int] | None = None,
    kernel_size: int = 3,
    conv_dropout: float = 0.35,
    fc_dropout: float = 0.5,
    final_activation: str | None = None,
    paper_bugs: bool = False,
    seed: int = 0,
    dtype: Any = np.float32,
    eval_chunk: int = 128,
) -> CNN:
    """The authors' CNN (module docstring): conv blocks with pooling after the even-numbered ones.

    Parameters
    ----------
    channels : sequence of int
        ``[in_channels, c_1, …, c_L]``: :data:`AUTHORS_CHANNELS` (default, the notebook) or
        :data:`PAPER_CHANNELS` (the paper's text), or narrower ones for quick runs.
    fc : sequence of int
        Widths after the flattened maps: hidden layers then the number of classes (the flattened
        width is computed, e.g. 4608 for the default on 28×28 images).
    input_shape : (c, h, w), optional
        Default ``(channels[0], 28, 28)``; CIFAR-10 is ``(3, 32, 32)`` (head [8192, 1000, 10]).
    kernel_size : int
    conv_dropout, fc_dropout : float
        Dropout after every conv block (0.35) and after the first linear block (0.5, ``F.dropout``'s
        default).
    final_activation : {None, "relu", "abs", "identity"}
        Activation on the output (None: plain logits, as the authors' CNN).
    paper_bugs : bool
        Reproduce the authors' batch-axis log-softmax and test-time dropout (module docstring); the
        network must then be trained with ``loss=model.loss`` (``"nll"``).
    seed : int
        Drives the initial weights and (through a second stream) the dropout masks: two networks
        with one seed start identical and draw identical masks.
    dtype : numpy dtype
    eval_chunk : int

    Returns
    -------
    CNN
    """
    spec = {
        "channels": [int(c) for c in channels],
        "fc": [int(w) for w in fc],
        "input_shape": None if input_shape is None else [int(d) for d in input_shape],
        "kernel_size": int(kernel_size),
        "conv_dropout": float(conv_dropout),
        "fc_dropout": float(fc_dropout),
        "final_activation": final_activation,
        "paper_bugs": bool(paper_bugs),
        "seed": seed if isinstance(seed, int) else None,
        "dtype": np.dtype(dtype).name,
        "eval_chunk": int(eval_chunk),
    }
    chans = spec["channels"]
    if len(chans) < 2 or min(chans) < 1:
        raise ValueError(f"channels must list >= 2 positive numbers, got {channels!r}")
    if len(spec["fc"]) < 1 or min(spec["fc"]) < 1:
        raise ValueError(f"fc must list >= 1 positive widths (hidden…, classes), got {fc!r}")
    final = "identity" if final_activation is None else final_activation
    if final not in ACTIVATIONS:
        raise ValueError(
            f"final_activation must be one of {ACTIVATIONS} or None, got {final_activation!r}"
        )
    shape = (chans[0], 28, 28) if input_shape is None else tuple(spec["input_shape"])
    if len(shape) != 3 or shape[0] != chans[0]:
        raise ValueError(f"input_shape must be (channels[0]={chans[0]}, h, w), got {input_shape!r}")
    dt = np.dtype(dtype)
    gen = _rng(seed)
    k = int(kernel_size)
    layers: list[Any] = []
    for i, (c_in, c_out) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
        bound = 1.0 / math.sqrt(
            c_in * k * k
        )  # PyTorch's Conv2d: kaiming_uniform_(a=√5) and its bias
        K = gen.uniform(-bound, bound, (c_out, c_in, k, k))
        b = gen.uniform(-bound, bound, c_out)
        layers += [Conv2d([K.astype(dt)], b.astype(dt), "relu"), BatchNorm(c_out, dtype=dt)]
        if i % 2 == 0 and i != 0:
            layers.append(MaxPool2d())
        layers.append(None)  # dropout, seeded below
    layers.append(Flatten())
    flat = _layer_shapes([la for la in layers if la is not None], shape)[-1][0]
    widths = [flat, *spec["fc"]]
    for j, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        W, b = init_layer(
            n_out, n_in, "normal", gen
        )  # the authors' SplittableLinear: N(0, 1/in), 0
        last = j == len(widths) - 2
        dense = Layer(
            [W.astype(dt)], b.astype(dt), final if last else ("identity" if j == 0 else "relu")
        )
        dense.kind = "dense"
        layers.append(dense)
        if j == 0 and not last:
            layers += [BatchNorm(n_out, activation="relu", dtype=dt), None]
    # dropout streams: independent of the weights' stream, reproducible from the seed
    drop_seed = int(gen.integers(2**63))
    rates = iter([conv_dropout] * (len(chans) - 1) + [fc_dropout])
    for i, layer in enumerate(layers):
        if layer is None:
            layers[i] = Dropout(next(rates), seed=np.random.default_rng([drop_seed, i]),
                                always=paper_bugs)  # fmt: skip
    loss = "cross_entropy"
    if paper_bugs:
        layers.append(BatchLogSoftmax(128))
        loss = "nll"
    return CNN(layers, shape, dtype=dt, eval_chunk=eval_chunk, spec=spec, loss=loss)
