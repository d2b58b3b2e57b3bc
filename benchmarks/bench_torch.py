"""The two backends of Algorithm 1 side by side on the CPU: rmtheory.nn (NumPy) and rmtheory.torch.

For the 3.3 M-parameter MLP of Tables 1-3 ([784, 1000, 1000, 1000, 500, 10], the authors' net with a
ReLU on every layer) and the authors' CNN at the quick width (channels [1,8,16,32,64,128], head
[250, 10]; ``--nets ...,cnn-paper`` adds the paper's width), batch 128, float32, prints

* one training epoch with each backend: ``rmtheory.nn.train`` with ``rmtheory.nn.MPPruner`` and a
  plain PyTorch loop (SGD + momentum, cross-entropy) with ``rmtheory.torch.MPPruner.step`` at its top,
  timed on ``--steps`` batches and scaled to a 60 000-image epoch, and the ratio NumPy / torch;
* one pruning pass of each backend on the same trained-from-init weights (spectrum in float64, rule,
  split), and its ratio.

Timings alternate between the backends and report the median of ``--repeats`` rounds, so a busy
machine hurts both alike.  Needs torch (``pip install -e ".[torch]"``).  Usage:
``python benchmarks/bench_torch.py [--threads N] [--steps S] [--nets mlp,cnn-quick,cnn-paper]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time

import numpy as np

from rmtheory.nn import MLP, authors_cnn, train
from rmtheory.nn import MPPruner as NumpyMP

EPOCH = 60_000
BATCH = 128
MLP_SIZES = [784, 1000, 1000, 1000, 500, 10]
CNN_NETS = {"cnn-quick": ((1, 8, 16, 32, 64, 128), (250, 10)),
            "cnn-paper": ((1, 32, 64, 128, 256, 512), (1000, 10))}  # fmt: skip


def torch_mlp(net: MLP):
    import torch
    from torch import nn

    mods = []
    for layer in net.layers:
        lin = nn.Linear(layer.shape[1], layer.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
        mods += [lin, nn.ReLU()] if layer.activation == "relu" else [lin]
    return nn.Sequential(*mods)


def torch_cnn(channels, fc):
    """The authors' CNN in PyTorch (as benchmarks/bench_cnn.py builds it)."""
    import torch
    from torch import nn

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
    return nn.Sequential(*mods).train()


def numpy_epoch(make, X, y, loss):
    def run() -> float:
        model = make()
        pruner = NumpyMP(every=1, prune_at_start=False)  # epoch 0: the pass is skipped, as torch's
        t = time.perf_counter()
        train(model, (X, y), None, epochs=1, lr=0.001, lr_decay=None, pruner=pruner, loss=loss,
              verbose=False, seed=1)  # fmt: skip
        return time.perf_counter() - t

    return run


def torch_epoch(make, X, y):
    import torch
    import torch.nn.functional as F

    import rmtheory.torch as rt

    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def run() -> float:
        net = make()
        opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
        pruner = rt.MPPruner(every=1, prune_at_start=False)
        t = time.perf_counter()
        pruner.step(net, opt, 0)
        perm = torch.randperm(len(tX))
        total, correct = 0.0, 0
        for s in range(0, len(tX), BATCH):
            idx = perm[s : s + BATCH]
            out = net(tX[idx])
            loss = F.cross_entropy(out, ty[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            correct += int((out.argmax(1) == ty[idx]).sum())
        return time.perf_counter() - t

    return run


def prune_pass(np_model, torch_model):
    import torch

    import rmtheory.torch as rt

    def numpy_run() -> float:
        m = np_model.copy()
        t = time.perf_counter()
        NumpyMP().prune(m, 1, n_classes=10)
        return time.perf_counter() - t

    def torch_run() -> float:
        m = copy.deepcopy(torch_model)
        opt = torch.optim.SGD(m.parameters(), lr=0.001, momentum=0.9)
        t = time.perf_counter()
        rt.MPPruner().prune(m, 1, n_classes=10, optimizer=opt)
        return time.perf_counter() - t

    return numpy_run, torch_run


def median_pair(a, b, repeats):
    a(), b()  # warm up (numba compilation, allocator)
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(a())
        tb.append(b())
    return statistics.median(ta), statistics.median(tb)


def bench(name: str, steps: int, repeats: int) -> None:
    g = np.random.default_rng(0)
    n = BATCH * steps
    y = g.integers(0, 10, n)
    if name == "mlp":
        X = (g.random((n, 784), dtype=np.float32) * 2 - 1)
        np_model = MLP(MLP_SIZES, final_activation="relu", seed=0)

        def make_np():
            return np_model.copy()

        def make_torch():
            return torch_mlp(np_model)

        loss, label = "cross_entropy", f"MLP {MLP_SIZES}"
    else:
        channels, fc = CNN_NETS[name]
        X = g.random((n, 1, 28, 28), dtype=np.float32) * 2 - 1
        np_model = authors_cnn(channels=channels, fc=fc, seed=0)
        tmodel = torch_cnn(channels, fc)

        def make_np():
            return np_model.copy()

        def make_torch():
            return copy.deepcopy(tmodel)

        loss, label = np_model.loss, f"authors' CNN {name[4:]} width {list(channels)} head {list(fc)}"
    t_np, t_th = median_pair(numpy_epoch(make_np, X, y, loss), torch_epoch(make_torch, X, y), repeats)
    scale = EPOCH / n
    print(f"\n{label}: {np_model.n_params():,} params, {steps} batches of {BATCH} timed")
    print(f"  epoch (60k images)  numpy {t_np * scale:8.1f} s   torch {t_th * scale:8.1f} s   "
          f"numpy/torch time ratio {t_np / t_th:.2f}")
    p_np, p_th = median_pair(*prune_pass(np_model, make_torch()), max(1, repeats // 2))
    print(f"  one pruning pass    numpy {p_np:8.2f} s   torch {p_th:8.2f} s   "
          f"numpy/torch time ratio {p_np / p_th:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=10, help="batches per timed epoch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nets", default="mlp,cnn-quick", help="comma-separated: mlp, cnn-quick, cnn-paper")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit('bench_torch needs torch: pip install -e ".[torch]"')
    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        pass
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
          f"threads {args.threads} (CPU)")
    for name in args.nets.split(","):
        bench(name, args.steps, args.repeats)


if __name__ == "__main__":
    main()
