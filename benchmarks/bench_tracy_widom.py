"""Throughput of the Tracy–Widom law: shipped Chebyshev table vs direct Fredholm determinants.

Everything is measured in one run on the same machine; the ratios are what to compare
(``scipy.stats.norm`` is timed alongside as a yardstick for the machine's speed).

Usage::

    python benchmarks/bench_tracy_widom.py [--n-points 1000000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import stats

from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom


def _rate(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    """Evaluations per second, best of ``repeats``."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def bench(n_points: int = 10**6, beta: int = 1, seed: int = 0, n_fredholm: int = 20) -> dict:
    """Evaluations per second of TW ``cdf``, ``pdf``, ``ppf`` (vectorised over ``n_points``).

    Returns a dict with ``cdf_per_s``, ``pdf_per_s``, ``ppf_per_s``, the direct Fredholm rate
    ``fredholm_cdf_per_s`` (on ``n_fredholm`` points), ``norm_cdf_per_s`` / ``norm_ppf_per_s``
    (scipy.stats.norm, yardstick) and the ratios ``cdf_speedup_vs_fredholm``,
    ``cdf_vs_norm``, ``ppf_vs_norm``.
    """
    tw = TracyWidom(beta)
    rng = np.random.default_rng(seed)
    x = rng.normal(tw.mean(), tw.std(), n_points)
    u = rng.random(n_points)
    tw.ppf(u[:10])  # build the lazily cached table and inverse knots outside the timing
    out = {
        "beta": beta,
        "n_points": n_points,
        "cdf_per_s": _rate(lambda: tw.cdf(x), n_points),
        "pdf_per_s": _rate(lambda: tw.pdf(x), n_points),
        "ppf_per_s": _rate(lambda: tw.ppf(u), n_points),
        "fredholm_cdf_per_s": _rate(
            lambda: fredholm_tracy_widom(x[:n_fredholm], beta), n_fredholm, repeats=1
        ),
        "norm_cdf_per_s": _rate(lambda: stats.norm.cdf(x), n_points),
        "norm_ppf_per_s": _rate(lambda: stats.norm.ppf(u), n_points),
    }
    out["cdf_speedup_vs_fredholm"] = out["cdf_per_s"] / out["fredholm_cdf_per_s"]
    out["cdf_vs_norm"] = out["cdf_per_s"] / out["norm_cdf_per_s"]
    out["ppf_vs_norm"] = out["ppf_per_s"] / out["norm_ppf_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-points", type=int, default=10**6)
    args = parser.parse_args()
    print(f"Tracy–Widom throughput, {args.n_points} points (evaluations / second)")
    header = f"{'beta':>4} {'cdf':>10} {'pdf':>10} {'ppf':>10} {'Fredholm':>9}"
    print(header + f" {'cdf/Fredholm':>13} {'cdf/norm':>9} {'ppf/norm':>9}")
    for beta in (1, 2, 4):
        r = bench(args.n_points, beta=beta)
        print(
            f"{beta:>4} {r['cdf_per_s']:10.3g} {r['pdf_per_s']:10.3g} {r['ppf_per_s']:10.3g} "
            f"{r['fredholm_cdf_per_s']:9.3g} {r['cdf_speedup_vs_fredholm']:13.3g} "
            f"{r['cdf_vs_norm']:9.2f} {r['ppf_vs_norm']:9.2f}"
        )


if __name__ == "__main__":
    main()
