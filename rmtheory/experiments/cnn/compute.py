"""CNN experiments of §4.2.2–4.2.3 (Figs 7–11): one training run of the authors' CNN per (seed, method).

:func:`cnn_run` trains :func:`rmtheory.nn.authors_cnn` normally (``method="none"``) or with
Algorithm 1 on every convolution and dense layer (``method="mp"``: BEMA threshold, separate GoF cutoffs
for conv and dense layers, the split of a convolution into k filters and a 1×1 convolution), and
returns its per-epoch history as plain data; with ``thresholds`` it then sparsifies the trained net at
each threshold (Figs 9 and 11). The normal and the pruned net of a seed start from identical weights
and draw identical dropout masks (same seed), as in the authors' code.

Every run checkpoints into ``_checkpoint_dir`` under a name that depends only on the training
settings, so a figure that needs the same training with a sparsification sweep (Fig 9 after Fig 8)
restores the finished net from the checkpoint instead of training it again.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.experiments.cnn.records import history_record, params_by_kind
from rmtheory.experiments.runner import cache_key
from rmtheory.nn.methods import training_hooks

__all__ = ["cnn_run", "load_images", "cifar_unavailable", "full_test_accuracy", "final_accuracy",
           "CNN_METHODS", "CNN_THRESHOLDS"]  # fmt: skip

CNN_METHODS = ("none", "mp")  # names of the method table (rmtheory.nn.methods)
#: The authors' CNN sparsification thresholds (algorithms.md §1.6): 1/(20(1 + k)), k = 0..49.
CNN_THRESHOLDS = tuple(1.0 / (20 * (1 + k)) for k in range(50))
_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@functools.lru_cache(maxsize=4)
def load_images(
    dataset: str, subset: tuple[int | None, int | None] | None, normalize: str
) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) with images (n, c, h, w); subsets stratified, data seed 0.

    ``"tiny"`` (1×12×12) and ``"tiny-rgb"`` (3×12×12) are the synthetic blobs of
    :func:`rmtheory.datasets.make_tiny_classification` reshaped to images, for smoke runs.
    """
    from rmtheory import datasets

    if dataset in ("tiny", "tiny-rgb"):
        c = 1 if dataset == "tiny" else 3
        n_train, n_test = subset or (1000, 300)
        d = datasets.make_tiny_classification(
            n_train=n_train or 1000, n_test=n_test or 300, n_features=c * 144, seed=0
        )
        x_train, x_test = d.x_train.reshape(-1, c, 12, 12), d.x_test.reshape(-1, c, 12, 12)
        if normalize == "half":
            x_train, x_test = 2 * x_train - 1, 2 * x_test - 1
        return x_train, d.y_train, x_test, d.y_test
    loaders = {
        "mnist": datasets.load_mnist,
        "fashion-mnist": datasets.load_fashion_mnist,
        "cifar10": datasets.load_cifar10,
    }
    if dataset not in loaders:
        raise ValueError(f"dataset must be one of {sorted(loaders)} or 'tiny', got {dataset!r}")
    d = loaders[dataset](normalize=normalize, subset=subset, seed=0, flatten=False)
    return tuple(d)


def cifar_unavailable() -> str | None:
    """None when CIFAR-10 loads (verified), else what is needed to make it load (the loader's message)."""
    from rmtheory.datasets import DatasetUnavailable, load_cifar10

    try:
        load_cifar10(subset=(10, 10))
    except DatasetUnavailable as err:
        return err.instructions
    return None


def cnn_run(
    seed: int,
    method: str = "mp",
    dataset: str = "mnist",
    channels: tuple[int, ...] = (1, 32, 64, 128, 256, 512),
    fc: tuple[int, ...] = (1000, 10),
    epochs: int = 30,
    every: int = 13,
    T: float = 37.5,
    lr: float = 0.02,
    momentum: float = 0.9,
    lr_decay: float | None = 0.96,
    l1: float = 0.0,
    l2: float = 1e-3,
    subset: tuple[int | None, int | None] | None = None,
    normalize: str = "half",
    alpha: float = 0.2,
    beta: float = 0.9,
    gof_conv: float = 0.6,
    gof_dense: float = 0.05,
    variant: str = "default",
    paper_bugs: bool = False,
    thresholds: tuple[float, ...] | None = None,
    backend: str = "numpy",
    device: str | None = None,
    dtype: str = "float32",
    _checkpoint_dir: str | None = None,
) -> dict[str, Any]:
    """Train one authors' CNN with ``method`` (``"none"`` or ``"mp"``) and return its history.

    Defaults are Fig 7's (algorithms.md §2.4, paper §10.7): MNIST, 30 epochs, a pruning pass before
    epochs 13 and 26, SGD lr 0.02 momentum 0.9 batch 128, L2 0.001, lr × 0.96 per epoch; BEMA
    α = 0.2, β = 0.9 and GoF cutoffs 0.6 (conv) / 0.05 (dense) from the authors' CNN cell; keep
    fraction ``max(0, 1 - epoch/T)``.  ``thresholds`` adds the sparsification sweep of the trained
    net: ``sweep = {"thresholds", "n_nonzero", "accuracy"}`` on the test set.  ``backend="torch"``
    (``device``, ``dtype``) trains it on :mod:`rmtheory.torch` (:mod:`.torch_run`).
    """
    from rmtheory.nn import authors_cnn, sparsify_sweep, train

    if method not in CNN_METHODS:
        raise ValueError(f"method must be one of {CNN_METHODS}, got {method!r}")
    settings = {k: v for k, v in locals().items()
                if k not in ("_checkpoint_dir", "thresholds", "authors_cnn", "sparsify_sweep",
                             "train", "MPPruner", "linear_schedule", "backend", "device",
                             "dtype")}  # fmt: skip
    if (backend, device, dtype) != ("numpy", None, "float32"):  # the NumPy run's names unchanged
        from rmtheory.experiments.backends import check_backend
        from rmtheory.experiments.cnn.torch_run import cnn_run_torch

        backend, device, dtype = check_backend(backend, device, dtype)
        if backend == "torch":
            return cnn_run_torch({**settings, "backend": backend, "device": device,
                                  "dtype": dtype}, thresholds, _checkpoint_dir,
                                 load_images)  # fmt: skip
        if dtype != "float32":
            raise ValueError("cnn_run: dtype='float64' needs backend='torch'")
    xtr, ytr, xte, yte = load_images(dataset, None if subset is None else tuple(subset), normalize)
    shape = tuple(int(d) for d in xtr.shape[1:])
    channels = (shape[0], *channels[1:])

    def build():
        return authors_cnn(channels=channels, fc=fc, input_shape=shape, seed=seed,
                           paper_bugs=paper_bugs)  # fmt: skip

    model = build()
    initial = model.n_params()
    pruner = None
    if method == "mp":
        pruner = training_hooks(
            "mp",
            every=every,
            alpha=alpha,
            beta=beta,
            variant=variant,
            gof_cutoff={"conv": gof_conv, "dense": gof_dense},
            T=T,
        ).pruner
    # the checkpoint is named by the settings' hash, the one the per-seed records use
    ckpt = (
        None
        if _checkpoint_dir is None
        else Path(_checkpoint_dir) / f"cnn-{method}-seed{seed}-{cache_key(settings)}.npz"
    )
    h = train(model, (xtr, ytr), (xte, yte), epochs, lr=lr, momentum=momentum, lr_decay=lr_decay,
              l1=l1, l2=l2, pruner=pruner, loss=model.loss, checkpoint=ckpt,
              resume=ckpt is not None, seed=seed, verbose=False)  # fmt: skip
    out = history_record(h)
    out["initial_params"] = initial
    out["params_by_kind"] = params_by_kind(model)
    out["initial_params_by_kind"] = params_by_kind(build())
    # the comparisons are judged on the whole test set (its binomial s.e. is √(p(1-p)/n): 0.12
    # points at 98.5 % on 10 000 images vs 0.27 on 2 000), but the per-epoch curves keep the
    # subset, since evaluating 10 000 images every epoch would double a quick run
    out["final_test_accuracy_full"], out["n_test_full"] = full_test_accuracy(
        model, dataset, subset, normalize
    )
    if thresholds is not None:
        sweep = sparsify_sweep(model, (xte, yte), list(thresholds))
        out["sweep"] = {
            "thresholds": [float(t) for t in thresholds],
            "n_nonzero": [n for n, _ in sweep],
            "accuracy": [a for _, a in sweep],
        }
    from rmtheory.provenance import backend_environment  # where it ran, as the torch run says

    out["environment"] = backend_environment("numpy", "cpu")
    return out


def full_test_accuracy(
    model, dataset: str, subset: tuple[int | None, int | None] | None, normalize: str
) -> tuple[float, int]:
    """(accuracy, number of images) of ``model`` on the whole test set of ``dataset``.

    ``subset`` is the run's (n_train, n_test); only its training part is kept, so the test part
    becomes every test image (for the synthetic ``tiny`` sets: their default 300).
    """
    n_train = None if subset is None else subset[0]
    _, _, xte, yte = load_images(dataset, (n_train, None), normalize)
    pred = model.predict(xte).argmax(axis=1)
    return float(np.mean(pred == yte)), int(yte.size)


def final_accuracy(run: dict) -> tuple[float, int | None]:
    """(final test accuracy, number of test images) of one run: on the whole test set when the
    run recorded it (:func:`full_test_accuracy`), else the last epoch's on the run's subset."""
    if run.get("final_test_accuracy_full") is not None:
        return float(run["final_test_accuracy_full"]), run.get("n_test_full")
    return float(run["test_accuracy"][-1]), None


def final(runs: list[dict], key: str) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1, :func:`rules.mean_sd`) over seeds of the last
    epoch's ``key``."""
    from rmtheory.experiments import rules

    return rules.mean_sd([r[key][-1] for r in runs])


def fewest_within(sweep: dict, initial: int, drop: float = 0.01) -> tuple[float, float, float]:
    """Sparsest point of a sweep whose accuracy is within ``drop`` of the unsparsified net's.

    Returns (% of the initial parameters still nonzero, its accuracy, the reference accuracy); the
    reference is the accuracy at the smallest threshold (≈ the trained net).
    """
    acc = np.asarray(sweep["accuracy"], dtype=np.float64)
    nz = np.asarray(sweep["n_nonzero"], dtype=np.float64)
    ref = float(acc[int(np.argmin(sweep["thresholds"]))])
    ok = acc >= ref - drop
    i = int(np.argmin(np.where(ok, nz, np.inf)))
    return 100.0 * nz[i] / initial, float(acc[i]), ref


def accuracy_at(sweep: dict, initial: int, percent: float) -> float:
    """Accuracy of a sweep at ``percent`` of the initial parameters (log-linear interpolation)."""
    nz = 100.0 * np.asarray(sweep["n_nonzero"], dtype=np.float64) / initial
    acc = np.asarray(sweep["accuracy"], dtype=np.float64)
    order = np.argsort(nz)
    x, y = np.log(np.maximum(nz[order], 1e-12)), acc[order]
    if not (x[0] <= math.log(percent) <= x[-1]):
        return math.nan
    return float(np.interp(math.log(percent), x, y))
