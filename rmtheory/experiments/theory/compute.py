r"""One-seed runs behind the theory figures: Example 5.2 (Fig 12), Example 5.5 (Figs 13, 14) and
the polynomial-boundary data set (Fig 26).

Every function takes ``seed`` first and returns a JSON-able dict, so
:func:`rmtheory.experiments.registry.map_seeds` can run, parallelise and cache it.

* :func:`polynomial_data` — the §10.4 two-class problem (train and test from one draw).
* :func:`confidence_run` — train the 2→500→2 net of Ex 5.2 and return the classification
  confidence :math:`\delta(s)=X_{i(s)}(s)-\max_{j\ne i(s)}X_j(s)` (eq 14) on the test set, with
  Lemma 5.1's bound :math:`\sqrt2\,\varepsilon\,s_{\max}(W_2)\|s\|_2` (eq 17) for pruning the first
  layer and the actual change.
* :func:`theta_sweep` — :math:`\|W'-S\|_{op}` for :math:`W=R+S` over a grid of sizes N
  (Approximation Lemma, eq 37; limit :math:`f(\sigma_r)=1/(2\sigma_r)+\sqrt{1+5/(4\sigma_r^2)}`,
  :func:`rmtheory.approximation.theta_asymptotic`).
* :func:`theta_directions` — :math:`\|(W'-S)x\|/\|x\|` over many inputs :math:`x` against the
  supremum :math:`\theta_N` and against :math:`\|(W-W')x\|/\|x\|`, the change Lemma 5.1 pays for.

References
----------
L. Berlyand, E. Sandier, Y. Shmalo, L. Zhang, "Enhancing accuracy in deep learning using random
matrix theory", J. Mach. Learn. 4 (2024), arXiv:2310.03165, §5.2, §5.6, §10.4.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

__all__ = [
    "polynomial_data",
    "confidence_run",
    "theta_sweep",
    "theta_directions",
]


def _ints(values: Any, name: str) -> list[int]:
    out = [int(v) for v in np.atleast_1d(values)]
    if not out or min(out) < 1:
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    return out


# ---------------------------------------------------------------------------------- §10.4 data
def polynomial_data(
    seed: int = 0,
    n_train: int = 2000,
    n_test: int = 1000,
    degree: int = 3,
    offset: float = 0.1,
    noise: float = 0.05,
) -> dict:
    r"""The polynomial-boundary problem of §10.4 (Figs 12, 26), one draw split into train and test.

    ``rmtheory.datasets.make_polynomial_boundary(n_train + n_test, degree, offset, noise, seed)``:
    :math:`y_i=p(x_i)+(2l_i-1)\,\mathrm{offset}+\mathrm{noise}\,\varepsilon_i`; the first
    ``n_train`` points train, the rest test.  ``wrong_side`` is the fraction of points on the
    other label's side of the curve (the "few red points below the boundary", expected
    :math:`\Phi(-\mathrm{offset}/\mathrm{noise})`).

    Examples
    --------
    >>> d = polynomial_data(0, n_train=20, n_test=10)
    >>> len(d["x_train"]), len(d["y_test"])
    (20, 10)
    """
    from rmtheory.datasets import make_polynomial_boundary

    n_train, n_test = _ints([n_train, n_test], "n_train, n_test")
    d = make_polynomial_boundary(n_train + n_test, degree, offset, noise, seed)
    X, y = d.X, d.y
    above = X[:, 1] > d.boundary(X[:, 0])
    grid = np.linspace(X[:, 0].min(), X[:, 0].max(), 300)
    return {
        "x_train": X[:n_train].tolist(),
        "y_train": y[:n_train].tolist(),
        "x_test": X[n_train:].tolist(),
        "y_test": y[n_train:].tolist(),
        "coef": d.coef.tolist(),
        "curve_x": grid.tolist(),
        "curve_y": d.boundary(grid).tolist(),
        "wrong_side": float(np.mean(above != (y == 1))),
        "expected_wrong_side": float(0.5 * math.erfc(offset / noise / math.sqrt(2.0)))
        if noise > 0
        else 0.0,
    }


# ---------------------------------------------------------------------------------- Ex 5.2
def confidence_run(
    seed: int,
    hidden: int = 500,
    activation: str = "relu",
    epochs: int = 100,
    lr: float = 0.02,
    momentum: float = 0.9,
    lr_decay: float | None = None,
    batch_size: int = 128,
    n_train: int = 2000,
    n_test: int = 1000,
    degree: int = 3,
    offset: float = 0.1,
    noise: float = 0.05,
    data_seed: int = 0,
    n_eps: int = 60,
) -> dict:
    r"""Ex 5.2 / Fig 12: train a ``2 → hidden → 2`` net, return :math:`\delta(s)` on the test set.

    The net is :class:`rmtheory.nn.MLP` with ``activation`` after the hidden layer (§10.4: ReLU),
    linear logits (δ is defined on the pre-softmax output), weights :math:`N(0, 1/\text{fan-in})`,
    zero biases, trained with cross-entropy and SGD + momentum.  ``seed`` drives the
    initialisation and the shuffling; the data set is fixed by ``data_seed``.

    Lemma 5.1 (eq 17) for the first layer :math:`W_1` (``hidden x 2``, two singular values):
    pruning its singular values below :math:`\varepsilon` moves δ by at most
    :math:`B_\varepsilon(s)=\sqrt2\,\varepsilon\,s_{\max}(W_2)\,\|s\|_2`.  Returned:

    * ``delta`` — :math:`\delta(s)` per test point;
    * ``eps_star`` — :math:`\delta(s)/B_1(s)`, the largest cut that Lemma 5.1 certifies not to
      flip :math:`s` (0 for misclassified points);
    * ``certified`` — :math:`\#\{\delta>B_\varepsilon\}/|T|` (eq 40) on the grid ``eps_grid``;
    * the actual pruning at :math:`\varepsilon = s_{\min}(W_1)^+` (the only cut that changes
      :math:`W_1`, to rank 1): ``bound``, ``actual_change`` :math:`|\Delta\delta|` (eq 16),
      ``pruned_accuracy`` and ``certified_at_prune``.
    """
    from rmtheory.approximation import truncate_below
    from rmtheory.confidence import (
        classification_confidence,
        good_set_accuracy_bound,
        lemma51_bound,
        network_logits,
        pruning_confidence_change,
    )
    from rmtheory.nn import MLP, train

    data = polynomial_data(data_seed, n_train, n_test, degree, offset, noise)
    xtr, ytr = np.asarray(data["x_train"]), np.asarray(data["y_train"])
    xte, yte = np.asarray(data["x_test"]), np.asarray(data["y_test"])
    model = MLP([2, hidden, 2], activation=activation, seed=seed)
    h = train(model, (xtr, ytr), (xte, yte), epochs, lr=lr, momentum=momentum, lr_decay=lr_decay,
              batch_size=batch_size, seed=seed, verbose=False)  # fmt: skip
    Ws = [layer.weight.astype(np.float64) for layer in model.layers]
    bs = [layer.bias.astype(np.float64) for layer in model.layers]
    kw = {"activation": activation, "final_activation": "identity"}
    delta = classification_confidence(network_logits(Ws, bs, xte, **kw), yte)
    per_eps = lemma51_bound(Ws, bs, 0, 1.0, xte, **kw)  # B_1(s); B_eps = eps * B_1
    s1 = scipy.linalg.svdvals(Ws[0])
    cut = float(s1[-1]) * (1.0 + 1e-9)  # just above s_min(W1): drops exactly one singular value
    bound = lemma51_bound(Ws, bs, 0, cut, xte, scale="dropped", **kw)
    change = pruning_confidence_change(Ws, bs, 0, cut, xte, yte, **kw)
    pruned = list(Ws)
    pruned[0] = truncate_below(Ws[0], cut).matrix
    pruned_delta = classification_confidence(network_logits(pruned, bs, xte, **kw), yte)
    eps_grid = np.geomspace(1e-3, 2.0 * float(s1[0]), n_eps)
    return {
        "delta": delta.tolist(),
        "eps_star": np.where(delta > 0, delta / per_eps, 0.0).tolist(),
        "eps_grid": eps_grid.tolist(),
        "certified": [good_set_accuracy_bound(delta, e * per_eps) for e in eps_grid],
        "train_accuracy": float(h.train_accuracy[-1]),
        "test_accuracy": float(np.mean(delta > 0)),
        "train_loss": float(h.train_loss[-1]),
        "singular_values_W1": s1.tolist(),
        "singular_values_W2": scipy.linalg.svdvals(Ws[1]).tolist(),
        "prune_eps": float(s1[-1]),
        "bound": bound.tolist(),
        "actual_change": change.tolist(),
        "max_change_over_bound": float(np.max(change / bound)),
        "pruned_accuracy": float(np.mean(pruned_delta > 0)),
        "certified_at_prune": good_set_accuracy_bound(delta, bound),
    }


# ---------------------------------------------------------------------------------- Ex 5.5
def theta_sweep(
    seed: int,
    sigmas: list[float],
    sizes: list[int],
    eps: float = 0.1,
    vectors: str = "random",
    threshold: str | float = "mp",
) -> dict:
    r"""Figs 13–14: :math:`\theta_N=\|W'-S\|_{op}` for one draw per size N (square, paper Ex 5.5).

    :math:`W=R+S`, :math:`R` iid :math:`N(0,1/N)`, :math:`S=\sum\sigma_iu_iv_i^\top` with random
    (``vectors="random"``) or coordinate (``"diagonal"``, Fig 14) singular vectors; :math:`W'`
    keeps the singular values :math:`\ge 2+\varepsilon` (``threshold="mp"``; ``"bema"`` estimates
    the edge).  Each (seed, N) has its own stream ``default_rng([seed, N])``.  Also returns the
    limit :math:`f(\sigma_r)` (:func:`rmtheory.approximation.theta_asymptotic`).

    Examples
    --------
    >>> r = theta_sweep(0, [3.0, 2.0], [100, 200])
    >>> len(r["theta"]), round(r["theta_inf"], 4)
    (2, 1.3956)
    """
    from rmtheory.approximation import theta_asymptotic, theta_empirical

    Ns = _ints(sizes, "sizes")
    theta = [
        theta_empirical(
            sigmas,
            N,
            eps=eps,
            threshold=threshold,
            vectors=vectors,
            seed=np.random.default_rng([seed, N]),
        )
        for N in Ns
    ]
    return {"sizes": Ns, "theta": theta, "theta_inf": theta_asymptotic(sigmas, eps=eps)}


def theta_directions(
    seed: int,
    sigmas: list[float],
    N: int,
    eps: float = 0.1,
    vectors: str = "diagonal",
    n_inputs: int = 2000,
) -> dict:
    r"""Fig 14(b): how :math:`\|(W'-S)x\|\le\theta\|x\|` (eq 61) is met by actual inputs.

    One draw of the model of :func:`theta_sweep` at size ``N`` (dense SVD).  For ``n_inputs``
    Gaussian :math:`x` returns ``ratio_pruned`` :math:`=\|(W'-S)x\|/\|x\|` (what Theorem 5.4
    pays) and ``ratio_dropped`` :math:`=\|(W-W')x\|/\|x\|` (what Lemma 5.1 pays for the same cut);
    ``ratio_spikes`` are the former for :math:`x=v_i`; ``theta`` the supremum
    :math:`\|W'-S\|_{op}` and ``largest_dropped`` :math:`=\|W-W'\|_{op}` (about the edge 2).
    """
    from rmtheory.approximation import theta_asymptotic, truncate_below

    sig = np.asarray(sigmas, dtype=np.float64)
    (N,) = _ints([N], "N")
    r = sig.size
    g = np.random.default_rng([seed, N, 14])
    if vectors == "diagonal":
        U, V = np.eye(N, r), np.eye(N, r)
    elif vectors == "random":
        U = np.linalg.qr(g.standard_normal((N, r)))[0]
        V = np.linalg.qr(g.standard_normal((N, r)))[0]
    else:
        raise ValueError(f"vectors must be 'random' or 'diagonal', got {vectors!r}")
    S = (U * sig) @ V.T
    W = g.standard_normal((N, N)) / math.sqrt(N) + S
    t = truncate_below(W, 2.0 + eps)
    D = t.matrix - S
    X = g.standard_normal((N, n_inputs))
    norms = np.linalg.norm(X, axis=0)
    return {
        "N": N,
        "rank_kept": t.rank,
        "theta": float(scipy.linalg.svdvals(D)[0]),
        "theta_inf": theta_asymptotic(sig, eps=eps),
        "largest_dropped": t.largest_dropped,
        "ratio_pruned": (np.linalg.norm(D @ X, axis=0) / norms).tolist(),
        "ratio_dropped": (np.linalg.norm((W - t.matrix) @ X, axis=0) / norms).tolist(),
        "ratio_spikes": np.linalg.norm(D @ V, axis=0).tolist(),
        "sigma": sig.tolist(),
    }
