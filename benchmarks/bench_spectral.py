"""Spectral speed, measured side by side in one run (issue: spectral estimators).

Prints, for 1000x1000, 3000x3000 and 784x3000 matrices in float32 and float64:
  * BEMA + threshold time / scipy.linalg.svdvals time          (target <= 1.15)
  * factorize time / one scipy.linalg.svd(full_matrices=False) (target <= 1.1)
  * the authors' BEMA (per-quantile quad + brentq MP quantiles, re-implemented here only) / ours
  * esd by eigvalsh of the smaller float64 Gram / esd by gesdd values only (our default is the Gram)

Usage: python benchmarks/bench_spectral.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.linalg
from scipy.integrate import quad
from scipy.optimize import brentq

from rmtheory import BEMA, factorize
from rmtheory.spectrum import singular_values
from rmtheory.thresholds import MPRule


def best_time(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def authors_bema(ev, p, n, alpha=0.25):
    """The authors' bema_inside quantile step: qmp(i/p) by brentq on a quad-integrated MP cdf."""
    a, b = (1 - math.sqrt(p / n)) ** 2, (1 + math.sqrt(p / n)) ** 2

    def dmp(x):
        return (n / p) / (2 * math.pi * x) * math.sqrt(max((x - a) * (b - x), 0.0))

    def pmp(x):
        return quad(dmp, a, x)[0]

    idx = range(int(alpha * p), int((1 - alpha) * p))
    q = np.array([brentq(lambda x, lv=i / p: pmp(x) - lv, a, b) if i else a for i in idx])
    return float(np.dot(q, ev[list(idx)]) / np.dot(q, q))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--quick", action="store_true", help="skip 3000x3000 and the authors' BEMA on it"
    )
    args = ap.parse_args(argv)
    shapes = [(1000, 1000), (784, 3000)] + ([] if args.quick else [(3000, 3000)])
    rng = np.random.default_rng(0)
    print(
        f"{'shape':>12} {'dtype':>8} {'svdvals s':>10} {'BEMA s':>8} {'ratio':>6} "
        f"{'svd s':>7} {'factor s':>8} {'ratio':>6} {'authors/ours':>12}"
    )
    for shape in shapes:
        for dtype in (np.float32, np.float64):
            W = rng.normal(size=shape).astype(dtype)
            t_svdvals = best_time(lambda: scipy.linalg.svdvals(W), args.repeat)

            def ours():
                s = singular_values(W)
                return MPRule()(s, W.shape).n_above

            t_bema = best_time(ours, args.repeat)
            t_svd = best_time(lambda: scipy.linalg.svd(W, full_matrices=False), args.repeat)
            t_fact = best_time(lambda: factorize(W, min(shape) // 2), args.repeat)
            t_gram = best_time(lambda: singular_values(W, "gram"), args.repeat)
            t_gesdd = best_time(lambda: singular_values(W, "svd"), args.repeat)
            ratio_authors = ""
            if dtype is np.float64 and shape != (3000, 3000):
                ev = np.sort(singular_values(W) ** 2 / max(shape))
                p, n = min(shape), max(shape)
                t_auth = best_time(lambda: authors_bema(ev, p, n), 1)
                t_fit = best_time(lambda: BEMA().fit(ev, q=n), args.repeat)
                ratio_authors = f"{t_auth / t_fit:12.0f}"
            print(
                f"{str(shape):>12} {np.dtype(dtype).name:>8} {t_svdvals:10.3f} {t_bema:8.3f} "
                f"{t_bema / t_svdvals:6.2f} {t_svd:7.3f} {t_fact:8.3f} {t_fact / t_svd:6.2f} "
                f"{t_gram / t_gesdd:10.2f} {ratio_authors}"
            )


if __name__ == "__main__":
    main()
