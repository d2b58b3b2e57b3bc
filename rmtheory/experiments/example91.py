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
