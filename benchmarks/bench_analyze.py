"""Speed of ``rmtheory.analyze`` on a ~25M-parameter model versus computing its singular values alone.

The model is BERT-mini-shaped (hidden 256, FFN 1024) but deeper, so that its analysable matrices
total ~25M parameters: a 30522 x 256 word embedding, 512 x 256 position embedding, and per encoder
layer Q, K, V, O (256 x 256), FFN in (1024 x 256) and out (256 x 1024), plus a 256 x 256 pooler;
biases and LayerNorm vectors are present too (analyze skips them with a reason).  Every matrix is
Gaussian noise plus a few low-rank spikes, stored float32 as in a real checkpoint.

Ratio = time of ``analyze(weights)`` (the whole table: one values-only eigendecomposition, BEMA,
GoF, Gavish-Donoho per layer) / time of ``scipy.linalg.svdvals`` on the same matrices, measured side
by side in one run (best of ``--repeats``).  Target: <= 1.2.

Run with one BLAS thread for stable numbers on a shared machine::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_analyze.py
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg

from rmtheory.analysis import analyze


def bert_like(n_layers: int = 22, hidden: int = 256, ffn: int = 1024, seed: int = 0) -> dict:
    """Random float32 weights of a BERT-shaped encoder with planted low-rank spikes."""
    rng = np.random.default_rng(seed)

    def matrix(out: int, inp: int) -> np.ndarray:
        W = rng.normal(scale=1 / np.sqrt(inp), size=(out, inp))
        r = int(rng.integers(1, 9))
        U = rng.normal(size=(out, r)) / np.sqrt(out)
        V = rng.normal(size=(inp, r)) / np.sqrt(inp)
        theta = rng.uniform(0.5, 4.0, size=r) * np.sqrt(max(out, inp) / inp)
        return (W + (U * theta) @ V.T).astype(np.float32)

    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": matrix(30522, hidden),
        "embeddings.position_embeddings.weight": matrix(512, hidden),
        "embeddings.token_type_embeddings.weight": matrix(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
    }
    for i in range(n_layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value"):
            w[p + name + ".weight"] = matrix(hidden, hidden)
            w[p + name + ".bias"] = np.zeros(hidden, np.float32)
        w[p + "attention.output.dense.weight"] = matrix(hidden, hidden)
        w[p + "attention.output.LayerNorm.weight"] = np.ones(hidden, np.float32)
        w[p + "intermediate.dense.weight"] = matrix(ffn, hidden)
        w[p + "intermediate.dense.bias"] = np.zeros(ffn, np.float32)
        w[p + "output.dense.weight"] = matrix(hidden, ffn)
        w[p + "output.LayerNorm.weight"] = np.ones(hidden, np.float32)
    w["pooler.dense.weight"] = matrix(hidden, hidden)
    return w


def best_interleaved(fns: dict, repeats: int) -> dict:
    """Best time of each function, the runs interleaved so that load from other processes on a
    shared machine hits every candidate alike."""
    times: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=22, help="encoder layers (22 -> ~25M params)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    weights = bert_like(args.layers)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"OPENBLAS_NUM_THREADS={threads}; numpy {np.__version__}, scipy {scipy.__version__}")
    analyze(weights)  # warm caches (TW table, numba kernels) outside the timings

    for skip in (False, True):
        table = analyze(weights, skip_embeddings=skip)
        mats = [
            np.asarray(weights[r.name]).reshape(r.matrix_shape)
            for r in table
            if r.matrix_shape is not None
        ]
        n_params = sum(m.size for m in mats)
        t = best_interleaved(
            {
                "svdvals": lambda: [scipy.linalg.svdvals(m) for m in mats],
                "analyze": lambda: analyze(weights, skip_embeddings=skip),
            },
            args.repeats,
        )
        t_svd, t_an = t["svdvals"], t["analyze"]
        label = "embeddings skipped " if skip else "embeddings included"
        print(
            f"{label}: {len(mats)} matrices, {n_params / 1e6:.1f}M params "
            f"({len(table.analysed)} fitted, {len(table) - len(table.analysed)} tensors with a "
            f"reason) | svdvals {t_svd:.3f} s | analyze {t_an:.3f} s | "
            f"ratio {t_an / t_svd:.2f} (target <= 1.2)"
        )


if __name__ == "__main__":
    main()
