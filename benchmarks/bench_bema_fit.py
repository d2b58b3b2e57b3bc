"""``BEMA().fit(W)`` against ``rmtheory.analyze({"w": W})`` on the same single matrix.

Both do one values-only eigendecomposition of the smaller Gram matrix; the ratio says what BEMA
adds on top.  One BLAS thread, interleaved rounds (BEMA, analyze, BEMA, ...), min and median of
the per-round ratio BEMA / analyze (<= 1.05 is the target of issue 25 item 4).

Usage::

    python benchmarks/bench_bema_fit.py [--rounds 9] [--shapes 1000x784,2048x2048]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import rmtheory as rmt


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(shape: tuple[int, int], rounds: int = 9, seed: int = 0) -> dict:
    """Seconds of each call per round and the BEMA / analyze ratios (min, median)."""
    W = np.random.default_rng(seed).normal(size=shape) / np.sqrt(shape[1])
    fit = lambda: rmt.BEMA().fit(W)  # noqa: E731
    report = lambda: rmt.analyze({"w": W})  # noqa: E731
    fit(), report()  # warm caches (MP start tables, TW quantile, numba) outside the timing
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(_time(fit))
        theirs.append(_time(report))
    ratio = np.array(ours) / np.array(theirs)
    return {
        "shape": shape,
        "bema_min_s": min(ours),
        "analyze_min_s": min(theirs),
        "ratio_of_mins": min(ours) / min(theirs),
        "ratio_median": float(np.median(ratio)),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--shapes", default="1000x784,784x1000,2048x2048")
    args = ap.parse_args(argv)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    print("BEMA().fit vs analyze on one matrix, one BLAS thread (ratio = BEMA / analyze)")
    print(f"{'shape':>11} {'BEMA min s':>11} {'analyze min s':>14} {'ratio(min)':>11} {'ratio med':>10}")
    with threadpool_limits(1):
        for shape in shapes:
            r = bench(shape, args.rounds)
            print(
                f"{shape[0]:>5}x{shape[1]:<5} {r['bema_min_s']:11.4f} {r['analyze_min_s']:14.4f} "
                f"{r['ratio_of_mins']:11.3f} {r['ratio_median']:10.3f}"
            )


if __name__ == "__main__":
    main()
