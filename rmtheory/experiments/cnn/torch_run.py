"""The CNN figures' training run (:func:`rmtheory.experiments.cnn.compute.cnn_run`) on the torch backend.

:func:`cnn_run_torch` is what ``cnn_run(..., backend="torch", device=...)`` calls: the authors'
CNN built by :func:`rmtheory.nn.authors_cnn` (so the initial weights are the NumPy run's, drawn
from the same seed), converted with :func:`rmtheory.torch.train.from_numpy`, trained by
:func:`rmtheory.torch.train.train` with the method table's ``"mp"`` hook in the torch classes
(BEMA α, β, the per-kind GoF cutoffs ``{"conv": gof_conv, "dense": gof_dense}``, the keep
fraction ``max(0, 1 - epoch/T)``), and returned in the NumPy run's layout: the events'
``layer`` is re-indexed to the NumPy model's ``layers`` (torch events index the matrix layers),
``params_by_kind`` counts the same kinds, the sparsification sweep uses
:func:`rmtheory.torch.sparsify_sweep`.  Dropout masks are torch's: a seed is reproducible on
this backend and device, and agrees with the NumPy run in distribution only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.experiments.cnn.records import history_record, params_by_kind
from rmtheory.experiments.runner import cache_key

__all__ = ["cnn_run_torch"]


def _params_by_kind(model) -> dict[str, int]:
    """As ``compute._params_by_kind`` on the NumPy model: conv, dense and batchnorm parameters
    (a split layer counted once, both factors and the bias)."""
    from torch import nn

    from rmtheory.torch.layers import FactorizedConv2d, layer_params, matrix_layers

    out: dict[str, int] = {}

    def add(kind, n):
        out[kind] = out.get(kind, 0) + n

    for _, m in matrix_layers(model):
        kind = "conv" if isinstance(m, nn.Conv2d | FactorizedConv2d) else "dense"
        add(kind, sum(int(p.numel()) for p in layer_params(m)))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            add("batchnorm", sum(int(p.numel()) for p in m.parameters()))
    return out


def cnn_run_torch(
    settings: dict[str, Any], thresholds, _checkpoint_dir: str | None, load_images
) -> dict:
    """One CNN run on the torch backend; ``settings`` are ``cnn_run``'s arguments (with
    ``backend``, ``device``, ``dtype``), which also name its checkpoint; ``load_images`` is
    :func:`rmtheory.experiments.cnn.compute.load_images` (passed in: no import cycle)."""
    import rmtheory.torch as rt
    from rmtheory.nn import authors_cnn
    from rmtheory.provenance import backend_environment
    from rmtheory.torch.train import from_numpy, predict, train

    s = settings
    subset = None if s["subset"] is None else tuple(s["subset"])
    xtr, ytr, xte, yte = load_images(s["dataset"], subset, s["normalize"])
    shape = tuple(int(d) for d in xtr.shape[1:])
    channels = (shape[0], *s["channels"][1:])
    start = authors_cnn(channels=channels, fc=s["fc"], input_shape=shape, seed=s["seed"],
                        paper_bugs=s["paper_bugs"], dtype=np.dtype(s["dtype"]))  # fmt: skip
    initial, initial_by_kind = start.n_params(), params_by_kind(start)
    model = from_numpy(start, device=s["device"])
    pruner = None
    if s["method"] == "mp":
        pruner = rt.training_hooks("mp", every=s["every"], alpha=s["alpha"], beta=s["beta"],
                                   variant=s["variant"], T=s["T"],
                                   gof_cutoff={"conv": s["gof_conv"], "dense": s["gof_dense"]},
                                   ).pruner  # fmt: skip
    ckpt = None
    if _checkpoint_dir is not None:
        ckpt = Path(_checkpoint_dir) / f"cnn-{s['method']}-seed{s['seed']}-{cache_key(s)}.pt"
    h = train(model, (xtr, ytr), (xte, yte), s["epochs"], lr=s["lr"], momentum=s["momentum"],
              lr_decay=s["lr_decay"], l1=s["l1"], l2=s["l2"], pruner=pruner, loss=start.loss,
              checkpoint=ckpt, resume=ckpt is not None, seed=s["seed"])  # fmt: skip
    out = history_record(h)
    for e in out["events"]:  # NumPy's index into model.layers, as the NumPy run records it
        e["layer"] = model.numpy_index[e["layer"]]
    out["initial_params"] = initial
    out["params_by_kind"] = _params_by_kind(model)
    out["initial_params_by_kind"] = initial_by_kind
    n_train = None if subset is None else subset[0]
    _, _, x_all, y_all = load_images(s["dataset"], (n_train, None), s["normalize"])
    pred = predict(model, x_all).argmax(axis=1)
    out["final_test_accuracy_full"], out["n_test_full"] = (
        float(np.mean(pred == y_all)),
        int(y_all.size),
    )
    if thresholds is not None:
        sweep = rt.sparsify_sweep(model, (xte, yte), list(thresholds))
        out["sweep"] = {
            "thresholds": [float(t) for t in thresholds],
            "n_nonzero": [n for n, _ in sweep],
            "accuracy": [a for _, a in sweep],
        }
    out["environment"] = backend_environment("torch", s["device"], dtype=s["dtype"])
    return out
