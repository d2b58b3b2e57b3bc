"""Training experiments of §4.2 (Tables 1–6, Figs 1–5) and the pruning ablation.

:func:`train_run` trains one network with one pruning method on one seed and returns its history
as plain data.  The normal and the pruned net of a seed start from identical weights (same seed),
as in the authors' code.  Every run can checkpoint into ``_checkpoint_dir`` and resume.

``backend="torch"`` (with ``device`` and ``dtype``) trains the same network, from the NumPy
network's initial weights, with :mod:`rmtheory.torch` (the method table's hooks with
:data:`rmtheory.torch.TORCH_CLASSES`); the default NumPy float32 run takes none of these keyword
arguments from the runner (:func:`rmtheory.experiments.backends.backend_kwargs`), so its cache
keys are those recorded before the torch backend existed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.experiments.runner import cache_key
from rmtheory.nn.methods import METHOD_SPECS, training_hooks

__all__ = ["train_run", "load_data", "event_records", "METHODS"]

#: The methods a training run takes: the method table's, but the protocol-only momentum reset.
METHODS = tuple(m for m in METHOD_SPECS if m not in ("momentum_reset", "intervention"))


@functools.lru_cache(maxsize=4)
def load_data(dataset: str, subset: tuple[int | None, int | None] | None, normalize: str) -> tuple:
    """(x_train, y_train, x_test, y_test) of ``dataset``; subsets are stratified with data seed 0."""
    from rmtheory import datasets

    if dataset == "tiny":
        d = datasets.make_tiny_classification(
            n_train=(subset or (2000, 500))[0] or 2000,
            n_test=(subset or (2000, 500))[1] or 500,
            seed=0,
        )
    elif dataset in ("mnist", "fashion-mnist"):
        loader = datasets.load_mnist if dataset == "mnist" else datasets.load_fashion_mnist
        d = loader(normalize=normalize, subset=subset, seed=0)
    else:
        raise ValueError(f"dataset must be 'mnist', 'fashion-mnist' or 'tiny', got {dataset!r}")
    return tuple(d)


class _PruneProbe:
    """Wraps a pruner and records the training accuracy just before and after each pass (Fig 5b)."""

    def __init__(self, inner, X: np.ndarray, y: np.ndarray, predict=None):
        self.inner, self.X, self.y = inner, X, y
        self.predict = predict or (lambda model, X: model.predict(X))
        self.reset_momentum = getattr(inner, "reset_momentum", False)
        self.probes: list[dict] = []

    def _acc(self, model) -> float:
        return float(np.mean(self.predict(model, self.X).argmax(axis=1) == self.y))

    def _around(self, model, epoch, fire):
        before = None
        # evaluate only when the inner pruner will fire, to keep runs cheap
        fires = (epoch + 1) % getattr(self.inner, "every", 1) == 0
        if fires:
            before = self._acc(model)
        events = fire()
        if fires and any(e.get("action") in ("split", "truncate") for e in events):
            self.probes.append({"epoch": epoch + 1, "before": before, "after": self._acc(model)})
        return events

    def on_epoch_start(self, model, epoch, n_classes=None):  # the NumPy trainer's protocol
        return self._around(
            model, epoch, lambda: self.inner.on_epoch_start(model, epoch, n_classes)
        )

    def step(self, model, optimizer=None, epoch=0):  # the torch backend's
        return self._around(model, epoch, lambda: self.inner.step(model, optimizer, epoch))

    def state_dict(self):
        return {"probes": self.probes}

    def load_state_dict(self, state):
        self.probes = list(state.get("probes", []))


def _hooks(method: str, epochs: int, classes=None, **settings: Any):
    """(pruner, sparsifier) of ``method`` from the method table (:mod:`rmtheory.nn.methods`),
    with a backend's ``classes``; ``magnitude`` sparsifies over ``epochs``, the low-rank methods
    take ``settings``."""
    if method == "magnitude":
        return training_hooks("magnitude", epochs=epochs, classes=classes)
    return training_hooks(method, strict=False, classes=classes, **settings)


def _on_backend(start, backend: str, device: str):
    """``(model, train, predict, hook classes, sparsify_sweep)`` that train the NumPy network
    ``start`` on ``backend``: itself for NumPy; its :func:`rmtheory.torch.train.from_numpy` copy
    (same weights) on ``device`` for torch."""
    if backend == "torch":
        import rmtheory.torch as rt
        from rmtheory.torch.train import from_numpy, predict, train

        return from_numpy(start, device=device), train, predict, rt.TORCH_CLASSES, rt.sparsify_sweep
    from rmtheory.nn import sparsify_sweep, train

    return start, train, lambda model, X: model.predict(X), None, sparsify_sweep


def event_records(events, fields, actions=("split", "truncate")) -> list[dict]:
    """The ``fields`` of the pruning events whose action is one of ``actions`` (plain data)."""
    return [{k: e.get(k) for k in fields} for e in events if e.get("action") in actions]


def train_run(
    seed: int,
    method: str = "mp",
    dataset: str = "mnist",
    sizes: tuple[int, ...] = (784, 1000, 1000, 10),
    epochs: int = 40,
    every: int = 7,
    T: float = 50.0,
    final_activation: str | None = "relu",
    init: str = "normal",
    lr: float = 0.02,
    momentum: float = 0.9,
    lr_decay: float | None = 0.96,
    l1: float = 0.0,
    l2: float = 0.0,
    subset: tuple[int | None, int | None] | None = None,
    normalize: str = "none",
    alpha: float = 0.25,
    beta: float = 0.1,
    gof_cutoff: float = 1.0,
    variant: str = "default",
    probe: bool = False,
    backend: str = "numpy",
    device: str | None = None,
    dtype: str = "float32",
    _checkpoint_dir: str | None = None,
) -> dict[str, Any]:
    """Train one MLP with pruning ``method`` (one of :data:`METHODS`) and return its history.

    ``magnitude`` sparsifies during training (ξ from 0.001 to 0.02 every 5 epochs, mask kept)
    instead of low-rank pruning.  ``probe`` records train accuracy before/after each pruning pass.
    ``backend``, ``device``, ``dtype``: what trains it (module docstring); the record's
    ``environment`` names them.
    """
    from rmtheory.experiments.backends import check_backend
    from rmtheory.nn import MLP
    from rmtheory.provenance import backend_environment

    settings = {
        k: v
        for k, v in locals().items()
        if k not in ("_checkpoint_dir", "MLP", "check_backend", "backend_environment")
    }
    # the NumPy float32 run's checkpoint name is the one it always had
    if backend == "numpy" and dtype == "float32":
        settings = {k: v for k, v in settings.items() if k not in ("backend", "device", "dtype")}
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    backend, device, dtype = check_backend(backend, device, dtype)
    xtr, ytr, xte, yte = load_data(dataset, None if subset is None else tuple(subset), normalize)
    start = MLP(list(sizes), final_activation=final_activation, init=init, seed=seed,
                dtype=np.dtype(dtype))  # fmt: skip
    model, train, predict, classes, _ = _on_backend(start, backend, device)
    pruner, sparsifier = _hooks(method, epochs, classes, every=every, T=T, alpha=alpha, beta=beta,
                                gof_cutoff=gof_cutoff, variant=variant)  # fmt: skip
    if probe and pruner is not None:
        pruner = _PruneProbe(pruner, xtr[:5000], ytr[:5000], predict)
    # the checkpoint is named by the settings' hash, the one the per-seed records use
    suffix = ".pt" if backend == "torch" else ".npz"
    ckpt = (
        None
        if _checkpoint_dir is None
        else Path(_checkpoint_dir) / f"{method}-seed{seed}-{cache_key(settings)}{suffix}"
    )
    h = train(model, (xtr, ytr), (xte, yte), epochs, lr=lr, momentum=momentum, lr_decay=lr_decay,
              l1=l1, l2=l2, pruner=pruner, sparsifier=sparsifier, checkpoint=ckpt, resume=ckpt is
              not None, seed=seed, verbose=False)  # fmt: skip
    keys = (
        "test_accuracy",
        "train_accuracy",
        "train_loss",
        "test_loss",
        "test_loss_paper",
        "n_params",
        "n_nonzero",
        "epoch_time",
    )
    out = {k: list(getattr(h, k)) for k in keys}
    out["events"] = event_records(h.events, ("epoch", "layer", "shape", "action", "n_above", "gof",
                                             "rank_before", "rank_after", "params_before",
                                             "params_after"))  # fmt: skip
    if probe and isinstance(pruner, _PruneProbe):
        out["probes"] = pruner.probes
    out["initial_params"] = MLP(list(sizes), seed=seed).n_params()
    if backend != "numpy" or dtype != "float32":  # the NumPy records stay as recorded
        out["environment"] = backend_environment(backend, device, dtype=dtype)
    return out


def truncation_curve(
    seed: int,
    dataset: str = "mnist",
    sizes: tuple[int, ...] = (784, 1000, 10),
    epochs: int = 10,
    lr: float = 0.08,
    ranks: tuple[int, ...] = tuple(range(0, 100, 5)),
    subset: tuple[int | None, int | None] | None = None,
    alpha: float = 0.25,
    beta: float = 0.1,
) -> dict[str, Any]:
    """Example 9.3 / Fig 21: train, then keep only the top-i singular values of W1 (no retraining).

    ReLU on both layers and PyTorch's default initialisation, as the authors' code (algorithms.md §2.5).
    """
    from rmtheory.bema import BEMA
    from rmtheory.lowrank import svd
    from rmtheory.nn import MLP, evaluate, train

    xtr, ytr, xte, yte = load_data(dataset, None if subset is None else tuple(subset), "none")
    model = MLP(list(sizes), final_activation="relu", init="pytorch", seed=seed)
    h = train(model, (xtr, ytr), (xte, yte), epochs, lr=lr, momentum=0.9, lr_decay=None, seed=seed,
              verbose=False)  # fmt: skip
    W = model.layers[0].weight
    U, s, Vt = svd(W)
    fit = BEMA(alpha, beta).fit(W)
    accs = []
    for k in ranks:
        trial = model.copy()
        trial.layers[0].set_dense((U[:, :k] * s[:k]) @ Vt[:k])
        accs.append(evaluate(trial, (xte, yte))[2])
    return {
        "ranks": list(ranks),
        "accuracy": accs,
        "full_accuracy": h.test_accuracy[-1],
        "bema_rank": fit.n_spikes_,
        "gof": fit.gof_,
        "shape": list(W.shape),
    }


def sparsification_curve(
    seed: int,
    method: str = "mp",
    dataset: str = "fashion-mnist",
    sizes: tuple[int, ...] = (784, 3000, 3000, 3000, 3000, 500, 10),
    epochs: int = 70,
    every: int = 7,
    T: float = 87.5,
    l1: float = 1e-6,
    l2: float = 1e-6,
    subset: tuple[int | None, int | None] | None = None,
    thresholds: tuple[float, ...] = tuple(1 / (1 + k) for k in range(50)),
    final_activation: str | None = "relu",
    backend: str = "numpy",
    device: str | None = None,
    dtype: str = "float32",
) -> dict[str, Any]:
    """Fig 6: train (MP-pruned or normal), then zero every weight with ``|w| < xi`` over a grid
    of xi; ``backend``, ``device``, ``dtype`` as :func:`train_run`'s."""
    from rmtheory.experiments.backends import check_backend
    from rmtheory.nn import MLP

    backend, device, dtype = check_backend(backend, device, dtype)
    xtr, ytr, xte, yte = load_data(dataset, None if subset is None else tuple(subset), "none")
    start = MLP(list(sizes), final_activation=final_activation, seed=seed, dtype=np.dtype(dtype))
    initial = start.n_params()  # before training: the NumPy net is trained in place
    model, train, _, classes, sparsify_sweep = _on_backend(start, backend, device)
    pruner = _hooks(
        method,
        epochs,
        classes,
        every=every,
        T=T,
        alpha=0.25,
        beta=0.1,
        gof_cutoff=1.0,
        variant="default",
    ).pruner  # the sweep is the sparsification
    h = train(model, (xtr, ytr), (xte, yte), epochs, l1=l1, l2=l2, pruner=pruner, seed=seed,
              verbose=False)  # fmt: skip
    sweep = sparsify_sweep(model, (xte, yte), list(thresholds))
    return {
        "thresholds": list(thresholds),
        "n_nonzero": [n for n, _ in sweep],
        "accuracy": [a for _, a in sweep],
        "initial_params": initial,
        "trained_params": _n_params(model),
        "test_accuracy": h.test_accuracy[-1],
    }


def _n_params(model) -> int:
    """Parameters of a NumPy network or a torch module (its trainable tensors)."""
    if hasattr(model, "n_params"):
        return int(model.n_params())
    return int(sum(p.numel() for p in model.parameters()))


def layer_spectrum(
    seed: int,
    dataset: str = "mnist",
    sizes: tuple[int, ...] = (784, 1000, 1000, 10),
    epochs: int = 5,
    layer: int = 1,
    subset: tuple[int | None, int | None] | None = None,
    final_activation: str | None = "relu",
) -> dict[str, Any]:
    """Train normally, then the ESD of one hidden layer with its BEMA fit (Fig 18, on a trained net)."""
    from rmtheory.bema import BEMA
    from rmtheory.nn import MLP, train

    xtr, ytr, xte, yte = load_data(dataset, None if subset is None else tuple(subset), "none")
    model = MLP(list(sizes), final_activation=final_activation, seed=seed)
    h = train(model, (xtr, ytr), (xte, yte), epochs, seed=seed, verbose=False)
    W = model.layers[layer].weight
    fit = BEMA().fit(W)
    return {
        "eigenvalues": fit.eigenvalues_.tolist(),
        "sigma2": fit.sigma2_,
        "ratio": fit.ratio_,
        "lambda_plus": fit.lambda_plus_,
        "n_spikes": fit.n_spikes_,
        "gof": fit.gof_,
        "shape": list(W.shape),
        "test_accuracy": h.test_accuracy[-1],
        "init_variance": 1.0 / W.shape[1],
    }
