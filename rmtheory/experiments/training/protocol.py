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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.atomic import atomic_write
from rmtheory.nn.methods import protocol_hooks
from rmtheory.experiments.runner import checkpoint_dir, discard_damaged, seed_run
from rmtheory.experiments.training.compute import event_records, load_data

__all__ = [
    "ARMS",
    "DEAD_FRACTION",
    "HEADLINE_ARMS",
    "INTERVENTION_ARMS",
    "TABLE_ARMS",
    "checkpoint_dir",
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


def _zero_fraction(model, X: np.ndarray) -> list[float]:
    out = model.predict(X)
    return np.mean(out == 0, axis=0).tolist()


class _PassProbe:
    """Wraps a hook; records per-class zero-output fractions just before and after each pass."""

    def __init__(self, inner, X: np.ndarray):
        self.inner, self.X = inner, X
        self.reset_momentum = getattr(inner, "reset_momentum", False)
        self.records: list[dict] = []

    def on_epoch_start(self, model, epoch, n_classes=None):
        fires = (epoch + 1) % getattr(self.inner, "every", 1) == 0
        before = _zero_fraction(model, self.X) if fires else None
        events = self.inner.on_epoch_start(model, epoch, n_classes)
        if fires:
            self.records.append(
                {"epoch": epoch + 1, "before": before, "after": _zero_fraction(model, self.X)}
            )
        return events

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


def protocol_run(
    seed: int,
    arm: str = "mp",
    dataset: str = "mnist",
    subset: tuple[int | None, int | None] | None = None,
    protocol: dict[str, Any] | None = None,
    _checkpoint_dir: str | None = None,
) -> dict[str, Any]:
    """Train arm ``arm`` (one of :data:`ARMS`) of the authors' protocol on one seed.

    ``protocol`` overrides fields of :class:`rmtheory.nn.presets.PaperProtocol` (sizes, epochs,
    every, T, ...).  Returns per-epoch lists (``test_accuracy``, ``train_accuracy``,
    ``train_loss``, ``test_loss_paper``, ``n_params``, ``never_predicted``, ``zero_fraction``
    (epoch × class)), the pass records ``passes``, the layer ``events`` and ``final_ranks``.
    """
    from rmtheory.nn import paper_protocol

    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    settings = dict(protocol or {})
    if arm in ("normal_no_relu", "mp_no_relu") or arm.startswith("corrected_"):
        settings["final_activation"] = None
    proto = paper_protocol(**settings)
    xtr, ytr, xte, yte = load_data(
        dataset, None if subset is None else tuple(subset), proto.normalize
    )
    model = proto.model(seed)
    pruner, sparsifier = protocol_hooks(arm, proto, len(model.layers))
    probe_x = xte[:2000]
    if pruner is not None:
        pruner = _PassProbe(pruner, probe_x)
    per_epoch: dict[str, list] = {"never_predicted": [], "zero_fraction": []}

    def record(epoch, model, history):
        pred = model.predict(xte)
        per_epoch["never_predicted"].append(int(model.sizes[-1] - np.unique(pred.argmax(1)).size))
        per_epoch["zero_fraction"].append(np.mean(pred == 0, axis=0).tolist())

    tag = json.dumps({"arm": arm, "dataset": dataset, "subset": subset,
                      "proto": dataclasses.asdict(proto)}, sort_keys=True, default=str)  # fmt: skip
    ckpt = None
    if _checkpoint_dir is not None:
        digest = hashlib.sha1(tag.encode()).hexdigest()[:12]
        ckpt = Path(_checkpoint_dir) / f"protocol-{arm}-seed{seed}-{digest}.npz"
        side = ckpt.with_suffix(".epochs.json")
        if side.exists() and ckpt.exists():
            per_epoch = _read_side(side, ckpt) or per_epoch

        def save_side(epoch, model, history):
            # a kill mid-write must not lose the run
            atomic_write(side, json.dumps(per_epoch), what="epoch records")

    callbacks = [record] + ([save_side] if ckpt is not None else [])
    try:
        _, h = proto.run((xtr, ytr), (xte, yte), seed=seed, pruner=pruner, sparsifier=sparsifier,
                      callbacks=callbacks, checkpoint=ckpt, resume=ckpt is not None, verbose=False)  # fmt: skip
    except ValueError as err:  # a checkpoint that cannot be read names itself: start afresh
        if ckpt is None or str(ckpt) not in str(err):
            raise
        discard_damaged(ckpt, str(err), side)
        return protocol_run(seed, arm, dataset, subset, protocol, _checkpoint_dir)
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
    ranks = [layer.rank for layer in model.layers]
    for e in out["events"]:  # a layer truncated in place keeps its shape but not its rank
        if e["action"] in ("split", "truncate"):
            ranks[e["layer"]] = e["rank_after"]
    out["final_ranks"] = ranks
    out["initial_params"] = proto.model(seed).n_params()
    out["arm"] = arm
    return out


_arm_seeds = seed_run(protocol_run, ["dataset", "subset", "protocol"])


def run_headline_arms(params: dict, jobs: int, cache, arms=HEADLINE_ARMS) -> dict:
    """Per-seed records of every arm: ``{"arms": [...], "runs": {arm: [seed records]}}``."""
    runs = {}
    for arm in arms:
        records = _arm_seeds(params, jobs, cache, arm=arm, _checkpoint_dir=checkpoint_dir(cache))
        # a partial result (reproduce(cached_only=True)) lacks some seeds: records keep theirs
        done = [{**r, "seed": s} for s, r in enumerate(records) if r is not None]
        if done:
            runs[arm] = done
    return {"arms": [a for a in arms if a in runs], "runs": runs}


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
    return out
