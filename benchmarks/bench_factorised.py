"""Factorised training step versus the dense one, before and after the fused passes, and PyTorch.

The net is [784, 1000, 1000, 500, 10] (ReLU hidden layers, plain logits), batch 64, float32, one
BLAS thread. Every layer is factorised (``W = W2 @ W1``) at the rank ``k`` that cuts its
parameters ``R``-fold, ``k = round(out·in / (R (out + in)))`` (at least 1), for R = 2, 5, 10, 20.
A *step* is what ``rmtheory.nn.train`` does per batch: the gather of the batch, forward,
cross-entropy, backward, the SGD-with-momentum step; it is timed as one epoch of ``--steps``
batches divided by the step count.

* *fraction of ideal* = (dense step time / factorised step time) / (dense parameters /
  factorised parameters): 1.0 means the step got as much faster as the net got smaller.
  Targets (issue 25): >= 0.8 at 10x, >= 0.7 at 20x.
* *before* is the code as it was before the fused passes, kept below (the NumPy bias, activation,
  mask and column-sum passes and NumPy's own rank-1 product; the gather with
  ``np.take(..., mode="raise")``; one optimiser call per array with its checks every batch), patched
  into the same trainer, so *before* and *after* are timed
  in the same run, in interleaved rounds.
* *PyTorch*: the same loop with ``torch.nn.Linear(in, k, bias=False)`` then
  ``torch.nn.Linear(k, out)`` per layer (skipped when torch is not installed).

Ratios are per round (the contenders run back to back each round), then min and median over the
rounds. Usage: ``python benchmarks/bench_factorised.py [--steps 150] [--rounds 7]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import statistics
import time

import numpy as np

import rmtheory.nn.layers as layers_mod
from rmtheory.nn import MLP, train

# the module (the name rmtheory.nn.train is the function)
train_mod = importlib.import_module("rmtheory.nn.train")

SIZES = [784, 1000, 1000, 500, 10]
BATCH = 64
REDUCTIONS = (2, 5, 10, 20)


# ----- the code path before the fused passes (for "before" in the same run) ---------------------------
def legacy_forward(self, x):
    ws = self._workspace(x.shape[0])
    z = ws["z"]
    if self.is_factorised:
        np.matmul(x, self.factors[0].T, out=ws["h"])
        np.matmul(ws["h"], self.factors[1].T, out=z)
    else:
        np.matmul(x, self.factors[0].T, out=z)
    z += self.bias
    self._x, self._cur = x, ws
    if self.activation == "relu":
        return np.maximum(z, 0, out=z)
    if self.activation == "abs":
        return np.abs(z, out=ws["a"])
    return z


def legacy_backward(self, dz, dx=None):
    ws, x = self._cur, self._x
    if self.activation == "relu":
        dz *= ws["z"] > 0
    elif self.activation == "abs":
        dz *= np.sign(ws["z"], out=ws["z"])
    np.sum(dz, axis=0, out=self.grads[-1])
    if self.is_factorised:
        W1, W2 = self.factors
        np.matmul(dz.T, ws["h"], out=self.grads[1])
        np.matmul(dz, W2, out=ws["dh"])
        np.matmul(ws["dh"].T, x, out=self.grads[0])
        if dx is not None:
            np.matmul(ws["dh"], W1, out=dx)
    else:
        np.matmul(dz.T, x, out=self.grads[0])
        if dx is not None:
            np.matmul(dz, self.factors[0], out=dx)


def legacy_sgd_step(params, grads, buffers, lr, momentum, l1=0.0, l2=0.0):
    """The optimiser step before the fusion: checks and one compiled call per array, every batch."""
    pen = 0.0
    for p, g, b in zip(params, grads, buffers, strict=True):
        if not (p.shape == g.shape == b.shape and p.flags.c_contiguous and g.flags.c_contiguous
                and b.flags.c_contiguous):  # fmt: skip
            raise ValueError(
                "params, grads and buffers must be C-contiguous arrays of equal shapes"
            )
        t = p.dtype.type
        s1, s2 = train_mod._sgd_kernel(
            p.reshape(-1), g.reshape(-1), b.reshape(-1), t(lr), t(momentum), t(l1), t(2 * l2)
        )
        pen += l1 * s1 + l2 * s2
    return pen


def legacy_train_epoch(model, X, y, gen, epoch, lr, opts, bufs, after_step, bar):
    n, B = len(X), opts["batch_size"]
    loss_fn = train_mod._LOSS_FN[opts["loss"]]
    perm = gen.permutation(n)
    xbuf = np.empty((B, *X.shape[1:]), X.dtype)
    flat_bufs = [b for layer_bufs in bufs for b in layer_bufs]
    total, correct, n_batches = 0.0, 0, math.ceil(n / B)
    for b in range(n_batches):
        idx = perm[b * B : (b + 1) * B]
        xb = np.take(X, idx, axis=0, out=xbuf[: len(idx)])
        per, dout, c = loss_fn(model.forward(xb), y[idx], True)
        value = float(np.mean(per, dtype=np.float64))
        model.backward(dout)
        value += legacy_sgd_step(
            model.params(), model.grads(), flat_bufs, lr, opts["momentum"], opts["l1"], opts["l2"]
        )
        total += value
        correct += c
    return total / n_batches, correct / n


@contextlib.contextmanager
def legacy():
    """Run the trainer with the pre-fusion layer passes and gather."""
    saved = layers_mod.Layer.forward, layers_mod.Layer.backward, train_mod._train_epoch
    layers_mod.Layer.forward, layers_mod.Layer.backward = legacy_forward, legacy_backward
    train_mod._train_epoch = legacy_train_epoch
    try:
        yield
    finally:
        layers_mod.Layer.forward, layers_mod.Layer.backward, train_mod._train_epoch = saved


# ----- nets -----------------------------------------------------------------------------------------
def ranks(R: int) -> list[int]:
    return [
        max(1, round(o * i / (R * (o + i)))) for i, o in zip(SIZES[:-1], SIZES[1:], strict=True)
    ]


def factorised(R: int, seed: int = 0) -> MLP:
    model = MLP(SIZES, seed=seed)
    g = np.random.default_rng(seed)
    for layer, k in zip(model.layers, ranks(R), strict=True):
        out, n_in = layer.shape
        layer.set_factors(
            g.standard_normal((k, n_in)) / np.sqrt(n_in), g.standard_normal((out, k)) / np.sqrt(k)
        )
    return model


def data(steps: int, seed: int = 0):
    g = np.random.default_rng(seed)
    return g.standard_normal((BATCH * steps, SIZES[0]), dtype=np.float32), g.integers(
        0, 10, BATCH * steps
    )


#: The clock: process CPU time by default (one BLAS thread, one torch thread: CPU time is the work
#: done, and is far steadier than wall time on a shared machine); ``--clock wall`` for wall time.
CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["cpu"]


def step_ours(model: MLP, X, y) -> float:
    t = clock()
    train(model, (X, y), None, epochs=1, lr=1e-4, lr_decay=None, batch_size=BATCH, verbose=False,
          seed=1)  # fmt: skip
    return (clock() - t) / (len(X) // BATCH)


def torch_step(R: int | None, X, y):
    """A closure timing one PyTorch epoch per call (per step), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    mods = []
    for j, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        if R is None:
            mods.append(torch.nn.Linear(i, o))
        else:
            k = ranks(R)[j]
            mods += [torch.nn.Linear(i, k, bias=False), torch.nn.Linear(k, o)]
        if j < len(SIZES) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def run() -> float:
        t = clock()
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
        return (clock() - t) / (len(tX) // BATCH)

    return run


def measure(steps: int, rounds: int) -> dict:
    """Per-round step times: {"dense"|R: {"after", "before", "torch"}} and parameter counts."""
    X, y = data(steps)
    keys = ["dense", *REDUCTIONS]
    models = {"dense": MLP(SIZES, seed=0), **{R: factorised(R) for R in REDUCTIONS}}
    torch_runs = {key: torch_step(None if key == "dense" else key, X, y) for key in keys}
    times = {key: {"after": [], "before": [], "torch": []} for key in keys}
    for key in keys:  # warm-up: numba kernels, work buffers
        step_ours(models[key], X[: 4 * BATCH], y[: 4 * BATCH])
        with legacy():
            step_ours(models[key], X[: 4 * BATCH], y[: 4 * BATCH])
        if torch_runs[key] is not None:
            torch_runs[key]()
    for _ in range(rounds):
        for key in keys:
            times[key]["after"].append(step_ours(models[key], X, y))
            with legacy():
                times[key]["before"].append(step_ours(models[key], X, y))
            if torch_runs[key] is not None:
                times[key]["torch"].append(torch_runs[key]())
    mm = {
        key: matmul_time(m, reps=max(5, 2000 // (1 + m.n_params() // 20_000)))
        for key, m in models.items()
    }
    return {
        "times": times,
        "params": {key: m.n_params() for key, m in models.items()},
        "matmul": mm,
    }


def matmul_time(model: MLP, reps: int = 200) -> float:
    """Seconds per step of the step's matrix products alone (forward, weight gradients, input
    gradients but the first layer's), on warm caches: what a step cannot go below with BLAS."""
    g = np.random.default_rng(0)
    calls = []
    for i, layer in enumerate(model.layers):
        out, n_in = layer.shape
        x = g.standard_normal((BATCH, n_in), dtype=np.float32)
        dz = g.standard_normal((BATCH, out), dtype=np.float32)
        if layer.is_factorised:
            W1, W2 = layer.factors
            h, dh = x @ W1.T, dz @ W2
            calls += [(x, W1.T), (h, W2.T), (dz.T, h), (dz, W2), (dh.T, x)]
            if i > 0:
                calls.append((dh, W1))
        else:
            W = layer.factors[0]
            calls += [(x, W.T), (dz.T, x)] + ([(dz, W)] if i > 0 else [])
    outs = [np.empty((a.shape[0], b.shape[1]), np.float32) for a, b in calls]

    def run() -> None:
        for (a, b), o in zip(calls, outs, strict=True):
            layers_mod._matmul(a, b, o)

    run()
    best = math.inf
    for _ in range(5):
        t = clock()
        for _ in range(reps):
            run()
        best = min(best, (clock() - t) / reps)
    return best


def summary(result: dict) -> list[dict]:
    """Rows per reduction: fraction of ideal before/after (min, median over rounds), torch ratio."""
    t, p = result["times"], result["params"]
    rows = []
    for key in ["dense", *REDUCTIONS]:
        ideal = p["dense"] / p[key]
        row = {"key": key, "params": p[key], "ideal": ideal}
        if "matmul" in result:  # the fraction a step made of its products alone would reach
            mm = result["matmul"]
            row["matmul_ms"] = 1e3 * mm[key]
            row["matmul_fraction"] = mm["dense"] / mm[key] / ideal
            row["other_ms"] = 1e3 * (statistics.median(t[key]["after"]) - mm[key])
        for which in ("before", "after"):
            frac = [d / f / ideal for d, f in zip(t["dense"][which], t[key][which], strict=True)]
            row[which] = {"step_ms": 1e3 * statistics.median(t[key][which]),
                          "fraction_min": min(frac), "fraction_median": statistics.median(frac)}  # fmt: skip
        speed = [b / a for a, b in zip(t[key]["after"], t[key]["before"], strict=True)]
        row["before_over_after"] = (min(speed), statistics.median(speed))
        if t[key]["torch"]:
            r = [b / a for a, b in zip(t[key]["after"], t[key]["torch"], strict=True)]
            row["torch_ms"] = 1e3 * statistics.median(t[key]["torch"])
            row["torch_ratio"] = (min(r), statistics.median(r))
        rows.append(row)
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'net':>8} {'params':>9} {'ideal':>6} | {'before ms':>9} {'frac min/med':>13} | "
          f"{'after ms':>8} {'frac min/med':>13} | {'before/after':>12} | "
          f"{'torch ms':>8} {'torch/ours':>11}")  # fmt: skip
    for r in rows:
        name = "dense" if r["key"] == "dense" else f"{r['key']}x"
        b, a = r["before"], r["after"]
        tr = (f"{r['torch_ms']:8.2f} {r['torch_ratio'][0]:5.2f}/{r['torch_ratio'][1]:.2f}"
              if "torch_ms" in r else "   (no torch: pip install torch)")  # fmt: skip
        print(f"{name:>8} {r['params']:>9,} {r['ideal']:6.2f} | {b['step_ms']:9.2f} "
              f"{b['fraction_min']:6.2f}/{b['fraction_median']:.2f} | {a['step_ms']:8.2f} "
              f"{a['fraction_min']:6.2f}/{a['fraction_median']:.2f} | "
              f"{r['before_over_after'][0]:5.2f}/{r['before_over_after'][1]:.2f} | {tr}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=150, help="batches per timed epoch")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--clock", choices=sorted(CLOCK), default="cpu")
    args = ap.parse_args()
    global clock
    clock = CLOCK[args.clock]
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(1)
    print_rows(summary(measure(args.steps, args.rounds)))


if __name__ == "__main__":
    main()
