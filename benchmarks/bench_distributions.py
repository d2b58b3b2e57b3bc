"""Evaluations per second of the MP and TW laws on 1e6 points, measured side by side in one run.

Targets (issue: foundation): MP cdf >= 1e7/s, MP ppf >= 1e6/s, TW ppf >= 1e5/s on a 2-core machine.
``scipy.stats.norm`` is timed alongside as a yardstick of the machine's speed at that moment.

Usage: python benchmarks/bench_distributions.py [--n-points 1000000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from bench_tracy_widom import _rate  # noqa: E402
from bench_tracy_widom import bench as bench_tw

from rmtheory.marchenko_pastur import MarchenkoPastur  # noqa: E402


def bench_mp(n_points: int = 10**6, ratio: float = 0.5, seed: int = 0) -> dict:
    mp = MarchenkoPastur(ratio)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.1 * mp.lambda_plus, n_points)
    u = rng.random(n_points)
    mp.ppf(u[:10])  # build the cached start table outside the timing
    return {
        "cdf_per_s": _rate(lambda: mp.cdf(x), n_points),
        "pdf_per_s": _rate(lambda: mp.pdf(x), n_points),
        "ppf_per_s": _rate(lambda: mp.ppf(u), n_points),
        "norm_cdf_per_s": _rate(lambda: stats.norm.cdf(x), n_points),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-points", type=int, default=10**6)
    n = ap.parse_args(argv).n_points
    mp = bench_mp(n)
    print(f"points: {n}")
    print(
        f"MP  cdf {mp['cdf_per_s']:.3g}/s (target 1e7)  pdf {mp['pdf_per_s']:.3g}/s  "
        f"ppf {mp['ppf_per_s']:.3g}/s (target 1e6)   scipy norm.cdf {mp['norm_cdf_per_s']:.3g}/s"
    )
    for beta in (1, 2, 4):
        tw = bench_tw(n, beta=beta)
        print(
            f"TW{beta} cdf {tw['cdf_per_s']:.3g}/s  pdf {tw['pdf_per_s']:.3g}/s  ppf {tw['ppf_per_s']:.3g}/s "
            f"(target 1e5)  direct Fredholm {tw['fredholm_cdf_per_s']:.3g}/s"
        )


if __name__ == "__main__":
    main()
