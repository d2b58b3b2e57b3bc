"""Figs 15 and 16: spiked models (Example 5.6, BGN12 square case) (plot, judge, register).

The per-seed computations are in :mod:`rmtheory.experiments.spikes.compute`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rmtheory.experiments import rules
from rmtheory.experiments.registry import Claim, Experiment, register
from rmtheory.experiments.rules import relative as verdict
from rmtheory.experiments.runner import seed_run
from rmtheory.experiments.spikes.compute import square_spike_overlaps, wigner_spikes

FIG17_PAPER = {"beta": (0.05, 0.5, 0.95), "lambda_plus": (4.127, 4.005, 3.901)}


# ------------------------------------------------------------------ Figs 15 and 16 (spikes)
def _mean_over_seeds(runs, key):
    return np.mean([r[key] for r in runs], axis=0).tolist(), np.std(
        [r[key] for r in runs], axis=0
    ).tolist()


def _summary(measured: tuple[str, ...], given: tuple[str, ...]):
    """Mean and sd over seeds of the ``measured`` keys; the ``given`` ones from seed 0."""

    def summarise(runs: list[dict], params: dict) -> dict:
        out = {"runs": runs}
        for key in measured:
            out[key + "_mean"], out[key + "_std"] = _mean_over_seeds(runs, key)
        out.update({key: runs[0][key] for key in given})
        return out

    return summarise


_run_fig16 = seed_run(square_spike_overlaps, ["N", "sigmas"], _summary(
    ("singular_values", "u_overlap", "v_overlap"),
    ("sigma", "predicted_singular_values", "predicted_overlap")))  # fmt: skip


def _plot_fig16(result, path: Path):
    from rmtheory.plotting import figure

    fig, ax = figure()
    sig = np.asarray(result["sigma"])
    grid = np.linspace(1.0, sig.max() * 1.05, 200)
    ax.plot(grid, np.sqrt(1 - 1 / grid**2), color="tab:red", label=r"BGN: $\sqrt{1-1/\sigma^2}$")
    ax.errorbar(
        sig,
        result["u_overlap_mean"],
        result["u_overlap_std"],
        fmt="o",
        color="k",
        label=r"$|\langle\tilde u_i,u_i\rangle|$",
    )
    ax.errorbar(
        sig * 1.01,
        result["v_overlap_mean"],
        result["v_overlap_std"],
        fmt="s",
        mfc="none",
        color="tab:blue",
        label=r"$|\langle\tilde v_i,v_i\rangle|$",
    )
    ax.set_xlabel(r"signal singular value $\sigma_i$")
    ax.set_ylabel("overlap")
    ax.set_title(
        f"Fig 16: W = R + S, N = {result['params']['N']}, {result['params']['n_seeds']} seeds"
    )
    ax.legend()
    fig.savefig(path, dpi=120)


def _claims_fig16(result):
    out = []
    for s, u, v, p in zip(
        result["sigma"],
        result["u_overlap_mean"],
        result["v_overlap_mean"],
        result["predicted_overlap"],
        strict=True,
    ):
        worst = max(abs(u - p), abs(v - p))
        out.append(
            Claim(
                f"Fig 16 overlaps at sigma={s:g} vs sqrt(1-1/sigma^2)",
                f"{p:.3f}",
                f"u {u:.3f}, v {v:.3f}",
                rules.at_most(worst, 0.03, 0.1, strict=True),
                "prediction is the N -> infinity limit; tolerance 0.03",
            )
        )
    for s, sv, p in zip(
        result["sigma"],
        result["singular_values_mean"],
        result["predicted_singular_values"],
        strict=True,
    ):
        out.append(
            Claim(
                f"Eq (51) outlier at sigma={s:g}: sigma + 1/sigma",
                f"{p:.3f}",
                f"{sv:.3f}",
                verdict(sv, p, 0.01, 0.05),
            )
        )
    return out


register(
    Experiment(
        name="fig16",
        title="Singular-vector overlaps of R + S vs the BGN prediction",
        run=_run_fig16,
        plot=_plot_fig16,
        sizes={
            "smoke": {"N": 200, "n_seeds": 1, "sigmas": [1.5, 2.0, 3.0, 5.0]},
            "quick": {"N": 1000, "n_seeds": 3, "sigmas": [1.2, 1.5, 2.0, 3.0, 5.0]},
            "full": {"N": 3000, "n_seeds": 10, "sigmas": [1.2, 1.5, 2.0, 3.0, 5.0]},
        },
        claims=_claims_fig16,
        follows="paper (Example 5.5 normalisation, R ~ N(0, 1/N); the sigma_i were lost, a grid in [1.2, 5] is used)",
    )
)


_run_fig15 = seed_run(wigner_spikes, ["n", "thetas"], _summary(
    ("eigenvalue", "overlap"), ("theta", "predicted_eigenvalue", "predicted_overlap")))  # fmt: skip


def _plot_fig15(result, path: Path):
    from rmtheory.plotting import figure

    fig, axes = figure(ncols=2)
    from rmtheory.spiked import wigner_eigenvector_overlap, wigner_outlier_eigenvalue

    th = np.asarray(result["theta"])
    grid = np.linspace(th.min(), th.max(), 400)
    axes[0].plot(
        grid,
        wigner_outlier_eigenvalue(grid),
        color="tab:red",
        label=r"$\theta+1/\theta$ ($\theta>1$), else 2",
    )
    axes[0].errorbar(
        th,
        result["eigenvalue_mean"],
        result["eigenvalue_std"],
        fmt="o",
        color="k",
        label="simulated",
    )
    axes[0].set_xlabel(r"spike $\theta$")
    axes[0].set_ylabel("largest eigenvalue")
    axes[1].plot(
        grid,
        np.sqrt(wigner_eigenvector_overlap(grid)),
        color="tab:red",
        label=r"$\sqrt{1-1/\theta^2}$",
    )
    axes[1].errorbar(
        th, result["overlap_mean"], result["overlap_std"], fmt="o", color="k", label="simulated"
    )
    axes[1].set_xlabel(r"spike $\theta$")
    axes[1].set_ylabel(r"$|\langle\tilde u,u\rangle|$")
    for ax in axes:
        ax.legend()
        ax.set_title(f"Wigner + rank one, n = {result['params']['n']}")
    fig.savefig(path, dpi=120)


def _claims_fig15(result):
    out = []
    for t, lam, p, ov, po in zip(
        result["theta"],
        result["eigenvalue_mean"],
        result["predicted_eigenvalue"],
        result["overlap_mean"],
        result["predicted_overlap"],
        strict=True,
    ):
        if t > 1.2:
            out.append(
                Claim(
                    f"Ex 5.6 eigenvalue at theta={t:g}",
                    f"{p:.3f}",
                    f"{lam:.3f}",
                    verdict(lam, p, 0.01, 0.05),
                )
            )
            out.append(
                Claim(
                    f"Ex 5.6 overlap at theta={t:g}",
                    f"{po:.3f}",
                    f"{ov:.3f}",
                    rules.absolute(ov, po, 0.03, 0.1, strict=True),
                )
            )
    return out


register(
    Experiment(
        name="fig15",
        title="Wigner matrix plus a rank-one spike: outlier and eigenvector overlap (Ex 5.6)",
        run=_run_fig15,
        plot=_plot_fig15,
        sizes={
            "smoke": {"n": 200, "n_seeds": 1, "thetas": [0.5, 1.5, 3.0]},
            "quick": {
                "n": 1000,
                "n_seeds": 3,
                "thetas": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0],
            },
            "full": {
                "n": 3000,
                "n_seeds": 10,
                "thetas": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0],
            },
        },
        claims=_claims_fig15,
        follows="paper (BGN 2011 Wigner model, sigma = 1; the figure's exact quantity was lost)",
    )
)
