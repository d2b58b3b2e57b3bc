"""Speed of the NumPy trainer, measured side by side in one run on one machine.

Prints, for [784,1000,1000,10] and [784,3000,3000,2000,500,10], batch 128, float32:
  * samples/s of ``rmtheory.nn.train`` and of an equivalent PyTorch CPU loop (same thread count, same work
    per batch: forward, cross-entropy, backward, SGD+momentum step, running loss/accuracy) and their ratio
    (target >= 1.0); the PyTorch column is skipped when torch is not installed (it is not a dependency);
  * the step time of the same net with every hidden layer factorised to about half its parameters
    (k = out·in / (2(in + out))) divided by the dense step time (target <= 0.62);
  * the share of the training time spent inside ``np.matmul`` (timed by wrapping it).

Timings alternate between the contenders and report the median of ``--repeats`` rounds, so a busy
machine hurts both alike. Usage: ``python benchmarks/bench_trainer.py [--threads N] [--steps S]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types

import numpy as np

import rmtheory.nn.layers as layers_mod
from rmtheory.nn import MLP, train

NETS = ([784, 1000, 1000, 10], [784, 3000, 3000, 2000, 500, 10])
BATCH = 128


def limit_threads(n: int) -> str:
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "BLAS threads: default (threadpoolctl not installed; set OPENBLAS_NUM_THREADS)"
    threadpool_limits(n, user_api="blas")
    info = [f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}" for i in
            threadpool_info() if i["user_api"] == "blas"]  # fmt: skip
    return "BLAS: " + ", ".join(info)


def data(n: int, n_in: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return g.standard_normal((n, n_in), dtype=np.float32), g.integers(0, 10, n)


def time_ours(model: MLP, X, y) -> float:
    t = time.perf_counter()
    train(model, (X, y), None, epochs=1, lr=0.001, lr_decay=None, verbose=False, seed=1)
    return time.perf_counter() - t


def factorise_half(model: MLP, seed: int = 0) -> MLP:
    """Every hidden layer replaced by random factors with k·(in + out) ≈ out·in / 2."""
    g = np.random.default_rng(seed)
    for layer in model.layers[:-1]:
        out, n_in = layer.shape
        k = out * n_in // (2 * (out + n_in))
        W1 = g.standard_normal((k, n_in)) / np.sqrt(n_in)
        W2 = g.standard_normal((out, k)) / np.sqrt(k)
        layer.set_factors(W1, W2)
    return model


def torch_epoch(net, X, y):
    """One timed PyTorch epoch (SGD lr 0.001, momentum 0.9, batch 128): the work both trainers
    do per epoch, with the same loss, accuracy and bookkeeping per batch."""
    import torch

    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def run() -> float:
        t = time.perf_counter()
        perm = torch.randperm(len(tX))
        total, correct = 0.0, 0
        for s in range(0, len(tX), BATCH):
            idx = perm[s : s + BATCH]
            xb, yb = tX[idx], ty[idx]
            out = net(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            correct += int((out.argmax(1) == yb).sum())
        return time.perf_counter() - t

    return run


def torch_runner(sizes, X, y, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        mods.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    return torch_epoch(net, X, y)


def matmul_share(model: MLP, X, y) -> float:
    """Fraction of a training epoch spent inside np.matmul (wrapped with a timer)."""
    spent = [0.0]
    real = np.matmul

    def timed(*a, **k):
        t = time.perf_counter()
        r = real(*a, **k)
        spent[0] += time.perf_counter() - t
        return r

    proxy = types.SimpleNamespace(**{n: getattr(np, n) for n in dir(np) if not n.startswith("__")})
    proxy.matmul = timed
    layers_mod.np = proxy
    try:
        total = time_ours(model, X, y)
    finally:
        layers_mod.np = np
    return spent[0] / total


def bench_net(sizes: list[int], steps: int, repeats: int, threads: int) -> None:
    X, y = data(BATCH * steps, sizes[0])
    dense, fact = MLP(sizes, seed=0), factorise_half(MLP(sizes, seed=0))
    torch_run = torch_runner(sizes, X, y, threads)
    time_ours(dense, X[:256], y[:256])  # warm-up: numba kernels, work buffers, BLAS threads
    time_ours(fact, X[:256], y[:256])
    if torch_run is not None:
        torch_run()
    t_ours, t_torch, t_fact = [], [], []
    for _ in range(repeats):  # interleaved, so a busy machine slows all contenders alike
        t_ours.append(time_ours(dense, X, y))
        if torch_run is not None:
            t_torch.append(torch_run())
        t_fact.append(time_ours(fact, X, y))
    med, n = statistics.median, len(X)
    print(f"\n{sizes}: {dense.n_params():,} params; factorised {fact.n_params():,} "
          f"({fact.n_params() / dense.n_params():.3f})")  # fmt: skip
    print(f"  ours   {n / med(t_ours):9.1f} samples/s  ({med(t_ours) / steps * 1e3:.1f} ms/step)")
    if t_torch:
        ratios = [b / a for a, b in zip(t_ours, t_torch, strict=True)]
        print(f"  torch  {n / med(t_torch):9.1f} samples/s  ({med(t_torch) / steps * 1e3:.1f}"
              f" ms/step)\n  ours/torch speed ratio {med(ratios):.3f} "
              f"(per-round min {min(ratios):.3f}, max {max(ratios):.3f})")  # fmt: skip
    else:
        print("  torch  not installed: ratio skipped")
    fr = [f / d for d, f in zip(t_ours, t_fact, strict=True)]
    print(f"  factorised/dense step time {med(fr):.3f} (min {min(fr):.3f}, max {max(fr):.3f})")
    print(f"  matmul share of a dense epoch {matmul_share(dense, X, y):.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=30, help="batches per timed epoch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--nets", default="0,1", help="indices into NETS to run")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, threads {args.threads}")
    print(limit_threads(args.threads))
    print("OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE"))
    for i in args.nets.split(","):
        bench_net(NETS[int(i)], args.steps, args.repeats, args.threads)


if __name__ == "__main__":
    main()
