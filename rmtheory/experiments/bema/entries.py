"""Figs 17 and 18: BEMA on the matrix of Example 9.1 (plot, judge, register).

The per-seed computations are in :mod:`rmtheory.experiments.bema.compute`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rmtheory.experiments import rules
from rmtheory.experiments.registry import Claim, Experiment, register
from rmtheory.experiments.rules import relative as verdict

FIG17_PAPER = {"beta": (0.05, 0.5, 0.95), "lambda_plus": (4.127, 4.005, 3.901)}


# ------------------------------------------------------------------ Fig 17
_EX91_SIZES = {"smoke": {"N": 300, "seed": 1}, "quick": {"N": 1000, "seed": 1},
               "full": {"N": 1000, "seed": 1}}  # fmt: skip


def _run_fig17(params, jobs, cache):
    from rmtheory.experiments.bema.compute import bema_sweeps

    return bema_sweeps(params["N"], params["seed"])


def _plot_fig17(result, path: Path):
    from rmtheory.plotting import figure

    fig, axes = figure(ncols=2)
    for ax, key, xs, xlabel, fixed in (
        (axes[0], "vs_alpha", result["alphas"], r"$\alpha$", r"$\beta=0.5$"),
        (axes[1], "vs_beta", result["betas"], r"$\beta$", r"$\alpha=0.25$"),
    ):
        ax.plot(
            xs, result["paper_code"][key], "o-", color="k", label="authors' code (paper's figure)"
        )
        ax.plot(xs, result["default"][key], "s--", color="tab:blue", label="correct TW scaling")
        ax.axhline(4.0, color="tab:red", lw=1, label=r"true $\lambda_+=4$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"BEMA $\lambda_+$")
        ax.set_title(f"Example 9.1, N={result['N']}, {fixed}")
    axes[1].plot(
        FIG17_PAPER["beta"],
        FIG17_PAPER["lambda_plus"],
        "x",
        color="tab:red",
        ms=9,
        label="paper's values",
    )
    axes[1].legend(fontsize=8)
    fig.savefig(path, dpi=120)


def _claims_fig17(result):
    betas = result["betas"]
    code = dict(zip(betas, result["paper_code"]["vs_beta"], strict=True))
    good = dict(zip(betas, result["default"]["vs_beta"], strict=True))
    claims = [
        Claim(
            f"Fig 17(b) lambda_+ at beta={b} (authors' code)",
            f"{p:.3f}",
            f"{code[b]:.3f}",
            rules.absolute(code[b], p, tol=0.05),
        )
        for b, p in zip(*FIG17_PAPER.values(), strict=True)
    ]
    spread = code[0.05] - code[0.95]
    claims.append(
        Claim(
            "Fig 17(b) spread lambda_+(0.05) - lambda_+(0.95)",
            "0.226",
            f"{spread:.3f}",
            rules.absolute(spread, 0.226, tol=0.012),
            "the spread is set by the TW term, the level moves with the draw",
        )
    )
    claims.append(
        Claim(
            "Fig 17(b) spread with the correct TW scaling (not in the paper)",
            "-",
            f"{good[0.05] - good[0.95]:.3f}",
            "n/a",
            "(1+sqrt g)^(4/3) instead of the code's (1+sqrt g)^4/3 halves the spread at g = 1",
        )
    )
    return claims


register(
    Experiment(
        name="fig17",
        title="BEMA lambda_+ vs alpha and beta on Example 9.1",
        run=_run_fig17,
        plot=_plot_fig17,
        sizes=_EX91_SIZES,
        claims=_claims_fig17,
        follows="both: the paper's figure was made with the authors' buggy TW term (shown in black); "
        "the correct Johnstone scaling is overlaid",
    )
)


# ------------------------------------------------------------------ Fig 18
def _plot_fig18(result, path: Path):
    from rmtheory.marchenko_pastur import MarchenkoPastur
    from rmtheory.plotting import plot_esd

    e = result["esd"]
    plot_esd(
        np.asarray(e["eigenvalues"]),
        MarchenkoPastur(1.0, e["sigma2"]),
        threshold=e["lambda_plus"],
        xmax=8.0,
        title=f"Example 9.1: ESD of W^T W / N, N={result['N']}",
        path=path,
    )


def _claims_fig18(result):
    e = result["esd"]
    return [
        Claim(
            "Fig 18 BEMA sigma^2 (true 1)",
            "1",
            f"{e['sigma2']:.4f}",
            verdict(e["sigma2"], 1.0, 0.03, 0.1),
        ),
        Claim(
            "Fig 18 largest outlier below 8",
            "about 7.3",
            f"{max(x for x in e['top_eigenvalues'] if x < 8):.2f}",
            verdict(max(x for x in e["top_eigenvalues"] if x < 8), 7.3, 0.05, 0.15),
        ),
    ]


register(
    Experiment(
        name="fig18",
        title="ESD of Example 9.1 with the BEMA-fitted MP density",
        run=_run_fig17,
        plot=_plot_fig18,
        sizes=_EX91_SIZES,
        claims=_claims_fig18,
        follows="paper (default BEMA, alpha=0.25, beta=0.1)",
    )
)
