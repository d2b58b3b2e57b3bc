"""Every peer benchmark side by side, in one command, written to ``docs/performance.md``.

For each call a user could make with a peer library instead, the peer and rmtheory are timed in
interleaved rounds (ours, peer, ours, peer, ...), and the table gives, per row, the peer's time over
ours (``ratio > 1``: rmtheory is faster) as the ratio of the two minima and the median of the
per-round ratios, with an accuracy figure for each side beside the speed:

* Marchenko–Pastur ``pdf`` / ``cdf`` / ``ppf`` against scikit-rmt's ``MarchenkoPasturDistribution``,
  and ``cdf`` against ``scipy.integrate.quad`` of the closed-form density (accuracy: max error
  against ``quad`` at ``epsabs=epsrel=1e-13``, an independent route);
* Tracy–Widom ``pdf`` / ``cdf`` / ``ppf`` at beta = 1, 2, 4 against the ``TracyWidom`` package and
  scikit-rmt (:func:`bench_tracy_widom.peer_rows` for ``cdf`` and ``ppf``; ``pdf`` here, against
  the Fredholm determinant's derivative);
* ``rmtheory.analyze`` (MP fit by BEMA, spikes) against WeightWatcher's ``analyze(mp_fit=True)`` on
  a ``torch.nn.Linear`` holding the same matrix, as a user would call it (accuracy: spikes found of
  those planted, and the relative error of the noise variance; WeightWatcher's is
  ``sigma_mp^2 / (W_scale^2 N)``, its fit undone from its rescaling);
* ``analyze`` against ``np.linalg.svd(W, compute_uv=False)`` (accuracy: the top singular value);
* ``BEMA().fit`` against ``analyze`` on one matrix (:mod:`bench_bema_fit`);
* the training step and the factorised step against PyTorch on the CPU, and the factorised step's
  fraction of ideal before and after the fused passes (:mod:`bench_factorised`, same run).

scikit-rmt caps NumPy below 2, so it runs in its own environment (NumPy 1.26, SciPy < 1.14, which
still has the ``scipy.integrate`` function it imports; no shim) in a child process that times each
round itself and answers round by round, so its rounds interleave with ours. WeightWatcher runs in
the same way in its own environment (``--system-site-packages``, so it sees this torch).  The
TracyWidom package is timed in this process.  BLAS, OpenMP and torch are held at one thread on
every side.  A peer that is not installed is skipped with one line saying how to install it.

Timings are wall clock on a shared machine; the minimum and the median of per-round ratios are
both given because other processes take turns on the cores (``load`` in the page's header).  No
timed assertion is part of the test suite.

Usage::

    python benchmarks/bench_peers.py [--quick] [--out docs/performance.md] [--no-write]
        [--skrmt-python PATH] [--ww-python PATH] [--bench-7b FILE.json]

``--quick`` runs fewer rounds and smaller sizes (a smoke run; its page says so).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate

sys.path.insert(0, str(Path(__file__).parent))
import bench_bema_fit  # noqa: E402
import bench_factorised  # noqa: E402
import bench_tracy_widom as btw  # noqa: E402

import rmtheory as rmt  # noqa: E402
from rmtheory.atomic import atomic_write  # noqa: E402
from rmtheory.marchenko_pastur import MarchenkoPastur  # noqa: E402
from rmtheory.tracy_widom import TracyWidom, fredholm_tracy_widom  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PEER_ENVS = {
    "skrmt": ("SKRMT_PYTHON", ["/tmp/peers/skrmt/bin/python", btw.DEFAULT_SKRMT_PYTHON]),
    "ww": ("WW_PYTHON", ["/tmp/peers/ww/bin/python", "/work/peers/ww/bin/python"]),
}
INSTALL = {
    "skrmt": btw.INSTALL_SKRMT.replace("'numpy<2'", "'numpy<2' 'scipy<1.14'"),
    "ww": "python -m venv --system-site-packages ww && ww/bin/pip install weightwatcher, "
    "and pass --ww-python ww/bin/python (or set WW_PYTHON)",
    "tracywidom": btw.INSTALL_TRACYWIDOM,
    "torch": "pip install torch (CPU wheel)",
}
MP_RATIO = 0.5
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --------------------------------------------------------------------------------------------
# a peer in its own environment: a child that times its own rounds
# --------------------------------------------------------------------------------------------

_CHILD = r"""
import json, logging, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
ns = {"np": np}
exec(sys.argv[1], ns)  # defines INFO (a dict) and FNS (name -> callable of one array)
print(json.dumps(ns["INFO"]), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    fn = ns["FNS"][cmd["fn"]]
    x = np.load(cmd["x"])
    if cmd["op"] == "values":
        np.save(cmd["out"], np.asarray(fn(x), dtype=float))
        print("{}", flush=True)
        continue
    t0 = time.perf_counter()
    for _ in range(cmd["reps"]):
        fn(x)
    print(json.dumps({"seconds": (time.perf_counter() - t0) / cmd["reps"]}), flush=True)
"""

SKRMT_SETUP = f"""
import scipy
from importlib.metadata import version
from skrmt.ensemble import MarchenkoPasturDistribution, TracyWidomDistribution
INFO = {{"name": "scikit-rmt " + version("scikit-rmt"), "numpy": np.__version__,
        "scipy": scipy.__version__}}
mp = MarchenkoPasturDistribution(ratio={MP_RATIO}, beta=1, sigma=1.0)
tw = {{b: TracyWidomDistribution(beta=b) for b in (1, 2, 4)}}
FNS = {{"mp_pdf": mp.pdf, "mp_cdf": mp.cdf, "mp_ppf": mp.ppf}}
for b in (1, 2, 4):
    FNS[f"tw{{b}}_pdf"] = tw[b].pdf
    FNS[f"tw{{b}}_cdf"] = tw[b].cdf
"""

WW_SETUP = """
import torch, weightwatcher as ww
from importlib.metadata import version
torch.set_num_threads(1)
INFO = {"name": "WeightWatcher " + version("weightwatcher"), "torch": torch.__version__}
def mp_fit(W):
    lin = torch.nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W.astype(np.float32)))
    d = ww.WeightWatcher(model=torch.nn.Sequential(lin)).analyze(mp_fit=True)
    r = d.iloc[0]
    return [r["num_spikes"], r["sigma_mp"] ** 2 / (r["W_scale"] ** 2 * max(W.shape))]
FNS = {"mp_fit": mp_fit}
"""


def env_python(which: str, path: str | None) -> str | None:
    var, defaults = PEER_ENVS[which]
    for cand in (path, os.environ.get(var), *defaults):
        if cand and Path(cand).is_file():
            return cand
    return None


class PeerChild:
    """A peer library in its own interpreter, answering one JSON command per line."""

    def __init__(self, python: str, setup: str) -> None:
        self._proc = subprocess.Popen(
            [python, "-c", _CHILD, setup],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, **ONE_THREAD),
        )
        self._dir = tempfile.TemporaryDirectory()
        self._n = 0
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the peer's child process stopped")
        return json.loads(line)

    def _ask(self, **cmd: Any) -> dict[str, Any]:
        self._proc.stdin.write(json.dumps(cmd) + "\n")  # type: ignore[union-attr]
        self._proc.stdin.flush()  # type: ignore[union-attr]
        return self._read()

    def put(self, x: np.ndarray) -> str:
        self._n += 1
        path = str(Path(self._dir.name) / f"x{self._n}.npy")
        np.save(path, x)
        return path

    def seconds(self, fn: str, x_path: str, reps: int) -> float:
        return float(self._ask(op="time", fn=fn, x=x_path, reps=reps)["seconds"])

    def values(self, fn: str, x_path: str) -> np.ndarray:
        out = str(Path(self._dir.name) / "out.npy")
        self._ask(op="values", fn=fn, x=x_path, out=out)
        return np.load(out)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(timeout=30)
        self._dir.cleanup()


def start_child(which: str, path: str | None, setup: str, log: Callable[[str], None]):
    python = env_python(which, path)
    if python is None:
        log(f"{which}: no environment found, skipped ({INSTALL[which]})")
        return None
    try:
        return PeerChild(python, setup)
    except RuntimeError:
        log(f"{which}: its environment at {python} failed to import the peer, skipped")
        return None


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------


def row(section, call, size, peer, times, ours_acc, peer_acc, metric) -> dict[str, Any]:
    lo, med = btw.ratios(times["peer"], times["ours"])
    return {"section": section, "call": call, "size": size, "peer": peer, "min_ratio": lo,
            "median_ratio": med, "ours_s": float(times["ours"].min()),
            "peer_s": float(times["peer"].min()), "ours_acc": ours_acc, "peer_acc": peer_acc,
            "metric": metric}  # fmt: skip


def _pair(ours: Callable[[], object], peer: Callable[[], float], reps: int, rounds: int):
    ours()
    return btw.interleaved_times({"ours": lambda: btw._timed(ours, reps), "peer": peer}, rounds)


def mp_density(x: np.ndarray, ratio: float = MP_RATIO) -> np.ndarray:
    """The MP density for variance 1, written out here (not rmtheory's): sqrt((b-x)(x-a))/(2 pi r x)."""
    a, b = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    x = np.asarray(x, dtype=float)
    inside = (x > a) & (x < b)
    return np.where(inside, np.sqrt(np.clip((b - x) * (x - a), 0, None)) / (2 * np.pi * ratio * x
                    + (~inside)), 0.0)  # fmt: skip


def quad_cdf(x: np.ndarray, ratio: float = MP_RATIO, tol: float = 1.49e-8) -> np.ndarray:
    a, b = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    out = []
    for v in np.atleast_1d(x):
        hi = min(max(v, a), b)
        out.append(0.0 if hi <= a else integrate.quad(mp_density, a, hi, epsabs=tol, epsrel=tol)[0])
    return np.array(out)


def mp_rows(sizes, rounds, skrmt, log) -> list[dict]:
    mp = MarchenkoPastur(MP_RATIO)
    rng = np.random.default_rng(0)
    a, b = mp.lambda_minus, mp.lambda_plus
    xa = np.linspace(a + 1e-3, b - 1e-3, 200)
    ref_cdf = quad_cdf(xa, tol=1e-13)
    ref_pdf = mp_density(xa)
    ours_cdf_acc = float(np.max(np.abs(mp.cdf(xa) - ref_cdf)))
    ours_pdf_acc = float(np.max(np.abs(mp.pdf(xa) - ref_pdf)))
    rows = []
    # quad, as a user without a closed-form cdf would: one adaptive integral per point
    xq = rng.uniform(a, b, 200)
    reps_q = 1
    times = _pair(lambda: mp.cdf(xq), lambda: btw._timed(lambda: quad_cdf(xq), reps_q), 20,
                  max(3, rounds // 2))  # fmt: skip
    quad_acc = float(np.max(np.abs(quad_cdf(xa) - ref_cdf)))
    rows.append(row("Marchenko–Pastur", "cdf", 200, "scipy.integrate.quad (default tol)", times,
                    ours_cdf_acc, quad_acc, "max abs err vs quad(1e-13)"))  # fmt: skip
    if skrmt is None:
        return rows
    name = f"{skrmt.info['name']} (own env)"
    acc_path = skrmt.put(xa)
    peer_cdf_acc = float(np.max(np.abs(skrmt.values("mp_cdf", acc_path) - ref_cdf)))
    peer_pdf_acc = float(np.max(np.abs(skrmt.values("mp_pdf", acc_path) - ref_pdf)))
    for n in sizes:
        x = rng.uniform(0, 1.1 * b, n)
        path = skrmt.put(x)
        reps = btw._reps(n)
        for call, ours_fn, acc in (("pdf", mp.pdf, (ours_pdf_acc, peer_pdf_acc)),
                                   ("cdf", mp.cdf, (ours_cdf_acc, peer_cdf_acc))):  # fmt: skip
            times = _pair(lambda f=ours_fn: f(x), lambda c=call: skrmt.seconds(f"mp_{c}", path, reps),
                          reps, rounds)  # fmt: skip
            rows.append(row("Marchenko–Pastur", call, n, name, times, *acc,
                            "max abs err vs quad(1e-13)"))  # fmt: skip
    # ppf: scikit-rmt inverts by a generic root finder per point, so few points for it
    p = rng.random(50)
    path = skrmt.put(p)
    q = p.copy()
    ours_rt = float(np.max(np.abs(quad_cdf(mp.ppf(q), tol=1e-13) - q)))
    peer_rt = float(np.max(np.abs(quad_cdf(skrmt.values("mp_ppf", path), tol=1e-13) - q)))
    times = _pair(lambda: mp.ppf(p), lambda: skrmt.seconds("mp_ppf", path, 1), 200,
                  max(3, rounds // 2))  # fmt: skip
    rows.append(row("Marchenko–Pastur", "ppf", 50, name, times, ours_rt, peer_rt,
                    "max |F_quad(ppf(p)) - p|"))  # fmt: skip
    return rows


def tw_rows(sizes, rounds, skrmt_path, skrmt, log) -> list[dict]:
    rows = []
    for r in btw.peer_rows(n_points=tuple(sizes), rounds=rounds, skrmt=skrmt_path, log=log):
        rows.append({"section": "Tracy–Widom", "call": f"{r['call']} β={r['beta']}",
                     "size": r["n_points"], "peer": r["peer"], "min_ratio": r["min_ratio"],
                     "median_ratio": r["median_ratio"], "ours_s": r["ours_us"] * 1e-6,
                     "peer_s": r["peer_us"] * 1e-6, "ours_acc": r["ours_accuracy"],
                     "peer_acc": r["peer_accuracy"], "metric": r["accuracy_metric"]})  # fmt: skip
    try:
        import TracyWidom as tw_pkg
    except ImportError:
        tw_pkg = None
    rng = np.random.default_rng(1)
    xa = btw.ACCURACY_X
    for beta in (1, 2, 4):
        ours = TracyWidom(beta)
        ref = np.asarray(fredholm_tracy_widom(xa, beta).pdf)
        ours_acc = btw._max_abs_err(ours.pdf(xa), ref)
        peers = []
        if tw_pkg is not None:
            law = tw_pkg.TracyWidom(beta=beta)
            peers.append((f"TracyWidom {tw_pkg.__version__}", law.pdf, None))
        if skrmt is not None:
            peers.append((f"{skrmt.info['name']} (own env)", None, f"tw{beta}_pdf"))
        for name, fn, child_fn in peers:
            with np.errstate(all="ignore"):
                peer_acc = btw._max_abs_err(
                    fn(xa) if fn else skrmt.values(child_fn, skrmt.put(xa)), ref
                )
            for n in sizes:
                x = rng.normal(ours.mean(), ours.std(), n)
                reps = btw._reps(n)
                if fn is not None:
                    peer = lambda f=fn, x=x: btw._timed(lambda: f(x), reps)  # noqa: E731
                else:
                    path = skrmt.put(x)
                    peer = lambda c=child_fn, p=path: skrmt.seconds(c, p, reps)  # noqa: E731
                with np.errstate(all="ignore"):
                    times = _pair(lambda x=x: ours.pdf(x), peer, reps, rounds)
                rows.append(row("Tracy–Widom", f"pdf β={beta}", n, name, times, ours_acc,
                                peer_acc, "max |f - f_Fredholm| on [-6, 4]"))  # fmt: skip
    return rows


def spiked(shape, spikes=(3.0, 5.0, 8.0), sigma=0.05, seed=0) -> np.ndarray:
    """Gaussian noise of variance sigma^2 plus rank-one spikes at multiples of the BBP edge."""
    g = np.random.default_rng(seed)
    n, m = shape
    W = sigma * g.standard_normal(shape)
    U = np.linalg.qr(g.standard_normal((n, len(spikes))))[0]
    V = np.linalg.qr(g.standard_normal((m, len(spikes))))[0]
    return W + (U * (sigma * np.array(spikes) * (n * m) ** 0.25)) @ V.T


def analysis_rows(shapes, rounds, ww, log) -> list[dict]:
    rows = []
    sigma, planted = 0.05, 3
    for shape in shapes:
        W = spiked(shape, sigma=sigma)
        size = f"{shape[0]}×{shape[1]}"
        rec = rmt.analyze({"w": W})[0]
        ours_s2 = abs(rec.sigma2 / sigma**2 - 1)
        ours_acc = f"{rec.mp_rank}/{planted} spikes, σ² {ours_s2:.1e}"
        fn = lambda W=W: rmt.analyze({"w": W})  # noqa: E731
        if ww is not None:
            path = ww.put(W)
            spikes, s2 = ww.values("mp_fit", path)
            peer_acc = f"{int(spikes)}/{planted} spikes, σ² {abs(s2 / sigma**2 - 1):.1e}"
            times = _pair(fn, lambda p=path: ww.seconds("mp_fit", p, 1), 1, rounds)
            rows.append(row("Spectral analysis", "analyze (MP fit)", size,
                            f"{ww.info['name']} analyze(mp_fit=True), torch.nn.Linear (own env)",
                            times, ours_acc, peer_acc, "spikes found; σ² rel. err"))  # fmt: skip
        s_ref = np.linalg.svd(W, compute_uv=False)
        times = _pair(fn, lambda W=W: btw._timed(lambda: np.linalg.svd(W, compute_uv=False), 1), 1,
                      rounds)  # fmt: skip
        rows.append(row("Spectral analysis", "analyze", size, "np.linalg.svd(compute_uv=False)",
                        times, f"s_max rel {abs(rec.max_singular_value / s_ref[0] - 1):.1e}", "reference",
                        "top singular value"))  # fmt: skip
        b = bench_bema_fit.bench(shape, rounds=rounds)
        rows.append({"section": "Spectral analysis", "call": "BEMA().fit (vs analyze)", "size": size,
                     "peer": "rmtheory.analyze on the same matrix",
                     "min_ratio": b["analyze_min_s"] / b["bema_min_s"],
                     "median_ratio": 1.0 / b["ratio_median"], "ours_s": b["bema_min_s"],
                     "peer_s": b["analyze_min_s"], "ours_acc": "", "peer_acc": "",
                     "metric": "same eigendecomposition; target ≥ 0.95 (BEMA within 1.05×)"})  # fmt: skip
    return rows


def training_rows(steps, rounds, log) -> tuple[list[dict], list[dict]]:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        log(f"torch: not installed, the PyTorch rows are skipped ({INSTALL['torch']})")
    result = bench_factorised.measure(steps, rounds)
    summary = bench_factorised.summary(result)
    rows = []
    for r in summary:
        if "torch_ratio" not in r:
            continue
        name = "training step (dense)" if r["key"] == "dense" else f"factorised step {r['key']}×"
        rows.append({"section": "Training (CPU)", "call": name, "size": f"{r['params']:,} params",
                     "peer": f"PyTorch {torch.__version__} (same loop)",
                     "min_ratio": r["torch_ratio"][0], "median_ratio": r["torch_ratio"][1],
                     "ours_s": r["after"]["step_ms"] * 1e-3, "peer_s": r["torch_ms"] * 1e-3,
                     "ours_acc": "", "peer_acc": "", "metric": "median step times"})  # fmt: skip
    return rows, summary


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------


def _ver(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem,
            "python": platform.python_version(), "os": platform.platform()}  # fmt: skip


def _fmt_t(s: float) -> str:
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else (f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s")


def _fmt_acc(a: Any) -> str:
    return a if isinstance(a, str) else f"{a:.1e}"


def render(rows, summary, info, bench_7b: dict | None) -> str:
    m = info["machine"]
    lines = [
        "# Performance against the peers",
        "",
        f"Generated by `{info['command']}` on {info['date']} "
        f"({'QUICK smoke run: fewer rounds and sizes' if info['quick'] else 'full run'}; "
        f"{info['wall_min']:.0f} min).",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; Python {m['python']}."
        f" Load average at start {info['load'][0]:.1f}, at end {info['load'][1]:.1f} (other "
        "processes shared the cores: read the median ratio beside the minimum).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".",
        "- Method: one BLAS / OpenMP / torch thread on every side; the contenders alternate round "
        f"by round ({info['rounds']} rounds, fewer for calls of seconds); **ratio = peer time / ours**"
        " (> 1: rmtheory is faster), given as min(peer) / min(ours) and as the median of the "
        "per-round ratios. Peers with a NumPy < 2 cap (scikit-rmt) or their own stack "
        "(WeightWatcher) run in their own environment in a child process that times its own "
        "rounds, answering round by round. Wall clock (`time.perf_counter`), except the training "
        "rows: process CPU time of one-thread work (steadier on a shared machine).",
        "- Skipped: " + ("; ".join(info["skipped"]) if info["skipped"] else "none") + ".",
        "",
    ]
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            lines += ["", f"## {section}", "",
                      "| call | size | peer | ratio min | ratio median | ours | peer | accuracy ours | "
                      "accuracy peer | accuracy measure |", "|" + "---|" * 10]  # fmt: skip
        lines.append(
            f"| {r['call']} | {r['size']} | {r['peer']} | {r['min_ratio']:.2f} | "
            f"{r['median_ratio']:.2f} | {_fmt_t(r['ours_s'])} | {_fmt_t(r['peer_s'])} | "
            f"{_fmt_acc(r['ours_acc'])} | {_fmt_acc(r['peer_acc'])} | {r['metric']} |"
        )
    if summary:
        lines += ["", "## Factorised step: fraction of ideal, before and after the fused passes", "",
                  "Same net [784, 1000, 1000, 500, 10], batch 64, every layer factorised at the rank "
                  "that cuts its parameters R-fold; fraction = (dense step / factorised step) / "
                  "(dense params / factorised params). *Before* is the pre-fusion code path kept in "
                  "`benchmarks/bench_factorised.py`, timed in the same rounds. Targets: ≥ 0.8 at "
                  "10×, ≥ 0.7 at 20×; the dense step not slower.", "",
                  "The last two columns are the measured reason where a target is missed: the "
                  "step's matrix products alone, timed on warm caches (fraction of ideal they "
                  "would reach by themselves), and what the step spends outside them (the batch "
                  "gather, bias/activation/mask kernels, the loss, the optimiser pass over "
                  "parameters, gradients and momentum, Python per layer) — a cost that does not "
                  "shrink with the rank.", "",
                  "| net | params | ideal | before ms | before fraction min / median | after ms | "
                  "after fraction min / median | before / after min / median | products alone ms "
                  "(fraction) | rest of the step ms |",
                  "|" + "---|" * 10]  # fmt: skip
        for r in summary:
            b, a = r["before"], r["after"]
            name = "dense" if r["key"] == "dense" else f"{r['key']}×"
            lines.append(
                f"| {name} | {r['params']:,} | {r['ideal']:.2f} | {b['step_ms']:.2f} | "
                f"{b['fraction_min']:.2f} / {b['fraction_median']:.2f} | {a['step_ms']:.2f} | "
                f"{a['fraction_min']:.2f} / {a['fraction_median']:.2f} | "
                f"{r['before_over_after'][0]:.2f} / {r['before_over_after'][1]:.2f} | "
                + (
                    f"{r['matmul_ms']:.2f} ({r['matmul_fraction']:.2f}) | {r['other_ms']:.2f} |"
                    if "matmul_ms" in r
                    else "— | — |"
                )  # fmt: skip
            )
    if bench_7b:
        lines += ["", render_7b(bench_7b)]
    lines += ["", "Regenerate with `python benchmarks/bench_peers.py --json benchmarks/peers_results.json "
              "--bench-7b benchmarks/bench_7b_full.json` (about 20 minutes; `--quick` for a smoke "
              "run). The 7B section is a `python benchmarks/bench_7b.py --json FILE` result; "
              "`--from-json benchmarks/peers_results.json --bench-7b FILE` re-renders this page with "
              "another one without timing anything again.", ""]  # fmt: skip
    return "\n".join(lines)


def render_7b(r: dict) -> str:
    c = r["checkpoint"]
    out = [f"## A Llama-7B-shaped checkpoint ({r['layers']} of 32 blocks)", "",
           f"{c['params'] / 1e9:.2f} G parameters, {c['bytes'] / 1e9:.2f} GB bfloat16 in "
           f"{c['shards']} shard(s), {c['tensors']} tensors (`benchmarks/bench_7b.py --layers "
           f"{r['layers']}`).", "",
           "| phase | wall | CPU | peak RSS above baseline | / per-tensor Gram+eigvalsh sum (wall, CPU) "
           "| planted spikes |", "|---|---|---|---|---|---|"]  # fmt: skip
    for phase in ("analyze", "compress", "baseline"):
        if phase not in r:
            continue
        p = r[phase]
        ratio = p.get("ratio_to_sum")
        rec = p.get("recovery")
        out.append(
            f"| {phase} | {p['wall_s']:.0f} s | {p['cpu_s']:.0f} s | {p['extra_rss'] / 1e6:.0f} MB | "
            + (f"{ratio['wall']:.2f}, {ratio['cpu']:.2f}" if ratio else "—")
            + " | "
            + (
                f"all {rec['matrices']} matrices"
                if rec and rec["all_found"]
                else (f"missed {len(rec['missed'])} of {rec['matrices']}" if rec else "—")
            )  # fmt: skip
            + " |"
        )
    b = r.get("baseline")
    if b:
        out += ["", f"Per-tensor sum (Gram + `eigvalsh`, matrices in memory in float64): "
                f"{b['sum_wall_s']:.0f} s wall, {b['sum_cpu_s']:.0f} s CPU."]  # fmt: skip
        if r["layers"] < 32:
            est = full_estimate(b)
            out.append(
                f"For all 32 blocks the same per-shape medians give a per-tensor sum of "
                f"{est / 60:.0f} min CPU (one core); analyze at its measured CPU ratio "
                f"{r['analyze']['ratio_to_sum']['cpu']:.2f} would take about "
                f"{est * r['analyze']['ratio_to_sum']['cpu'] / 60:.0f} min CPU, compress about "
                f"{est * r['compress']['ratio_to_sum']['cpu'] / 60:.0f} min, on 13.5 GB of disk."
                if "analyze" in r and "compress" in r
                else f"For all 32 blocks: a per-tensor sum of {est / 60:.0f} min CPU."
            )
    extras = {k: v for p in ("analyze", "compress") for k, v in r.get(p, {}).get("recovery", {})
              .get("extra", {}).items()}  # fmt: skip
    if extras:
        out.append("Found more than planted (found, planted): " + ", ".join(
            f"`{k}` {v[0]} of {v[1]}" for k, v in sorted(extras.items())) + ".")  # fmt: skip
    return "\n".join(out)


def full_estimate(baseline: dict, layers: int = 32) -> float:
    """CPU seconds of the per-tensor Gram + eigvalsh sum for ``layers`` blocks (per-shape medians)."""
    med = {
        tuple(json.loads(k)): float(np.median(v["cpu_s"])) for k, v in baseline["shapes"].items()
    }
    per_block = 4 * med[(4096, 4096)] + 2 * med[(11008, 4096)] + med[(4096, 11008)]
    return layers * per_block + 2 * med[(32000, 4096)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds and sizes (smoke run)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    ap.add_argument("--no-write", action="store_true", help="print the page, write nothing")
    ap.add_argument("--skrmt-python", default=None)
    ap.add_argument("--ww-python", default=None)
    ap.add_argument("--bench-7b", default=None, help="a bench_7b.py --json result to include")
    ap.add_argument("--json", default=None, help="also write the raw rows here")
    ap.add_argument("--from-json", default=None, help="re-render the page from an earlier --json "
                    "file (no timing; e.g. to add the 7B section when that run finishes)")  # fmt: skip
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    if args.from_json:
        saved = json.load(open(args.from_json))
        bench_7b = json.load(open(args.bench_7b)) if args.bench_7b else None
        page = render(saved["rows"], saved["factorised"], saved["info"], bench_7b)
        _emit(page, args)
        return
    t_start, load0 = time.perf_counter(), os.getloadavg()[0]
    skipped: list[str] = []

    def log(msg: str) -> None:
        print(msg, flush=True)
        if "skipped" in msg:
            skipped.append(msg)

    rounds = 3 if args.quick else 7
    sizes = (1000, 10**5) if args.quick else (1000, 10**6)
    mp_sizes = (10**4,) if args.quick else (10**4, 10**6)
    shapes = [(1000, 784)] if args.quick else [(1000, 784), (2048, 2048)]
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    skrmt_path = env_python("skrmt", args.skrmt_python)
    skrmt = start_child("skrmt", args.skrmt_python, SKRMT_SETUP, log)
    ww = start_child("ww", args.ww_python, WW_SETUP, log)
    rows: list[dict] = []
    try:
        print("Marchenko–Pastur ...", flush=True)
        rows += mp_rows(mp_sizes, rounds, skrmt, log)
        print("Tracy–Widom ...", flush=True)
        rows += tw_rows(sizes, rounds, skrmt_path, skrmt, log)
        print("spectral analysis ...", flush=True)
        rows += analysis_rows(shapes, 3 if args.quick else 5, ww, log)
        print("training ...", flush=True)
        train_rows, summary = training_rows(60 if args.quick else 150, rounds, log)
        rows += train_rows
    finally:
        for child in (skrmt, ww):
            if child is not None:
                child.close()
    versions = {"rmtheory": _ver("rmtheory"), "numpy": np.__version__, "scipy": _ver("scipy"),
                "numba": _ver("numba"), "torch": _ver("torch"), "TracyWidom": _ver("TracyWidom")}  # fmt: skip
    if skrmt is not None:
        versions["scikit-rmt"] = (f"{skrmt.info['name'].split()[-1]} (own env: NumPy "
                                  f"{skrmt.info['numpy']}, SciPy {skrmt.info['scipy']})")  # fmt: skip
    if ww is not None:
        versions["WeightWatcher"] = (
            f"{ww.info['name'].split()[-1]} (own env, torch {ww.info['torch']})"
        )
    info = {"command": "python benchmarks/bench_peers.py" + (" --quick" if args.quick else ""),
            "date": datetime.date.today().isoformat(), "quick": args.quick, "rounds": rounds,
            "machine": machine(), "versions": versions, "skipped": skipped,
            "load": (load0, os.getloadavg()[0]),
            "wall_min": (time.perf_counter() - t_start) / 60}  # fmt: skip
    bench_7b = json.load(open(args.bench_7b)) if args.bench_7b else None
    page = render(rows, summary, info, bench_7b)
    if args.json:
        atomic_write(args.json, json.dumps({"info": info, "rows": rows, "factorised": summary},
                                           indent=1, default=str), what="benchmark rows")  # fmt: skip
    _emit(page, args)


def _emit(page: str, args: argparse.Namespace) -> None:
    print(page)
    if not args.no_write:
        atomic_write(args.out, page, what="performance page")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
