"""Training loop of the paper's experiments: SGD with momentum, L1/L2 penalties, pruning hooks, checkpoints.

The loop follows the authors' code (algorithms.md §2.1): mini-batches of 128 drawn by a seeded shuffle,
loss = mean NLL of the log-softmax of the (possibly ReLU'd) logits + λ1·Σ|θ| + λ2·Σθ² over all parameters
biases included (added to the loss, so the gradient gets λ1·sign θ + 2λ2·θ; this is not weight decay), and
PyTorch's momentum rule ``buf ← μ·buf + g; θ ← θ − lr·buf`` (the first step, and the first after a momentum
reset, has ``buf = g``). The learning rate of epoch e is ``lr·lr_decay**e`` (the 0.96 of the authors' code,
applied every epoch) or constant when ``lr_decay`` is None.

Pruner protocol
---------------
A *pruner* (Algorithm 1, :mod:`rmtheory.nn.pruners`) or a *sparsifier* (:class:`~rmtheory.nn.Sparsifier`) is
any object with

``on_epoch_start(model, epoch, n_classes) -> list[dict]``
    Called BEFORE training epoch ``epoch`` (0-based, so ``epoch`` epochs have been completed; the authors'
    1-based "split at epoch E" is ``epoch = E - 1``); ``n_classes`` is the output width for cross-entropy and
    None for MSE. Changes of structure or shape go through ``layer.set_dense(W)`` /
    ``layer.set_factors(W1, W2)`` (which keep the bias and bump ``layer.version``); value-only edits such as
    zeroing weights may be done in place. Returns event records (dicts, JSON-serialisable, numpy scalars
    allowed, converted to plain types), which the trainer appends to ``History.events`` after adding
    ``"epoch"`` and ``"source"`` (the hook's class name).
``reset_momentum`` (attribute, optional, default False)
    If true and a layer changed, all momentum buffers are reset (as the authors re-create the optimiser).
    Otherwise buffers of unchanged layers are kept, and a changed layer keeps the buffers whose shapes did not
    change (always its bias) and gets zero buffers for the others. An event with ``"action":
    "momentum_reset"`` resets every buffer whether or not a layer changed (``reset_momentum="always"``
    on the pruners, :class:`~rmtheory.nn.pruners.MomentumReset`).
``state_dict() -> dict`` / ``load_state_dict(d)`` (optional)
    Saved in and restored from checkpoints; values may be JSON types or numpy arrays, nested freely.
``after_step(model)`` (optional)
    Called after every optimiser step (the sparsifier's fixed zero mask).

Each epoch the sparsifier is called before the pruner, as the authors sparsify at the end of an epoch and
split at the start of the next.

Models
------
Besides :class:`~rmtheory.nn.MLP`, any model with ``layers``, ``params()``, ``grads()``,
``forward``, ``backward``, ``n_params()``, ``n_nonzero()``, ``sizes`` (``sizes[-1]`` = outputs) and
``dtype`` trains here. A model with an ``input_shape`` attribute (e.g. ``(1, 28, 28)`` for
:class:`~rmtheory.nn.cnn.CNN`) takes X of shape ``(n, *input_shape)`` (rows of
``prod(input_shape)`` values are reshaped); a model with a ``training`` attribute is put in training
mode for the epoch and in evaluation mode for the test pass (batch norm, dropout).
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np
from tqdm.auto import tqdm

from rmtheory._validation import positive_int
from rmtheory._validation import rng as _rng
from rmtheory.nn import checkpoint as ckpt
from rmtheory.nn.history import History, TrainingDiverged
from rmtheory.nn.model import MLP

LOSSES = ("cross_entropy", "mse", "nll")
#: Losses on class labels: "nll" takes the model's outputs as log-probabilities (F.nll_loss), for a
#: model that ends in its own log-softmax (the authors' batch-axis one, :class:`rmtheory.nn.conv.BatchLogSoftmax`).
CLASSIFICATION = ("cross_entropy", "nll")
EVAL_CHUNK = 1024  # evaluation batch; only changes speed, not the numbers (beyond float rounding)


# ----- losses ----------------------------------------------------------------------------------------
def _cross_entropy(out: np.ndarray, y: np.ndarray, grad: bool) -> tuple:
    """Per-sample NLL of log_softmax(out), d(mean NLL)/d(out) = (softmax − onehot)/B, #correct."""
    rows = np.arange(len(y))
    z = out - out.max(axis=1, keepdims=True)  # stable log-softmax
    e = np.exp(z)
    s = e.sum(axis=1)
    nll = np.log(s) - z[rows, y]
    correct = int(np.count_nonzero(out.argmax(axis=1) == y))  # first maximum on ties, as torch
    if not grad:
        return nll, None, correct
    e /= s[:, None]
    e[rows, y] -= 1
    e *= 1.0 / len(y)
    return nll, e, correct


def _mse(out: np.ndarray, y: np.ndarray, grad: bool) -> tuple:
    """Per-sample mean squared error and d(mean over all entries)/d(out), as torch's MSELoss."""
    d = out - y
    per = np.mean(d * d, axis=1)
    if grad:
        d *= 2.0 / d.size
    return per, d if grad else None, math.nan


def _nll(out: np.ndarray, y: np.ndarray, grad: bool) -> tuple:
    """Per-sample −out[i, y_i] (``F.nll_loss`` on log-probabilities), its gradient, #correct."""
    rows = np.arange(len(y))
    nll = -out[rows, y]
    correct = int(np.count_nonzero(out.argmax(axis=1) == y))
    if not grad:
        return nll, None, correct
    d = np.zeros_like(out)
    d[rows, y] = -1.0 / len(y)
    return nll, d, correct


_LOSS_FN = {"cross_entropy": _cross_entropy, "mse": _mse, "nll": _nll}


def _set_training(model: Any, training: bool) -> bool | None:
    """Put a model with a train/eval distinction in the given mode; return the previous one."""
    previous = getattr(model, "training", None)
    if previous is not None:
        model.training = training
    return previous


# ----- optimiser -------------------------------------------------------------------------------------
# One fused pass (read θ, g, buf; write buf, θ) instead of four NumPy passes; the step is memory bound.
# Single-threaded on purpose: numba threads beside BLAS threads are slower on a busy machine. "reassoc"
# lets the penalty sums vectorise (10x faster); the result is still deterministic.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def _sgd_kernel(p, g, buf, lr, mu, l1, two_l2):  # pragma: no cover - compiled
    s1 = 0.0
    s2 = 0.0
    for i in range(p.size):
        t = p[i]
        d = g[i]
        if l1 != 0:
            s1 += abs(t)
            if t > 0:
                d += l1
            elif t < 0:
                d -= l1
        if two_l2 != 0:
            s2 += t * t
            d += two_l2 * t
        v = mu * buf[i] + d
        buf[i] = v
        p[i] = t - lr * v
    return s1, s2


@numba.njit(cache=True, nogil=True)
def _sgd_many(ps, gs, bs, lr, mu, l1, two_l2, sums):  # pragma: no cover - compiled
    """:func:`_sgd_kernel` on each array of the tuples in one compiled call (one dispatch per step
    instead of one per array, which is most of a small net's optimiser time); per-array sums."""
    for j in range(len(ps)):
        s1, s2 = _sgd_kernel(ps[j], gs[j], bs[j], lr, mu, l1, two_l2)
        sums[j, 0] = s1
        sums[j, 1] = s2


def _flat(arrays: Sequence[np.ndarray]) -> tuple:
    return tuple(a.reshape(-1) for a in arrays)


def _sgd_flat(ps: tuple, gs: tuple, bs: tuple, lr, momentum, l1, l2, sums: np.ndarray) -> float:
    """The fused step on flat views of one dtype (see :func:`sgd_step`); returns the penalty."""
    t = ps[0].dtype.type
    _sgd_many(ps, gs, bs, t(lr), t(momentum), t(l1), t(2 * l2), sums)
    if l1 == 0 and l2 == 0:
        return 0.0
    pen = 0.0
    for s1, s2 in sums.tolist():  # the per-array order of the unfused loop, so the sum is the same
        pen += l1 * s1 + l2 * s2
    return pen


def _check_step(params: Sequence, grads: Sequence, buffers: Sequence) -> None:
    if not (len(params) == len(grads) == len(buffers)):
        raise ValueError("params, grads and buffers must be sequences of equal length")
    for p, g, b in zip(params, grads, buffers, strict=True):
        if not (p.shape == g.shape == b.shape and p.flags.c_contiguous and g.flags.c_contiguous
                and b.flags.c_contiguous):  # fmt: skip
            raise ValueError(
                "params, grads and buffers must be C-contiguous arrays of equal shapes"
            )


def sgd_step(
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    buffers: Sequence[np.ndarray],
    lr: float,
    momentum: float,
    l1: float = 0.0,
    l2: float = 0.0,
) -> float:
    """One in-place SGD-with-momentum step (PyTorch rule, dampening 0, no Nesterov) with penalties.

    For each θ: ``g ← ∇loss + λ1·sign θ + 2λ2·θ``, ``buf ← μ·buf + g``, ``θ ← θ − lr·buf``. Zero buffers
    reproduce PyTorch's first step (``buf = g``). One fused pass per array, arithmetic in the arrays' dtype;
    arrays of one dtype go through one compiled call.
    Returns the penalty λ1·Σ|θ| + λ2·Σθ² at the θ before the step (what the authors add to the loss).
    """
    _check_step(params, grads, buffers)
    if not params:
        return 0.0
    if len({a.dtype for a in (*params, *grads, *buffers)}) == 1:
        sums = np.empty((len(params), 2))
        return _sgd_flat(_flat(params), _flat(grads), _flat(buffers), lr, momentum, l1, l2, sums)
    pen = 0.0  # mixed dtypes: a numba tuple must be of one type, so one call per array
    for p, g, b in zip(params, grads, buffers, strict=True):
        t = p.dtype.type
        s1, s2 = _sgd_kernel(
            p.reshape(-1), g.reshape(-1), b.reshape(-1), t(lr), t(momentum), t(l1), t(2 * l2)
        )
        pen += l1 * s1 + l2 * s2
    return pen


def lr_at_passes(lr: float = 0.02, decay: float = 0.96, every: int = 7) -> Callable[[int], float]:
    r"""The authors' learning rate: decayed every epoch but applied only when a pass re-creates the
    optimiser (algorithms.md §2.1, bug 7).

    For 0-based epoch ``e`` it is ``lr·decay**E`` with ``E`` the last pass epoch ``<= e`` (passes
    before 0-based epochs ``every-1, 2·every-1, …``, as the pruners fire), and ``lr`` before the first
    pass: piecewise constant, for ``train(lr_schedule=...)``.

    >>> f = lr_at_passes(0.02, 0.5, every=2)
    >>> [f(e) for e in range(5)]
    [0.02, 0.01, 0.01, 0.0025, 0.0025]
    """
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (math.isfinite(decay) and 0 < decay <= 1):
        raise ValueError(f"decay must lie in (0, 1], got {decay!r}")
    every = positive_int(every, "every")

    def schedule(epoch: int) -> float:
        last = (epoch + 1) // every * every - 1
        return lr * decay**last if last >= 0 else lr

    schedule.__name__ = f"lr_at_passes_{lr:g}_{decay:g}_every{every}"
    return schedule


def _sync_momentum(
    model: MLP, bufs: list, versions: list, reset: bool, force: bool = False
) -> tuple[list, list]:
    """Momentum buffers after layers may have been replaced (see the module's pruner protocol)."""
    changed = [layer.version != v for layer, v in zip(model.layers, versions, strict=True)]
    new = []
    for layer, old, ch in zip(model.layers, bufs, changed, strict=True):
        if force or (reset and any(changed)):
            new.append([np.zeros_like(p) for p in layer.params()])
        elif ch:  # keep a buffer where its parameter kept its shape (always the bias)
            same = [b.shape for b in old[:-1]] == [f.shape for f in layer.factors]
            new.append((old[:-1] if same else [np.zeros_like(f) for f in layer.factors]) + old[-1:])
        else:
            new.append(old)
    return new, [layer.version for layer in model.layers]


# ----- data ------------------------------------------------------------------------------------------
def _check_data(model: MLP, data: Any, loss: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"{name} must be an (X, y) tuple, got {type(data).__name__}")
    X, y = np.asarray(data[0]), np.asarray(data[1])
    n_out = model.sizes[-1]
    in_shape = getattr(model, "input_shape", None)
    if in_shape is None:  # an MLP: rows of sizes[0] values
        n_in = model.sizes[0]
        if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] == 0:
            raise ValueError(
                f"{name}: X must have shape (n >= 1, {n_in}) for sizes[0]={n_in}, got {X.shape}"
            )
    else:  # images (n, c, h, w), or rows of c·h·w values
        in_shape = tuple(int(d) for d in in_shape)
        if X.ndim == 2 and len(in_shape) > 1 and X.shape[1] == math.prod(in_shape):
            X = X.reshape(X.shape[0], *in_shape)
        if X.shape[1:] != in_shape or X.shape[0] == 0:
            dims = ", ".join(str(d) for d in in_shape)
            raise ValueError(
                f"{name}: X must have shape (n >= 1, {dims}) for input_shape={in_shape}, got {X.shape}"
            )
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise TypeError(f"{name}: X must hold real numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=model.dtype)
    if not np.isfinite(X).all():
        raise ValueError(f"{name}: X contains {int(np.sum(~np.isfinite(X)))} NaN/Inf entries")
    n = X.shape[0]
    if loss in CLASSIFICATION:
        if y.shape != (n,):
            raise ValueError(f"{name}: y must have shape ({n},) (one label per row), got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{name}: class labels must be integers, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= n_out:
            raise ValueError(
                f"{name}: labels must lie in [0, {n_out}) for sizes[-1]={n_out}, "
                f"got values in [{y.min()}, {y.max()}]"
            )
        return X, y.astype(np.intp)
    y = np.asarray(y, dtype=model.dtype)
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.shape != (n, n_out) or not np.isfinite(y).all():
        raise ValueError(f"{name}: regression targets must be finite with shape ({n}, {n_out})")
    return X, np.ascontiguousarray(y)


def evaluate(
    model: MLP, data: tuple, loss: str = "cross_entropy", batch_size: int = 128
) -> tuple[float, float, float]:
    """``(mean loss, Σ loss / n_batches, accuracy)`` of ``model`` on ``data = (X, y)``.

    The loss is the per-sample NLL (or MSE); the second number is the authors' test-loss figure with
    n_batches = ⌈n / batch_size⌉; accuracy is a fraction (nan for MSE).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return _evaluate(model, *_check_data(model, data, loss, "data"), loss, batch_size)


def _evaluate(model, X, y, loss, batch_size) -> tuple[float, float, float]:
    total, correct = 0.0, 0
    previous = _set_training(model, False)
    try:
        for s in range(0, len(X), EVAL_CHUNK):
            per, _, c = _LOSS_FN[loss](
                model.forward(X[s : s + EVAL_CHUNK]), y[s : s + EVAL_CHUNK], False
            )
            total += float(np.sum(per, dtype=np.float64))
            correct += c
    finally:
        if previous is not None:
            model.training = previous
    n = len(X)
    acc = correct / n if loss in CLASSIFICATION else math.nan
    return total / n, total / math.ceil(n / batch_size), acc


def _plain(obj: Any) -> Any:
    """Event records as plain JSON types (numpy scalars and arrays converted), so history round-trips."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj.tolist() if isinstance(obj, np.ndarray | np.generic) else obj


def _epoch_lr(epoch: int, lr: float, lr_decay: float | None, schedule: Any) -> float:
    if schedule is None:
        return lr * lr_decay**epoch if lr_decay is not None else lr
    value = schedule(epoch)
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"lr_schedule({epoch}) returned {value!r}, expected a number")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"lr_schedule({epoch}) returned {value!r}, expected a finite number > 0")
    return float(value)


class _Step:
    """:func:`sgd_step` with its checks and flat views done once per epoch, not once per batch
    (they cost as much as the update itself on a small factorised net)."""

    def __init__(self, model: Any, bufs: list, lr: float, opts: dict) -> None:
        self._args = (lr, opts["momentum"], opts["l1"], opts["l2"])
        self._model, self._bufs = model, bufs
        self._plan(model.params(), model.grads())

    def _plan(self, params: list, grads: list) -> None:
        _check_step(params, grads, self._bufs)
        self._arrays = params + grads
        if params and len({a.dtype for a in (*params, *grads, *self._bufs)}) == 1:
            sums = np.empty((len(params), 2))
            self._flat = (_flat(params), _flat(grads), _flat(self._bufs), sums)
        else:
            self._flat = None

    def __call__(self) -> float:
        m = self._model
        params, grads = m.params(), m.grads()
        # a model may hand out new arrays (a hook replaced a layer, grads allocated per backward)
        if len(params) + len(grads) != len(self._arrays) or any(
            map(operator.is_not, params + grads, self._arrays)
        ):
            self._plan(params, grads)
        if self._flat is None:
            return sgd_step(params, grads, self._bufs, *self._args)
        ps, gs, bs, sums = self._flat
        return _sgd_flat(ps, gs, bs, *self._args, sums)


# ----- the loop --------------------------------------------------------------------------------------
def _train_epoch(model, X, y, gen, epoch, lr, opts, bufs, after_step, bar) -> tuple[float, float]:
    n, B = len(X), opts["batch_size"]
    loss_fn = _LOSS_FN[opts["loss"]]
    perm = gen.permutation(n)
    xbuf = np.empty((B, *X.shape[1:]), X.dtype)
    _set_training(model, True)
    flat_bufs = [b for layer_bufs in bufs for b in layer_bufs]
    step = _Step(model, flat_bufs, lr, opts)
    total, correct, n_batches = 0.0, 0, math.ceil(n / B)
    for b in range(n_batches):
        idx = perm[b * B : (b + 1) * B]
        # mode="clip": the indices are a permutation, always valid; the default "raise" makes NumPy
        # gather into a temporary and copy it over (13x slower at batch 64)
        xb = np.take(X, idx, axis=0, out=xbuf[: len(idx)], mode="clip")
        per, dout, c = loss_fn(model.forward(xb), y[idx], True)
        value = float(np.mean(per, dtype=np.float64))
        if not math.isfinite(value):
            raise TrainingDiverged(epoch, b, value)
        model.backward(dout)
        value += step()
        for hook in after_step:
            hook(model)
        total += value
        correct += c
        bar.update()
        if b % 50 == 0:
            bar.set_postfix(loss=f"{total / (b + 1):.4f}", refresh=False)
    return total / n_batches, correct / n if opts["loss"] in CLASSIFICATION else math.nan


def train(
    model: MLP,
    train_data: tuple,
    test_data: tuple | None,
    epochs: int,
    lr: float = 0.02,
    momentum: float = 0.9,
    batch_size: int = 128,
    l1: float = 0.0,
    l2: float = 0.0,
    lr_decay: float | None = 0.96,
    lr_schedule: Callable[[int], float] | None = None,
    loss: str = "cross_entropy",
    pruner: Any = None,
    sparsifier: Any = None,
    callbacks: Sequence[Callable[..., Any]] = (),
    checkpoint: str | Path | None = None,
    resume: bool = False,
    seed: int | np.random.Generator = 0,
    verbose: bool = True,
) -> History:
    """Train ``model`` in place with mini-batch SGD + momentum; return the per-epoch :class:`History`.

    Parameters
    ----------
    model : MLP or CNN
    train_data, test_data : (X, y)
        X of shape (n, sizes[0]) (``(n, *model.input_shape)`` for a CNN); y integer labels in
        [0, sizes[-1]) for cross-entropy, or targets of shape
        (n, sizes[-1]) (or (n,) for one output) for MSE. ``test_data`` may be None (test entries nan).
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    lr, momentum, batch_size : float, float, int
        SGD settings; the authors use 0.02, 0.9, 128.
    l1, l2 : float
        Penalty weights λ1, λ2 ≥ 0 of λ1·Σ|θ| + λ2·Σθ² over all parameters, biases included.
    lr_decay : float or None
        Learning rate of epoch e is ``lr·lr_decay**e``; None keeps it constant.
    lr_schedule : callable, optional
        ``lr_schedule(e)`` is the learning rate of 0-based epoch ``e`` (a finite number > 0); it
        replaces ``lr·lr_decay**e``, so ``lr`` and ``lr_decay`` are then not used.
        :func:`lr_at_passes` is the authors' "decay only at pass epochs".
    loss : {"cross_entropy", "mse", "nll"}
        ``"nll"`` treats the outputs as log-probabilities (a model ending in its own log-softmax).
    pruner, sparsifier : objects following the pruner protocol (module docstring), optional.
    callbacks : sequence of callables
        ``cb(epoch=e, model=model, history=history)`` after each epoch (and its checkpoint); a truthy
        return value stops training.
    checkpoint : path, optional
        ``.npz`` file rewritten atomically after every epoch (weights and factor structure, momentum, rng
        state, pruner/sparsifier state, history, lr, epoch).
    resume : bool
        If the checkpoint file exists, restore everything from it and continue; bit-identical to an
        uninterrupted run.
    seed : int or numpy.random.Generator
        Drives the shuffling (the model's seed drives its initialisation).
    verbose : bool
        A tqdm progress bar per epoch.

    Raises
    ------
    TrainingDiverged
        (a FloatingPointError) when the loss becomes NaN/Inf, naming the epoch and batch.

    Examples
    --------
    >>> import numpy as np
    >>> from rmtheory.nn import MLP, train
    >>> g = np.random.default_rng(0)
    >>> X = g.standard_normal((512, 2)).astype(np.float32); y = (X[:, 1] > X[:, 0] ** 2).astype(int)
    >>> h = train(MLP([2, 64, 2]), (X, y), (X, y), epochs=3, lr=0.1, verbose=False)
    >>> len(h.test_accuracy)
    3
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable epoch -> lr, got {lr_schedule!r}")
    epochs = positive_int(epochs, "epochs", minimum=0)
    batch_size = positive_int(batch_size, "batch_size")
    for name, v, ok in (
        ("lr", lr, lr > 0),
        ("momentum", momentum, 0 <= momentum < 1),
        ("l1", l1, l1 >= 0),
        ("l2", l2, l2 >= 0),
        ("lr_decay", lr_decay, lr_decay is None or 0 < lr_decay <= 1),
    ):
        if not ok or (v is not None and not math.isfinite(v)):
            raise ValueError(f"{name} has an invalid value {v!r}")
    X, y = _check_data(model, train_data, loss, "train_data")
    test = None if test_data is None else _check_data(model, test_data, loss, "test_data")
    gen = _rng(seed)
    hooks = [h for h in (sparsifier, pruner) if h is not None]
    after_step = [h.after_step for h in hooks if callable(getattr(h, "after_step", None))]
    opts = dict(batch_size=batch_size, momentum=momentum, l1=l1, l2=l2, loss=loss)
    history = History()
    bufs = [[np.zeros_like(p) for p in layer.params()] for layer in model.layers]
    start = 0
    path = None if checkpoint is None else Path(checkpoint)
    if resume and path is not None and path.exists():
        start, bufs, history = ckpt.restore_training(path, model, gen, pruner, sparsifier)
    versions = [layer.version for layer in model.layers]
    n_classes = model.sizes[-1] if loss in CLASSIFICATION else None

    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        lr_e = _epoch_lr(epoch, lr, lr_decay, lr_schedule)
        for hook in hooks:
            events = hook.on_epoch_start(model, epoch=epoch, n_classes=n_classes) or []
            for ev in events:
                history.events.append(_plain({"epoch": epoch, "source": type(hook).__name__, **ev}))
            reset = bool(getattr(hook, "reset_momentum", False))
            force = any(ev.get("action") == "momentum_reset" for ev in events)
            bufs, versions = _sync_momentum(model, bufs, versions, reset, force)
        n_batches = math.ceil(len(X) / batch_size)
        with tqdm(total=n_batches, desc=f"epoch {epoch}", disable=not verbose, leave=False) as bar:
            tl, ta = _train_epoch(model, X, y, gen, epoch, lr_e, opts, bufs, after_step, bar)
        te = _evaluate(model, *test, loss, batch_size) if test is not None else (math.nan,) * 3
        history.record(
            epoch=epoch, train_loss=tl, train_accuracy=ta, test_loss=te[0], test_loss_paper=te[1],
            test_accuracy=te[2], n_params=model.n_params(), n_nonzero=model.n_nonzero(), lr=lr_e,
            epoch_time=time.perf_counter() - t0,
        )  # fmt: skip
        if verbose:
            tqdm.write(
                f"epoch {epoch}: train loss {tl:.4f} acc {ta:.4f} | test loss {te[0]:.4f} "
                f"acc {te[2]:.4f} | params {model.n_params()}"
            )
        if path is not None:
            ckpt.save_training(path, model, bufs, gen, pruner, sparsifier, history, epoch + 1, lr_e)
        if any([bool(cb(epoch=epoch, model=model, history=history)) for cb in callbacks]):
            break
    return history
