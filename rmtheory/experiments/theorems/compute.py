r"""One-seed Monte Carlo runs behind the theorem experiments (:mod:`.catalog_theorems`).

Every function takes ``seed`` first and returns a JSON-able dict, so
:func:`rmtheory.experiments.registry.map_seeds` can run, parallelise and cache it.  Anything that
several seeds must pool (tail probabilities, quantiles) is returned as *exceedance counts* on a
fixed grid, so the catalog adds counts instead of averaging per-seed quantiles.

* :func:`mp_distance_sweep` — Theorem 4.2: Kolmogorov distance between the ESD of a
  :math:`p\times N` matrix with iid Gaussian, Rademacher or Student-t entries and the
  Marchenko–Pastur law.
* :func:`example55_net` — the three-layer net :math:`W_3\lambda(W_2\lambda(W_1s))` of Ex 5.5 with
  :math:`W_2=R+S`, in a *planted* layout (hypothesis (30) holds) and a *dense* one (it fails).
* :func:`lemma53_sweep` — Lemma 5.3: :math:`|\delta(s,\alpha_{R+S})-\delta(s,\alpha_S)|` over
  draws of :math:`R` against :func:`rmtheory.confidence.lemma53_shift`.
* :func:`theorem54_sweep` — Theorem 5.4: the change of :math:`\delta` when :math:`W_2` is pruned
  at the MP edge + :math:`\varepsilon` against :func:`rmtheory.confidence.theorem54_shift`.
* :func:`theorem57_planted`, :func:`theorem57_trained` — Theorem 5.7 via
  :func:`rmtheory.confidence.theorem57_bound` on planted nets and on trained ``2-N-N-2`` nets.
* :func:`gaussian_max_moments`, :func:`borell_tis_sweep` — Theorem 8.2 (Borell–TIS) for
  :math:`\|Rx\|_2`, :math:`\|Rx\|_\infty` and :math:`\max_i(Rx)_i`, and Chebyshev's inequality
  (Theorem 8.1) for the same draws.
* :func:`laguerre_eigenvalues` — exact draws of the real Wishart (Laguerre) ensemble, the null
  band of Theorem 4.2's Kolmogorov distance.
* :func:`lemma51_sharp` — Lemma 5.1 on a net near its equality case (the bound is attained).
* :func:`gershgorin_sweep` — Theorem 6.6 (Gershgorin) on random and extremal matrices.

References
----------
L. Berlyand, E. Sandier, Y. Shmalo, L. Zhang, "Enhancing accuracy in deep learning using random
matrix theory", J. Mach. Learn. 4 (2024), arXiv:2310.03165, Thm 4.2, §5.4–5.7, §8.
F. Götze, A. Tikhomirov, "Rate of convergence to the Marchenko–Pastur law", Bernoulli 10 (2004).
R. Adler, J. Taylor, *Random Fields and Geometry*, Springer (2007), Thm 2.1.1 (Borell–TIS).
I. Dumitriu, A. Edelman, "Matrix models for beta ensembles", J. Math. Phys. 43 (2002) (the
bidiagonal model of a Wishart matrix).
S. Gershgorin, "Über die Abgrenzung der Eigenwerte einer Matrix", Izv. Akad. Nauk SSSR (1931).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.special
import scipy.stats

__all__ = [
    "RATIO_GRID",
    "DEVIATION_GRID",
    "CHEBYSHEV_K",
    "random_entries",
    "laguerre_eigenvalues",
    "union_threshold",
    "sparsify",
    "lemma51_sharp",
    "gershgorin_radii",
    "gershgorin_sweep",
    "mp_distance_sweep",
    "example55_net",
    "lemma53_sweep",
    "theorem54_sweep",
    "theorem57_planted",
    "theorem57_trained",
    "chi_mean",
    "gaussian_max_moments",
    "borell_tis_sweep",
]

#: log10 grid for ratios actual / bound (pooled quantiles are read off exceedance counts).
RATIO_GRID = np.round(np.arange(-8.0, 1.0 + 1e-9, 0.01), 2)
#: grid for deviations M - E M in units of sigma (Theorem 8.2).
DEVIATION_GRID = np.round(np.arange(-6.0, 6.0 + 1e-9, 0.02), 2)
#: multiples k of the standard deviation at which Chebyshev's inequality (Thm 8.1) is checked.
CHEBYSHEV_K = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)


def _ints(values: Any, name: str) -> list[int]:
    out = [int(v) for v in np.atleast_1d(values)]
    if not out or min(out) < 1:
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    return out


def _exceed(values: np.ndarray, grid: np.ndarray) -> list[int]:
    """``[#(values > g) for g in grid]``."""
    v = np.sort(np.ravel(values))
    return (v.size - np.searchsorted(v, grid, side="right")).tolist()


def _log_ratio_counts(actual: np.ndarray, bound: np.ndarray) -> list[int]:
    with np.errstate(divide="ignore"):
        r = np.log10(np.maximum(actual, 0.0) / bound)
    return _exceed(np.where(np.isfinite(r), r, RATIO_GRID[0] - 1.0), RATIO_GRID)


def _prob_key(p: float | None) -> str:
    return "default" if p is None else f"{p:g}"


def _probs(failure_probs: Any) -> list[float | None]:
    out: list[float | None] = [None]  # the paper's (2N)^-3, i.e. the shift 4 sqrt2 a(N, s)
    for p in failure_probs or []:
        q = float(p)
        if not 0.0 < q < 1.0:
            raise ValueError(f"failure_probs must lie in (0, 1), got {p!r}")
        out.append(q)
    return out


# ---------------------------------------------------------------------------------- Thm 4.2
def random_entries(dist: str, shape: tuple[int, int], gen: np.random.Generator) -> np.ndarray:
    r"""iid entries of mean 0 and variance 1: ``"gaussian"``, ``"rademacher"`` (:math:`\pm1`) or
    ``"t<df>"`` (Student-t with ``df > 2`` degrees of freedom, divided by
    :math:`\sqrt{df/(df-2)}`; ``df <= 4`` has an infinite fourth moment).

    Examples
    --------
    >>> x = random_entries("t5", (400, 500), np.random.default_rng(0))
    >>> bool(abs(x.var() - 1.0) < 0.05)
    True
    """
    if dist == "gaussian":
        return gen.standard_normal(shape)
    if dist == "rademacher":
        return np.where(gen.random(shape) < 0.5, -1.0, 1.0)
    if dist.startswith("t"):
        try:
            df = float(dist[1:])
        except ValueError:
            df = float("nan")
        if not df > 2.0:
            raise ValueError(f"Student-t needs df > 2 (finite variance), got {dist!r}")
        return gen.standard_t(df, shape) / math.sqrt(df / (df - 2.0))
    raise ValueError(f"dist must be 'gaussian', 'rademacher' or 't<df>', got {dist!r}")


def laguerre_eigenvalues(p: int, N: int, sigma2: float, gen: np.random.Generator) -> np.ndarray:
    r"""Eigenvalues (ascending) of :math:`\sigma^2WW^\top/N`, :math:`W` a :math:`p\times N`
    (:math:`p\le N`) matrix of iid :math:`N(0,1)` entries, drawn exactly in :math:`O(p^2)` from
    the Dumitriu–Edelman bidiagonal model: :math:`WW^\top` has the eigenvalues of
    :math:`BB^\top`, :math:`B` lower bidiagonal with :math:`B_{ii}=\chi_{N-i}` and
    :math:`B_{i+1,i}=\chi_{p-1-i}` (0-based, independent), so :math:`BB^\top` is tridiagonal
    with diagonal :math:`B_{ii}^2+B_{i,i-1}^2` and off-diagonal :math:`B_{ii}B_{i+1,i}`.

    These are exact draws of the finite-N ensemble whose ESD tends to
    ``MarchenkoPastur(p / N, sigma2)``: their Kolmogorov distance to that law is the null band of
    Theorem 4.2 at the same N and ratio (tests compare with explicit Gaussian matrices).

    Examples
    --------
    >>> ev = laguerre_eigenvalues(200, 400, 1.0, np.random.default_rng(0))
    >>> ev.shape, bool(abs(ev.mean() - 1.0) < 0.05)
    ((200,), True)
    """
    p, N = _ints([p], "p")[0], _ints([N], "N")[0]
    if p > N:
        raise ValueError(f"laguerre_eigenvalues needs p <= N, got p = {p}, N = {N}")
    d = np.sqrt(gen.chisquare(np.arange(N, N - p, -1, dtype=np.float64)))
    e = np.sqrt(gen.chisquare(np.arange(p - 1, 0, -1, dtype=np.float64)))
    diag = d * d
    diag[1:] += e * e
    if p == 1:
        return diag * (float(sigma2) / N)
    ev = scipy.linalg.eigvalsh_tridiagonal(diag, d[:-1] * e, check_finite=False)
    return np.sort(ev) * (float(sigma2) / N)


def mp_distance_sweep(
    seed: int,
    distributions: list[str],
    ratios: list[float],
    sizes: list[int],
    hist_bins: int = 60,
    null_draws: int = 0,
) -> dict:
    r"""Theorem 4.2 (MP law, eqs 3–5) at finite size: Kolmogorov distances for one seed.

    For each distribution, ratio :math:`c` and size :math:`N`: :math:`W` is
    :math:`p\times N` (:math:`p=\lceil cN\rfloor`) with iid entries of variance 1
    (:func:`random_entries`), the :math:`p` eigenvalues of :math:`WW^\top/N`
    (:func:`rmtheory.spectrum.esd`) are compared with ``MarchenkoPastur(p / N, 1)``:

    .. math::  D_K=\sup_x|F_{ESD}(x)-F_{MP}(x)|

    (``scipy.stats.kstest`` statistic), and :math:`\lambda_{\max}/\lambda_+`.  Each
    (distribution, ratio, N) has its own stream ``default_rng([seed, i, j, N])``.  ``hist`` holds
    the ESD histogram of every distribution at the largest N and the first ratio (for the plot).

    ``null`` (``[ratio][size][draw]``): the same distance for ``null_draws`` exact draws of the
    law's own finite-N ensemble (:func:`laguerre_eigenvalues` with the *law's* ``sigma2``,
    streams ``default_rng([seed, 1000, j, N, k])``) — the band :math:`D_K` reaches at this N when
    the eigenvalues do follow the law, so a wrong law (its variance off) shows as an observed
    distance above the band.

    Examples
    --------
    >>> r = mp_distance_sweep(0, ["gaussian"], [0.5], [50, 100])
    >>> len(r["distance"][0][0]), r["distance"][0][0][1] < 0.2
    (2, True)
    """
    from rmtheory.marchenko_pastur import MarchenkoPastur
    from rmtheory.spectrum import esd

    Ns = _ints(sizes, "sizes")
    n_null = int(null_draws)
    if n_null < 0:
        raise ValueError(f"null_draws must be >= 0, got {null_draws!r}")
    null_out = []
    for j, c in enumerate(ratios):
        per_size = []
        for N in Ns:
            p = max(1, min(N, round(float(c) * N)))
            law = MarchenkoPastur(p / N, 1.0)
            per_size.append(
                [
                    float(
                        scipy.stats.kstest(
                            laguerre_eigenvalues(
                                p, N, law.sigma2, np.random.default_rng([seed, 1000, j, N, k])
                            ),
                            law.cdf,
                        ).statistic
                    )
                    for k in range(n_null)
                ]
            )
        null_out.append(per_size)
    dist_out, edge_out, hists = [], [], []
    for i, dist in enumerate(distributions):
        per_ratio, per_edge = [], []
        for j, c in enumerate(ratios):
            ds, es = [], []
            for N in Ns:
                p = max(1, min(N, round(float(c) * N)))
                W = random_entries(dist, (p, N), np.random.default_rng([seed, i, j, N]))
                ev = esd(W, method="gram")
                law = MarchenkoPastur(p / N, 1.0)
                ds.append(float(scipy.stats.kstest(ev, law.cdf).statistic))
                es.append(float(ev[-1] / law.support()[1]))
                if j == 0 and N == Ns[-1]:
                    edges = np.linspace(0.0, 1.5 * law.support()[1], hist_bins + 1)
                    counts, _ = np.histogram(ev, bins=edges)
                    hists.append(
                        {
                            "edges": edges.tolist(),
                            "density": (counts / (ev.size * np.diff(edges))).tolist(),
                            "ratio": p / N,
                            "N": N,
                            "beyond": int(np.count_nonzero(ev > edges[-1])),
                        }
                    )
            per_ratio.append(ds)
            per_edge.append(es)
        dist_out.append(per_ratio)
        edge_out.append(per_edge)
    return {
        "sizes": Ns,
        "distance": dist_out,
        "edge_ratio": edge_out,
        "hist": hists,
        "null": null_out,
    }


# ---------------------------------------------------------------------------------- Ex 5.5 nets
def example55_net(
    N: int,
    sigmas: list[float],
    n_inputs: int,
    layout: str = "planted",
    seed: Any = 0,
    d_in: int = 2,
) -> dict:
    r"""The net :math:`X(s)=W_3\lambda(W_2\lambda(W_1s))` of Ex 5.5 / Thm 5.7 with
    :math:`W_2=R+S`, :math:`\lambda=|\cdot|`, and its deterministic part (``R`` is not drawn here).

    ``layout="planted"`` (Fig 14's diagonal :math:`S`): :math:`W_1` writes the input into the
    first :math:`r` coordinates, :math:`S=\mathrm{diag}(\sigma)Q` on the top-left
    :math:`r\times r` block (:math:`Q` orthogonal), :math:`W_3` reads those coordinates; all
    blocks are drawn from ``seed`` independently of N, so :math:`\|W_3\|_\infty` and
    :math:`\|W_1s\|` do not grow with N and hypothesis (30) holds (:math:`a(N,s)\to0`).

    ``layout="dense"``: :math:`W_1` iid :math:`N(0,1/d)`, :math:`S=U\mathrm{diag}(\sigma)V^\top`
    with Haar :math:`U, V`, :math:`W_3` iid :math:`N(0,1/N)` — the :math:`1/\text{fan-in}` scaling
    of a trained layer, where :math:`\|W_3\|_\infty\|W_1s\|\sim N` and (30) fails.

    ``layout="tight"``: the planted :math:`W_1, S`, and :math:`W_3=(e_0,-e_0)^\top` reads one
    coordinate with :math:`\pm1` (:math:`\|W_3\|_\infty=1`).  Removing :math:`R` then changes
    :math:`\delta` by :math:`2|(Ry)_0|`, :math:`(Ry)_0\sim N(0,v\|y\|^2)`, against Lemma 5.3's
    :math:`2\|y\|\sqrt{2v\log(2N/p)}`: the lemma's one slack left is its union bound over the
    N rows, so its bound is tight within :math:`\sqrt{2\log(2N/p)}/z_{1-p/2}` (1.2-2x here) and
    a wrong constant shows.

    ``layout="offread"`` (Theorem 5.4): ``"sparse"`` whose :math:`W_3` also reads a coordinate
    :math:`k` outside :math:`S`'s rows, with the same sign.  Pruning at the MP edge keeps
    :math:`W_2` on :math:`S`'s singular subspaces (for the planted nets :math:`y` lies in them, so
    pruning barely moves :math:`\delta`) and removes the noise bulk elsewhere: here
    :math:`\Delta\delta\approx2|(R(I-P_V)y)_k|`, of the size the shift's Lemma 5.3 part pays
    for (its :math:`\theta` part, for the worst direction, stays loose).

    ``layout="sparse"`` (Remark 5.3): :math:`W_1` iid :math:`N(0,1/d)` (dense :math:`y`),
    :math:`S=\sum_k\sigma_ke_{i_k}e_{j_k}^\top` with distinct random rows and columns (sparse,
    large entries, singular values :math:`\sigma`), :math:`W_3=(e_{i_1},-e_{i_1})^\top` as in
    ``"tight"``: removing the small entries of :math:`W_2` removes :math:`R` (off :math:`S`'s
    support), the change Lemma 5.3 bounds.

    Labels are the deterministic net's argmax (:math:`S` is the teacher).  Returns ``W1, S, W3``,
    the factors ``U, V`` of :math:`S`, inputs ``X`` (standard normal) and labels ``y``.
    """
    from rmtheory.confidence import network_logits

    sig = np.asarray(sigmas, dtype=np.float64)
    r = sig.size
    if r >= N:
        raise ValueError(f"need rank(S) = {r} < N = {N}")
    if layout in ("planted", "tight"):
        g = np.random.default_rng(seed)
        W1 = np.zeros((N, d_in))
        W1[:r] = g.standard_normal((r, d_in))
        Q = np.linalg.qr(g.standard_normal((r, r)))[0]
        U = np.eye(N, r)
        V = np.zeros((N, r))
        V[:r] = Q.T
        W3 = np.zeros((2, N))
        W3[:, :r] = g.standard_normal((2, r))
        if layout == "tight":
            W3[:] = 0.0
            W3[0, 0], W3[1, 0] = 1.0, -1.0
    elif layout in ("sparse", "offread"):
        g = np.random.default_rng([*np.atleast_1d(seed).tolist(), N])
        W1 = g.standard_normal((N, d_in)) / math.sqrt(d_in)
        rows, cols = g.choice(N, r, replace=False), g.choice(N, r, replace=False)
        U, V = np.eye(N)[:, rows], np.eye(N)[:, cols]
        W3 = np.zeros((2, N))
        W3[0, rows[0]], W3[1, rows[0]] = 1.0, -1.0
        if layout == "offread":  # also read a coordinate outside S's rows, the same sign
            k = int(np.setdiff1d(np.arange(N), rows)[0])
            W3[0, k], W3[1, k] = 1.0, -1.0
    elif layout == "dense":
        g = np.random.default_rng([*np.atleast_1d(seed).tolist(), N])
        W1 = g.standard_normal((N, d_in)) / math.sqrt(d_in)
        U = np.linalg.qr(g.standard_normal((N, r)))[0]
        V = np.linalg.qr(g.standard_normal((N, r)))[0]
        W3 = g.standard_normal((2, N)) / math.sqrt(N)
    else:
        raise ValueError(f"layout must be 'planted', 'dense', 'tight' or 'sparse', got {layout!r}")
    S = (U * sig) @ V.T
    X = g.standard_normal((n_inputs, d_in))
    y = network_logits([W1, S, W3], None, X).argmax(axis=1)
    return {"W1": W1, "S": S, "W3": W3, "U": U, "V": V, "X": X, "y": y, "sigma": sig}


def _quantiles(x: np.ndarray) -> list[float]:
    return np.quantile(np.ravel(x), [0.5, 0.9, 0.99, 1.0]).tolist()


def sparsify(W: np.ndarray, threshold: float) -> np.ndarray:
    """``W`` with the entries of absolute value below ``threshold`` set to 0 (§4's
    sparsification)."""
    return np.where(np.abs(W) >= threshold, W, 0.0)


def _confidences(Ws: list, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from rmtheory.confidence import classification_confidence, network_logits

    return classification_confidence(network_logits(Ws, None, X), y)


def _noisy_draws(net: dict, gen: np.random.Generator, n_draws: int):
    """``(t, W2, δ(s, α_{S+R}))`` for ``n_draws`` draws of :math:`R` iid :math:`N(0,1/N)`."""
    W1, S, W3, X, y = (net[k] for k in ("W1", "S", "W3", "X", "y"))
    root = math.sqrt(S.shape[0])
    for t in range(n_draws):
        W2 = S + gen.standard_normal(S.shape) / root
        yield t, W2, _confidences([W1, W2, W3], X, y)


def _prob_section(dd: np.ndarray, shifts: dict, d_before: np.ndarray, d_after) -> dict:
    """Violation counts of ``dd > shift_p`` per input, the largest ratio, the pooled log-ratio
    counts, and the conditional form: ``certified`` = pairs with ``d_before >`` the default
    shift, ``certified_flipped`` = those with ``d_after <= 0``."""
    cert = d_before > shifts["default"]
    return {
        "violations": {k: (dd > v).sum(axis=0).tolist() for k, v in shifts.items()},
        "max_ratio": {k: float(np.max(dd / v)) for k, v in shifts.items()},
        "ratio_counts": {k: _log_ratio_counts(dd, v) for k, v in shifts.items()},
        "certified": int(np.count_nonzero(cert)),
        "certified_flipped": int(np.count_nonzero(cert & (d_after <= 0))),
    }


def lemma53_sweep(
    seed: int,
    sizes: list[int],
    n_draws: int,
    sigmas: list[float],
    n_inputs: int,
    failure_probs: list[float],
    layout: str = "planted",
    net_seed: int = 0,
    sparse_sd: float = 4.0,
) -> dict:
    r"""Lemma 5.3 (eqs 26–27, 84) by Monte Carlo over :math:`R`, one seed.

    For each N the net of :func:`example55_net` (fixed by ``net_seed``) and ``n_draws`` draws of
    :math:`R` iid :math:`N(0,1/N)`: :math:`\Delta\delta(s)=|\delta(s,\alpha_{S+R})-\delta(s,
    \alpha_S)|` for every input :math:`s`, against the lemma's shift
    (:func:`rmtheory.confidence.lemma53_shift`) at each failure probability :math:`p`
    (``"default"`` is the paper's :math:`(2N)^{-3}`, shift :math:`=4\sqrt2\,a(N,s)`).

    Per N and :math:`p`: ``violations`` :math:`\#\{\Delta\delta>\text{shift}_p\}` per input
    (out of ``n_draws``; ``pairs`` = draws x inputs in all), the largest ratio and the counts of
    :math:`\log_{10}(\Delta\delta/\text{shift}_p)` above :data:`RATIO_GRID` (pooled quantiles).
    Eq 27's conditional form: ``certified`` = pairs with :math:`\delta(s,\alpha_{S+R})>`
    shift, ``certified_flipped`` = those with :math:`\delta(s,\alpha_S)\le0`.

    ``sparse`` — Remark 5.3: the same counts for sparsifying :math:`W_2` (:func:`sparsify`,
    entries below ``sparse_sd`` standard deviations of :math:`R`, :math:`4/\sqrt N`, set to 0)
    instead of replacing it by :math:`S`; ``sparse_kept_S`` / ``sparse_kept_R`` are the fractions
    of :math:`S`'s non-zero entries and of the other entries that survive (Remark 5.3 assumes
    ~1 and ~0: then sparsifying is replacing :math:`W_2` by :math:`S`).
    """
    from rmtheory.confidence import lemma53_scale, lemma53_shift

    Ns = _ints(sizes, "sizes")
    probs = _probs(failure_probs)
    out = []
    for N in Ns:
        net = example55_net(N, sigmas, n_inputs, layout, net_seed)
        W1, S, W3, X, y = net["W1"], net["S"], net["W3"], net["X"], net["y"]
        gen = np.random.default_rng([seed, N, 53])
        ref = _confidences([W1, S, W3], X, y)
        a = lemma53_scale([W1, S, W3], 1, X)
        shifts = {_prob_key(p): lemma53_shift([W1, S, W3], 1, X, failure_prob=p) for p in probs}
        dd = np.empty((n_draws, X.shape[0]))
        dW, dS, ddS = np.empty_like(dd), np.empty_like(dd), np.empty_like(dd)
        cut = float(sparse_sd) / math.sqrt(N)
        support = S != 0
        kept_S = kept_R = 0
        with_sparse = layout == "sparse"
        for t, W2, conf in _noisy_draws(net, gen, n_draws):
            dW[t] = conf
            dd[t] = np.abs(conf - ref)
            if not with_sparse:
                continue
            Ws = sparsify(W2, cut)
            kept_S += int(np.count_nonzero(Ws[support]))
            kept_R += int(np.count_nonzero(Ws[~support]))
            dS[t] = _confidences([W1, Ws, W3], X, y)
            ddS[t] = np.abs(conf - dS[t])
        n_S = max(int(np.count_nonzero(support)), 1)
        rec = {
            "N": N,
            "pairs": int(dd.size),
            "a": a.tolist(),
            "delta_S": ref.tolist(),
            "shift": {k: v.tolist() for k, v in shifts.items()},
            **_prob_section(dd, shifts, dW, np.broadcast_to(ref, dW.shape)),
            "change_quantiles": _quantiles(dd),
            "change_over_a_quantiles": _quantiles(dd / a),
            "delta_median": float(np.median(np.abs(dW))),
        }
        if with_sparse:
            rec["sparse"] = {
                **_prob_section(ddS, shifts, dW, dS),
                "pairs": int(ddS.size),
                "change_quantiles": _quantiles(ddS),
                "kept_S": kept_S / (n_S * n_draws),
                "kept_R": kept_R / ((S.size - n_S) * n_draws),
                "threshold": cut,
            }
        out.append(rec)
    return {"layout": layout, "sizes": Ns, "runs": out}


def theorem54_sweep(
    seed: int,
    sizes: list[int],
    n_draws: int,
    sigmas: list[float],
    n_inputs: int,
    failure_probs: list[float],
    eps: float = 0.1,
    net_seed: int = 0,
    layout: str = "planted",
) -> dict:
    r"""Theorem 5.4 (eqs 31, 85–92) by Monte Carlo over :math:`R`, one seed, Ex 5.5 net
    (``layout`` of :func:`example55_net`: ``"planted"``, or ``"offread"`` where pruning changes
    :math:`\delta` by as much as the shift's Lemma 5.3 part allows for).

    :math:`W_2=R+S` is pruned to :math:`W_2'` (singular values :math:`\ge2+\varepsilon` kept,
    computed by ARPACK above the cut) and :math:`\Delta\delta(s)=|\delta(s,\alpha)-
    \delta(s,\alpha')|` is compared with :func:`rmtheory.confidence.theorem54_shift`,

    .. math::  \text{shift}_p(\theta)=\underbrace{2\|W_3\|_\infty\|y\|\sqrt{2v\log(2N/p)}}_{A_p(s)}
               +\theta\underbrace{\sqrt2\,s_{\max}(W_3)\|y\|}_{B(s)},

    (``A`` and ``B`` are read off ``theorem54_shift`` at :math:`\theta=0,1`: it is linear in
    :math:`\theta`) for two choices of :math:`\theta`: ``measured``
    :math:`\theta_N=\|W_2'-S\|_{op}` of the draw (then the statement holds with probability
    :math:`\ge1-p`) and ``explicit`` :math:`\theta_\infty=f(\sigma_r)` (eq 37 as reconstructed,
    :func:`rmtheory.approximation.theta_asymptotic`; probability
    :math:`\ge1-p-P(\theta_N>\theta_\infty)`).  ``lemma51`` is Lemma 5.1's deterministic bound
    for the same cut (:math:`C=\sqrt2`, :math:`\varepsilon` = the cut).
    """
    from rmtheory.approximation import cut_and_theta, theta_asymptotic
    from rmtheory.confidence import lemma51_bound, theorem54_shift

    Ns = _ints(sizes, "sizes")
    probs = _probs(failure_probs)
    sig = np.asarray(sigmas, dtype=np.float64)
    cut = 2.0 + float(eps)
    theta_inf = theta_asymptotic(sig, eps=eps)
    out = []
    for N in Ns:
        net = example55_net(N, sigmas, n_inputs, layout, net_seed)
        W1, S, W3, X, y, U, V = (net[k] for k in ("W1", "S", "W3", "X", "y", "U", "V"))
        Ws = [W1, S, W3]
        A = {_prob_key(p): theorem54_shift(Ws, 1, X, 0.0, failure_prob=p) for p in probs}
        B = theorem54_shift(Ws, 1, X, 1.0) - A["default"]
        l51 = lemma51_bound(Ws, None, 1, cut, X)
        gen = np.random.default_rng([seed, N, 54])
        dd = np.empty((n_draws, X.shape[0]))
        dW = np.empty_like(dd)
        dP = np.empty_like(dd)
        theta_N = np.empty(n_draws)
        ranks = np.empty(n_draws, dtype=int)
        for t, W2, conf in _noisy_draws(net, gen, n_draws):
            Uk, sk, Vtk, theta_N[t] = cut_and_theta(W2, cut, U, sig, V, gen)
            W2p = (Uk * sk) @ Vtk
            ranks[t] = sk.size
            dW[t] = conf
            dP[t] = _confidences([W1, W2p, W3], X, y)
            dd[t] = np.abs(dW[t] - dP[t])
        res: dict[str, Any] = {
            "N": N,
            "pairs": int(dd.size),
            "theta_N": theta_N.tolist(),
            "rank": ranks.tolist(),
            "A": {k: v.tolist() for k, v in A.items()},
            "B": B.tolist(),
            "lemma51": l51.tolist(),
            "change_quantiles": _quantiles(dd),
            "max_change_over_lemma51": float(np.max(dd / l51)),
        }
        for name, th in (("measured", theta_N[:, None]), ("explicit", theta_inf)):
            res[name] = _prob_section(dd, {k: a + th * B for k, a in A.items()}, dW, dP)
        out.append(res)
    return {"layout": layout, "sizes": Ns, "theta_inf": theta_inf, "cut": cut, "runs": out}


def lemma51_sharp(seed: int, N: int, n_inputs: int, eps: float = 1.0, kept: float = 3.0,
                  dropped: float = 0.99) -> dict:  # fmt: skip
    r"""Lemma 5.1 (eq 17) on a net near its equality case, one seed.

    :math:`X(s)=W_2\lambda(W_1s)` with :math:`W_1` iid :math:`N(0,1/2)` (:math:`N\times2`) and
    the pruned *output* layer :math:`W_2=\kappa\varepsilon\,u_1v_1^\top+
    \rho\varepsilon\,u_2v_2^\top` (``kept`` :math:`\kappa>1`, ``dropped`` :math:`\rho<1`),
    :math:`u_1=(1,1)/\sqrt2`, :math:`u_2=(1,-1)/\sqrt2`, :math:`v_2` the mean direction of
    :math:`y(s)=|W_1s|` over the inputs and :math:`v_1\perp v_2` random.  Zeroing the singular
    values below :math:`\varepsilon` drops the second pair, so
    :math:`\Delta\delta=\sqrt2\rho\varepsilon|\langle v_2,y\rangle|` against the bound
    :math:`\sqrt2\varepsilon\|y\|`: the ratio is :math:`\rho\cos(v_2,y)`, close to 1 for
    inputs along :math:`v_2`.  A constant below the largest ratio is refuted by some input.

    Returns the ratios :math:`\Delta\delta/\text{bound}` (library's
    :func:`rmtheory.confidence.pruning_confidence_change` over
    :func:`rmtheory.confidence.lemma51_bound`).
    """
    from rmtheory.confidence import lemma51_bound, network_logits, pruning_confidence_change

    g = np.random.default_rng([seed, N, 51])
    W1 = g.standard_normal((N, 2)) / math.sqrt(2.0)
    X = g.standard_normal((n_inputs, 2))
    Y = np.abs(X @ W1.T)
    v2 = Y.mean(axis=0)
    v2 /= np.linalg.norm(v2)
    v1 = g.standard_normal(N)
    v1 -= (v1 @ v2) * v2
    v1 /= np.linalg.norm(v1)
    u1, u2 = np.array([1.0, 1.0]) / math.sqrt(2.0), np.array([1.0, -1.0]) / math.sqrt(2.0)
    W2 = kept * eps * np.outer(u1, v1) + dropped * eps * np.outer(u2, v2)
    labels = network_logits([W1, W2], None, X).argmax(axis=1)
    change = pruning_confidence_change([W1, W2], None, 1, eps, X, labels)
    bound = lemma51_bound([W1, W2], None, 1, eps, X)
    return {"N": N, "ratio": (change / bound).tolist()}


# ---------------------------------------------------------------------------------- Thm 5.7
def _bound_record(res: Any) -> dict:
    change = np.abs(res.delta - res.delta_pruned)
    return {
        "accuracy": res.accuracy,
        "pruned_accuracy": res.pruned_accuracy,
        "bound": res.bound,
        "samplewise_bound": res.samplewise_bound,
        "lemma51_bound": res.lemma51_bound,
        "lemma51_samplewise_bound": res.lemma51_samplewise_bound,
        "delta0": res.delta0,
        "delta_median": float(np.median(np.abs(res.delta))),
        "shift_median": float(np.median(res.shift)),
        "max_change_over_shift": float(np.max(change / res.shift)),
        "theta": res.theta,
        "threshold": res.threshold,
        "noise_var": res.noise_var,
        "rank": res.rank,
        "failure_prob": res.failure_prob,
    }


def theorem57_planted(
    seed: int,
    sizes: list[int],
    n_test: int,
    sigmas: list[float],
    eps: float = 0.1,
    label_noise: float = 0.1,
) -> dict:
    r"""Theorem 5.7 (eq 43) on planted Ex 5.5 nets (:func:`example55_net`), one seed.

    Per N one net (blocks from ``[seed, 57]``, :math:`R` from ``[seed, N, 57]``) and three ways
    of evaluating :func:`rmtheory.confidence.theorem57_bound` for pruning :math:`W_2`:

    * ``explicit`` — cut :math:`2+\varepsilon`, noise :math:`1/N`, :math:`\theta_\infty=f(\sigma_r)`
      (what the theorem's explicit function gives);
    * ``measured`` — the same with :math:`\theta=\|W_2'-S\|_{op}` of this draw;
    * ``bema`` — the paper's pipeline: BEMA threshold and noise, :math:`\theta` from the
      singular values of :math:`W_2` alone (``eps = 0``: BEMA's Tracy–Widom margin plays
      :math:`\varepsilon`).

    * ``noisy`` — ``explicit`` with a fraction ``label_noise`` of the test labels flipped
      (stream ``[seed, N, 570]``): the accuracy is then below 1, so :math:`\text{acc}(\alpha')
      \ge\#G_{\delta_0}/|T|` is no longer implied by a bound :math:`\le1` (with the teacher's
      labels the pruned accuracy is 1 and the row cannot fail).

    Also ``a_median``, the median over the test set of :math:`a(N,s)` (Lemma 5.3's scale).
    """
    from rmtheory.approximation import approximation_error, theta_asymptotic
    from rmtheory.confidence import lemma53_scale, theorem57_bound

    Ns = _ints(sizes, "sizes")
    theta_inf = theta_asymptotic(sigmas, eps=eps)
    out = []
    for N in Ns:
        net = example55_net(N, sigmas, n_test, "planted", [seed, 57])
        g = np.random.default_rng([seed, N, 57])
        W2 = net["S"] + g.standard_normal((N, N)) / math.sqrt(N)
        Ws = [net["W1"], W2, net["W3"]]
        X, y = net["X"], net["y"]
        cut = 2.0 + eps
        common = {"threshold": 2.0, "eps": eps, "noise_var": 1.0 / N}
        rec = {"N": N, "a_median": float(np.median(lemma53_scale(Ws, 1, X)))}
        rec["explicit"] = _bound_record(
            theorem57_bound(Ws, None, 1, X, y, theta=theta_inf, **common)
        )
        measured = approximation_error(W2, net["S"], cut)
        rec["measured"] = _bound_record(
            theorem57_bound(Ws, None, 1, X, y, theta=measured, **common)
        )
        rec["bema"] = _bound_record(theorem57_bound(Ws, None, 1, X, y))
        flip = np.random.default_rng([seed, N, 570]).random(y.size) < float(label_noise)
        rec["noisy"] = _bound_record(
            theorem57_bound(Ws, None, 1, X, np.where(flip, 1 - y, y), theta=theta_inf, **common)
        )
        out.append(rec)
    return {"sizes": Ns, "theta_inf": theta_inf, "runs": out}


def theorem57_trained(
    seed: int,
    sizes: list[int],
    epochs: int,
    n_train: int,
    n_test: int,
    lr: float = 0.02,
    data_seed: int = 0,
) -> dict:
    r"""Theorem 5.7 on trained ``2 -> N -> N -> 2`` absolute-value nets (polynomial-boundary data).

    :class:`rmtheory.nn.MLP` (:math:`N(0,1/\text{fan-in})` init, linear logits, float64) trained
    with :func:`rmtheory.nn.train` (cross-entropy, SGD lr ``lr``, momentum 0.9, lr x 0.96 per
    epoch); then :func:`rmtheory.confidence.theorem57_bound` with its defaults (BEMA threshold
    and noise, :math:`\theta` from the weights) for pruning the middle layer.  Hypothesis (30)
    is probed through Lemma 5.3's scale :math:`a(N,s)=\|W_3\|_\infty\|y_1(s)\|\sqrt{v\log 2N}`
    (:func:`rmtheory.confidence.lemma53_scale`, :math:`v` = BEMA's noise), at initialisation and
    after training: the theorem needs it to vanish as N grows.
    """
    from rmtheory.confidence import layer_input, lemma53_scale, theorem57_bound
    from rmtheory.datasets import make_polynomial_boundary
    from rmtheory.nn import MLP, train

    Ns = _ints(sizes, "sizes")
    d = make_polynomial_boundary(n_train + n_test, seed=data_seed)
    xtr, ytr = d.X[:n_train], d.y[:n_train]
    xte, yte = d.X[n_train:], d.y[n_train:]
    out = []
    for N in Ns:
        model = MLP(
            [2, N, N, 2],
            activation="abs",
            seed=np.random.default_rng([seed, N, 1]),
            dtype=np.float64,
        )
        Ws0 = [layer.weight.copy() for layer in model.layers]
        a_init = lemma53_scale(Ws0, 1, xte, noise_var=1.0 / N)
        h = train(
            model,
            (xtr, ytr),
            None,
            epochs,
            lr=lr,
            seed=np.random.default_rng([seed, N, 2]),
            verbose=False,
        )
        Ws = [layer.weight for layer in model.layers]
        bs = [layer.bias for layer in model.layers]
        res = theorem57_bound(Ws, bs, 1, xte, yte)
        a = lemma53_scale(Ws, 1, xte, biases=bs, noise_var=res.noise_var)
        rec = _bound_record(res)
        rec.update(
            {
                "N": N,
                "train_accuracy": float(h.train_accuracy[-1]),
                "a_median": float(np.median(a)),
                "a_init_median": float(np.median(a_init)),
                "w3_inf_norm": float(np.abs(Ws[2]).sum(axis=1).max()),
                "y_norm_median": float(
                    np.median(np.linalg.norm(layer_input(Ws, bs, 1, xte), axis=1))
                ),
            }
        )
        out.append(rec)
    return {"sizes": Ns, "runs": out}


# ---------------------------------------------------------------------------------- Thm 8.2
def chi_mean(k: int) -> float:
    r""":math:`E\|g\|_2` for :math:`g\sim N(0,I_k)`: :math:`\sqrt2\,\Gamma(\frac{k+1}2)/\Gamma(\frac k2)`.

    Examples
    --------
    >>> round(chi_mean(1), 6) == round(math.sqrt(2 / math.pi), 6)
    True
    """
    k = _ints([k], "k")[0]
    return math.sqrt(2.0) * math.exp(
        scipy.special.gammaln((k + 1) / 2) - scipy.special.gammaln(k / 2)
    )


def gaussian_max_moments(n: int, absolute: bool = False) -> tuple[float, float]:
    r"""Exact mean and variance of :math:`M=\max_{i\le n}X_i` (or :math:`\max_i|X_i|`),
    :math:`X_i` iid :math:`N(0,1)`, by quadrature of the tail:
    :math:`E M=\int_0^\infty P(M>x)\,dx-\int_{-\infty}^0P(M\le x)\,dx`,
    :math:`E M^2=2\int_0^\infty x\,[P(M>x)+P(M\le-x)]\,dx`, with
    :math:`P(M\le x)=\Phi(x)^n` (:math:`(2\Phi(x)-1)^n` for :math:`|X_i|`) in log space.

    Examples
    --------
    >>> m, v = gaussian_max_moments(2)
    >>> round(m, 6) == round(1 / math.sqrt(math.pi), 6), round(v, 6) == round(1 - 1 / math.pi, 6)
    (True, True)
    """
    n = _ints([n], "n")[0]

    def log_cdf(x: float) -> float:  # log P(M <= x)
        if absolute:
            return n * math.log1p(-math.erfc(x / math.sqrt(2.0))) if x > 0 else -math.inf
        return n * float(scipy.special.log_ndtr(x))

    def upper(x: float) -> float:  # P(M > x)
        return -math.expm1(log_cdf(x))

    def lower(x: float) -> float:  # P(M <= x)
        return math.exp(log_cdf(x))

    centre = math.sqrt(2.0 * math.log(2.0 * n)) if n > 1 else 1.0
    pts = [max(centre - 1.0, 0.0), centre, centre + 1.0]
    kw = {"limit": 200, "epsabs": 1e-12, "epsrel": 1e-10}
    up = scipy.integrate.quad(upper, 0.0, 40.0, points=pts, **kw)[0]
    low = 0.0 if absolute else scipy.integrate.quad(lower, -40.0, 0.0, **kw)[0]
    m2 = (
        2.0
        * scipy.integrate.quad(lambda x: x * (upper(x) + lower(-x)), 0.0, 40.0, points=pts, **kw)[0]
    )
    mean = up - low
    return mean, m2 - mean * mean


def union_threshold(N: int, p: float) -> float:
    r""":math:`\sqrt{2\log(2N/p)}`: Lemma 5.3's level for :math:`\|g\|_\infty`, :math:`g\sim
    N(0,I_N)` (Gaussian tail + union bound: :math:`P(\|g\|_\infty>t)\le2Ne^{-t^2/2}=p`)."""
    return math.sqrt(2.0 * math.log(2.0 * N / p))


def borell_tis_sweep(
    seed: int, sizes: list[int], n_draws: int, chunk: int = 2000, probs: tuple = (0.1, 0.01)
) -> dict:
    r"""Theorem 8.2 (Borell–TIS) for :math:`Rx`, :math:`R` iid :math:`N(0,v)` (:math:`N\times N`),
    one seed.

    :math:`Rx\sim N(0,\sigma^2I_N)` exactly, :math:`\sigma^2=v\|x\|^2`, so :math:`Rx` is drawn as
    :math:`\sigma g`, :math:`g\sim N(0,I_N)` (tests compare with explicit matrices).  Three
    suprema of the Gaussian process :math:`t\mapsto\langle t,Rx\rangle`, each with
    :math:`\sup\mathrm{Var}=\sigma^2`: ``l2`` :math:`\|Rx\|_2` (sup over the unit sphere, mean
    :func:`chi_mean`), ``linf`` :math:`\|Rx\|_\infty` and ``max`` :math:`\max_i(Rx)_i` (the
    paper's iid form; means from :func:`gaussian_max_moments`).  Borell–TIS:
    :math:`P(M-EM>u)\le e^{-u^2/2\sigma^2}` and :math:`P(|M-EM|>u)\le2e^{-u^2/2\sigma^2}`.

    Returned per N and statistic, in units of :math:`\sigma`: the exact mean, the sample mean and
    variance, and ``exceed`` :math:`=\#\{M-EM>u\}` on :data:`DEVIATION_GRID`.  ``union`` counts
    :math:`\|Rx\|_\infty>\sigma\sqrt{2\log(2N/p)}` (the Gaussian-tail union bound that
    :func:`rmtheory.confidence.lemma53_shift` uses, :func:`union_threshold`) for each :math:`p`
    in ``probs``.  ``chebyshev`` (Theorem 8.1, as the proof of Lemma 5.3 uses it on
    :math:`(Rx)_i`, eq 72): per statistic and for the coordinate ``coord`` :math:`=(Rx)_1/\sigma`,
    :math:`\#\{|M-EM|\ge k\,\mathrm{sd}(M)\}` for :math:`k` in :data:`CHEBYSHEV_K`, with the
    exact mean and standard deviation.
    """
    Ns = _ints(sizes, "sizes")
    out = []
    for N in Ns:
        gen = np.random.default_rng([seed, N, 82])
        stats: dict[str, list[np.ndarray]] = {"l2": [], "linf": [], "max": [], "coord": []}
        left = n_draws
        while left > 0:
            m = min(chunk, left)
            g = gen.standard_normal((m, N))
            stats["l2"].append(np.sqrt(np.einsum("ij,ij->i", g, g)))
            stats["max"].append(g.max(axis=1))
            stats["linf"].append(np.abs(g).max(axis=1))
            stats["coord"].append(g[:, 0].copy())
            left -= m
        moments = {
            "l2": (chi_mean(N), N - chi_mean(N) ** 2),
            "linf": gaussian_max_moments(N, absolute=True),
            "max": gaussian_max_moments(N),
            "coord": (0.0, 1.0),
        }
        means = {k: v[0] for k, v in moments.items()}
        rec: dict[str, Any] = {"N": N, "n": n_draws, "chebyshev": {}}
        for k, chunks in stats.items():
            x = np.concatenate(chunks)
            dev = np.abs(x - moments[k][0]) / math.sqrt(moments[k][1])
            rec["chebyshev"][k] = [int(np.count_nonzero(dev >= c)) for c in CHEBYSHEV_K]
            if k == "coord":
                continue
            rec[k] = {
                "mean_exact": means[k],
                "mean_sample": float(x.mean()),
                "var_sample": float(x.var(ddof=1)),
                "exceed": _exceed(x - means[k], DEVIATION_GRID),
            }
        linf = np.concatenate(stats["linf"])
        rec["union"] = {
            f"{p:g}": int(np.count_nonzero(linf > union_threshold(N, p))) for p in probs
        }
        out.append(rec)
    return {"sizes": Ns, "runs": out}


# ---------------------------------------------------------------------------------- Thm 6.6
def gershgorin_radii(A: np.ndarray) -> np.ndarray:
    r"""Gershgorin radii :math:`R_i=\sum_{j\ne i}|a_{ij}|` (eq 56) of a square matrix."""
    A = np.asarray(A)
    return np.abs(A).sum(axis=1) - np.abs(np.diag(A))


def _disc_ratio(A: np.ndarray) -> float:
    """max over the eigenvalues λ of min_i |λ - a_ii| / R_i: <= 1 iff every eigenvalue lies in
    a disc (Theorem 6.6); a radius scaled by c is refuted iff this exceeds c."""
    ev = np.linalg.eigvals(A)
    d = np.diag(A)
    R = gershgorin_radii(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(ev[:, None] - d[None, :]) / R[None, :]
    r = np.where(np.isnan(r), 0.0, r)  # 0/0: the eigenvalue is the centre of a point disc
    return float(r.min(axis=1).max())


def gershgorin_sweep(seed: int, sizes: list[int], n_draws: int, sigmas: list[float]) -> dict:
    r"""Theorem 6.6 (Gershgorin, eq 56) on three kinds of :math:`N\times N` matrices, one seed.

    * ``ex55`` — :math:`W_2=R+S` of Ex 5.5 (planted, :math:`R` iid :math:`N(0,1/N)`), the matrix
      the proof of the Approximation Lemma works with (eqs 64–68);
    * ``ginibre`` — complex Gaussian entries :math:`N(0,1/N)` (Assumption 1', bi-unitary
      invariant);
    * ``stochastic`` — iid uniform entries, rows scaled to sum 1: the eigenvalue 1 lies on the
      boundary of every disc (:math:`|1-a_{ii}|=R_i`), the theorem's equality case.

    Per kind and N: ``ratio`` = the largest over draws of :func:`_disc_ratio` (must be <= 1).
    Streams ``default_rng([seed, N, 66, kind index])``.
    """
    Ns = _ints(sizes, "sizes")
    out: dict[str, Any] = {"sizes": Ns, "ratio": {"ex55": [], "ginibre": [], "stochastic": []}}
    for N in Ns:
        net = example55_net(N, sigmas, 1, "planted", [seed, 66])
        gens = [np.random.default_rng([seed, N, 66, i]) for i in range(3)]
        rows: dict[str, list[float]] = {k: [] for k in out["ratio"]}
        for _ in range(n_draws):
            rows["ex55"].append(
                _disc_ratio(net["S"] + gens[0].standard_normal((N, N)) / math.sqrt(N))
            )
            z = gens[1].standard_normal((N, N, 2)) / math.sqrt(2.0 * N)
            rows["ginibre"].append(_disc_ratio(z[..., 0] + 1j * z[..., 1]))
            P = gens[2].random((N, N))
            rows["stochastic"].append(_disc_ratio(P / P.sum(axis=1, keepdims=True)))
        for k, v in rows.items():
            out["ratio"][k].append(float(max(v)))
    return out
