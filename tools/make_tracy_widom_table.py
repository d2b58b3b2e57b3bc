"""Regenerate ``rmtheory/data/tracy_widom_table.npz`` from Fredholm determinants.

For each Dyson index beta in (1, 2, 4) the interval [a, b] is cut into unit pieces; on each piece
the Fredholm determinant (``rmtheory.tracy_widom._fredholm_point``, Bornemann's Gauss–Legendre
Nyström method) is evaluated at ``N_FIT`` Chebyshev points and interpolated.  Pieces left of the
switch point s_mid (the piece boundary nearest the median) hold the Chebyshev series of log F,
pieces right of it the series of log(1 - F); series are cut to ``N_KEEP`` coefficients after
checking that the dropped ones are below ``DROP_TOL``.

Choice of the range: a is where the left-tail asymptotic expansion becomes at least as accurate as
the determinant (whose relative accuracy in the left tail is limited by 1 - lambda_max), b is where
1 - F < 1e-36.  The script also prints (i) a convergence check n vs 1.5 n nodes, (ii) the jump
between the expansion and the table at a, (iii) the interpolation error at random points against
fresh determinants.  It takes about 30 s on two cores.

Usage::

    python tools/make_tracy_widom_table.py [--out rmtheory/data/tracy_widom_table.npz]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from numpy.polynomial import chebyshev as cheb

from rmtheory.tracy_widom import (
    DEFAULT_NODES,
    TABLE_FILE,
    _fredholm_point,
    _single_thread_blas,
    left_tail_log_cdf,
)

# beta -> (left end a, number of unit pieces); b = a + n_pieces.
GRIDS = {1: (-6.5, 33), 2: (-6.5, 24), 4: (-5.5, 17)}
WIDTH = 1.0
N_FIT = 32
N_KEEP = 20
DROP_TOL = 1e-9  # only reached near a, where the determinant itself carries ~1e-10 noise
FORMAT_VERSION = 1


def chebyshev_points(lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    u = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    return u, lo + (hi - lo) * (u + 1) / 2


def switch_piece(beta: int, a: float, n_pieces: int) -> int:
    """Index of the piece boundary where F is closest to 1/2."""
    bounds = a + WIDTH * np.arange(1, n_pieces)
    candidates = bounds[(bounds > -4.0) & (bounds < 0.5)]
    dist = [abs(_fredholm_point(beta, s, DEFAULT_NODES)[0] - math.log(0.5)) for s in candidates]
    return int(round((candidates[int(np.argmin(dist))] - a) / WIDTH))


def piece_series(beta: int, lo: float, hi: float, use_sf: bool) -> np.ndarray:
    u, s = chebyshev_points(lo, hi, N_FIT)
    vals = np.array([_fredholm_point(beta, float(v), DEFAULT_NODES)[1 if use_sf else 0] for v in s])
    return cheb.chebfit(u, vals, N_FIT - 1)


def build(beta: int) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    a, n_pieces = GRIDS[beta]
    j_mid = switch_piece(beta, a, n_pieces)
    coef = np.empty((n_pieces, N_KEEP))
    dropped = 0.0
    for j in range(n_pieces):
        full = piece_series(beta, a + j * WIDTH, a + (j + 1) * WIDTH, use_sf=j >= j_mid)
        dropped = max(dropped, float(np.max(np.abs(full[N_KEEP:]))))
        coef[j] = full[:N_KEEP]
    if dropped > DROP_TOL:
        raise RuntimeError(f"beta={beta}: dropped Chebyshev coefficient {dropped:.1e} > {DROP_TOL}")
    grid = np.array([a, WIDTH, j_mid], dtype=np.float64)
    return coef, grid, {"dropped": dropped, "s_mid": a + j_mid * WIDTH}


def checks(beta: int, seed: int = 0) -> dict[str, float]:
    """Accuracy of the freshly written table against independent determinant evaluations."""
    from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom

    tw = TracyWidom(beta)
    a = GRIDS[beta][0]
    rng = np.random.default_rng(seed)
    s = np.sort(rng.uniform(-8.0, 6.0, 60))
    ref = fredholm_tracy_widom(s, beta)
    ref_hi = fredholm_tracy_widom(s[::6], beta, n_nodes=int(1.5 * DEFAULT_NODES))
    asym = float(left_tail_log_cdf(a, beta)[0])
    det = _fredholm_point(beta, a, DEFAULT_NODES)[0]
    return {
        "cdf_abs_err[-8,6]": float(np.max(np.abs(tw.cdf(s) - ref.cdf))),
        "pdf_abs_err[-8,6]": float(np.max(np.abs(tw.pdf(s) - ref.pdf))),
        "nodes_convergence_cdf": float(np.max(np.abs(ref_hi.cdf - ref.cdf[::6]))),
        "asymptotic_vs_det_rel_at_a": abs(asym - det),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "rmtheory" / "data" / TABLE_FILE
    parser.add_argument("--out", type=Path, default=default)
    parser.add_argument("--no-check", action="store_true", help="skip the accuracy report")
    args = parser.parse_args()
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION),
        "n_nodes": np.array(DEFAULT_NODES),
        "n_fit": np.array(N_FIT),
    }
    for beta in (1, 2, 4):
        t0 = time.perf_counter()
        with _single_thread_blas():
            coef, grid, info = build(beta)
        arrays[f"coef_{beta}"] = coef
        arrays[f"grid_{beta}"] = grid
        print(
            f"beta={beta}: [{grid[0]}, {grid[0] + coef.shape[0] * WIDTH}], s_mid={info['s_mid']}, "
            f"max dropped coef {info['dropped']:.1e}, {time.perf_counter() - t0:.1f} s"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KiB)")
    if not args.no_check:
        import rmtheory.tracy_widom as module

        module._load_table.cache_clear()
        for beta in (1, 2, 4):
            report = checks(beta)
            print(f"beta={beta}: " + ", ".join(f"{k}={v:.1e}" for k, v in report.items()))


if __name__ == "__main__":
    main()
