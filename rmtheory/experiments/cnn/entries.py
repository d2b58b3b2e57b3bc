"""Registry entries for the CNN experiments: Figs 7, 8 (MNIST, Fashion-MNIST), 9 (sparsification after
MP-pruned vs normal training), 10 and 11 (the same on CIFAR-10).

One set of runs (normal and MP-pruned CNN, same seeds, same initial weights and dropout streams) feeds
a figure; the training checkpoints are shared, so ``rmtheory reproduce fig8 fig9`` trains once and
Fig 9 only adds the sparsification sweep. The paper's numbers for these figures were lost in the text
extraction (algorithms.md §2.4): the claims are its qualitative statements, each verdict stating the
reading used. Figs 10–11 need the CIFAR-10 archive, which no package registry carries; without it
their claims are "not checkable" and say which file to place where.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from rmtheory.experiments import power, rules
from rmtheory.experiments.backends import backend_kwargs
from rmtheory.experiments.cnn.compute import (
    CNN_THRESHOLDS,
    accuracy_at,
    cifar_unavailable,
    cnn_run,
    fewest_within,
    final_accuracy,
)
from rmtheory.experiments.registry import Claim, Experiment, register
from rmtheory.experiments.runner import checkpoint_dir, seed_run

QUICK_CHANNELS = [1, 8, 16, 32, 64, 128]  # a quarter of the authors' widths
QUICK_FC = [250, 10]
_TRAIN_KEYS = ("dataset", "channels", "fc", "epochs", "every", "T", "lr", "l2", "subset", "alpha",
               "beta", "gof_conv", "gof_dense", "normalize", "paper_bugs")  # fmt: skip
_COMMON = {"lr": 0.02, "l2": 1e-3, "alpha": 0.2, "beta": 0.9, "gof_conv": 0.6, "gof_dense": 0.05,
           "normalize": "half", "paper_bugs": False}  # fmt: skip
_SMOKE = {**_COMMON, "dataset": "tiny", "subset": [256, 100], "channels": [1, 6, 40, 40],
          "fc": [64, 10], "epochs": 3, "every": 2, "T": 3.0, "n_seeds": 1}  # fmt: skip

_FULL_NET = {"channels": [1, 32, 64, 128, 256, 512], "fc": [1000, 10], "subset": None, "n_seeds": 5}
# 3 seeds: the fewest a paired comparison over seeds may reproduce on (rules.paired_effect)
_QUICK_NET = {"channels": QUICK_CHANNELS, "fc": QUICK_FC, "subset": [12000, 2000], "n_seeds": 3}
#: §4.2.2's GoF dependence: a stricter pair of cutoffs (conv, dense) than the authors' 0.6 / 0.05,
#: below the median GoF the passes of the quick runs see (conv 0.03-0.14, dense 0.01-0.05), so a
#: part of the passes is skipped; the normal net is the cutoff-0 end of the same sweep.
GOF_STRICT = [0.04, 0.02]
_CIFAR = {"gof_conv": 0.06, "gof_dense": 0.08}


def _schedule(epochs: int, every: int, T: float) -> dict:
    return {"epochs": epochs, "every": every, "T": T}


SIZES = {
    "mnist": {
        "smoke": {**_SMOKE, "gof_strict": GOF_STRICT},
        "quick": {**_COMMON, **_QUICK_NET, "dataset": "mnist", **_schedule(10, 4, 12.5),
                  "gof_strict": GOF_STRICT},
        "full": {**_COMMON, **_FULL_NET, "dataset": "mnist", **_schedule(30, 13, 37.5),
                 "gof_strict": GOF_STRICT},
    },
    "fashion-mnist": {
        "smoke": _SMOKE,
        "quick": {**_COMMON, **_QUICK_NET, "dataset": "fashion-mnist", **_schedule(12, 5, 15.0)},
        "full": {**_COMMON, **_FULL_NET, "dataset": "fashion-mnist", **_schedule(70, 17, 87.5)},
    },
    # paper §10.9: lr 0.001, split every 40, GoF 0.06 (conv) / 0.08 (dense), 300 epochs (§4.2.3: 350)
    "cifar10": {
        "smoke": {**_SMOKE, **_CIFAR, "dataset": "tiny-rgb", "channels": [3, 6, 40, 40]},
        "quick": {**_COMMON, **_QUICK_NET, **_CIFAR, "dataset": "cifar10", "subset": [10000, 2000],
                  "channels": [3, 8, 16, 32, 64, 128], **_schedule(12, 5, 15.0), "lr": 0.01},
        "full": {**_COMMON, **_FULL_NET, **_CIFAR, "dataset": "cifar10",
                 "channels": [3, 32, 64, 128, 256, 512], **_schedule(300, 40, 375.0), "lr": 0.001},
    },
}  # fmt: skip


FOLLOWS = (
    "authors' CNN cell for the network (conv 3x3 -> ReLU -> BatchNorm -> max-pool after the 3rd and 5th "
    "conv -> dropout 0.35; Linear -> BatchNorm -> ReLU -> dropout 0.5 -> Linear; channels "
    "[1,32,64,128,256,512], head [4608,1000,10]; PyTorch conv init, N(0,1/fan_in) linear init; inputs "
    "normalised to [-1,1]; BEMA alpha 0.2 beta 0.9; GoF cutoffs conv 0.6 / dense 0.05, CIFAR 0.06 / 0.08 "
    "as paper §10.9) and the paper for the schedule (§10.7: SGD lr 0.02, momentum 0.9, batch 128, L2 "
    "0.001 on the loss, lr x0.96 per epoch; MNIST 30 epochs split every 13, Fashion 70 split every 17, "
    "CIFAR 300 split every 40 at lr 0.001; 5 seeds). Keep fraction max(0, 1 - epoch/T) with T = 1.25 x "
    "epochs (constants lost; gives the 'about half the parameters' of §4.2.2). The authors' bugs "
    "(log-softmax over the batch, dropout at test time) are not copied (paper_bugs=False). Quick size: "
    "a quarter of the channels ([1,8,16,32,64,128], head [1152,250,10]), 12 000 training images, "
    "2 000 test images for the per-epoch curves and the sparsification sweeps and all 10 000 for the "
    "final comparisons, 10-12 epochs, 3 seeds. Fig 7 adds a third arm behind a stricter GoF gate "
    "(conv 0.04 / dense 0.02) for the dependence of the drop on the cutoff (§4.2.2)"
)


def _train_kwargs(params: dict) -> dict:
    kw = {k: params[k] for k in _TRAIN_KEYS if k in params}
    for k in ("channels", "fc"):
        kw[k] = tuple(kw[k])
    if kw.get("subset") is not None:
        kw["subset"] = tuple(kw["subset"])
    return kw


_cnn_seeds = seed_run(cnn_run, [])  # every setting passed per call: see _train_kwargs


def _run(params: dict, jobs: int, cache: Path | None) -> dict:
    """Normal and MP-pruned runs per seed (and their sweeps when ``params`` has thresholds)."""
    if params["dataset"] == "cifar10":
        missing = cifar_unavailable()
        if missing is not None:
            return {"unavailable": missing}
    thresholds = params.get("thresholds")
    arms = {"none": ("none", {}), "mp": ("mp", {})}
    if params.get("gof_strict") is not None:  # §4.2.2: the same pruning behind a stricter gate
        conv, dense = params["gof_strict"]
        arms["mp_strict"] = ("mp", {"gof_conv": conv, "gof_dense": dense})
    runs = {
        arm: _cnn_seeds(
            params,
            jobs,
            cache,
            method=method,
            thresholds=None if thresholds is None else tuple(thresholds),
            _checkpoint_dir=checkpoint_dir(cache),
            **{**_train_kwargs(params), **gate},
            **backend_kwargs(),  # {} for the NumPy backend: its cache keys stay those recorded
        )
        for arm, (method, gate) in arms.items()
    }
    return {"runs": runs, **({"backend": backend_kwargs()} if backend_kwargs() else {})}


def _label(params: dict) -> str:
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
             "tiny": "synthetic (smoke)", "tiny-rgb": "synthetic RGB (smoke)"}  # fmt: skip
    return names.get(params["dataset"], params["dataset"])


# ------------------------------------------------------------------ plots
def _plot_unavailable(result: dict, path: Path) -> None:
    from rmtheory.plotting import figure

    fig, ax = figure(width=9.0, height=2.4)
    ax.axis("off")
    ax.set_title(f"{result['name']}: not run — the CIFAR-10 archive is not available")
    text = result["unavailable"].replace("$", r"\$")  # no mathtext
    ax.text(0.0, 1.0, text, va="top", ha="left", family="monospace", fontsize=6.5,
            transform=ax.transAxes)  # fmt: skip
    fig.savefig(path, dpi=110)


def _pass_epochs(params: dict) -> list[int]:
    """1-based epochs before which the pruner runs (the first pass of an epoch-0 schedule excluded)."""
    return list(range(params["every"], params["epochs"] + 1, params["every"]))


def _plot_curves(result: dict, path: Path) -> None:
    if "unavailable" in result:
        return _plot_unavailable(result, path)
    from rmtheory.plotting import band, figure

    params = result["params"]
    fig, axes = figure(ncols=3, width=4.4)
    arms = (("none", "normal", "0.3"), ("mp", "MP-pruned", "tab:red"),
            ("mp_strict", "MP-pruned, stricter GoF", "tab:orange"))  # fmt: skip
    for method, label, color in arms:
        if method not in result["runs"]:
            continue
        runs = result["runs"][method]
        n_par = int(np.mean([r["n_params"][-1] for r in runs]))
        for ax, key in zip(axes, ("train_accuracy", "test_accuracy", "n_params"), strict=True):
            vals = np.array([r[key] for r in runs], dtype=np.float64)
            scale = 100.0 if "accuracy" in key else 1.0
            lab = f"{label} ({n_par:,} params)" if key == "test_accuracy" else label
            band(ax, np.arange(1, vals.shape[1] + 1), scale * vals, lab, color)
    for ax, ylabel in zip(
        axes, ("training accuracy (%)", "test accuracy (%)", "parameters"), strict=True
    ):
        for e in _pass_epochs(params):
            ax.axvline(e - 0.5, color="tab:blue", ls="--", lw=0.7)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    axes[0].set_title(f"{result['name']}: CNN on {_label(params)}, {result['size']} size "
                      f"({params['n_seeds']} seed(s); dashed: pruning passes)", fontsize=8, loc="left")  # fmt: skip
    fig.savefig(path, dpi=110)


def _plot_sweeps(result: dict, path: Path) -> None:
    if "unavailable" in result:
        return _plot_unavailable(result, path)
    from rmtheory.plotting import figure

    fig, axes = figure(ncols=2, width=4.8)
    for ax, method, title in ((axes[0], "mp", "(a) after MP-pruned training"),
                              (axes[1], "none", "(b) after normal training")):  # fmt: skip
        for s, r in enumerate(result["runs"][method]):
            sw = r["sweep"]
            frac = 100 * np.asarray(sw["n_nonzero"]) / r["initial_params"]
            ax.plot(frac, 100 * np.asarray(sw["accuracy"]), "o-", ms=3, lw=0.8,
                    color="tab:red" if method == "mp" else "0.3", alpha=1 if s == 0 else 0.5,
                    label="seed 0" if s == 0 else None)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("nonzero parameters (% of the initial count)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{title}, {_label(result['params'])}", fontsize=9)
    fig.savefig(path, dpi=110)


# ------------------------------------------------------------------ claims
def _not_checkable(result: dict, claims: list[tuple[str, str]]) -> list[Claim]:
    """The CIFAR-10 claims when the archive is missing: what to place where (the loader's full
    message, with this machine's folders, is in the result's ``unavailable`` field)."""
    need = (
        "needs cifar-10-python.tar.gz (170,498,071 bytes, sha256 6d958be074577803d12ecdefd02955f3"
        "9262c83c16fe9348329d7fe0b5c001ce) from https://www.cs.toronto.edu/~kriz/ (no package "
        "registry carries it), placed in <cache root>/cifar10/ (cache root: $RMTHEORY_DATA_DIR, else "
        "$XDG_CACHE_HOME/rmtheory/datasets, else "
        "~/.cache/rmtheory/datasets) or in the folder named by $RMTHEORY_CIFAR10_DIR; then "
        "`rmtheory data fetch cifar10` and `rmtheory reproduce fig10 fig11`"
    )
    return [
        Claim(c, p, "not run: the CIFAR-10 archive is not available", "not checkable", need)
        for c, p in claims
    ]


#: "Slightly lower" / "a marginal drop" read as: the pruned net within 1 point of the normal one.
DROP_TOL = 1.0
#: A drop of up to 3 points (mean) is "partly" a marginal drop.
DROP_LOOSE = 3.0
_NOT_RUN = "none: not run (the CIFAR-10 archive is not available)"


def _points(values) -> np.ndarray:
    return 100.0 * np.asarray(values, dtype=np.float64)


def _ci(mean: float, lo: float, hi: float, unit: str = "points") -> str:
    if not math.isfinite(lo):
        return f"{mean:+.2f} {unit} (no CI: one seed)"
    return f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}] {unit}"


def _final(runs: list[dict]) -> tuple[np.ndarray, str]:
    """Final test accuracies (%) of the seeds and the test set they are measured on."""
    accs = [final_accuracy(r) for r in runs]
    n = {m for _, m in accs}
    where = f"{n.pop():,} test images" if len(n) == 1 and None not in n else "the test subset"
    return _points([a for a, _ in accs]), where


def _detectable(d: np.ndarray) -> float:
    """The paired shift a t-test over these seeds detects (:func:`rules.detectable_shift`)."""
    return rules.detectable_shift(float(np.std(d, ddof=1)), d.size) if d.size > 1 else math.nan


def _drop_verdict(mean: float, lo: float, hi: float, n: int) -> str:
    """The paper's "slightly lower (a marginal drop)" as a tolerance on the paired CI of
    pruned − normal: ``reproduced`` with >= 3 seeds and the whole 95 % CI within
    [−DROP_TOL, +DROP_TOL] points; ``partly`` when only the mean lies in [−DROP_LOOSE, +DROP_TOL]
    (a larger drop, a CI wider than the tolerance, or fewer than 3 seeds); else ``not
    reproduced``."""
    if not math.isfinite(mean):
        return "n/a"
    within = n >= 3 and math.isfinite(lo) and -DROP_TOL <= lo and hi <= DROP_TOL
    return rules.grade(within, -DROP_LOOSE <= mean <= DROP_TOL)


def _claims_curves(result: dict, train_claim: str | None, half: bool = True) -> list[Claim]:
    """Figs 7, 8 (``half``: 'approximately half of the parameters') and 10 ('much fewer');
    with a ``mp_strict`` arm (Fig 7) also §4.2.2's dependence of the drop on the GoF cutoff.

    Every comparison is paired over seeds (the normal and the pruned net of a seed share their
    initial weights and dropout stream): the 95 % t-interval of the per-seed differences
    (:func:`rules.paired_difference`), on the whole test set; ± is one standard deviation over
    seeds with ddof 1 (:func:`rules.mean_sd`).
    """
    ds = _label(result["params"])
    if "unavailable" in result:
        claims = _not_checkable(result, [
            (f"{ds}: pruned CNN test accuracy slightly below the normal CNN's", "slightly lower"),
            (f"{ds}: pruned CNN has far fewer parameters", "much fewer (counts lost)"),
        ])  # fmt: skip
        return [dataclasses.replace(c, power=_NOT_RUN) for c in claims]
    runs = result["runs"]
    acc_n, where = _final(runs["none"])
    acc_p, _ = _final(runs["mp"])
    n = acc_n.size
    mean, lo, hi = rules.paired_difference(acc_n, acc_p)
    par_n = np.array([r["n_params"][-1] for r in runs["none"]], dtype=np.float64)
    par_p = np.array([r["n_params"][-1] for r in runs["mp"]], dtype=np.float64)
    ratios = par_p / par_n
    kinds = runs["mp"][0]["params_by_kind"]
    kinds0 = runs["mp"][0]["initial_params_by_kind"]
    split = ", ".join(f"{k} {kinds0[k]:,} -> {kinds.get(k, 0):,}" for k in kinds0)
    m_p, s_p = rules.mean_sd(acc_p)
    m_n, s_n = rules.mean_sd(acc_n)
    half_w = hi - mean if math.isfinite(hi) else math.nan
    out = [
        Claim(
            f"{ds}: pruned CNN test accuracy slightly below the normal CNN's",
            "slightly lower (a marginal drop; numbers lost)",
            f"{m_p:.2f} ± {s_p:.2f} vs {m_n:.2f} ± {s_n:.2f} %; pruned − normal "
            f"{_ci(mean, lo, hi)} (paired, {n} seed(s), {where})",
            _drop_verdict(mean, lo, hi, n),
            f"read as a tolerance on the paired 95 % CI: reproduced when it lies within "
            f"±{DROP_TOL:g} point with >= 3 seeds; partly when only the mean lies in "
            f"[-{DROP_LOOSE:g}, +{DROP_TOL:g}]",
            power=f"flags a drop beyond {DROP_TOL:g} point less the CI half-width "
            f"({half_w:.2f} here); keep fraction 0 (T / 20) → not reproduced at the power size",
        ),
        Claim(
            f"{ds}: pruned CNN has {'about half the' if half else 'far fewer'} parameters of the "
            "normal CNN's",
            "about half (counts lost)" if half else "much fewer (counts lost)",
            f"{100 * ratios.mean():.1f} % (seeds {', '.join(f'{100 * r:.1f}' for r in ratios)}; "
            f"{par_p.mean():,.0f} vs {par_n.mean():,.0f}; seed 0: {split})",
            rules.range_on_seeds(ratios, 0.35, 0.65)
            if half
            else rules.range_on_seeds(ratios, 0.0, 0.65),
            "judged on every seed (35-65 % of the normal count); depends on the lost "
            "keep-fraction constant T (T = 1.25 x epochs here, chosen to give about half)",
            power="T × 4 (keep fraction near 1 at every pass) → not reproduced; the band is what "
            "a calibrated T hits, not a prediction",
            tags=("calibrated",),
        ),
    ]
    if train_claim is not None:
        out += _train_claims(ds, runs, acc_n, acc_p, target=100.0 if train_claim == "100" else 99.0)
    if "mp_strict" in runs:
        out += _gof_claims(ds, result, runs, acc_n, acc_p)
    return out


def _train_claims(ds: str, runs: dict, acc_n, acc_p, target: float) -> list[Claim]:
    tr_n = _points([r["train_accuracy"][-1] for r in runs["none"]])
    tr_p = _points([r["train_accuracy"][-1] for r in runs["mp"]])
    m_n, s_n = rules.mean_sd(tr_n)
    d_tr = rules.paired_difference(tr_n, tr_p)
    d_gap = rules.paired_difference(tr_n - acc_n, tr_p - acc_p)
    n = tr_n.size
    v_tr, v_gap = (rules.paired_sign(*d, n, sign=-1) for d in (d_tr, d_gap))
    both = rules.all_of(v_tr, v_gap)
    det = [_detectable(b - a) for a, b in ((tr_n, tr_p), (tr_n - acc_n, tr_p - acc_p))]
    return [
        Claim(
            f"{ds}: normal CNN training accuracy",
            f"{'100' if target == 100 else 'about 99'} %",
            f"{m_n:.2f} ± {s_n:.2f} % ({n} seed(s))",
            rules.at_most(abs(m_n - target), 0.5, 2.0),
            "running accuracy of the training-mode (dropout on) predictions over the last epoch, "
            "as the authors log it; within 0.5 point of the paper's reproduced, 2 points partly",
            power="none: a level the paper reports, with no theory constant behind it; the band "
            "(±0.5 / ±2 points) is what it flags",
        ),
        Claim(
            f"{ds}: pruned CNN has a lower training accuracy and a narrower train-test gap",
            "yes (less overfitting)",
            f"train pruned − normal {_ci(*d_tr)}; gap pruned − normal {_ci(*d_gap)} "
            f"(paired, {n} seed(s))",
            both,
            "each paired over seeds (rules.paired_sign, the paper's direction negative): "
            "reproduced when both CIs lie below 0 with >= 3 seeds; partly when both means do",
            power=f"detects paired shifts of {det[0]:.2f} / {det[1]:.2f} points (80 % power); "
            "the arms swapped (sign flip) → not reproduced",
        ),
    ]


def _gof_claims(ds: str, result: dict, runs: dict, acc_n, acc_p) -> list[Claim]:
    """§4.2.2: 'as the GoF parameter becomes more restrictive, the drop in accuracy becomes less
    pronounced; a more restrictive GoF parameter also leads to a smaller reduction in
    parameters'.  Three points of the sweep: cutoff 0 (the normal net: no layer fits), the
    stricter pair ``gof_strict`` and the authors' 0.6 / 0.05."""
    params = result["params"]
    conv, dense = params["gof_strict"]
    acc_s, where = _final(runs["mp_strict"])
    n = acc_s.size
    d_mp, d_s = rules.paired_difference(acc_n, acc_p), rules.paired_difference(acc_n, acc_s)
    diff = rules.paired_difference(acc_p, acc_s)  # stricter minus default: > 0 in the paper
    par = {a: np.array([r["n_params"][-1] for r in runs[a]], dtype=np.float64)
           for a in ("none", "mp", "mp_strict")}  # fmt: skip
    pct = {a: 100 * float(np.mean(par[a] / par["none"])) for a in ("mp", "mp_strict")}
    cut = f"conv {conv:g} / dense {dense:g}"
    default = f"conv {params['gof_conv']:g} / dense {params['gof_dense']:g}"
    fewer = bool(np.all(par["mp_strict"] >= par["mp"]))
    return [
        Claim(
            f"{ds} (§4.2.2): a more restrictive GoF cutoff makes the pruned CNN's accuracy drop "
            "less pronounced",
            "yes (numbers lost)",
            f"pruned − normal: {_ci(*d_mp)} at GoF {default}, {_ci(*d_s)} at {cut}; stricter − "
            f"default {_ci(*diff)} (paired, {n} seed(s), {where})",
            rules.paired_sign(*diff, n, sign=+1),
            "the paired difference of the stricter and the default gate's accuracy "
            "(rules.paired_sign, the paper's direction positive): reproduced when its CI lies "
            f"above 0 with >= 3 seeds, partly when only the mean does; quick size: {n} seeds of "
            "fig7's quick CNN",
            power=f"detects a difference of the drops of {_detectable(acc_s - acc_p):.2f} points "
            "(80 % power); the two gates swapped (sign flip) → not reproduced",
        ),
        Claim(
            f"{ds} (§4.2.2): a more restrictive GoF cutoff leads to a smaller reduction in "
            "parameters",
            "yes (numbers lost)",
            f"{pct['mp_strict']:.1f} % of the normal count at {cut} vs {pct['mp']:.1f} % at "
            f"{default} ({'every' if fewer else 'not every'} seed keeps more)",
            "by construction",
            "a stricter gate opens at a subset of the passes (the GoF values of these nets lie "
            "below both conv cutoffs only early), and a skipped pass keeps a layer's parameters",
            power="none: the count cannot fall when the gate closes; shown for the size of the "
            "effect only",
        ),
    ]


def _claims_sweeps(result: dict, removed: float) -> list[Claim]:
    """Figs 9 and 11: the sparsification sweeps of the trained nets, per seed; the comparison of
    the arms is paired over seeds (same initial weights).  The sweeps are evaluated on the runs'
    test subset (2 000 images at quick size: 50 thresholds on the whole set would cost ten times
    the training)."""
    ds = _label(result["params"])
    texts = [
        (f"{ds}: after MP-pruned training, sparsification removes > {removed:g} % of the parameters "
         "without a significant accuracy drop", f"> {removed:g} % removed"),
        (f"{ds}: after normal training, sparsification costs several points at that sparsity",
         "multiple points"),
        (f"{ds}: MP-pruned training leaves a net that sparsifies further than normal training", "yes"),
    ]  # fmt: skip
    if "unavailable" in result:
        return [dataclasses.replace(c, power=_NOT_RUN) for c in _not_checkable(result, texts)]
    runs = result["runs"]
    mp = [fewest_within(r["sweep"], r["initial_params"]) for r in runs["mp"]]
    nm = [fewest_within(r["sweep"], r["initial_params"]) for r in runs["none"]]
    frac_mp = np.array([m[0] for m in mp])
    frac_n = np.array([m[0] for m in nm])
    at = [accuracy_at(r["sweep"], r["initial_params"], f) for r, f in zip(runs["none"], frac_mp,
                                                                        strict=True)]  # fmt: skip
    drops = _points([m[2] - a for m, a in zip(nm, at, strict=True) if math.isfinite(a)])
    kept = 100 - frac_mp
    n = frac_mp.size
    d = rules.paired_difference(frac_n, frac_mp)
    m_k, s_k = rules.mean_sd(kept)
    return [
        Claim(texts[0][0], texts[0][1],
              f"{m_k:.2f} ± {s_k:.2f} % removed ({n} seed(s)) at "
              f"{100 * np.mean([m[1] for m in mp]):.2f} % accuracy "
              f"(unsparsified {100 * np.mean([m[2] for m in mp]):.2f} %)",
              rules.range_on_seeds(kept, removed, 100.0),
              "judged on every seed: reproduced when each removes the paper's share, partly when "
              "some do; 'significant' read as more than 1 point; % of the initial parameter "
              "count, biases and batch-norm parameters included, as the authors count",
              power="none: a sparsity level the paper reports, with no theory constant behind "
              "it; judged seed by seed"),
        Claim(texts[1][0], texts[1][1],
              "n/a (the normal net's sweep does not reach that sparsity)" if drops.size == 0
              else f"{_ci(*rules.paired_difference(np.zeros_like(drops), drops))} at each "
                   f"seed's MP sparsity ({drops.size} seed(s))",
              rules.range_on_seeds(drops, 2.0, 100.0) if drops.size else "n/a",
              "'several' read as >= 2 points, judged on every seed whose normal sweep reaches "
              "the MP net's sparsity",
              power="none: a level (points lost at a sparsity), judged seed by seed"),
        Claim(texts[2][0], texts[2][1],
              f"{frac_mp.mean():.2f} % vs {frac_n.mean():.2f} % of the parameters left; MP − "
              f"normal {_ci(*d, unit='% of the parameters')} (paired, {n} seed(s))",
              rules.paired_sign(*d, n, sign=-1),
              "fewest weights keeping the accuracy within 1 point of the unsparsified net; "
              "paired over seeds (rules.paired_sign): reproduced when the CI lies below 0 with "
              ">= 3 seeds, partly when only the mean does",
              power=f"detects a paired difference of {_detectable(frac_mp - frac_n):.2f} % of "
              "the parameters (80 % power); the arms swapped (sign flip) → not reproduced"),
    ]  # fmt: skip


# ------------------------------------------------------------------ registration
def _sweep_sizes(sizes: dict) -> dict:
    """The sizes with the authors' 50 thresholds (every 5th of them at smoke size)."""
    return {k: {**v, "thresholds": list(CNN_THRESHOLDS[:: 5 if k == "smoke" else 1])}
            for k, v in sizes.items()}  # fmt: skip


_DS_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
_THRESHOLDS_NOTE = "; thresholds 1/(20(1+k)), k = 0..49"


def _register_curves(name: str, dataset: str, train_claim: str | None, half: bool = True) -> None:
    register(Experiment(
        name=name,
        title=f"CNN on {_DS_NAMES[dataset]}: training and test accuracy, normal vs MP-pruned "
              "(mean ± std)",
        run=_run, plot=_plot_curves, sizes=SIZES[dataset],
        claims=lambda r: _claims_curves(r, train_claim, half=half), follows=FOLLOWS,
    ))  # fmt: skip


def _register_sweeps(name: str, dataset: str, removed: float, follows: str) -> None:
    register(Experiment(
        name=name,
        title=f"CNN on {_DS_NAMES[dataset]}: test accuracy vs nonzero parameters under magnitude "
              "thresholds, after MP-pruned (a) and normal (b) training",
        run=_run, plot=_plot_sweeps, sizes=_sweep_sizes(SIZES[dataset]),
        claims=lambda r: _claims_sweeps(r, removed), follows=FOLLOWS + _THRESHOLDS_NOTE + follows,
    ))  # fmt: skip


_register_curves("fig7", "mnist", "100")
_register_curves("fig8", "fashion-mnist", "99")
_register_sweeps(
    "fig9",
    "fashion-mnist",
    99.5,
    " (the authors' CNN cell); the runs are Fig 8's (shared checkpoints)",
)
_register_curves("fig10", "cifar10", None, half=False)
_register_sweeps("fig11", "cifar10", 97.0, "; the runs are Fig 10's (shared checkpoints)")


# ------------------------------------------------------------------ power: errors the checks must flag
#: The size the registered perturbations run at: synthetic 12×12 images, 3 seeds, 6 epochs
#: (about 11 s per run of both arms on one core), where the nets learn (≈ 75 % test accuracy)
#: and a gentle keep fraction (T = 30: 90 % of the sub-threshold singular values kept at the
#: pass) leaves the drop within the "partly" band and the parameters about half-way.
POWER_SIZE = {"dataset": "tiny", "subset": [512, 300], "channels": [1, 6, 40, 40], "fc": [64, 10],
              "n_seeds": 3, "normalize": "half", "lr": 0.1, "epochs": 6, "every": 3, "T": 30.0}  # fmt: skip


def _keep_constant(factor: float):
    """Every MP-pruned arm trained with the keep-fraction constant ``T × factor`` (Algorithm 1's
    schedule ``max(0, 1 - epoch/T)`` with a wrong threshold constant), the normal arm untouched."""
    return power.scaled_setting(f"{__name__}._cnn_seeds", "T", factor)


power.register(power.Perturbation(
    "fig8", "T / 20: the pass keeps no sub-threshold singular value (keep fraction 0)",
    claim="test accuracy slightly below", expect=("not reproduced",),
    patch=_keep_constant(0.05), params=POWER_SIZE,
))  # fmt: skip
power.register(power.Perturbation(
    "fig8", "T × 4: the pass keeps almost every singular value",
    claim="about half the", expect=("not reproduced",),
    patch=_keep_constant(4.0), params={**POWER_SIZE, "T": 7.5},
))  # fmt: skip
