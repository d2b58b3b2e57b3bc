"""Tracy–Widom law: throughput, and side by side with the peers a user would pick instead.

Two tables, each measured in one run on one machine (the ratios are what to compare):

* throughput of ``cdf``, ``pdf``, ``ppf`` against direct Fredholm determinants, with
  ``scipy.stats.norm`` as a yardstick for the machine's speed;
* peers: the ``TracyWidom`` package (``cdf``, ``cdfinv``), timed in this process, and
  scikit-rmt's ``TracyWidomDistribution(beta).cdf``, timed in its own environment (it caps
  NumPy below 2), in a child process that times each round itself and answers round by round,
  so that its rounds interleave with ours.  Ratios are peer time / ours: the minimum over rounds
  of each side, and the median of the per-round ratios.  BLAS is held at one thread on both
  sides.  Accuracy is printed beside speed: ``cdf`` against fresh Fredholm determinants on
  [-6, 4], ``ppf`` as the worst ``|F(ppf(p)) - p|`` (relative for ours, absolute for the peers,
  whose relative error in the tails is not meaningful), ``F`` being rmtheory's checked ``cdf``.

A peer that is not installed is skipped with a line saying how to install it.  The functions
:func:`peer_rows` and :func:`interleaved_times` are importable (the whole-project peer table
calls them).

Usage::

    python benchmarks/bench_tracy_widom.py [--n-points 1000000] [--peers-only]
        [--skrmt-python PATH]    # default: $SKRMT_PYTHON, else DEFAULT_SKRMT_PYTHON if present
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom

#: Where this project's workspace keeps scikit-rmt's own environment; used when it exists.
DEFAULT_SKRMT_PYTHON = "/work/peers/skrmt/bin/python"
INSTALL_TRACYWIDOM = "pip install TracyWidom"
INSTALL_SKRMT = (
    "python -m venv skrmt && skrmt/bin/pip install scikit-rmt 'numpy<2' "
    "and pass --skrmt-python skrmt/bin/python (or set SKRMT_PYTHON)"
)
ACCURACY_X = np.linspace(-6.0, 4.0, 41)


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


def _rate(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    """Evaluations per second, best of ``repeats``."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def _reps(n_points: int) -> int:
    # enough calls per round that one round lasts milliseconds at 1000 points
    return max(1, 20_000 // n_points)


def _timed(fn: Callable[[], object], reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved_times(
    fns: dict[str, Callable[[], float]], rounds: int
) -> dict[str, np.ndarray]:
    """Seconds per call of each function, round by round in turn (``fns`` return the time of
    their round, so a function may time itself elsewhere, e.g. in a child process)."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name].append(fn())
    return {name: np.array(v) for name, v in out.items()}


def ratios(peer: np.ndarray, ours: np.ndarray) -> tuple[float, float]:
    """(min ratio, median ratio): min(peer) / min(ours), and the median of per-round ratios."""
    return float(peer.min() / ours.min()), float(np.median(peer / ours))


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1):
        yield


# --------------------------------------------------------------------------------------------
# scikit-rmt in its own environment
# --------------------------------------------------------------------------------------------

_SKRMT_CHILD = r"""
import json, sys, time
import numpy as np
from skrmt.ensemble import TracyWidomDistribution
from importlib.metadata import version
print(json.dumps({"version": version("scikit-rmt"), "numpy": np.__version__}), flush=True)
law = {}
for line in sys.stdin:
    cmd = json.loads(line)
    tw = law.setdefault(cmd["beta"], TracyWidomDistribution(beta=cmd["beta"]))
    x = np.load(cmd["x"])
    if cmd["op"] == "values":
        print(json.dumps({"values": np.asarray(tw.cdf(x), dtype=float).tolist()}), flush=True)
        continue
    t0 = time.perf_counter()
    for _ in range(cmd["reps"]):
        tw.cdf(x)
    print(json.dumps({"seconds": (time.perf_counter() - t0) / cmd["reps"]}), flush=True)
"""


def skrmt_python(path: str | None = None) -> str | None:
    """The interpreter of scikit-rmt's environment: ``path``, ``$SKRMT_PYTHON``, or
    :data:`DEFAULT_SKRMT_PYTHON` when it exists; None when none is found."""
    for cand in (path, os.environ.get("SKRMT_PYTHON"), DEFAULT_SKRMT_PYTHON):
        if cand and Path(cand).is_file():
            return cand
    return None


class SkrmtChild:
    """scikit-rmt's ``cdf`` in a child process that answers one command per line."""

    def __init__(self, python: str) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._proc = subprocess.Popen(
            [python, "-c", _SKRMT_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._dir = tempfile.TemporaryDirectory()
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the scikit-rmt child process stopped (see its error above)")
        return json.loads(line)

    def _ask(self, **cmd: Any) -> dict[str, Any]:
        self._proc.stdin.write(json.dumps(cmd) + "\n")  # type: ignore[union-attr]
        self._proc.stdin.flush()  # type: ignore[union-attr]
        return self._read()

    def points(self, x: np.ndarray, name: str) -> str:
        path = str(Path(self._dir.name) / f"{name}.npy")
        np.save(path, x)
        return path

    def seconds(self, beta: int, x_path: str, reps: int) -> float:
        return float(self._ask(op="time", beta=beta, x=x_path, reps=reps)["seconds"])

    def values(self, beta: int, x_path: str) -> np.ndarray:
        return np.array(self._ask(op="values", beta=beta, x=x_path)["values"])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(timeout=10)
        self._dir.cleanup()


# --------------------------------------------------------------------------------------------
# the peer table
# --------------------------------------------------------------------------------------------


def _cdf_reference(beta: int) -> np.ndarray:
    return np.asarray(fredholm_tracy_widom(ACCURACY_X, beta).cdf)


def _max_abs_err(values: np.ndarray, ref: np.ndarray) -> float:
    err = np.abs(np.asarray(values, dtype=float) - ref)
    return float(np.max(np.where(np.isfinite(err), err, np.inf)))


def peer_rows(
    n_points: tuple[int, ...] = (1000, 10**6),
    betas: tuple[int, ...] = (1, 2, 4),
    rounds: int = 7,
    skrmt: str | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Side-by-side rows ``{call, beta, n_points, peer, min_ratio, median_ratio, ours_us,
    peer_us, ours_accuracy, peer_accuracy, accuracy_metric}`` (times in microseconds per call).

    ``skrmt`` is the interpreter of scikit-rmt's environment (see :func:`skrmt_python`); a peer
    that is missing is reported through ``log`` with how to install it, and has no rows.
    """
    try:
        import TracyWidom as tw_pkg
    except ImportError:
        tw_pkg = None
        log(f"TracyWidom package: not installed, skipped ({INSTALL_TRACYWIDOM})")
    python = skrmt_python(skrmt)
    child = None
    if python is None:
        log(f"scikit-rmt: no environment found, skipped ({INSTALL_SKRMT})")
    else:
        child = SkrmtChild(python)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    try:
        with _one_blas_thread():
            for beta in betas:
                ours = TracyWidom(beta)
                ref = _cdf_reference(beta)
                ours_cdf_acc = _max_abs_err(ours.cdf(ACCURACY_X), ref)
                peer_law = tw_pkg.TracyWidom(beta=beta) if tw_pkg else None
                acc_path = child.points(ACCURACY_X, f"acc{beta}") if child else ""
                for n in n_points:
                    x = rng.normal(ours.mean(), ours.std(), n)
                    p = rng.random(n)
                    reps = _reps(n)
                    ours.cdf(x[:10])
                    ours.ppf(p[:10])
                    if peer_law is not None:
                        rows += _tracywidom_rows(
                            ours, peer_law, beta, x, p, reps, rounds, ref, ours_cdf_acc
                        )
                    if child is not None:
                        path = child.points(x, f"x{beta}_{n}")
                        times = interleaved_times(
                            {
                                "ours": lambda: _timed(lambda: ours.cdf(x), reps),
                                "peer": lambda: child.seconds(beta, path, reps),
                            },
                            rounds,
                        )
                        rows.append(
                            _row(
                                "cdf",
                                beta,
                                n,
                                f"scikit-rmt {child.info['version']} (own env, NumPy "
                                f"{child.info['numpy']})",
                                times,
                                ours_cdf_acc,
                                _max_abs_err(child.values(beta, acc_path), ref),
                                "max |F - F_Fredholm| on [-6, 4]",
                            )
                        )
    finally:
        if child is not None:
            child.close()
    return rows


def _tracywidom_rows(
    ours: TracyWidom,
    peer: Any,
    beta: int,
    x: np.ndarray,
    p: np.ndarray,
    reps: int,
    rounds: int,
    ref: np.ndarray,
    ours_cdf_acc: float,
) -> list[dict[str, Any]]:
    import TracyWidom as tw_pkg

    name = f"TracyWidom {tw_pkg.__version__}"
    with np.errstate(all="ignore"):
        peer.cdfinv(p[:10])
        cdf_times = interleaved_times(
            {
                "ours": lambda: _timed(lambda: ours.cdf(x), reps),
                "peer": lambda: _timed(lambda: peer.cdf(x), reps),
            },
            rounds,
        )
        ppf_times = interleaved_times(
            {
                "ours": lambda: _timed(lambda: ours.ppf(p), reps),
                "peer": lambda: _timed(lambda: peer.cdfinv(p), reps),
            },
            rounds,
        )
        q = p[: min(p.size, 10**5)]
        ours_rt = float(np.max(np.abs(ours.cdf(ours.ppf(q)) - q) / q))
        peer_rt = _max_abs_err(ours.cdf(peer.cdfinv(q)), q)
        peer_cdf_acc = _max_abs_err(peer.cdf(ACCURACY_X), ref)
    cdf_metric = "max |F - F_Fredholm| on [-6, 4]"
    ppf_metric = "max |F(ppf(p)) - p| (ours relative, peer absolute)"
    return [
        _row("cdf", beta, x.size, name, cdf_times, ours_cdf_acc, peer_cdf_acc, cdf_metric),
        _row("ppf (cdfinv)", beta, p.size, name, ppf_times, ours_rt, peer_rt, ppf_metric),
    ]


def _row(
    call: str,
    beta: int,
    n: int,
    peer: str,
    times: dict[str, np.ndarray],
    ours_acc: float,
    peer_acc: float,
    metric: str,
) -> dict[str, Any]:
    lo, med = ratios(times["peer"], times["ours"])
    return {
        "call": call,
        "beta": beta,
        "n_points": n,
        "peer": peer,
        "min_ratio": lo,
        "median_ratio": med,
        "ours_us": float(times["ours"].min() * 1e6),
        "peer_us": float(times["peer"].min() * 1e6),
        "ours_accuracy": ours_acc,
        "peer_accuracy": peer_acc,
        "accuracy_metric": metric,
    }


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The peer rows as a fixed-width table."""
    head = (
        f"{'call':<13} {'beta':>4} {'points':>8} {'min':>6} {'median':>7} {'ours us':>10} "
        f"{'peer us':>10} {'ours err':>9} {'peer err':>9}  peer"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['call']:<13} {r['beta']:>4} {r['n_points']:>8} {r['min_ratio']:6.2f} "
            f"{r['median_ratio']:7.2f} {r['ours_us']:10.1f} {r['peer_us']:10.1f} "
            f"{r['ours_accuracy']:9.1e} {r['peer_accuracy']:9.1e}  {r['peer']}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# throughput against Fredholm and the normal law
# --------------------------------------------------------------------------------------------


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
    tw.ppf(u[:10])  # build the lazily cached table and inverse series outside the timing
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-points", type=int, default=10**6)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--peers-only", action="store_true")
    parser.add_argument("--skrmt-python", default=None)
    args = parser.parse_args(argv)
    if not args.peers_only:
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
        print()
    print(
        "Peers (ratio = peer time / ours; min over rounds and median of per-round ratios; "
        f"{args.rounds} interleaved rounds, one BLAS thread; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    rows = peer_rows(n_points=(1000, args.n_points), rounds=args.rounds, skrmt=args.skrmt_python)
    print(format_rows(rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
