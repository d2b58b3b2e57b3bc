r"""Classification confidence and the paper's bounds on how pruning changes it (§5, App. C, E).

Network (paper §5.3, eqs 35, 41): weights :math:`W_1,\dots,W_L` stored ``(out, in)``, biases
:math:`b_j`,

.. math::  X(s) = \lambda_L\big(W_L\,\lambda(\cdots\lambda(W_1 s+b_1)\cdots)+b_L\big),

hidden activation :math:`\lambda=|\cdot|` (the theorems' choice; ReLU and the identity are accepted
too because every proof below only uses that :math:`\lambda` acts coordinatewise, is 1-Lipschitz and
satisfies :math:`|\lambda(t)|\le|t|`) and a linear output :math:`\lambda_L=` identity (pre-softmax
logits, as in Ex 5.5 and Theorem 5.7; ``final_activation="abs"``/``"relu"`` is also accepted and
changes no bound).  Layers are indexed from 0 here (``layer=k`` is the paper's
:math:`W_{k+1}`); :math:`y_k(s)` denotes the input of layer ``k`` (:math:`y_0=s`).

Confidence (eqs 14–15, 39–40; [BJS21])
    :math:`\delta(s)=X_{i(s)}(s)-\max_{j\ne i(s)}X_j(s)`, accuracy = fraction with
    :math:`\delta>0`, good set :math:`G_h=\{s:\delta(s)>h\}`, bound :math:`\#G_h/|T|`.

Lemma 5.1 (eqs 16–18) — :func:`lemma51_bound`
    Zeroing the singular values of :math:`W_k` below :math:`\varepsilon` changes :math:`\delta`
    by at most :math:`C\,\varepsilon\,\prod_{j>k}s_{\max}(W_j)\,\|y_k(s)\|_2`, with
    :math:`C=\sqrt2` (proof in :func:`lemma51_bound`).

Lemma 5.3 (eqs 24–29, 84) — :func:`lemma53_scale`, :func:`lemma53_shift`
    Replacing :math:`W_k=R_k+S_k` by :math:`S_k` (:math:`R_k` iid :math:`N(0,v)`, independent of the
    rest) changes :math:`\delta` by at most
    :math:`2\prod_{j>k}\|W_j\|_\infty\|y_k\|_2\sqrt{2v\log(2n/p)}` with probability
    :math:`\ge1-p`; the paper's scale is :math:`a(N,s)=\prod_{j>k}\|W_j\|_\infty\|y_k(s)\|_2
    \sqrt{v\log(2N)}` and the default :math:`p=(2N)^{-3}` makes the shift :math:`4\sqrt2\,a(N,s)`.

Theorem 5.4 / 5.7 — :func:`theorem54_shift`, :func:`theorem57_bound`
    Pruning :math:`W_k` at the MP edge changes :math:`\delta` by at most Lemma 5.3's shift plus
    :math:`\sqrt2\prod_{j>k}s_{\max}(W_j)\,\theta\,\|y_k\|_2` (:math:`\theta\ge\|W_k'-S_k\|_{op}`,
    :mod:`rmtheory.approximation`), so :math:`\mathrm{acc}(\alpha')\ge\#G_{\delta_0}/|T|` with
    :math:`\delta_0=\max_{s\in T}` of that shift (eqs 42–43, 96–98).

References
----------
L. Berlyand, E. Sandier, Y. Shmalo, L. Zhang, "Enhancing accuracy in deep learning using random
matrix theory", J. Mach. Learn. 4 (2024), arXiv:2310.03165.
L. Berlyand, P.-E. Jabin, C. A. Safsten, "Stability for the training of deep neural networks and
other classifiers", M3AS 31 (2021) 2345–2390 [BJS21].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from rmtheory._validation import (
    choice,
    finite_matrix,
    nonnegative_finite,
    positive_finite,
    probability,
    real_array,
)
from rmtheory.approximation import theta_from_weights, truncate_below
from rmtheory.bema import BEMA

__all__ = [
    "PruningBound",
    "classification_confidence",
    "accuracy_from_confidence",
    "good_set",
    "good_set_accuracy_bound",
    "network_logits",
    "layer_input",
    "lemma51_bound",
    "pruning_confidence_change",
    "lemma53_scale",
    "lemma53_shift",
    "theorem54_shift",
    "theorem57_bound",
]

Activation = Literal["abs", "relu", "identity"]
_ACTIVATIONS: dict[str, Any] = {
    "abs": np.abs,
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
}


# ---------------------------------------------------------------------------------- confidence
def _labels(labels: ArrayLike, n: int, k: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the logits, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if (
            np.issubdtype(y.dtype, np.floating)
            and np.all(np.isfinite(y))
            and np.all(y == np.round(y))
        ):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"labels must be integer class indices, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must lie in [0, {k}), got values in [{y.min()}, {y.max()}]")
    return y.astype(np.intp)


def classification_confidence(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    r"""Classification confidence :math:`\delta(s)=X_{i(s)}(s)-\max_{j\ne i(s)}X_j(s)` (eq 14).

    :math:`X` is the last layer's output before softmax and :math:`i(s)` the true class:
    :math:`\delta>0` means well classified, :math:`\delta<0` misclassified (ties, :math:`\delta=0`,
    count as misclassified in :func:`accuracy_from_confidence`).  Softmax is monotone, so the same
    number computed after a softmax would have the same sign but not the same size; pass logits.

    Parameters
    ----------
    logits : array_like, shape (n, K), K >= 2
    labels : array_like of int, shape (n,)

    Returns
    -------
    ndarray, shape (n,), float64

    Examples
    --------
    >>> classification_confidence([[2.0, 0.5, 1.0], [0.0, 3.0, 1.0]], [0, 2])
    array([ 1., -2.])
    """
    Z = real_array(logits, "logits")
    if Z.ndim != 2 or Z.shape[1] < 2:
        raise ValueError(f"logits must have shape (n, K) with K >= 2 classes, got {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError("logits contain NaN/Inf values")
    y = _labels(labels, Z.shape[0], Z.shape[1])
    rows = np.arange(Z.shape[0])
    true = Z[rows, y]
    other = Z.copy()
    other[rows, y] = -np.inf
    return true - other.max(axis=1)


def _delta(delta: ArrayLike) -> np.ndarray:
    d = real_array(delta, "delta")
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"delta must be a non-empty 1-D array of confidences, got shape {d.shape}")
    if np.any(np.isnan(d)):
        raise ValueError("delta contains NaN values")
    return d


def accuracy_from_confidence(delta: ArrayLike) -> float:
    r"""Accuracy :math:`\#\{s\in T:\delta(s)>0\}/|T|` (eq 15).

    Examples
    --------
    >>> accuracy_from_confidence([0.3, -1.0, 2.0, 0.0])
    0.5
    """
    return float(np.mean(_delta(delta) > 0))


def good_set(delta: ArrayLike, h: ArrayLike) -> np.ndarray:
    r"""Good set of margin :math:`h` (eq 39, [BJS21]): the mask of :math:`\{s:\delta(s)>h\}`.

    ``h`` is a number :math:`\ge0` or one margin per sample (same shape as ``delta``), the latter
    for sample-wise certificates such as ``delta > lemma51_bound(...)``.  ``h = 0`` gives the
    correctly classified set.

    Returns
    -------
    ndarray of bool, shape like ``delta``; ``np.flatnonzero`` gives the indices.

    Examples
    --------
    >>> good_set([0.3, -1.0, 2.0], 0.5)
    array([False, False,  True])
    """
    d = _delta(delta)
    hh = real_array(h, "h")
    if hh.ndim not in (0, 1) or (hh.ndim == 1 and hh.shape != d.shape):
        raise ValueError(f"h must be a number or have the shape of delta {d.shape}, got {hh.shape}")
    if np.any(np.isnan(hh)) or np.any(hh < 0):
        raise ValueError("h must be >= 0 (a margin), without NaN")
    return d > hh


def good_set_accuracy_bound(delta: ArrayLike, h: ArrayLike) -> float:
    r"""The lower bound :math:`\#G_h/|T|` on the accuracy after pruning (eq 40).

    Valid when :math:`h` is at least the possible decrease of :math:`\delta` (Theorem 5.7 with
    :math:`h=\delta_0`; Lemma 5.1 with ``h = lemma51_bound(...)``).

    Examples
    --------
    >>> good_set_accuracy_bound([0.3, -1.0, 2.0, 0.8], 0.5)
    0.5
    """
    return float(np.mean(good_set(delta, h)))


# ---------------------------------------------------------------------------------- networks
def _network(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike | None] | None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if not isinstance(weights, Sequence) or isinstance(weights, str) or len(weights) == 0:
        raise TypeError(
            f"weights must be a non-empty list of 2-D (out, in) matrices, got {type(weights).__name__}"
        )
    Ws = [
        np.asarray(finite_matrix(W, f"weights[{j}]"), dtype=np.float64)
        for j, W in enumerate(weights)
    ]
    for j in range(1, len(Ws)):
        if Ws[j].shape[1] != Ws[j - 1].shape[0]:
            raise ValueError(
                f"weights[{j}] has {Ws[j].shape[1]} columns but weights[{j - 1}] has "
                f"{Ws[j - 1].shape[0]} rows; matrices are stored (out, in)"
            )
    if biases is None:
        bs = [np.zeros(W.shape[0]) for W in Ws]
    else:
        if not isinstance(biases, Sequence) or isinstance(biases, str):
            raise TypeError(
                f"biases must be None or a list with one vector (or None) per layer, "
                f"got {type(biases).__name__}"
            )
        if len(biases) != len(Ws):
            raise ValueError(f"biases must have one entry per layer ({len(Ws)}), got {len(biases)}")
        bs = []
        for j, (W, b) in enumerate(zip(Ws, biases, strict=True)):
            v = np.zeros(W.shape[0]) if b is None else real_array(b, f"biases[{j}]")
            if v.shape != (W.shape[0],):
                raise ValueError(f"biases[{j}] must have shape ({W.shape[0]},), got {v.shape}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"biases[{j}] contains NaN/Inf values")
            bs.append(v)
    return Ws, bs


def _inputs(x: ArrayLike, n_in: int) -> tuple[np.ndarray, bool]:
    X = real_array(x, "x")
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] == 0:
        raise ValueError(f"x must have shape (n, {n_in}) or ({n_in},), got {np.shape(x)}")
    if not np.all(np.isfinite(X)):
        raise ValueError("x contains NaN/Inf values")
    return X, single


def _activation(name: Any, arg: str) -> Any:
    return _ACTIVATIONS[choice(name, arg, tuple(_ACTIVATIONS))]


def _layer_index(layer: Any, L: int) -> int:
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
        raise TypeError(f"layer must be an integer index, got {layer!r}")
    k = int(layer) + L if layer < 0 else int(layer)
    if not 0 <= k < L:
        raise ValueError(
            f"layer must index one of the {L} weight matrices (0..{L - 1}), got {layer}"
        )
    return k


def _forward(Ws, bs, X, act, final, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Layers start..stop-1 applied to X (rows); the last layer of the net uses ``final``."""
    L = len(Ws)
    stop = L if stop is None else stop
    for j in range(start, stop):
        X = X @ Ws[j].T + bs[j]
        X = final(X) if j == L - 1 else act(X)
    return X


def _out(a: np.ndarray, single: bool) -> np.ndarray:
    return a[0] if single else a


def network_logits(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike | None] | None,
    x: ArrayLike,
    activation: Activation = "abs",
    final_activation: Activation = "identity",
) -> np.ndarray:
    """The output :math:`X(s)` (pre-softmax) of the network above, rows of ``x`` as inputs.

    Examples
    --------
    >>> network_logits([np.eye(2), [[1.0, -1.0]]], None, [[1.0, -2.0]])
    array([[-1.]])
    """
    Ws, bs = _network(weights, biases)
    X, single = _inputs(x, Ws[0].shape[1])
    act = _activation(activation, "activation")
    fin = _activation(final_activation, "final_activation")
    return _out(_forward(Ws, bs, X, act, fin), single)


def layer_input(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike | None] | None,
    layer: int,
    x: ArrayLike,
    activation: Activation = "abs",
) -> np.ndarray:
    r""":math:`y_k(s)`, the input of layer ``k`` (``x`` itself for ``k = 0``)."""
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    X, single = _inputs(x, Ws[0].shape[1])
    act = _activation(activation, "activation")
    return _out(_forward(Ws, bs, X, act, act, 0, k), single)


def _spectral_norm(W: np.ndarray) -> float:
    return float(scipy.linalg.svdvals(W, check_finite=False)[0])


def _eps(eps: Any) -> float:
    return positive_finite(eps, "eps")


# ---------------------------------------------------------------------------------- Lemma 5.1
def lemma51_bound(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike | None] | None,
    layer: int,
    eps: float,
    x: ArrayLike,
    constant: Literal["sqrt2", "2"] = "sqrt2",
    *,
    scale: Literal["eps", "dropped"] = "eps",
    form: Literal["eq17", "eq18"] = "eq17",
    activation: Activation = "abs",
    final_activation: Activation = "identity",
) -> np.ndarray:
    r"""Lemma 5.1: bound on :math:`\Delta\delta(s)=|\delta(s,\alpha)-\delta(s,\alpha')|` when the
    singular values of :math:`W_k` (``layer=k``, 0-based) below :math:`\varepsilon` are zeroed.

    .. math::

       \text{(17)}\quad \Delta\delta(s)\le C\,\varepsilon\prod_{j>k}s_{\max}(W_j)\,\|y_k(s)\|_2,
       \qquad
       \text{(18)}\quad \Delta\delta(s)\le C\,\varepsilon\prod_{j\ne k}s_{\max}(W_j)\,\|s\|_2
       \ \ (b_j=0,\ j<k).

    Proof (complete; algorithms.md §1.9 reconstructs the lost formulas).  (i) The pre-activation
    of layer :math:`k` changes by :math:`(W_k-W_k')y_k`, of norm
    :math:`\le s_{\max}(W_k-W_k')\|y_k\|` where :math:`s_{\max}(W_k-W_k')` is the largest
    *dropped* singular value, :math:`<\varepsilon`; biases cancel.  (ii) Each later layer
    multiplies the change by at most :math:`s_{\max}(W_j)`, and :math:`|\lambda(a)-\lambda(b)|\le
    |a-b|` coordinatewise (eq 101), so :math:`\|d\|_2\le\varepsilon\prod_{j>k}s_{\max}(W_j)
    \|y_k\|` for the logit change :math:`d=X(s,\alpha')-X(s,\alpha)`.  (iii) With :math:`t` the
    true class, :math:`\delta=X_t-\max_{j\ne t}X_j` and
    :math:`|\max_ja_j-\max_jb_j|\le\max_j|a_j-b_j|`, so
    :math:`\Delta\delta\le|d_t|+|d_{j^*}|` for some :math:`j^*\ne t`, and
    :math:`|d_t|+|d_{j^*}|\le\sqrt2\,(d_t^2+d_{j^*}^2)^{1/2}\le\sqrt2\|d\|_2`.  Hence
    :math:`C=\sqrt2` holds for every number of classes :math:`K\ge2`, with no assumption (it does
    not need the paper's "worst case concentrated in :math:`d_1,d_2`", eq 104).  It is sharp:
    one linear layer with :math:`K=2` whose dropped singular pair has left vector
    :math:`(1,-1)/\sqrt2` and an input along the right vector attains it (tested).
    ``constant="2"`` is the cruder :math:`|d_t|+|d_{j^*}|\le2\|d\|_\infty\le2\|d\|_2`, kept for
    comparison.  (iv) Eq 18 follows from :math:`\|y_k\|\le\prod_{j<k}s_{\max}(W_j)\|s\|`, true
    when the biases before layer :math:`k` vanish (:math:`|\lambda(t)|\le|t|`).

    Parameters
    ----------
    weights : list of (out, in) matrices
        :math:`W_1..W_L` (float32 inputs are promoted to float64).
    biases : list of vectors (entries may be None) or None
    layer : int
        0-based index of the pruned matrix (negative counts from the end).
    eps : float > 0
        The cut :math:`\varepsilon`; singular values :math:`<\varepsilon` are dropped.
    x : array_like, shape (n, in) or (in,)
        Inputs :math:`s` (one per row).
    constant : {"sqrt2", "2"}
        :math:`C`; ``"sqrt2"`` is proven (above), ``"2"`` is the safe textbook variant.
    scale : {"eps", "dropped"}
        ``"eps"`` uses :math:`\varepsilon` (the paper); ``"dropped"`` the actual largest dropped
        singular value :math:`=\|W_k-W_k'\|_{op}` (tighter; 0 if nothing is dropped).
    form : {"eq17", "eq18"}
        Eq 17 uses the exact :math:`\|y_k(s)\|`; eq 18 the product bound (requires zero biases
        before layer ``k``; raises ``ValueError`` otherwise).
    activation, final_activation : {"abs", "relu", "identity"}
        Hidden and output activations (all 1-Lipschitz; the theorem's net is abs / identity).

    Returns
    -------
    ndarray, shape (n,) (a scalar for 1-D ``x``)

    Examples
    --------
    >>> W1 = np.diag([2.0, 0.5]); W2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> float(lemma51_bound([W1, W2], None, 0, 1.0, [0.0, 1.0]))   # sqrt2 * 1 * 1 * 1
    1.4142135623730951
    """
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    e = _eps(eps)
    X, single = _inputs(x, Ws[0].shape[1])
    act = _activation(activation, "activation")
    _activation(final_activation, "final_activation")
    C = {"sqrt2": math.sqrt(2.0), "2": 2.0}[choice(constant, "constant", ("sqrt2", "2"))]
    choice(form, "form", ("eq17", "eq18"))
    if choice(scale, "scale", ("eps", "dropped")) == "eps":
        factor = e
    else:
        # the same decomposition as the pruning itself, so "dropped" means the same values
        factor = truncate_below(Ws[k], e).largest_dropped
    after = math.prod(_spectral_norm(W) for W in Ws[k + 1 :])
    if form == "eq17":
        norm_y = np.linalg.norm(_forward(Ws, bs, X, act, act, 0, k), axis=1)
    elif form == "eq18":
        if any(np.any(b != 0) for b in bs[:k]):
            raise ValueError("form='eq18' needs zero biases before the pruned layer; use 'eq17'")
        norm_y = math.prod(_spectral_norm(W) for W in Ws[:k]) * np.linalg.norm(X, axis=1)
    else:
        raise ValueError(f"form must be 'eq17' or 'eq18', got {form!r}")
    return _out(C * factor * after * norm_y, single)


def pruning_confidence_change(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike | None] | None,
    layer: int,
    eps: float,
    x: ArrayLike,
    labels: ArrayLike,
    activation: Activation = "abs",
    final_activation: Activation = "identity",
) -> np.ndarray:
    r"""The actual :math:`\Delta\delta(s)=|\delta(s,\alpha)-\delta(s,\alpha')|` (eq 16) when the
    singular values of layer ``layer`` below ``eps`` are zeroed — what :func:`lemma51_bound`
    bounds.

    Examples
    --------
    >>> W1 = np.diag([2.0, 0.5]); W2 = np.eye(2)
    >>> pruning_confidence_change([W1, W2], None, 0, 1.0, [[0.0, 1.0]], [1])
    array([0.5])
    """
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    pruned = list(Ws)
    pruned[k] = truncate_below(Ws[k], _eps(eps)).matrix
    X, single = _inputs(x, Ws[0].shape[1])
    y = np.atleast_1d(np.asarray(labels))
    before = network_logits(Ws, bs, X, activation, final_activation)
    after = network_logits(pruned, bs, X, activation, final_activation)
    d = np.abs(classification_confidence(after, y) - classification_confidence(before, y))
    return _out(d, single)


# ---------------------------------------------------------------------------------- Lemma 5.3
def _noise_var(noise_var: Any, W: np.ndarray) -> float:
    if noise_var is None:
        return 1.0 / max(W.shape)  # the paper's R ~ N(0, 1/N)
    return positive_finite(noise_var, "noise_var")


def _lemma53_parts(weights, biases, layer, x, noise_var, activation):
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    X, single = _inputs(x, Ws[0].shape[1])
    act = _activation(activation, "activation")
    v = _noise_var(noise_var, Ws[k])
    inf_norms = math.prod(float(np.abs(W).sum(axis=1).max()) for W in Ws[k + 1 :])
    norm_y = np.linalg.norm(_forward(Ws, bs, X, act, act, 0, k), axis=1)
    return Ws, k, single, v, inf_norms, norm_y


def lemma53_scale(
    weights: Sequence[ArrayLike],
    layer: int,
    x: ArrayLike,
    *,
    biases: Sequence[ArrayLike | None] | None = None,
    noise_var: float | None = None,
    activation: Activation = "abs",
) -> np.ndarray:
    r"""The scale :math:`a(N,s)` of Lemma 5.3 (eq 25 / the Gaussian-maximum version):

    .. math::  a(N,s)=\prod_{j>k}\|W_j\|_\infty\;\|y_k(s)\|_2\;\sqrt{v\log(2N)},

    :math:`N` the number of rows of :math:`W_k`, :math:`v` the entry variance of :math:`R_k`
    (default :math:`1/\max(\text{shape})`, the paper's :math:`N(0,1/N)`: then
    :math:`\sqrt{\log(2N)/N}`).  For the paper's net :math:`W_3\lambda(W_2\lambda(W_1s))` with
    ``layer=1`` this is :math:`\|W_3\|_\infty\|W_1s\|_2\sqrt{\log(2N)/N}` (algorithms.md §1.10;
    :math:`\|\lambda(W_1s)\|=\|W_1s\|` for :math:`|\cdot|`).

    :math:`\|A\|_\infty=\max_i\sum_j|A_{ij}|` is the operator norm of :math:`\ell_\infty`, the
    **maximum absolute row sum** of a matrix stored ``(out, in)``: it is what the proof needs
    (:math:`\|Ae\|_\infty\le\|A\|_\infty\|e\|_\infty`) and what the authors' later text defines.
    The paper's "maximum absolute column sum" is the same number for the transposed
    ``(in, out)`` storage.

    :math:`a` is a *scale*, not a bound: see :func:`lemma53_shift` for the high-probability bound
    (:math:`4\sqrt2\,a` at the default failure probability).
    """
    Ws, k, single, v, inf_norms, norm_y = _lemma53_parts(
        weights, biases, layer, x, noise_var, activation
    )
    n = Ws[k].shape[0]
    return _out(inf_norms * norm_y * math.sqrt(v * math.log(2.0 * n)), single)


def lemma53_shift(
    weights: Sequence[ArrayLike],
    layer: int,
    x: ArrayLike,
    *,
    biases: Sequence[ArrayLike | None] | None = None,
    noise_var: float | None = None,
    failure_prob: float | None = None,
    activation: Activation = "abs",
) -> np.ndarray:
    r"""High-probability bound on :math:`|\delta(s,\alpha_{R+S})-\delta(s,\alpha_S)|` (Lemma 5.3).

    With :math:`R_k` iid :math:`N(0,v)` independent of :math:`y_k(s)` and of the later layers,
    for each fixed :math:`s`, with probability :math:`\ge1-p`:

    .. math::  \Delta\delta(s)\le 2\prod_{j>k}\|W_j\|_\infty\,\|y_k(s)\|_2\sqrt{2v\log(2N/p)}.

    Proof: the layer-:math:`k` outputs differ by :math:`e` with :math:`|e_i|\le|(R_ky_k)_i|`
    (1-Lipschitz :math:`\lambda`, biases cancel) and :math:`(R_ky_k)_i\sim N(0,v\|y_k\|^2)`
    independently; the Gaussian tail and a union bound over the :math:`N` rows give
    :math:`\|R_ky_k\|_\infty\le\|y_k\|\sqrt{2v\log(2N/p)}` with probability :math:`\ge1-p`; each
    later layer multiplies the :math:`\ell_\infty` change by at most :math:`\|W_j\|_\infty`; and
    :math:`\Delta\delta\le|d_t|+\max_{j\ne t}|d_j|\le2\|d\|_\infty`.  The default
    :math:`p=(2N)^{-3}` gives :math:`\sqrt{2v\cdot4\log 2N}`, i.e. the shift is
    :math:`2\tau_N=4\sqrt2\,a(N,s)` with the authors' :math:`\tau_N=2\sqrt2\,a(N,s)` (their proof of
    eq 84, failure :math:`\le1/(8N^3)`).

    Parameters
    ----------
    weights : list of (out, in) matrices
        The network with :math:`W_k=R_k+S_k` (only its shape and the other layers are used).
    layer : int
        0-based index :math:`k` of the random layer.
    x : array_like, shape (n, in) or (in,)
    biases : optional
    noise_var : float, optional
        Entry variance :math:`v` of :math:`R_k`; default :math:`1/\max(\text{shape of }W_k)`.
        For a trained layer pass ``BEMA().fit(W).sigma2_``.
    failure_prob : float in (0, 1), optional
        :math:`p` per sample; default :math:`(2N)^{-3}`.
    activation : {"abs", "relu", "identity"}
    """
    Ws, k, single, v, inf_norms, norm_y = _lemma53_parts(
        weights, biases, layer, x, noise_var, activation
    )
    n = Ws[k].shape[0]
    p = (2.0 * n) ** -3 if failure_prob is None else probability(failure_prob, "failure_prob")
    return _out(2.0 * inf_norms * norm_y * math.sqrt(2.0 * v * math.log(2.0 * n / p)), single)


# ---------------------------------------------------------------------------------- Thm 5.4 / 5.7
def theorem54_shift(
    weights: Sequence[ArrayLike],
    layer: int,
    x: ArrayLike,
    theta: float,
    *,
    biases: Sequence[ArrayLike | None] | None = None,
    noise_var: float | None = None,
    failure_prob: float | None = None,
    activation: Activation = "abs",
) -> np.ndarray:
    r"""Bound on :math:`|\delta(s,\alpha)-\delta(s,\alpha')|` when :math:`W_k=R_k+S_k` is pruned to
    :math:`W_k'` with :math:`\|W_k'-S_k\|_{op}\le\theta` (Theorem 5.4, eqs 31, 85–92):

    .. math::  \underbrace{2\prod_{j>k}\|W_j\|_\infty\|y_k\|\sqrt{2v\log(2N/p)}}_{W_k\to S_k
               \text{ (Lemma 5.3)}}\;+\;\underbrace{\sqrt2\prod_{j>k}s_{\max}(W_j)\,\theta\,
               \|y_k\|}_{S_k\to W_k' \text{ (Approximation Lemma + Lemma 5.1's argument)}},

    valid with probability :math:`\ge1-p-P(\|W_k'-S_k\|>\theta)`.  ``theta`` comes from
    :func:`~rmtheory.approximation.theta_asymptotic` (known :math:`S`),
    :func:`~rmtheory.approximation.theta_from_weights` (estimated) or
    :func:`~rmtheory.approximation.approximation_error` (measured).
    """
    th = nonnegative_finite(theta, "theta")
    shift = lemma53_shift(
        weights,
        layer,
        x,
        biases=biases,
        noise_var=noise_var,
        failure_prob=failure_prob,
        activation=activation,
    )
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    X, single = _inputs(x, Ws[0].shape[1])
    act = _activation(activation, "activation")
    after = math.prod(_spectral_norm(W) for W in Ws[k + 1 :])
    norm_y = np.linalg.norm(_forward(Ws, bs, X, act, act, 0, k), axis=1)
    return shift + _out(math.sqrt(2.0) * after * th * norm_y, single)


@dataclass(frozen=True, eq=False)
class PruningBound:
    """Theorem 5.7 evaluated on a network and a labelled set (see :func:`theorem57_bound`).

    Attributes
    ----------
    layer, rank : int
        Pruned layer (0-based) and number of singular values kept.
    threshold : float
        The cut (edge + eps) applied to the singular values.
    noise_var, theta : float
        Noise entry variance and the :math:`\\theta\\ge\\|W_k'-S_k\\|` used.
    delta, delta_pruned : ndarray
        :math:`\\delta(s,\\alpha)` and :math:`\\delta(s,\\alpha')`.
    shift : ndarray
        :func:`theorem54_shift` per sample.
    delta0 : float
        :math:`\\delta_0=\\max_s` shift (eqs 42, 96).
    accuracy, pruned_accuracy : float
        Before and after pruning (eq 15).
    bound : float
        :math:`\\#G_{\\delta_0}/|T|` (eq 43).
    samplewise_bound : float
        :math:`\\#\\{s:\\delta(s)>\\text{shift}(s)\\}/|T|` (the same argument without the max).
    lemma51_bound, lemma51_samplewise_bound : float
        The deterministic Lemma 5.1 counterparts (``scale="dropped"``): uniform and per sample.
    failure_prob : float
        Union-bound probability :math:`|T|p` that the Lemma 5.3 part fails (the estimate of
        :math:`\\theta` is not included).
    """

    layer: int
    rank: int
    threshold: float
    noise_var: float
    theta: float
    delta: np.ndarray
    delta_pruned: np.ndarray
    shift: np.ndarray
    delta0: float
    accuracy: float
    pruned_accuracy: float
    bound: float
    samplewise_bound: float
    lemma51_bound: float
    lemma51_samplewise_bound: float
    failure_prob: float


def theorem57_bound(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike | None] | None,
    layer: int,
    x: ArrayLike,
    labels: ArrayLike,
    *,
    eps: float = 0.0,
    threshold: float | None = None,
    noise_var: float | None = None,
    theta: float | None = None,
    failure_prob: float | None = None,
    activation: Activation = "abs",
    final_activation: Activation = "identity",
    bema: BEMA | None = None,
) -> PruningBound:
    r"""Theorem 5.7 (Pruning Theorem for accuracy, eqs 41–43, 95–98) on a concrete network.

    Prunes layer ``k`` at the MP threshold + ``eps`` and returns the certified lower bound
    :math:`\mathrm{acc}(\alpha')\ge\#G_{\delta_0}(\alpha)/|T|` next to the actual accuracies.

    * threshold / noise level: :class:`~rmtheory.bema.BEMA` on :math:`W_k` unless given
      (``singular_value_threshold_`` and ``sigma2_``);
    * :math:`\theta`: :func:`~rmtheory.approximation.theta_from_weights` unless given;
    * :math:`\delta_0=\max_{s\in T}` :func:`theorem54_shift`, the paper's uniform threshold
      (eq 96); ``samplewise_bound`` keeps the per-sample shift instead.

    The probabilistic part assumes the theorem's model (:math:`R_k` Gaussian, independent of the
    other layers and the data).  ``lemma51_bound`` / ``lemma51_samplewise_bound`` are the
    deterministic certificates of Lemma 5.1 for the same cut, valid for any weights.

    Examples
    --------
    >>> g = np.random.default_rng(0); N = 200
    >>> W1 = g.standard_normal((N, 2)); W2 = g.standard_normal((N, N)) / np.sqrt(N)
    >>> W3 = g.standard_normal((2, N)) / np.sqrt(N); X = g.standard_normal((50, 2))
    >>> y = network_logits([W1, W2, W3], None, X).argmax(1)
    >>> res = theorem57_bound([W1, W2, W3], None, 1, X, y)
    >>> res.pruned_accuracy >= res.bound
    True
    """
    Ws, bs = _network(weights, biases)
    k = _layer_index(layer, len(Ws))
    X, _ = _inputs(x, Ws[0].shape[1])
    y = np.atleast_1d(np.asarray(labels))
    e = nonnegative_finite(eps, "eps")
    if bema is not None and not isinstance(bema, BEMA):
        raise TypeError(f"bema must be a BEMA estimator or None, got {type(bema).__name__}")
    if theta is not None:
        theta = nonnegative_finite(theta, "theta")
    if failure_prob is not None:
        failure_prob = probability(failure_prob, "failure_prob")
    if threshold is None or noise_var is None:
        fitted = (bema if bema is not None else BEMA()).fit(Ws[k])
        threshold = fitted.singular_value_threshold_ if threshold is None else threshold
        noise_var = fitted.sigma2_ if noise_var is None else noise_var
    v = positive_finite(noise_var, "noise_var")
    cut = positive_finite(threshold, "threshold") + e
    trunc = truncate_below(Ws[k], cut)
    th = theta_from_weights(Ws[k], v, cut) if theta is None else theta
    shift = theorem54_shift(
        Ws, k, X, th, biases=bs, noise_var=v, failure_prob=failure_prob, activation=activation
    )
    pruned = list(Ws)
    pruned[k] = trunc.matrix
    delta = classification_confidence(network_logits(Ws, bs, X, activation, final_activation), y)
    delta_p = classification_confidence(
        network_logits(pruned, bs, X, activation, final_activation), y
    )
    l51 = np.atleast_1d(
        lemma51_bound(
            Ws,
            bs,
            k,
            cut,
            X,
            scale="dropped",
            activation=activation,
            final_activation=final_activation,
        )
    )
    n_rows = Ws[k].shape[0]
    p = (2.0 * n_rows) ** -3 if failure_prob is None else float(failure_prob)
    delta0 = float(np.max(shift))
    return PruningBound(
        layer=k,
        rank=trunc.rank,
        threshold=cut,
        noise_var=v,
        theta=th,
        delta=delta,
        delta_pruned=delta_p,
        shift=shift,
        delta0=delta0,
        accuracy=accuracy_from_confidence(delta),
        pruned_accuracy=accuracy_from_confidence(delta_p),
        bound=good_set_accuracy_bound(delta, delta0),
        samplewise_bound=good_set_accuracy_bound(delta, shift),
        lemma51_bound=good_set_accuracy_bound(delta, float(np.max(l51))),
        lemma51_samplewise_bound=good_set_accuracy_bound(delta, l51),
        failure_prob=min(1.0, X.shape[0] * p),
    )
