r"""Example 9.1 of the paper (Figs 17–18): a Gaussian matrix plus a deterministic signal.

:math:`W = R + S` with :math:`R\in\mathbb R^{N\times N}` iid :math:`N(0,1)` and

.. math:: S_{ij} = \tan(\pi/2 + 1/(j+1)) + \cos(i)\log(i+j+1) + \sin(j)\cos(i/j),
   \qquad i, j = 1..N

(1-based: the figures were made in R).  The eigenvalues of :math:`W^\top W/N` follow
``MarchenkoPastur(1, 1)`` in the bulk, true edge :math:`\lambda_+ = 4`; :math:`S` has numerical
rank about 44 (algorithms.md §2.6).  The paper's Fig 17 used :math:`N = 1000` and the authors'
BEMA code (``BEMA(variant="paper_code")``).
"""

from __future__ import annotations

import numpy as np

from rmtheory._validation import positive_int, rng

__all__ = ["example_9_1_signal", "example_9_1_matrix"]


def example_9_1_signal(N: int = 1000) -> np.ndarray:
    """The deterministic signal ``S`` of Example 9.1 (float64, ``N x N``)."""
    N = positive_int(N, "N")
    i = np.arange(1, N + 1, dtype=np.float64)[:, None]
    j = np.arange(1, N + 1, dtype=np.float64)[None, :]
    return (
        np.tan(np.pi / 2 + 1 / (j + 1)) + np.cos(i) * np.log(i + j + 1) + np.sin(j) * np.cos(i / j)
    )


def example_9_1_matrix(N: int = 1000, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``W = R + S`` of Example 9.1 with a seeded ``R``."""
    N = positive_int(N, "N")
    return rng(seed).standard_normal((N, N)) + example_9_1_signal(N)


# --------------------------------------------------------------------------- Figs 17 and 18
def bema_sweeps(
    N: int = 1000,
    seed: int = 1,
    alphas: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45),
    betas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
) -> dict:
    """BEMA's lambda_+ on Example 9.1 against alpha (beta = 0.5) and beta (alpha = 0.25), with
    the authors' code and with the correct Tracy–Widom scaling (paper Fig 17)."""
    from rmtheory.bema import BEMA
    from rmtheory.spectrum import esd

    ev = esd(example_9_1_matrix(N, seed))
    out: dict = {"N": N, "seed": seed, "alphas": list(alphas), "betas": list(betas)}
    for variant in ("paper_code", "default"):
        out[variant] = {
            "vs_alpha": [BEMA(a, 0.5, variant).fit(ev, q=N).lambda_plus_ for a in alphas],
            "vs_beta": [BEMA(0.25, b, variant).fit(ev, q=N).lambda_plus_ for b in betas],
        }
    fit = BEMA(0.25, 0.1).fit(ev, q=N)
    out["esd"] = {
        "eigenvalues": ev[ev < 8.0].tolist(),
        "n_beyond_8": int(np.count_nonzero(ev >= 8.0)),
        "sigma2": fit.sigma2_,
        "lambda_plus": fit.lambda_plus_,
        "n_spikes": fit.n_spikes_,
        "gof": fit.gof_,
        "top_eigenvalues": np.sort(ev)[-10:].tolist(),
    }
    return out
