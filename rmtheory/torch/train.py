"""The paper's training protocol on the PyTorch backend: the same loop as :func:`rmtheory.nn.train`.

:func:`from_numpy` turns a network of :mod:`rmtheory.nn` (:class:`~rmtheory.nn.MLP` or the
authors' :class:`~rmtheory.nn.cnn.CNN`) into an ``nn.Sequential`` with the *same* weights, so the
authors' initialisation is drawn once, by the NumPy code, whatever the backend.  :func:`train`
then does what :func:`rmtheory.nn.train` does (module docstring there), step for step:

* the batches of epoch e are ``numpy.random.default_rng(seed)``'s e-th permutation, in slices of
  ``batch_size`` (so both backends see the same batches in the same order);
* the loss is the mean NLL of the log-softmax of the outputs plus λ1·Σ|θ| + λ2·Σθ² over *all*
  parameters, biases and batch-norm included (added to the loss, not weight decay): the gradient
  gets λ1·sign θ + 2λ2·θ, added by hand after ``backward`` (sign 0 at 0, as the NumPy kernel);
* SGD with momentum is ``torch.optim.SGD`` (dampening 0, no Nesterov): ``buf ← μ·buf + g;
  θ ← θ − lr·buf``, the NumPy trainer's rule;
* the learning rate of epoch e is ``lr_schedule(e)`` or ``lr·lr_decay**e``;
* before every epoch the sparsifier, then the pruner, are called as ``hook.step(model, optimizer,
  epoch)`` (the pruners of :mod:`rmtheory.torch` keep the optimiser in step); a sparsifier's zero
  mask is re-applied after every optimiser step;
* after the epoch the test pass (evaluation mode) gives ``test_loss`` (mean per-sample NLL),
  ``test_loss_paper`` (Σ loss / ⌈n / batch_size⌉) and ``test_accuracy``.

The result is a :class:`rmtheory.nn.History` with the same fields.  Dropout masks are torch's
(seeded from ``seed``): a CNN's run is reproducible on one backend and device, not across them.

>>> import numpy as np
>>> from rmtheory.nn import MLP
>>> net = from_numpy(MLP([4, 8, 3], seed=0))
>>> g = np.random.default_rng(0)
>>> X = g.standard_normal((64, 4)).astype(np.float32); y = g.integers(0, 3, 64)
>>> h = train(net, (X, y), (X, y), epochs=2, lr=0.1)
>>> len(h.test_accuracy), h.n_params[-1]
(2, 67)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rmtheory._validation import positive_int
from rmtheory.atomic import atomic_write
from rmtheory.nn.history import History, TrainingDiverged
from rmtheory.torch.layers import is_factorised, matrix_layers

__all__ = ["AlwaysDropout", "BatchLogSoftmax", "from_numpy", "layer_ranks", "predict", "train"]

EVAL_CHUNK = 1024  # as rmtheory.nn.train: only speed depends on it


class AlwaysDropout(nn.Module):
    """``F.dropout(x, p)`` also in evaluation: the authors' CNN bug (``paper_bugs=True``)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, training=True)


class BatchLogSoftmax(nn.Module):
    """``F.log_softmax(x, dim=0)`` in groups of ``group`` rows (:class:`rmtheory.nn.conv.BatchLogSoftmax`)."""

    def __init__(self, group: int = 128):
        super().__init__()
        self.group = int(group)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.log_softmax(b, dim=0) for b in torch.split(x, self.group)])


_ACT = {"relu": nn.ReLU, "identity": None}


def _activation(name: str) -> list[nn.Module]:
    if name not in _ACT:
        raise ValueError(f"activation {name!r} has no torch counterpart here (relu, identity)")
    return [] if _ACT[name] is None else [_ACT[name]()]


def from_numpy(
    model: Any, device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> nn.Sequential:
    """An ``nn.Sequential`` computing what the NumPy network ``model`` computes, same weights.

    ``model`` is an :class:`rmtheory.nn.MLP` or a :class:`rmtheory.nn.cnn.CNN` of ``Conv2d``
    (stride 1, no padding), ``BatchNorm``, ``MaxPool2d``, ``Dropout``, ``Flatten``, dense
    ``Layer`` and ``BatchLogSoftmax`` (what :func:`rmtheory.nn.authors_cnn` builds); factorised
    layers become :class:`~rmtheory.torch.FactorizedLinear` / ``FactorizedConv2d``.  ``dtype``
    defaults to the model's (float32 or float64).  The returned module has ``numpy_index``: for
    each of its :func:`~rmtheory.torch.matrix_layers`, the index of that layer in
    ``model.layers`` (what NumPy events call ``layer``).
    """
    from rmtheory.nn import conv as np_conv
    from rmtheory.nn.layers import Layer
    from rmtheory.torch.layers import FactorizedConv2d, FactorizedLinear

    dt = dtype or (torch.float64 if np.dtype(model.dtype) == np.float64 else torch.float32)

    def t(a):
        return torch.as_tensor(np.asarray(a), dtype=dt, device=device)

    mods: list[nn.Module] = []
    index: list[int] = []
    flat = False
    for i, layer in enumerate(model.layers):
        if isinstance(layer, np_conv.Conv2d):
            ks = layer.kernel_shape
            if layer.is_factorised:
                K1, K2 = layer.factors
                like = nn.Conv2d(ks[1], ks[0], ks[2:], bias=False, device=device, dtype=dt)
                m: nn.Module = FactorizedConv2d(t(K1), t(K2), nn.Parameter(t(layer.bias)), like)
            else:
                m = nn.Conv2d(ks[1], ks[0], ks[2:], device=device, dtype=dt)
                with torch.no_grad():
                    m.weight.copy_(t(layer.kernel))
                    m.bias.copy_(t(layer.bias))
            mods += [m, *_activation(layer.activation)]
            index.append(i)
        elif isinstance(layer, Layer):
            n_out, n_in = layer.shape
            if layer.is_factorised:
                m = FactorizedLinear(t(layer.factors[0]), t(layer.factors[1]),
                                     nn.Parameter(t(layer.bias)))  # fmt: skip
            else:
                m = nn.Linear(n_in, n_out, device=device, dtype=dt)
                with torch.no_grad():
                    m.weight.copy_(t(layer.factors[0]))
                    m.bias.copy_(t(layer.bias))
            mods += [m, *_activation(layer.activation)]
            index.append(i)
        elif isinstance(layer, np_conv.BatchNorm):
            cls = nn.BatchNorm1d if flat else nn.BatchNorm2d
            bn = cls(layer.n_features, eps=layer.eps, momentum=layer.momentum, device=device,
                     dtype=dt)  # fmt: skip
            with torch.no_grad():
                bn.weight.copy_(t(layer.gamma))
                bn.bias.copy_(t(layer.beta))
                bn.running_mean.copy_(t(layer.running_mean))
                bn.running_var.copy_(t(layer.running_var))
            mods += [bn, *_activation(getattr(layer, "activation", "identity"))]
        elif isinstance(layer, np_conv.MaxPool2d):
            mods.append(nn.MaxPool2d(2))
        elif isinstance(layer, np_conv.Dropout):
            mods.append(AlwaysDropout(layer.p) if layer.always else nn.Dropout(layer.p))
        elif isinstance(layer, np_conv.Flatten):
            mods.append(nn.Flatten())
            flat = True
        elif isinstance(layer, np_conv.BatchLogSoftmax):
            mods.append(BatchLogSoftmax(layer.group))
        else:
            raise TypeError(f"layer {i} ({type(layer).__name__}) has no torch counterpart here")
    out = nn.Sequential(*mods)
    out.numpy_index = index
    out.input_shape = tuple(getattr(model, "input_shape", None) or (model.sizes[0],))
    return out


def layer_ranks(model: nn.Module) -> list[int]:
    """The rank bound of each matrix layer: k of a split, min(out, in) of a dense one (as
    :attr:`rmtheory.nn.layers.Layer.rank`)."""
    out = []
    for _, m in matrix_layers(model):
        W = m.weight
        out.append(m.rank if is_factorised(m) else min(int(W.shape[0]), int(W[0].numel())))
    return out


def _inputs(model: nn.Module, X: Any) -> torch.Tensor:
    p = next(model.parameters())
    X = torch.as_tensor(np.ascontiguousarray(X) if not isinstance(X, torch.Tensor) else X)
    shape = getattr(model, "input_shape", None)
    if shape is not None and X.ndim == 2 and len(shape) > 1:
        X = X.reshape(X.shape[0], *shape)
    return X.to(device=p.device, dtype=p.dtype)


def predict(model: nn.Module, X: Any, batch_size: int = EVAL_CHUNK) -> np.ndarray:
    """Outputs of ``model`` on ``X`` in evaluation mode, as a NumPy array (the mode is restored)."""
    X = _inputs(model, X)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [model(X[s : s + batch_size]) for s in range(0, len(X), batch_size)]
    finally:
        model.train(was)
    return torch.cat(out).cpu().numpy()


def _evaluate(model, X, y, loss_name, batch_size) -> tuple[float, float, float]:
    total, correct = 0.0, 0
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, len(X), EVAL_CHUNK):
                out = model(X[s : s + EVAL_CHUNK])
                per = _per_sample(out, y[s : s + EVAL_CHUNK], loss_name)
                total += float(per.sum(dtype=torch.float64))
                correct += int((out.argmax(1) == y[s : s + EVAL_CHUNK]).sum())
    finally:
        model.train(was)
    n = len(X)
    return total / n, total / math.ceil(n / batch_size), correct / n


def _per_sample(out: torch.Tensor, y: torch.Tensor, loss_name: str) -> torch.Tensor:
    if loss_name == "nll":  # the outputs are log-probabilities (BatchLogSoftmax)
        return F.nll_loss(out, y, reduction="none")
    return F.cross_entropy(out, y, reduction="none")


def _hook_step(hook: Any, model: nn.Module, optimizer: Any, epoch: int) -> list[dict]:
    step = getattr(hook, "step", None)
    if step is None:
        raise TypeError(f"{type(hook).__name__} is not a torch-backend hook (it has no step)")
    return list(step(model, optimizer, epoch) or [])


def _state(hook: Any) -> Any:
    return hook.state_dict() if hasattr(hook, "state_dict") else None


def _save(path: Path, state: dict) -> None:
    import io

    buf = io.BytesIO()
    torch.save(state, buf)  # pickles the modules whole: a split layer comes back split
    atomic_write(path, buf.getvalue(), what="torch training checkpoint")


def train(
    model: nn.Module,
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
    seed: int = 0,
    verbose: bool = False,
) -> History:
    """Train ``model`` in place as :func:`rmtheory.nn.train` does (module docstring); returns the
    per-epoch :class:`~rmtheory.nn.History`.

    Parameters are :func:`rmtheory.nn.train`'s (``loss`` ``"cross_entropy"`` or ``"nll"``); the
    data are NumPy arrays or tensors, moved once to the device of ``model``'s parameters in their
    dtype.  ``pruner`` / ``sparsifier`` are torch-backend hooks (``step(model, optimizer,
    epoch)``: :func:`rmtheory.torch.training_hooks`).  ``callbacks`` get ``epoch``, ``model``,
    ``history``; a truthy return stops.  ``checkpoint`` is rewritten after every epoch (the
    modules, the optimiser, the hooks, the shuffling and torch RNG states, the history) and
    ``resume`` continues from it.

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN/Inf, naming the epoch and batch.
    """
    if loss not in ("cross_entropy", "nll"):
        raise ValueError(
            f"loss must be 'cross_entropy' or 'nll' on the torch backend, got {loss!r}"
        )
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable epoch -> lr, got {lr_schedule!r}")
    epochs = positive_int(epochs, "epochs", minimum=0)
    batch_size = positive_int(batch_size, "batch_size")
    for name, v, ok in (("lr", lr, lr > 0), ("momentum", momentum, 0 <= momentum < 1),
                        ("l1", l1, l1 >= 0), ("l2", l2, l2 >= 0),
                        ("lr_decay", lr_decay, lr_decay is None or 0 < lr_decay <= 1)):  # fmt: skip
        if not ok or (v is not None and not math.isfinite(v)):
            raise ValueError(f"{name} has an invalid value {v!r}")
    X = _inputs(model, train_data[0])
    y = torch.as_tensor(np.asarray(train_data[1]), dtype=torch.long, device=X.device)
    test = None
    if test_data is not None:
        test = (_inputs(model, test_data[0]),
                torch.as_tensor(np.asarray(test_data[1]), dtype=torch.long, device=X.device))  # fmt: skip
    gen = np.random.default_rng(seed)
    torch.manual_seed(seed)  # dropout masks
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    history, start = History(), 0
    path = None if checkpoint is None else Path(checkpoint)
    if resume and path is not None and path.exists():
        try:  # the checkpoint is this library's own file (weights_only=False: whole modules)
            state = torch.load(path, weights_only=False, map_location=X.device)
            state["model"], state["epoch"]  # noqa: B018  (a file that is not ours fails here)
        except Exception as err:  # noqa: BLE001  (any unreadable file: named, so it is redone)
            raise ValueError(
                f"cannot read the checkpoint {path}: {type(err).__name__}: {err}"
            ) from err
        # the saved modules (split layers included) replace the fresh ones wholesale
        for name, child in state["model"].named_children():
            setattr(model, name, child)
        optimizer = state["optimizer"]
        # the hooks' own state (a keep-fraction schedule is a closure: not pickled, rebuilt)
        for hook, saved in ((pruner, state["pruner"]), (sparsifier, state["sparsifier"])):
            if hook is not None and saved is not None and hasattr(hook, "load_state_dict"):
                hook.load_state_dict(saved)
        gen.bit_generator.state = state["gen"]
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        history, start = History.from_dict(state["history"]), int(state["epoch"])
    hooks = [h for h in (sparsifier, pruner) if h is not None]
    masks = [h for h in hooks if callable(getattr(h, "after_step", None))]
    n, n_batches = len(X), math.ceil(len(X) / batch_size)
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        if lr_schedule is not None:
            lr_e = float(lr_schedule(epoch))
        else:
            lr_e = lr * lr_decay**epoch if lr_decay is not None else lr
        for hook in hooks:
            # a sparsifier is stepped without the optimiser (no post-step hook: the loop below
            # re-applies its mask, which survives a checkpoint)
            opt = None if hook is sparsifier else optimizer
            history.events += _hook_step(hook, model, opt, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr_e
        perm = torch.as_tensor(gen.permutation(n), device=X.device)
        model.train()
        total, correct = 0.0, 0
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            out = model(X[idx])
            value = _per_sample(out, y[idx], loss).mean()
            optimizer.zero_grad(set_to_none=False)
            value.backward()
            v = float(value.detach())
            if not math.isfinite(v):
                raise TrainingDiverged(epoch, b, v)
            if l1 or l2:
                with torch.no_grad():
                    pen = 0.0
                    for p in model.parameters():
                        if l1:
                            pen += l1 * float(p.abs().sum())
                            p.grad.add_(torch.sign(p), alpha=l1)
                        if l2:
                            pen += l2 * float((p * p).sum())
                            p.grad.add_(p, alpha=2 * l2)
                    v += pen
            optimizer.step()
            for h in masks:
                h.after_step(model)
            total += v
            correct += int((out.argmax(1) == y[idx]).sum())
        te = _evaluate(model, *test, loss, batch_size) if test is not None else (math.nan,) * 3
        params = list(model.parameters())
        history.record(
            epoch=epoch, train_loss=total / n_batches, train_accuracy=correct / n,
            test_loss=te[0], test_loss_paper=te[1], test_accuracy=te[2],
            n_params=sum(int(p.numel()) for p in params),
            n_nonzero=sum(int(torch.count_nonzero(p)) for p in params), lr=lr_e,
            epoch_time=time.perf_counter() - t0,
        )  # fmt: skip
        if verbose:
            print(f"epoch {epoch}: train loss {total / n_batches:.4f} | test acc {te[2]:.4f}")
        if path is not None:
            _save(path, {"model": model, "optimizer": optimizer, "pruner": _state(pruner),
                         "sparsifier": _state(sparsifier), "gen": gen.bit_generator.state,
                         "torch_rng": torch.get_rng_state(),
                         "cuda_rng": torch.cuda.get_rng_state_all()
                         if torch.cuda.is_available() else None,
                         "history": history.to_dict(), "epoch": epoch + 1})  # fmt: skip
        if any([bool(cb(epoch=epoch, model=model, history=history)) for cb in callbacks]):
            break
    return history
