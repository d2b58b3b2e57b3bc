"""Simulations of spiked random matrices against the BGN predictions (paper Figs 15, 16).

Each function runs one seed and returns plain numbers; the registry averages over seeds.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from rmtheory._validation import rng
from rmtheory.spiked import (
    singular_vector_overlaps,
    square_outlier,
    wigner_eigenvector_overlap,
    wigner_outlier_eigenvalue,
)

__all__ = ["square_spike_overlaps", "wigner_spikes"]


def _orthonormal(g: np.random.Generator, n: int, r: int) -> np.ndarray:
    return np.linalg.qr(g.standard_normal((n, r)))[0]


def square_spike_overlaps(seed: int, N: int, sigmas: list[float]) -> dict:
    """Ex 5.5 / Fig 16: ``W = R + S``, ``R ~ N(0, 1/N)`` (N x N), ``S = sum sigma_i u_i v_i^T``.

    Returns the top singular values and ``|<u~_i, u_i>|``, ``|<v~_i, v_i>|`` with the BGN
    predictions ``sigma + 1/sigma`` and ``sqrt(1 - 1/sigma^2)`` (0 below the threshold 1).
    """
    g = rng(seed)
    sig = np.asarray(sigmas, dtype=np.float64)
    r = sig.size
    U, V = _orthonormal(g, N, r), _orthonormal(g, N, r)
    W = g.standard_normal((N, N)) / math.sqrt(N) + (U * sig) @ V.T
    Ut, s, Vt = scipy.linalg.svd(W, lapack_driver="gesdd")
    # match each spike to the singular triplet it aligns with best (order by sigma, descending)
    order = np.argsort(-sig)
    u_overlap = np.abs(U[:, order].T @ Ut[:, :r])
    v_overlap = np.abs(V[:, order].T @ Vt[:r].T)
    pred = singular_vector_overlaps(sig[order], 1.0)
    return {
        "sigma": sig[order].tolist(),
        "singular_values": s[:r].tolist(),
        "predicted_singular_values": square_outlier(sig[order]).tolist(),
        "u_overlap": np.diag(u_overlap).tolist(),
        "v_overlap": np.diag(v_overlap).tolist(),
        "predicted_overlap": np.sqrt(pred.smaller_side).tolist(),
        "predicted_overlap_v": np.sqrt(pred.larger_side).tolist(),
    }


def wigner_spikes(seed: int, n: int, thetas: list[float], sigma: float = 1.0) -> dict:
    """Ex 5.6 / Fig 15: a Wigner matrix (off-diagonal variance sigma^2/n) plus one rank-one spike
    per theta, each in its own draw; top eigenvalue and eigenvector overlap vs the predictions."""
    g = rng(seed)
    lam, ov = [], []
    for theta in thetas:
        A = g.standard_normal((n, n)) * (sigma / math.sqrt(2 * n))
        X = A + A.T  # off-diagonal variance sigma^2/n, diagonal 2 sigma^2/n
        u = _orthonormal(g, n, 1)[:, 0]
        w, vecs = scipy.linalg.eigh(X + theta * np.outer(u, u), subset_by_index=[n - 1, n - 1])
        lam.append(float(w[0]))
        ov.append(float(abs(vecs[:, 0] @ u)))
    th = np.asarray(thetas, dtype=np.float64)
    return {
        "theta": th.tolist(),
        "eigenvalue": lam,
        "overlap": ov,
        "predicted_eigenvalue": wigner_outlier_eigenvalue(th, sigma).tolist(),
        "predicted_overlap": np.sqrt(wigner_eigenvector_overlap(th, sigma)).tolist(),
    }
