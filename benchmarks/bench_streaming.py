"""Memory and time of ``analyze`` / ``compress`` on a multi-GB sharded safetensors checkpoint.

Builds, in a temporary folder, a sharded safetensors checkpoint of about ``--gb`` GB (default 4.4)
with its ``model.safetensors.index.json``: float32 tall (16384 x 2048), wide (2048 x 16384) and
square (3072 x 3072) matrices, two bfloat16 embedding-like tables (32000 x 2048), and 1-D norms,
each Gaussian noise plus a few planted spikes.  Then, each phase in a fresh process (one BLAS
thread):

* ``analyze``: ``rmtheory.analyze(folder)``, its wall time and its peak RSS (``VmHWM``) above the
  process's RSS just before the call (the interpreter with numpy/scipy/rmtheory loaded);
* ``compress``: ``rmtheory.compress(folder, out=...)`` (streamed output), the same measures;
* ``baseline``: for each analysed matrix, already in memory as float64 (not timed), the time of
  a values-only decomposition: ``scipy.linalg.svdvals`` (LAPACK gesdd) and ``eigvalsh`` of the
  smaller Gram matrix (the route analyze takes); their sums.

Targets (issue 13): peak RSS <= the largest tensor in float64 + 300 MB over the baseline RSS,
whatever the checkpoint's size; analyze's total time <= 1.1 x the sum of per-tensor values-only
decompositions.  Not part of the test suite: it takes ~15-30 minutes on one core and writes
several GB (deleted at the end unless ``--keep``)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_streaming.py --dir /tmp
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def plan(gb: float) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape, dtype) of the checkpoint's tensors, about ``gb`` GB in all."""
    fixed: list[tuple[str, tuple[int, ...], str]] = [
        ("embed_tokens.weight", (32000, 2048), "BF16"),
        ("lm_head.weight", (32000, 2048), "BF16"),
        ("attn_in.0.weight", (3072, 3072), "F32"),
        ("attn_in.1.weight", (3072, 3072), "F32"),
    ]
    fixed += [(f"down.{i}.weight", (2048, 16384), "F32") for i in range(4)]
    fixed += [(f"norm.{i}.weight", (2048,), "F32") for i in range(8)]
    size = sum(np.prod(s) * (2 if d == "BF16" else 4) for _, s, d in fixed)
    per = 16384 * 2048 * 4
    n_tall = max(0, int(np.ceil((gb * 1e9 - size) / per)))
    return fixed + [(f"up.{i}.weight", (16384, 2048), "F32") for i in range(n_tall)]


def make_tensor(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(shape, dtype=np.float32)
    if len(shape) == 2:
        n, m = shape
        r = 1 + seed % 4
        U = rng.standard_normal((n, r), dtype=np.float32) / np.float32(np.sqrt(n))
        V = rng.standard_normal((r, m), dtype=np.float32) / np.float32(np.sqrt(m))
        theta = np.float32(3.0 * (n * m) ** 0.25) * (1 + np.arange(r, dtype=np.float32))
        W += (U * theta) @ V
    return W


def build(folder: str, gb: float, shard_bytes: float = 1e9) -> dict:
    """Write the sharded checkpoint; returns its description."""
    tensors = plan(gb)
    shards: list[list[tuple[str, tuple[int, ...], str]]] = [[]]
    used = 0
    for t in tensors:
        nbytes = int(np.prod(t[1])) * (2 if t[2] == "BF16" else 4)
        if used and used + nbytes > shard_bytes:
            shards.append([])
            used = 0
        shards[-1].append(t)
        used += nbytes
    weight_map, total = {}, 0
    for k, shard in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {}, 0
        for name, shape, dtype in shard:
            nbytes = int(np.prod(shape)) * (2 if dtype == "BF16" else 4)
            header[name] = {
                "dtype": dtype,
                "shape": list(shape),
                "data_offsets": [offset, offset + nbytes],
            }
            offset += nbytes
            weight_map[name] = fname
        hb = json.dumps(header).encode()
        hb += b" " * (-len(hb) % 8)
        with open(os.path.join(folder, fname), "wb") as f:
            f.write(len(hb).to_bytes(8, "little") + hb)
            for i, (_name, shape, dtype) in enumerate(shard):
                W = make_tensor(shape, seed=k * 1000 + i)
                if dtype == "BF16":  # round to nearest even, keep the top 16 bits
                    bits = W.view(np.uint32)
                    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
                    f.write(bits.astype("<u2").tobytes())
                else:
                    f.write(W.astype("<f4").tobytes())
                del W
        total += os.path.getsize(os.path.join(folder, fname))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
    return {"bytes": total, "shards": len(shards), "tensors": len(tensors)}


CHILD = r"""
import json, sys, time
import numpy as np, scipy.linalg
import rmtheory
from rmtheory.weights_io import open_weights

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

phase, folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
rmtheory.analyze({"warm": np.random.default_rng(0).normal(size=(300, 200))})  # numba, TW table
base = status("VmRSS")
t0, c0 = time.perf_counter(), time.process_time()
result = {}
if phase == "analyze":
    table = rmtheory.analyze(folder, keep_eigenvalues=False)
    result["analysed"] = len(table.analysed)
    result["mp_ranks"] = {r.name: r.mp_rank for r in table.analysed}
elif phase == "compress":
    c = rmtheory.compress(folder, out=out)
    result["reduction"] = c.reduction
elif phase == "baseline":
    lazy = open_weights(folder)
    svd = gram = svd_cpu = gram_cpu = 0.0
    for ref in lazy.refs():
        if ref.ndim != 2:
            continue
        M = ref.read().astype(np.float64)
        t, c = time.perf_counter(), time.process_time()
        scipy.linalg.svdvals(M, check_finite=False)
        svd += time.perf_counter() - t; svd_cpu += time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        B = M if M.shape[0] <= M.shape[1] else M.T
        scipy.linalg.eigvalsh(B @ B.T, check_finite=False, driver="evd", overwrite_a=True)
        gram += time.perf_counter() - t; gram_cpu += time.process_time() - c
        del M, B
    result.update(svdvals_s=svd, gram_eigvalsh_s=gram, svdvals_cpu_s=svd_cpu, gram_eigvalsh_cpu_s=gram_cpu)
result["wall_s"] = time.perf_counter() - t0
result["cpu_s"] = time.process_time() - c0
result["baseline_rss"] = base
result["peak_rss"] = status("VmHWM")
print(json.dumps(result))
"""


def run_phase(phase: str, folder: str, out: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, phase, folder, out],
        env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"{phase} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=4.4, help="checkpoint size in GB (default 4.4)")
    ap.add_argument("--dir", default=None, help="where to build it (default: the system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the checkpoint afterwards")
    ap.add_argument("--skip", nargs="*", default=[], choices=["compress", "baseline"])
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="rmtheory-bench-", dir=args.dir)
    folder = os.path.join(root, "ckpt")
    os.makedirs(folder)
    try:
        t0 = time.perf_counter()
        info = build(folder, args.gb)
        tensors = plan(args.gb)
        largest = max((int(np.prod(s)) for _, s, _ in tensors if len(s) == 2), default=0) * 8
        print(
            f"checkpoint: {info['bytes'] / 1e9:.2f} GB in {info['shards']} shards, "
            f"{info['tensors']} tensors; largest tensor in float64 {largest / 1e6:.0f} MB "
            f"(built in {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        bound = largest + 300e6
        results = {}
        for phase in ("analyze", "compress", "baseline"):
            if phase in args.skip:
                continue
            r = run_phase(phase, folder, os.path.join(root, "small.safetensors"))
            results[phase] = r
            extra = r["peak_rss"] - r["baseline_rss"]
            line = (
                f"{phase:>9}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU; peak RSS {r['peak_rss'] / 1e6:.0f} MB, "
                f"{extra / 1e6:.0f} MB over the {r['baseline_rss'] / 1e6:.0f} MB baseline"
            )
            if phase != "baseline":
                line += f" (bound {bound / 1e6:.0f} MB: {'met' if extra <= bound else 'NOT met'})"
            else:
                line += (
                    f"; values-only sums (wall / CPU): svdvals {r['svdvals_s']:.1f} / "
                    f"{r['svdvals_cpu_s']:.1f} s, Gram eigvalsh {r['gram_eigvalsh_s']:.1f} / "
                    f"{r['gram_eigvalsh_cpu_s']:.1f} s"
                )
            print(line, flush=True)
        if "baseline" in results and "analyze" in results:
            a, b = results["analyze"], results["baseline"]
            for unit, key in (("wall", "_s"), ("CPU", "_cpu_s")):
                t = a["wall_s"] if unit == "wall" else a["cpu_s"]
                print(
                    f"{unit} time: analyze / sum of svdvals = {t / b['svdvals' + key]:.2f}; "
                    f"analyze / sum of Gram eigvalsh = {t / b['gram_eigvalsh' + key]:.2f} "
                    "(target <= 1.1)"
                )
        print(json.dumps({"checkpoint": info, "largest_f64": largest, **results}))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
