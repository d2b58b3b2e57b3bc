"""Speed of the NumPy CNN (``rmtheory.nn.authors_cnn``), measured side by side in one run on one machine.

For the authors' CNN at the quick width (channels [1,8,16,32,64,128], head [1152,250,10]) and at the
paper's width ([1,32,64,128,256,512], head [4608,1000,10]), batch 128, 28×28 float32 images, prints:

* the time of one training step (forward, cross-entropy, backward, SGD + momentum, running loss and
  accuracy) of ``rmtheory.nn.train`` and of the same network in PyTorch CPU (``nn.Sequential`` of
  Conv2d → ReLU → BatchNorm2d → MaxPool2d → Dropout …, same thread count), and the speed ratio
  ours/PyTorch (target >= 0.5); the PyTorch column is skipped when torch is not installed (it is not a
  dependency: ``pip install torch`` for the comparison);
* the step time with every convolution and the first linear layer factorised to about half of its
  weights (k = out·in / (2(out + in)) on the matrix view) divided by the dense step time;
* where our step time goes: convolution products (GEMM), patch gathering (im2col / col2im),
  batch norm, pooling, dropout, dense layers, the rest (loss, optimiser, shuffling).

Timings alternate between the contenders and report the median of ``--repeats`` rounds, so a busy
machine hurts both alike. Usage: ``python benchmarks/bench_cnn.py [--threads N] [--steps S]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

import numpy as np
from bench_trainer import torch_epoch  # the same timed PyTorch epoch as the MLP benchmark

import rmtheory.nn.conv as conv_mod
from rmtheory.nn import CNN, authors_cnn, train
from rmtheory.nn.conv import BatchNorm, Conv2d, Dropout, MaxPool2d
from rmtheory.nn.layers import Layer

NETS = {
    "quick": ((1, 8, 16, 32, 64, 128), (250, 10)),
    "paper": ((1, 32, 64, 128, 256, 512), (1000, 10)),
}
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


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return g.random((n, 1, 28, 28), dtype=np.float32) * 2 - 1, g.integers(0, 10, n)


def time_ours(model: CNN, X, y) -> float:
    t = time.perf_counter()
    train(model, (X, y), None, epochs=1, lr=0.001, lr_decay=None, verbose=False, seed=1)
    return time.perf_counter() - t


def factorise_half(model: CNN, seed: int = 0) -> CNN:
    """Every convolution and the first linear layer replaced by random factors with k·(in + out) ≈
    out·in / 2 on the matrix view (skipped where that leaves k < 1)."""
    g = np.random.default_rng(seed)
    dense = [la for la in model.layers if type(la) is Layer]
    for layer in [la for la in model.layers if isinstance(la, Conv2d)] + dense[:1]:
        out, n_in = layer.shape
        k = out * n_in // (2 * (out + n_in))
        if k >= 1:
            W1 = g.standard_normal((k, n_in)) / np.sqrt(n_in)
            W2 = g.standard_normal((out, k)) / np.sqrt(k)
            layer.set_factors(W1.astype(np.float32), W2.astype(np.float32))
    return model


def torch_runner(channels, fc, X, y, threads):
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    mods: list = []
    for k, (a, b) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
        mods += [nn.Conv2d(a, b, 3), nn.ReLU(), nn.BatchNorm2d(b)]
        if k % 2 == 0 and k != 0:
            mods.append(nn.MaxPool2d(2))
        mods.append(nn.Dropout(0.35))
    mods.append(nn.Flatten())
    with torch.no_grad():
        flat = nn.Sequential(*mods)(torch.zeros(1, 1, 28, 28)).shape[1]
    widths = [flat, *fc]
    for j, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        mods.append(nn.Linear(a, b))
        if j == 0 and j < len(widths) - 2:
            mods += [nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(0.5)]
    net = nn.Sequential(*mods).train()
    return torch_epoch(net, X, y)


def breakdown(model: CNN, X, y) -> dict[str, float]:
    """Seconds per part of one training epoch: each layer's forward and backward timed by wrapping them,
    the convolutions' products and patch gathering separated by wrapping the im2col / col2im kernels."""
    spent: dict[str, float] = defaultdict(float)
    wrapped = []

    def wrap(obj, name, key):
        real = getattr(obj, name)

        def timed(*a, **k):
            t = time.perf_counter()
            r = real(*a, **k)
            spent[key] += time.perf_counter() - t
            return r

        setattr(obj, name, timed)
        wrapped.append((obj, name, real))

    for layer in model.layers:
        key = ("conv" if isinstance(layer, Conv2d) else "dense" if isinstance(layer, Layer) else
               "batch norm" if isinstance(layer, BatchNorm) else "pooling" if isinstance(layer, MaxPool2d)
               else "dropout" if isinstance(layer, Dropout) else "flatten")  # fmt: skip
        for name in ("forward", "backward"):
            wrap(layer, name, key)
    wrap(conv_mod, "_im2col", "im2col/col2im")
    wrap(conv_mod, "_col2im", "im2col/col2im")
    try:
        total = time_ours(model, X, y)
    finally:
        for obj, name, real in reversed(wrapped):
            if obj is conv_mod:
                setattr(obj, name, real)
            else:
                delattr(obj, name)  # back to the class's method
    spent["conv"] -= spent["im2col/col2im"]  # the patch kernels run inside the conv layers
    spent["rest (loss, optimiser, shuffle)"] = total - sum(spent.values())
    return {k: v / total for k, v in spent.items()}


def bench_net(name: str, steps: int, repeats: int, threads: int) -> None:
    channels, fc = NETS[name]
    X, y = data(BATCH * steps)

    def build():
        return authors_cnn(channels=channels, fc=fc, seed=0)

    dense, fact = build(), factorise_half(build())
    torch_run = torch_runner(channels, fc, X, y, threads)
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
    med = statistics.median
    print(f"\n{name} width: channels {list(channels)}, head {dense.sizes}: {dense.n_params():,} params; "
          f"factorised {fact.n_params():,} ({fact.n_params() / dense.n_params():.3f})")  # fmt: skip
    print(
        f"  ours   {med(t_ours) / steps * 1e3:8.1f} ms/step  ({BATCH * steps / med(t_ours):7.1f} samples/s)"
    )
    if t_torch:
        ratios = [b / a for a, b in zip(t_ours, t_torch, strict=True)]
        print(f"  torch  {med(t_torch) / steps * 1e3:8.1f} ms/step  ({BATCH * steps / med(t_torch):7.1f}"
              f" samples/s)\n  ours/torch speed ratio {med(ratios):.3f} "
              f"(per-round min {min(ratios):.3f}, max {max(ratios):.3f})")  # fmt: skip
    else:
        print("  torch  not installed: ratio skipped")
    fr = [f / d for d, f in zip(t_ours, t_fact, strict=True)]
    print(f"  factorised/dense step time {med(fr):.3f} (min {min(fr):.3f}, max {max(fr):.3f})")
    parts = breakdown(build(), X, y)
    print("  where a dense step goes: " + ", ".join(
        f"{k} {v:.0%}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=10, help="batches per timed epoch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--nets", default="quick,paper", help="comma-separated: quick, paper")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, threads {args.threads}")
    print(limit_threads(args.threads))
    for name in args.nets.split(","):
        bench_net(name, args.steps, args.repeats, args.threads)


if __name__ == "__main__":
    main()
