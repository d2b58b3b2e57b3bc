"""Runs of the authors' protocol (:func:`rmtheory.nn.paper_protocol`) and of its controls.

One function, :func:`protocol_run`, trains one *arm* on one seed and returns per-epoch records as
plain data.  The arms separate the ingredients of the headline effect (issue: "the paper's headline,
as the authors ran it"):

============================  =================================================================
arm                           what differs from ``normal``
============================  =================================================================
``normal``                    nothing: the authors' net (ReLU on the output) trained unpruned
``mp``                        Algorithm 1 as the authors ran it, output layer included
``output_only``               Algorithm 1 on the output layer only
``hidden_only``               Algorithm 1 on the hidden layers only
``momentum_reset``            no layer changes; momentum reset at the pass epochs
``normal_no_relu``            no ReLU on the output (the corrected net), unpruned
``mp_no_relu``                the corrected net with the authors' Algorithm 1
``corrected_mp``              the corrected net with the library's Algorithm 1 (correct BEMA,
                              output protected, bias kept)
``corrected_gavish_donoho``   … with the Gavish–Donoho threshold in place of BEMA
``corrected_energy``          … keeping 90 % of the spectral energy
``corrected_magnitude``       … magnitude sparsification during training (ξ 0.001 → 0.02)
============================  =================================================================

Every arm of one seed starts from the same weights and sees the same batches.  Per epoch the run
records the test accuracy, the number of classes never predicted on the test set and, per class,
the fraction of test images whose output is exactly zero (a dead ReLU output unit); around every
pass it records that fraction just before and just after the pass.

Either backend trains an arm (:mod:`rmtheory.experiments.backends`): ``backend="numpy"`` (the
default: :func:`rmtheory.nn.train`, float32) or ``backend="torch"`` (:func:`rmtheory.torch.train`
on ``device``, with the same initial weights, drawn by :class:`rmtheory.nn.MLP`, the same
batches, SGD with momentum, L1/L2 on the loss, the authors' lr schedule and pass calendar, and
the method table's hooks with :data:`rmtheory.torch.TORCH_CLASSES`).  ``dtype="float64"`` trains
either in double precision (the cross-backend test, ``tests/test_torch_protocol.py``).  The
NumPy float32 run's cache key and checkpoint name are those it always had; every other choice is
part of both, and every record's ``environment`` says which backend, device and versions made it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.atomic import atomic_write
from rmtheory.experiments.backends import backend_kwargs, check_backend
from rmtheory.experiments.runner import checkpoint_dir, discard_damaged, seed_run
from rmtheory.experiments.training.compute import event_records, load_data
from rmtheory.nn.methods import arm_settings, protocol_hooks

__all__ = [
    "ARMS",
    "DEAD_FRACTION",
    "HEADLINE_ARMS",
    "INTERVENTION_ARMS",
    "TABLE_ARMS",
    "checkpoint_dir",
    "dead_units",
    "protocol_run",
    "run_headline_arms",
    "run_protocol_table",
]

ARMS = (
    "normal",
    "mp",
    "output_only",
    "hidden_only",
    "momentum_reset",
    "normal_no_relu",
    "mp_no_relu",
    "corrected_mp",
    "corrected_gavish_donoho",
    "corrected_energy",
    "corrected_magnitude",
    "cut_keep_momentum",
    "cut_reset_momentum",
    "shake_output",
)
#: The headline's interventions at the first pass (rmtheory.nn.interventions), run on the seeds
#: whose normal net has dead output units after epoch 1.
INTERVENTION_ARMS = ("cut_keep_momentum", "cut_reset_momentum", "shake_output")

HEADLINE_ARMS = ARMS[: ARMS.index("mp_no_relu") + 1]  # the authors' net, its controls, no ReLU
# Paper protocol first (the table's own claim), then the corrected net's baselines.
TABLE_ARMS = (
    "normal",
    "mp",
    "normal_no_relu",
    "corrected_mp",
    "corrected_gavish_donoho",
    "corrected_energy",
    "corrected_magnitude",
)

#: An output unit is *dead* when it is exactly zero on at least this fraction of test images.
DEAD_FRACTION = 0.95


def dead_units(run: dict, epoch: int = -1) -> int:
    """Output units of a per-seed record dead after ``epoch`` (0-based; -1: the last epoch).

    A record's ``zero_fraction[e]`` lists, per output unit, the share of test images on which
    the unit is exactly 0 after epoch ``e``; a record without it (None) counts no dead unit.
    """
    zf = run["zero_fraction"][epoch]
    return 0 if zf is None else int(sum(f >= DEAD_FRACTION for f in zf))


def _numpy_predict(model, X: np.ndarray) -> np.ndarray:
    return model.predict(X)


def _torch_predict(model, X: np.ndarray) -> np.ndarray:
    from rmtheory.torch.train import predict

    return predict(model, X)


class _PassProbe:
    """Wraps a hook; records per-class zero-output fractions just before and after each pass.

    ``predict`` gives a model's outputs on ``X`` as an array (the backend's); the probe follows
    both hook protocols: ``on_epoch_start`` (NumPy trainer) and ``step`` (torch backend).
    """

    def __init__(self, inner, X: np.ndarray, predict=_numpy_predict):
        self.inner, self.X, self.predict = inner, X, predict
        self.reset_momentum = getattr(inner, "reset_momentum", False)
        self.records: list[dict] = []

    def _zero_fraction(self, model) -> list[float]:
        return np.mean(self.predict(model, self.X) == 0, axis=0).tolist()

    def _around(self, model, epoch, fire):
        fires = (epoch + 1) % getattr(self.inner, "every", 1) == 0
        before = self._zero_fraction(model) if fires else None
        events = fire()
        if fires:
            self.records.append(
                {"epoch": epoch + 1, "before": before, "after": self._zero_fraction(model)}
            )
        return events

    def on_epoch_start(self, model, epoch, n_classes=None):
        return self._around(
            model, epoch, lambda: self.inner.on_epoch_start(model, epoch, n_classes)
        )

    def step(self, model, optimizer=None, epoch=0):
        return self._around(model, epoch, lambda: self.inner.step(model, optimizer, epoch))

    def after_step(self, model):
        hook = getattr(self.inner, "after_step", None)
        if hook is not None:
            hook(model)

    def state_dict(self):
        inner = getattr(self.inner, "state_dict", lambda: {})()
        return {"records": json.dumps(self.records), "inner": inner}

    def load_state_dict(self, state):
        self.records = json.loads(state.get("records", "[]"))
        loader = getattr(self.inner, "load_state_dict", None)
        if loader is not None:
            loader(state.get("inner", {}))


def _read_side(side: Path, ckpt: Path) -> dict | None:
    """The per-epoch records beside a checkpoint; None (both removed, with a warning) if damaged."""
    try:
        records = json.loads(side.read_text())
    except (OSError, ValueError) as err:
        why = f"unreadable ({type(err).__name__}: {err})"
    else:
        if isinstance(records, dict) and all(
            isinstance(records.get(k), list) for k in ("never_predicted", "zero_fraction")
        ):
            return records
        why = "not the per-epoch records of a protocol run"
    discard_damaged(side, why, ckpt)
    return None


def _torch_hooks(arm: str, proto, n_layers: int):
    """The arm's hooks with the torch backend's classes (the interventions: rmtheory.torch's)."""
    import rmtheory.torch as rt
    from rmtheory.nn.methods import TrainingHooks
    from rmtheory.torch.interventions import LayerIntervention

    method, settings = arm_settings(arm, proto, n_layers)
    if method != "intervention":
        return protocol_hooks(arm, proto, n_layers, classes=rt.TORCH_CLASSES)
    rank_from = rt.training_hooks("mp", **dict(settings["rank_from"] or {})).pruner
    hook = LayerIntervention(settings["kind"], at=settings["at"], layer=settings["layer"],
                             rank_from=rank_from, seed=settings.get("seed", 0))  # fmt: skip
    return TrainingHooks(hook, None)


def protocol_run(
    seed: int,
    arm: str = "mp",
    dataset: str = "mnist",
    subset: tuple[int | None, int | None] | None = None,
    protocol: dict[str, Any] | None = None,
    backend: str = "numpy",
    device: str | None = None,
    dtype: str = "float32",
    _checkpoint_dir: str | None = None,
) -> dict[str, Any]:
    """Train arm ``arm`` (one of :data:`ARMS`) of the authors' protocol on one seed.

    ``protocol`` overrides fields of :class:`rmtheory.nn.presets.PaperProtocol` (sizes, epochs,
    every, T, ...).  ``backend`` (``"numpy"`` or ``"torch"``), ``device`` (a torch device type)
    and ``dtype`` (``"float32"`` or ``"float64"``) choose what trains it (module docstring).
    Returns per-epoch lists (``test_accuracy``, ``train_accuracy``, ``train_loss``,
    ``test_loss_paper``, ``n_params``, ``never_predicted``, ``zero_fraction`` (epoch × class)),
    the pass records ``passes``, the layer ``events``, ``final_ranks`` and the ``environment``
    (backend, device, library versions).
    """
    from rmtheory.nn import MLP, paper_protocol
    from rmtheory.provenance import backend_environment

    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    backend, device, dtype = check_backend(backend, device, dtype)
    settings = dict(protocol or {})
    if arm in ("normal_no_relu", "mp_no_relu") or arm.startswith("corrected_"):
        settings["final_activation"] = None
    proto = paper_protocol(**settings)
    xtr, ytr, xte, yte = load_data(
        dataset, None if subset is None else tuple(subset), proto.normalize
    )
    # the authors' initialisation, drawn by the NumPy network whatever the backend
    start = MLP(list(proto.sizes), final_activation=proto.final_activation, init=proto.init,
                seed=seed, dtype=np.dtype(dtype))  # fmt: skip
    n_layers = len(start.layers)
    probe_x = xte[:2000]
    if backend == "torch":
        from rmtheory.torch.train import from_numpy, layer_ranks, predict
        from rmtheory.torch.train import train as fit

        model = from_numpy(start, device=device)
        pruner, sparsifier = _torch_hooks(arm, proto, n_layers)
        probe_predict = _torch_predict
    else:
        train_module = importlib.import_module("rmtheory.nn.train")  # the module: rmtheory.nn.train
        model, fit, predict = start, train_module.train, _numpy_predict
        pruner, sparsifier = protocol_hooks(arm, proto, n_layers)
        probe_predict = _numpy_predict
    if pruner is not None:
        pruner = _PassProbe(pruner, probe_x, probe_predict)
    per_epoch: dict[str, list] = {"never_predicted": [], "zero_fraction": []}
    n_classes = int(proto.sizes[-1])

    def record(epoch, model, history):
        pred = predict(model, xte)
        per_epoch["never_predicted"].append(int(n_classes - np.unique(pred.argmax(1)).size))
        per_epoch["zero_fraction"].append(np.mean(pred == 0, axis=0).tolist())

    # the NumPy float32 run's tag is the one its checkpoints always had
    chosen = {k: v for k, v in (("backend", backend), ("device", device), ("dtype", dtype))
              if backend != "numpy" or dtype != "float32"}  # fmt: skip
    tag = json.dumps({"arm": arm, "dataset": dataset, "subset": subset,
                      "proto": dataclasses.asdict(proto), **chosen},
                     sort_keys=True, default=str)  # fmt: skip
    ckpt = None
    if _checkpoint_dir is not None:
        digest = hashlib.sha1(tag.encode()).hexdigest()[:12]
        suffix = ".pt" if backend == "torch" else ".npz"
        ckpt = Path(_checkpoint_dir) / f"protocol-{arm}-seed{seed}-{digest}{suffix}"
        side = ckpt.with_suffix(".epochs.json")
        if side.exists() and ckpt.exists():
            per_epoch = _read_side(side, ckpt) or per_epoch

        def save_side(epoch, model, history):
            # a kill mid-write must not lose the run
            atomic_write(side, json.dumps(per_epoch), what="epoch records")

    callbacks = [record] + ([save_side] if ckpt is not None else [])
    try:
        h = fit(model, (xtr, ytr), (xte, yte), **proto.train_kwargs(), seed=seed, pruner=pruner,
                sparsifier=sparsifier, callbacks=callbacks, checkpoint=ckpt,
                resume=ckpt is not None, verbose=False)  # fmt: skip
    except ValueError as err:  # a checkpoint that cannot be read names itself: start afresh
        if ckpt is None or str(ckpt) not in str(err):
            raise
        discard_damaged(ckpt, str(err), side)
        return protocol_run(seed, arm, dataset, subset, protocol, backend=backend, device=device,
                            dtype=dtype, _checkpoint_dir=_checkpoint_dir)  # fmt: skip
    keys = ("test_accuracy", "train_accuracy", "train_loss", "test_loss", "test_loss_paper",
            "n_params", "n_nonzero", "lr", "epoch_time")  # fmt: skip
    out: dict[str, Any] = {k: list(getattr(h, k)) for k in keys}
    missing = len(out["test_accuracy"]) - len(per_epoch["never_predicted"])
    for key in per_epoch:  # a kill between the checkpoint and its side file loses one record
        out[key] = [None] * missing + per_epoch[key]
    out["passes"] = pruner.records if pruner is not None else []
    fields = ("epoch", "layer", "action", "rank_before", "rank_after", "n_above", "gof",
              "bema_window", "bias_dropped", "reason")  # fmt: skip
    out["events"] = event_records(h.events, fields, ("split", "truncate", "skip"))
    if arm in INTERVENTION_ARMS:  # the change an intervention made, beside its rank
        out["events"] = event_records(h.events, (*fields, "frobenius_change"),
                                      ("truncate", "perturb"))  # fmt: skip
    # a layer truncated in place keeps its shape but not its rank
    ranks = layer_ranks(model) if backend == "torch" else [layer.rank for layer in model.layers]
    for e in out["events"]:
        if e["action"] in ("split", "truncate"):
            ranks[e["layer"]] = e["rank_after"]
    out["final_ranks"] = ranks
    out["initial_params"] = proto.model(seed).n_params()
    out["arm"] = arm
    # where it ran (the runner adds the BLAS pools; this adds the backend and the device)
    out["environment"] = backend_environment(backend, device, dtype=dtype)
    return out


_arm_seeds = seed_run(protocol_run, ["dataset", "subset", "protocol"])


def run_headline_arms(params: dict, jobs: int, cache, arms=HEADLINE_ARMS) -> dict:
    """Per-seed records of every arm: ``{"arms": [...], "runs": {arm: [seed records]}}``."""
    runs = {}
    for arm in arms:
        # backend_kwargs() is {} for the NumPy backend, so its cache keys stay those recorded
        records = _arm_seeds(params, jobs, cache, arm=arm, _checkpoint_dir=checkpoint_dir(cache),
                             **backend_kwargs())  # fmt: skip
        # a partial result (reproduce(cached_only=True)) lacks some seeds: records keep theirs
        done = [{**r, "seed": s} for s, r in enumerate(records) if r is not None]
        if done:
            runs[arm] = done
    out = {"arms": [a for a in arms if a in runs], "runs": runs}
    if backend_kwargs():  # a row of another backend says so (the NumPy rows stay as recorded)
        out["backend"] = backend_kwargs()
    return out


def run_protocol_table(params: dict, jobs: int, cache) -> dict:
    """The table family's result layout (``topologies``, ``runs`` per topology) from the protocol
    runner: ``runs[t]["none"]`` / ``["mp"]`` are the paper protocol's normal and pruned nets, the
    other keys the corrected net's arms."""
    out = {"topologies": params["topologies"], "methods": list(params["arms"]), "runs": []}
    for sizes in params["topologies"]:
        proto = {**params["protocol"], "sizes": list(sizes)}
        res = run_headline_arms({**params, "protocol": proto}, jobs, cache, params["arms"])["runs"]
        if "normal" in res:
            res["none"] = res.pop("normal")
        out["runs"].append(res)
    if backend_kwargs():
        out["backend"] = backend_kwargs()
    return out
