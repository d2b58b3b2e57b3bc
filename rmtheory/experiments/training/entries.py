"""Registry entries for the training experiments: Tables 1–6, Figs 1–5 and the ablation.

One set of runs (normal and MP-pruned nets, same seeds, same initial weights) feeds a table and
its figures; runs are cached per seed, so ``rmtheory reproduce table1 fig1 fig2`` trains once.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rmtheory.experiments import rules
from rmtheory.experiments.registry import Claim, Experiment, register
from rmtheory.experiments.runner import checkpoint_dir, seed_run
from rmtheory.experiments.rules import relative as verdict
from rmtheory.experiments.training.compute import (
    METHODS,
    layer_spectrum,
    sparsification_curve,
    train_run,
    truncation_curve,
)
from rmtheory.experiments.training.protocol import TABLE_ARMS, run_protocol_table

# The paper's numbers (algorithms.md §2.3) and its topologies reconstructed from the parameter
# counts (§2.2).
PAPER = {
    "mnist": {
        "topologies": [
            [784, 3000, 3000, 2000, 500, 10],
            [784, 1000, 1000, 1000, 500, 10],
            [784, 2000, 2000, 1000, 500, 10],
            [784, 1500, 3000, 1500, 500, 10],
        ],
        "acc_normal": [85.0, 70.0, 70.0, 70.0],
        "acc_pruned": [98.5, 98.5, 98.5, 98.5],
        "reduction": [42.98, 49.03, 42.82, 49.21],
        "loss": [
            (1.324090, 150.541977, 0.015084, 9.211179),
            (0.938041, 127.608980, 0.001350, 14.543617),
            (0.567025, 70.037265, 0.019599, 13.676276),
            (1.037013, 146.353504, 0.009206, 9.519642),
        ],
        "epochs": 40,
        "T": 50.0,
    },
    "fashion-mnist": {
        "topologies": [
            [784, 2000, 4000, 2000, 500, 10],
            [784, 2000, 2000, 2000, 2000, 1000, 500, 10],
            [784, 3000, 4000, 3000, 500, 10],
        ],
        "acc_normal": [70.0, 65.0, 70.0],
        "acc_pruned": [89.0, 89.0, 89.0],
        "reduction": [43.65, 44.34, 44.02],
        "loss": [
            (0.460549, 95.516107, 0.144334, 47.063285),
            (0.880157, 130.785274, 0.191681, 49.781472),
            (0.790270, 127.023410, 0.270197, 42.925396),
        ],
        "epochs": 70,
        "T": 87.5,
    },
}

# The topology each dataset's full size runs. MNIST: the paper's smallest row of Tables 1-3
# (3.29 M parameters, 40 epochs, ~10 min a run on one core). No Fashion row of Tables 4-6 fits
# the budget (16.1-27.9 M parameters x 70 epochs: 1.4-2.5 core-hours a run, 30+ for a table), so
# Fashion keeps the paper's protocol (70 epochs, a pass every 7, T = 87.5) on the largest net
# that does: the shape of its first row, [784, 2000, 4000, 2000, 500, 10], at a quarter of the
# width (the last hidden layer stays 500, as in every paper row): 1.65 M parameters.
FULL_TOPOLOGY = {
    "mnist": [784, 1000, 1000, 1000, 500, 10],
    "fashion-mnist": [784, 500, 1000, 500, 500, 10],
}

# One seed of a tiny net on the synthetic set: what CI runs for every training experiment.
SMOKE_NET = {
    "dataset": "tiny",
    "sizes": [784, 32, 32, 10],
    "epochs": 3,
    "every": 2,
    "T": 3.0,
    "subset": [1000, 300],
    "n_seeds": 1,
}

FOLLOWS = (
    "paper: ReLU on the final layer, L2 only (lambda2 lost: 0 here), SGD lr 0.02, momentum 0.9, batch 128, "
    "split every 7 epochs, BEMA alpha=0.25 beta=0.1, GoF cutoff 1; lr decays 0.96 per epoch (paper text) "
    "rather than the code's piecewise decay; keep fraction max(0, 1 - epoch/T) with T a reconstruction "
    "(the paper's constants were lost); bias kept and output layer protected (authors' bugs not copied)"
)


def _sizes(dataset: str, smoke_data: str = "tiny") -> dict:
    paper = PAPER[dataset]
    common = {"every": 7, "final_activation": "relu", "lr": 0.02, "momentum": 0.9}
    return {
        "smoke": {
            "dataset": smoke_data,
            "topologies": [[784, 32, 32, 10]],
            "epochs": 3,
            "every": 2,
            "T": 3.0,
            "n_seeds": 1,
            "subset": [1000, 300],
            "final_activation": "relu",
        },
        "quick": {
            **common,
            "dataset": dataset,
            "topologies": [[784, 1000, 1000, 500, 10]],
            "epochs": 15,
            "T": 19.0,
            "n_seeds": 2,
            "subset": [20000, None],
        },
        # The paper's size through the authors' protocol and the corrected net's baselines
        # (training.protocol.run_protocol_table), within the budget of about 2 hours on
        # 2 cores per table (21 runs: 7 arms x 3 seeds).
        "full": {
            "dataset": dataset,
            "topologies": [FULL_TOPOLOGY[dataset]],
            "n_seeds": 3,
            "subset": None,
            "arms": list(TABLE_ARMS),
            "protocol": {"epochs": paper["epochs"], "every": 7, "T": paper["T"]},
        },
    }


_pair_seeds = seed_run(train_run, ["dataset", "epochs", "every", "T", "final_activation", "lr",
                                    "momentum", "subset"])  # fmt: skip


def _run_pairs(params, jobs, cache, methods=("none", "mp"), probe=False):
    """For each topology and method: the per-seed histories."""
    if "arms" in params:  # the full size: the authors' protocol and the corrected baselines
        return run_protocol_table(params, jobs, cache)
    p = {"final_activation": "relu", "lr": 0.02, "momentum": 0.9, **params}
    out = {"topologies": params["topologies"], "methods": list(methods), "runs": []}
    for sizes in params["topologies"]:
        out["runs"].append({
            method: _pair_seeds(p, jobs, cache, method=method, sizes=tuple(sizes), probe=probe,
                                _checkpoint_dir=checkpoint_dir(cache))
            for method in methods
        })  # fmt: skip
    return out


def _final(runs, key):
    vals = np.array([r[key][-1] for r in runs], dtype=np.float64)
    return float(vals.mean()), float(vals.std())


def _topo(sizes):
    return "[" + ",".join(str(s) for s in sizes) + "]"


# ------------------------------------------------------------------ plots
def _plot_curves(result, path: Path, keys=("test_accuracy",), ylabels=("test accuracy (%)",)):
    from rmtheory.plotting import band, figure

    n = len(result["topologies"])
    fig, axes = figure(ncols=n * len(keys), width=4.6)
    axes = np.atleast_1d(axes)
    for t, (sizes, runs) in enumerate(zip(result["topologies"], result["runs"], strict=True)):
        for k, (key, ylabel) in enumerate(zip(keys, ylabels, strict=True)):
            ax = axes[t * len(keys) + k]
            for method, label, color in (("none", "normal", "0.3"), ("mp", "MP-pruned", "tab:red")):
                if method not in runs:
                    continue
                vals = np.array([r[key] for r in runs[method]], dtype=np.float64)
                scale = 100.0 if "accuracy" in key else 1.0
                band(ax, np.arange(1, vals.shape[1] + 1), scale * vals, label, color)
            if key == "test_accuracy":
                for arm, color in (("none", "0.3"), ("mp", "tab:red")):
                    paper = _paper_value(result, t, sizes, "accuracy", arm)
                    if paper is not None:  # the paper's final value (its range where it differs)
                        ax.axhspan(paper[0] - paper[1] - 0.15, paper[0] + paper[1] + 0.15,
                                   color=color, alpha=0.15, lw=0)  # fmt: skip
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{result['params']['dataset']} {_topo(sizes)} "
                         "(shaded: the paper's final values)", fontsize=8)  # fmt: skip
            ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


_ARM_LABELS = {
    "none": ("normal", "0.35"),
    "mp": ("MP-pruned", "tab:red"),
    "normal_no_relu": ("normal, no final ReLU", "0.65"),
    "corrected_mp": ("MP (library), no final ReLU", "tab:purple"),
    "corrected_gavish_donoho": ("Gavish–Donoho, no final ReLU", "tab:blue"),
    "corrected_energy": ("energy 90%, no final ReLU", "tab:green"),
    "corrected_magnitude": ("magnitude, no final ReLU", "tab:brown"),
}


def _metric(run: dict, metric: str) -> float:
    if metric == "params":
        return float(run["n_params"][-1])
    if metric == "accuracy":
        return 100.0 * run["test_accuracy"][-1]
    return float(run["test_loss_paper"][-1])


def _paper_value(result, t: int, sizes, metric: str, arm: str):
    """(value, half-range) of the paper's number for a bar, or None."""
    ds = result["params"]["dataset"]
    if ds not in PAPER or arm not in ("none", "mp"):
        return None
    paper = PAPER[ds]
    rows = [paper["topologies"].index(sizes)] if sizes in paper["topologies"] else None
    if metric == "accuracy":
        vals = paper["acc_normal" if arm == "none" else "acc_pruned"]
    elif metric == "loss":
        vals = [row[1 if arm == "none" else 3] for row in paper["loss"]]
    else:
        return None  # parameter counts depend on the topology: compared as a reduction
    vals = [vals[k] for k in rows] if rows else vals
    return (min(vals) + max(vals)) / 2, (max(vals) - min(vals)) / 2


def _plot_bars(result, path: Path, metric: str):
    """Ours (mean ± std over seeds, seeds as dots) beside the paper's number (hatched; its range
    as the error bar where its topologies differ)."""
    from rmtheory.plotting import figure

    n_topo = len(result["topologies"])
    fig, axes = figure(ncols=n_topo, width=max(6.0, 1.0 + 0.9 * len(result["runs"][0]) * 1.6))
    axes = np.atleast_1d(axes)
    for t, (sizes, runs) in enumerate(zip(result["topologies"], result["runs"], strict=True)):
        ax, x, ticks = axes[t], 0.0, []
        for arm, (label, color) in _ARM_LABELS.items():
            if arm not in runs:
                continue
            paper = _paper_value(result, t, sizes, metric, arm)
            if paper is not None:
                ax.bar(x, paper[0], 0.8, yerr=paper[1] or None, color="white", edgecolor=color,
                       hatch="///", capsize=3)  # fmt: skip
                ticks.append((x, f"paper\n{label}"))
                x += 1
            vals = np.array([_metric(r, metric) for r in runs[arm]])
            err = vals.std(ddof=1) if vals.size > 1 else 0.0
            ax.bar(x, vals.mean(), 0.8, yerr=err or None, color=color, capsize=3)
            ax.plot(np.full(vals.size, x), vals, "k.", ms=3)
            ticks.append((x, f"ours\n{label}"))
            x += 1.4
        ax.set_xticks([p for p, _ in ticks], [lab for _, lab in ticks], fontsize=6, rotation=30,
                      ha="right")  # fmt: skip
        ax.set_ylabel(
            {
                "params": "parameters at the end",
                "accuracy": "final test accuracy (%)",
                "loss": "test loss (authors' sum / n_batches)",
            }[metric]  # fmt: skip
        )
        n = len(runs["none"])
        ax.set_title(f"{result['params']['dataset']} {_topo(sizes)}: {result['size']} size, "
                     f"{n} seeds (mean ± std; hatched: the paper, its range as the bar)",
                     fontsize=8)  # fmt: skip
    fig.savefig(path, dpi=110)


# ------------------------------------------------------------------ claims
def _paper_rows(result):
    """(dataset, topology, runs, paper row index or None) for each topology of a paper dataset.

    The index is the paper's row for the same topology (full size); None when it differs.
    """
    ds = result["params"]["dataset"]
    if ds not in PAPER:
        return
    topo = PAPER[ds]["topologies"]
    for sizes, runs in zip(result["topologies"], result["runs"], strict=True):
        if "none" in runs and "mp" in runs:  # a partial (cached-only) result may lack an arm
            yield ds, sizes, runs, (topo.index(sizes) if sizes in topo else None)


def _claims_accuracy(result):
    out = []
    for ds, sizes, runs, idx in _paper_rows(result):
        paper = PAPER[ds]
        normal = [100 * r["test_accuracy"][-1] for r in runs["none"]]
        pruned = [100 * r["test_accuracy"][-1] for r in runs["mp"]]
        rows = [idx] if idx is not None else list(range(len(paper["acc_normal"])))
        pn = [paper["acc_normal"][k] for k in rows]
        pp = [paper["acc_pruned"][k] for k in rows]
        gains = [b - a for a, b in zip(pn, pp, strict=True)]
        where = (
            "same topology"
            if idx is not None
            else "paper's topologies differ; compared with its range"
        )

        def show(values):
            return (
                f"{min(values):g}"
                if min(values) == max(values)
                else f"{min(values):g}-{max(values):g}"
            )

        # the gain is judged on the seeds both nets have (all of them, unless a run is partial)
        pair_n, pair_p = rules.paired(runs["none"], runs["mp"])
        per_seed = ", ".join(f"{b - a:+.1f}" for a, b in zip(pair_n, pair_p, strict=True))
        def accuracy(label, values, paper, rel, partly):
            seeds = ", ".join(f"{v:.1f}" for v in values)
            return Claim(
                f"{ds} {_topo(sizes)} {label} test acc (%)", show(paper),
                f"{np.mean(values):.2f} ± {np.std(values):.2f} ({len(values)} seeds: {seeds})",
                rules.in_range(np.mean(values), min(paper), max(paper), rel=rel, partly=partly),
                where,
            )  # fmt: skip

        out += [
            accuracy("unpruned", normal, pn, rel=0.03, partly=0.1),
            accuracy("pruned", pruned, pp, rel=0.01, partly=0.05),
            Claim(
                f"{ds} {_topo(sizes)} pruning raises accuracy",
                f"+{show(gains)} points",
                f"{np.mean(pair_p - pair_n):+.2f} points, paired over {pair_n.size} seeds "
                f"({per_seed})",
                rules.unpaired_gain(list(pair_n), list(pair_p), z=2.0, min_seeds=3),
                where + "; 'reproduced' needs >= 3 seeds and a gain > 2 standard errors",
            ),
        ]
        out += _claims_corrected(ds, sizes, runs)
    return out


def _claims_corrected(ds: str, sizes, runs: dict) -> list[Claim]:
    """The corrected net's baselines (full size): each rule vs the unpruned corrected net."""
    from rmtheory.experiments.rules import paired, paired_difference

    if "normal_no_relu" not in runs:
        return []
    base = np.array([100 * r["test_accuracy"][-1] for r in runs["normal_no_relu"]])
    out = [
        Claim(
            f"{ds} {_topo(sizes)} corrected net (no final ReLU), unpruned test acc (%)",
            "n/a (the paper keeps the ReLU)",
            f"{base.mean():.2f} ± {base.std(ddof=1) if base.size > 1 else 0:.2f} ({base.size} seeds)",
            "n/a",
            "the correct baseline for the pruned nets below",
        )
    ]
    for arm in ("corrected_mp", "corrected_gavish_donoho", "corrected_energy",
                "corrected_magnitude"):  # fmt: skip
        if arm not in runs:
            continue
        b, acc = paired(runs["normal_no_relu"], runs[arm])
        if b.size == 0:  # a partial result: no seed has both runs yet
            continue
        m, lo, hi = paired_difference(b, acc)
        kept = np.mean([r["n_nonzero"][-1] / r["initial_params"] for r in runs[arm]])
        ci = f" [{lo:+.2f}, {hi:+.2f}] (95% CI)" if math.isfinite(lo) else " (1 seed: no CI)"
        out.append(
            Claim(
                f"{ds} {_topo(sizes)} corrected net: {arm[len('corrected_') :]} − unpruned (points)",
                "n/a",
                f"{m:+.2f}{ci}; acc {acc.mean():.2f}; {100 * (1 - kept):.1f}% of the "
                "weights removed (nonzero count)",
                "n/a",
                "paired over seeds; the paper compares with the ReLU'd net only",
            )
        )
    return out


def _claims_params(result):
    out = []
    for ds, sizes, runs, idx in _paper_rows(result):
        init = runs["mp"][0]["initial_params"]
        final = float(np.mean([r["n_params"][-1] for r in runs["mp"]]))
        red = 100 * (1 - final / init)
        pr = (
            PAPER[ds]["reduction"][idx]
            if idx is not None
            else float(np.mean(PAPER[ds]["reduction"]))
        )
        out.append(
            Claim(
                f"{ds} {_topo(sizes)} parameter reduction (%)",
                f"{pr:.2f}",
                f"{red:.2f} ({init:,} -> {final:,.0f})",
                verdict(red, pr, 0.1, 0.3),
                "depends on the lost schedule constant T" if idx is None else "",
            )
        )
    return out


def _claims_loss(result):
    out = []
    for ds, sizes, runs, idx in _paper_rows(result):
        ref = PAPER[ds]["loss"][idx if idx is not None else 0]
        for j, (method, key, label) in enumerate(
            (
                ("none", "train_loss", "normal train"),
                ("none", "test_loss_paper", "normal test"),
                ("mp", "train_loss", "pruned train"),
                ("mp", "test_loss_paper", "pruned test"),
            )
        ):
            m, s = _final(runs[method], key)
            out.append(
                Claim(
                    f"{ds} {_topo(sizes)} {label} loss",
                    f"{ref[j]:g}",
                    f"{m:.4g} ± {s:.2g}",
                    verdict(m, ref[j], 0.1, 0.5),
                    (
                        "test loss = sum of NLL / n_batches, as the authors; "
                        "train loss without the paper's (lost) L2 term"
                        + (
                            ""
                            if idx is not None
                            else "; paper's topologies differ: compared with its first row"
                        )
                    ),
                )
            )
    return out


def _register_family(
    dataset: str, table_acc: str, table_params: str, table_loss: str, fig_test: str, fig_train: str
) -> None:
    sizes = _sizes(dataset)
    label = "MNIST" if dataset == "mnist" else "Fashion-MNIST"
    entries = [
        (
            table_acc,
            f"{label}: unpruned vs MP-pruned test accuracy",
            lambda r, p: _plot_bars(r, p, "accuracy"),
            _claims_accuracy,
        ),
        (
            table_params,
            f"{label}: parameters before and after MP pruning",
            lambda r, p: _plot_bars(r, p, "params"),
            _claims_params,
        ),
        (
            table_loss,
            f"{label}: train and test losses, normal vs pruned",
            lambda r, p: _plot_bars(r, p, "loss"),
            _claims_loss,
        ),
        (
            fig_test,
            f"{label}: test accuracy vs epoch, normal vs pruned (mean ± std)",
            _plot_curves,
            _claims_accuracy,
        ),
        (
            fig_train,
            f"{label}: training accuracy and loss vs epoch, normal vs pruned",
            lambda r, p: _plot_curves(
                r, p, ("train_accuracy", "train_loss"), ("train accuracy (%)", "train loss")
            ),
            lambda r: [],
        ),
    ]
    for name, title, plot, claims in entries:
        register(
            Experiment(
                name=name,
                title=title,
                run=_run_pairs,
                plot=plot,
                sizes=sizes,
                claims=claims,
                follows=FOLLOWS,
            )
        )


_register_family("mnist", "table1", "table2", "table3", "fig1", "fig2")
_register_family("fashion-mnist", "table4", "table5", "table6", "fig3", "fig4")


# ------------------------------------------------------------------ Fig 5: around each pruning pass
def _run_fig5(params, jobs, cache):
    return _run_pairs(params, jobs, cache, methods=("mp",), probe=True)


def _plot_fig5(result, path: Path):
    from rmtheory.plotting import figure

    fig, axes = figure(ncols=2)
    run = result["runs"][0]["mp"][0]
    ep = np.arange(1, len(run["test_accuracy"]) + 1)
    axes[0].plot(ep, 100 * np.array(run["train_accuracy"]), label="train")
    axes[0].plot(ep, 100 * np.array(run["test_accuracy"]), label="test")
    for e in sorted({p["epoch"] for p in run.get("probes", [])}):
        axes[0].axvline(e - 0.5, color="tab:blue", ls="--", lw=0.8)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("accuracy (%)")
    axes[0].legend()
    probes = run.get("probes", [])
    if probes:
        x = [p["epoch"] for p in probes]
        axes[1].plot(
            x,
            [100 * p["before"] for p in probes],
            "o",
            color="tab:red",
            label="just before pruning",
        )
        axes[1].plot(
            x, [100 * p["after"] for p in probes], "s", color="tab:purple", label="just after"
        )
        axes[1].legend()
    axes[1].set_xlabel("epoch of the pruning pass")
    axes[1].set_ylabel("train accuracy (%)")
    fig.savefig(path, dpi=110)


def _claims_fig5(result):
    probes = [p for runs in result["runs"] for r in runs["mp"] for p in r.get("probes", [])]
    if not probes:
        return []
    drop = float(np.mean([100 * (p["before"] - p["after"]) for p in probes]))
    return [
        Claim(
            "Fig 5(b) train accuracy drop right after a pruning pass",
            "small (recovered within an epoch)",
            f"{drop:.2f} points on average over {len(probes)} passes",
            rules.at_most(drop, 2.0, 10.0, strict=True),
            "the paper shows the drop only graphically; 'small' read as < 2 points",
        )
    ]


register(
    Experiment(
        name="fig5",
        title="Accuracy around each pruning pass (MNIST)",
        run=_run_fig5,
        plot=_plot_fig5,
        sizes={**_sizes("mnist"), "quick": {**_sizes("mnist")["quick"], "n_seeds": 1}},
        claims=_claims_fig5,
        follows=FOLLOWS,
    )
)


# ------------------------------------------------------------------ Ablation (not in the paper)
ABLATION_METHODS = METHODS  # every method of the table a training run takes


def _run_ablation(params, jobs, cache):
    out = {"datasets": {}}
    for dataset in params["datasets"]:
        for final in params["final_activations"]:
            p = {**params, "dataset": dataset, "final_activation": final}
            key = f"{dataset}/final={final}"
            out["datasets"][key] = _run_pairs(p, jobs, cache, methods=ABLATION_METHODS)
    return out


def _ablation_rows(result):
    rows = []
    for key, res in result["datasets"].items():
        for runs in res["runs"]:
            for method in ABLATION_METHODS:
                acc_m, acc_s = _final(runs[method], "test_accuracy")
                nz = float(np.mean([r["n_nonzero"][-1] for r in runs[method]]))
                init = runs[method][0]["initial_params"]
                rows.append((key, method, 100 * acc_m, 100 * acc_s, 100 * nz / init))
    return rows


def _plot_ablation(result, path: Path):
    from rmtheory.plotting import figure

    keys = list(result["datasets"])
    fig, axes = figure(ncols=len(keys), width=4.2)
    axes = np.atleast_1d(axes)
    rows = _ablation_rows(result)
    for ax, key in zip(axes, keys, strict=True):
        mine = [r for r in rows if r[0] == key]
        x = np.arange(len(mine))
        ax.bar(x, [r[2] for r in mine], yerr=[r[3] for r in mine], color="tab:blue")
        for xi, r in zip(x, mine, strict=True):
            ax.annotate(f"{r[4]:.0f}%", (xi, r[2]), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [r[1] for r in mine], rotation=30, fontsize=7)
        ax.set_ylabel("final test accuracy (%)  [label: % of weights left]")
        ax.set_title(key, fontsize=8)
        ax.set_ylim(0, 105)
    fig.savefig(path, dpi=110)


def _claims_ablation(result):
    out = []
    for key, method, acc, std, left in _ablation_rows(result):
        out.append(
            Claim(
                f"ablation {key}: {method}",
                "-",
                f"acc {acc:.2f} ± {std:.2f} %, {left:.0f}% weights left",
                "n/a",
                "not in the paper",
            )
        )
    return out


register(
    Experiment(
        name="ablation",
        title="MP vs Gavish-Donoho vs energy vs magnitude vs no pruning, with and without final ReLU",
        run=_run_ablation,
        plot=_plot_ablation,
        sizes={
            "smoke": {
                **_sizes("mnist")["smoke"],
                "datasets": ["tiny"],
                "final_activations": ["relu", None],
            },
            "quick": {
                **_sizes("mnist")["quick"],
                "n_seeds": 1,
                "epochs": 10,
                "T": 13.0,
                "subset": [10000, None],
                "topologies": [[784, 500, 500, 10]],
                "datasets": ["mnist", "fashion-mnist"],
                "final_activations": ["relu", None],
            },
            "full": {
                **_sizes("mnist")["full"],
                "topologies": [[784, 1000, 1000, 1000, 500, 10]],
                "datasets": ["mnist", "fashion-mnist"],
                "final_activations": ["relu", None],
            },
        },
        claims=_claims_ablation,
        follows="not in the paper: same nets, seeds and schedule for every method",
    )
)


# ------------------------------------------------------------------ Fig 21: Example 9.3
FIG21_PAPER = {  # algorithms.md §2.5: the authors' printed outputs (CODE-SJK)
    "ranks": list(range(0, 100, 5)),
    "accuracy": [
        8.92,
        54.59,
        75.75,
        84.64,
        90.71,
        95.45,
        97.29,
        97.73,
        98.02,
        98.26,
        98.21,
        98.22,
        98.23,
        98.26,
        98.27,
        98.28,
        98.29,
        98.32,
        98.33,
        98.32,
    ],
    "bema_rank": 56,
    "full_accuracy": 98.29,
}


_fig21_seeds = seed_run(truncation_curve, ["dataset", "epochs", "subset"])


def _run_fig21(params, jobs, cache):
    runs = _fig21_seeds(params, jobs, cache, sizes=tuple(params["sizes"]),
                        ranks=tuple(params["ranks"]))  # fmt: skip
    return {"runs": runs}


def _plot_fig21(result, path: Path):
    from rmtheory.plotting import band, figure

    fig, ax = figure()
    runs = result["runs"]
    ranks = runs[0]["ranks"]
    band(ax, ranks, 100 * np.array([r["accuracy"] for r in runs]), "ours (test accuracy)", "k")
    ax.plot(
        FIG21_PAPER["ranks"],
        FIG21_PAPER["accuracy"],
        "x",
        color="0.5",
        label="authors' printed values",
    )
    ax.axvline(np.mean([r["bema_rank"] for r in runs]), color="tab:red", label="BEMA rank (ours)")
    ax.axvline(FIG21_PAPER["bema_rank"], color="tab:red", ls=":", label="BEMA rank (authors, 56)")
    ax.axhline(
        100 * np.mean([r["full_accuracy"] for r in runs]),
        color="tab:blue",
        ls="--",
        label="no truncation",
    )
    ax.set_xlabel("singular values of W1 kept")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Example 9.3: {result['params']['dataset']} {_topo(result['params']['sizes'])}")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


def _claims_fig21(result):
    runs = result["runs"]
    rank = float(np.mean([r["bema_rank"] for r in runs]))
    full = 100 * float(np.mean([r["full_accuracy"] for r in runs]))
    ranks = runs[0]["ranks"]
    acc = 100 * np.mean([r["accuracy"] for r in runs], axis=0)
    at_rank = float(np.interp(rank, ranks, acc)) if ranks[0] <= rank <= ranks[-1] else math.nan
    return [
        Claim("Ex 9.3 BEMA rank of W1", "56", f"{rank:.1f}", verdict(rank, 56, 0.15, 0.4)),
        Claim(
            "Ex 9.3 full test accuracy (%)",
            "98.29",
            f"{full:.2f}",
            verdict(full, 98.29, 0.005, 0.02),
        ),
        Claim(
            "Ex 9.3 accuracy at the BEMA rank within 0.5 points of the full net",
            "yes",
            f"{at_rank:.2f} vs {full:.2f}",
            # n/a when the BEMA rank lies outside the truncation grid (at_rank is NaN)
            rules.at_most(full - at_rank, 0.5, 2.0, strict=True),
        ),
    ]


register(
    Experiment(
        name="fig21",
        title="Example 9.3: test accuracy vs singular values of W1 kept, with the BEMA rank",
        run=_run_fig21,
        plot=_plot_fig21,
        sizes={
            "smoke": {
                "dataset": "tiny",
                "sizes": [784, 64, 10],
                "epochs": 2,
                "subset": [1000, 300],
                "n_seeds": 1,
                "ranks": list(range(0, 64, 8)),
            },
            "quick": {
                "dataset": "mnist",
                "sizes": [784, 1000, 10],
                "epochs": 10,
                "subset": None,
                "n_seeds": 1,
                "ranks": list(range(0, 100, 5)),
            },
            "full": {
                "dataset": "mnist",
                "sizes": [784, 1000, 10],
                "epochs": 10,
                "subset": None,
                "n_seeds": 5,
                "ranks": list(range(0, 100, 5)),
            },
        },
        claims=_claims_fig21,
        follows="authors' code (CODE-SJK): ReLU on both layers, PyTorch default init, lr 0.08, no lr decay, 10 epochs",
    )
)


# ------------------------------------------------------------------ Fig 6: sparsification after MP training
_fig6_seeds = seed_run(sparsification_curve, ["dataset", "epochs", "every", "T", "subset"])


def _run_fig6(params, jobs, cache):
    sizes = tuple(params["sizes"])
    return {m: _fig6_seeds(params, jobs, cache, method=m, sizes=sizes) for m in ("mp", "none")}


def _plot_fig6(result, path: Path):
    from rmtheory.plotting import figure

    fig, ax = figure()
    for method, label, color in (
        ("mp", "after MP-pruned training", "tab:red"),
        ("none", "after normal training", "0.3"),
    ):
        r = result[method][0]
        frac = 100 * np.asarray(r["n_nonzero"]) / r["initial_params"]
        ax.plot(frac, 100 * np.asarray(r["accuracy"]), "o-", ms=3, color=color, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("nonzero parameters (% of the initial count)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Fig 6: magnitude sparsification, {result['params']['dataset']}")
    ax.legend()
    fig.savefig(path, dpi=110)


def _claims_fig6(result):
    out, fewest = [], {}
    for method, label in (("mp", "MP-trained"), ("none", "normally trained")):
        r = result[method][0]
        acc = np.asarray(r["accuracy"])
        frac = 100 * np.asarray(r["n_nonzero"]) / r["initial_params"]
        ok = acc >= 0.9 * acc.max()
        fewest[method] = frac[ok].min()
        best = 100 * acc[ok][np.argmin(frac[ok])]
        out.append(
            Claim(
                f"Fig 6 {label}: fewest weights keeping 90% of the best accuracy",
                "<0.5% of weights (paper: >99.5% removed)" if method == "mp" else "-",
                f"{fewest[method]:.2f}% of weights at {best:.1f}% acc",
                rules.at_most(fewest[method], 0.5, 5.0, strict=True)
                if method == "mp"
                else "n/a",
            )
        )
    out.append(
        Claim(
            "Figs 6/9: MP-pruned training leaves a net that sparsifies further than normal training",
            "yes (Fig 9 a vs b)",
            f"{fewest['mp']:.2f}% vs {fewest['none']:.2f}% of weights",
            rules.grade(fewest["mp"] < fewest["none"]),
        )
    )
    return out


register(
    Experiment(
        name="fig6",
        title="Test accuracy vs nonzero parameters under magnitude thresholds, after MP-pruned training",
        run=_run_fig6,
        plot=_plot_fig6,
        sizes={
            "smoke": {
                **SMOKE_NET,
            },
            "quick": {
                "dataset": "fashion-mnist",
                "sizes": [784, 1000, 1000, 500, 10],
                "epochs": 15,
                "every": 7,
                "T": 19.0,
                "subset": [20000, None],
                "n_seeds": 1,
            },
            "full": {
                "dataset": "fashion-mnist",
                "sizes": [784, 3000, 3000, 3000, 3000, 500, 10],
                "epochs": 70,
                "every": 7,
                "T": 87.5,
                "subset": None,
                "n_seeds": 1,
            },
        },
        claims=_claims_fig6,
        follows="paper: L1 + L2 = 1e-6 each (the later paper's values), thresholds 1/(1+k), k = 0..49",
    )
)


# ------------------------------------------------------------------ ESD of a trained layer
_esd_seeds = seed_run(layer_spectrum, ["dataset", "epochs", "layer", "subset"])


def _run_esd(params, jobs, cache):  # one trained layer: seed 0
    return _esd_seeds({**params, "n_seeds": 1}, jobs, cache, sizes=tuple(params["sizes"]))[0]


def _plot_esd(result, path: Path):
    from rmtheory.marchenko_pastur import MarchenkoPastur
    from rmtheory.plotting import plot_esd

    plot_esd(
        np.asarray(result["eigenvalues"]),
        MarchenkoPastur(result["ratio"], result["sigma2"]),
        threshold=result["lambda_plus"],
        title=f"trained layer {result['params']['layer']} {tuple(result['shape'])}: ESD and BEMA fit "
        f"({result['n_spikes']} spikes)",
        path=path,
    )


def _claims_esd(result):
    return [
        Claim(
            "trained layer: bulk follows MP (GoF on the central window)",
            "good fit (paper §4.1)",
            f"GoF {result['gof']:.4f}",
            rules.at_most(result["gof"], 0.05, 0.15, strict=True),
        ),
        Claim(
            "trained layer: noise variance stays at the initial 1/fan_in",
            f"{result['init_variance']:.3g}",
            f"{result['sigma2']:.3g}",
            verdict(result["sigma2"], result["init_variance"], 0.1, 0.3),
            "the random part of W barely moves in training (the premise W = R + S)",
        ),
    ]


register(
    Experiment(
        name="esd",
        title="ESD of a trained hidden layer with the BEMA-fitted MP law",
        run=_run_esd,
        plot=_plot_esd,
        sizes={
            "smoke": {
                "dataset": "tiny",
                "sizes": [784, 128, 128, 10],
                "epochs": 2,
                "layer": 1,
                "subset": [1000, 300],
            },
            "quick": {
                "dataset": "mnist",
                "sizes": [784, 1000, 1000, 10],
                "epochs": 5,
                "layer": 1,
                "subset": [20000, None],
            },
            "full": {
                "dataset": "mnist",
                "sizes": [784, 3000, 3000, 2000, 500, 10],
                "epochs": 40,
                "layer": 1,
                "subset": None,
            },
        },
        claims=_claims_esd,
        follows="paper §4.1 premise: trained weights are MP noise plus spikes",
    )
)


# ------------------------------------------------------------------ Fig 22: He and Xavier initialisations
_fig22_seeds = seed_run(train_run, ["dataset", "epochs", "every", "T", "l1", "l2", "subset",
                                     "final_activation"])  # fmt: skip


def _run_fig22(params, jobs, cache):
    out = {"inits": params["inits"], "runs": {}}
    for init in params["inits"]:
        out["runs"][init] = {
            method: _fig22_seeds(params, jobs, cache, method=method, init=init,
                                 sizes=tuple(params["sizes"]))
            for method in ("none", "mp")
        }  # fmt: skip
    return out


def _plot_fig22(result, path: Path):
    from rmtheory.plotting import band, figure

    fig, axes = figure(ncols=len(result["inits"]))
    for ax, init in zip(np.atleast_1d(axes), result["inits"], strict=True):
        for method, label, color in (("none", "normal", "0.3"), ("mp", "MP-pruned", "tab:red")):
            vals = 100 * np.array([r["test_accuracy"] for r in result["runs"][init][method]])
            band(ax, np.arange(1, vals.shape[1] + 1), vals, label, color)
        ax.axhline(90, color="tab:blue", ls=":", lw=1, label="90 % (paper's claim)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{init} init, L1+L2, {result['params']['dataset']}", fontsize=9)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


def _claims_fig22(result):
    out = []
    for init in result["inits"]:
        m, s = _final(result["runs"][init]["mp"], "test_accuracy")
        n, _ = _final(result["runs"][init]["none"], "test_accuracy")
        out.append(
            Claim(
                f"Fig 22 {init} init + MP pruning: test accuracy above 90 %",
                "> 90",
                f"{100 * m:.2f} ± {100 * s:.2f} (unpruned {100 * n:.2f})",
                rules.at_least(m, 0.9, 0.85, strict=True),
                "dataset and topology of Fig 22 were lost; Fashion-MNIST assumed",
            )
        )
    return out


register(
    Experiment(
        name="fig22",
        title="He and Xavier initialisations with MP pruning and L1+L2 (test accuracy vs epoch)",
        run=_run_fig22,
        plot=_plot_fig22,
        sizes={
            "smoke": {
                **SMOKE_NET,
                "inits": ["he", "xavier"],
                "l1": 1e-6,
                "l2": 1e-6,
                "final_activation": None,
            },
            "quick": {
                "dataset": "fashion-mnist",
                "sizes": [784, 1000, 1000, 500, 10],
                "epochs": 15,
                "every": 7,
                "T": 19.0,
                "subset": [20000, None],
                "n_seeds": 1,
                "inits": ["he", "xavier"],
                "l1": 1e-6,
                "l2": 1e-6,
                "final_activation": None,
            },
            "full": {
                "dataset": "fashion-mnist",
                "sizes": [784, 3000, 3000, 3000, 3000, 500, 10],
                "epochs": 70,
                "every": 7,
                "T": 87.5,
                "subset": None,
                "n_seeds": 5,
                "inits": ["he", "xavier"],
                "l1": 1e-6,
                "l2": 1e-6,
                "final_activation": None,
            },
        },
        claims=_claims_fig22,
        follows="paper §10.2 (L1 + L2, the later paper's 1e-6 each); no final ReLU (not stated for this figure)",
    )
)
