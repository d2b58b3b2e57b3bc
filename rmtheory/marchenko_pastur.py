r"""The Marchenko–Pastur law as a distribution object.

Let :math:`X` be a :math:`p\times n` matrix with iid entries of mean 0 and variance
:math:`\sigma^2`.  As :math:`p, n\to\infty` with :math:`p/n\to\gamma` (the *ratio*), the
empirical distribution of the eigenvalues of :math:`XX^\top/n` converges to the
Marchenko–Pastur law (paper eqs 3–5, Thm 4.2; Marchenko & Pastur 1967):

.. math::

   \mu_{\gamma,\sigma^2}(dx) = \max(0, 1-1/\gamma)\,\delta_0(dx)
     + \frac{\sqrt{(\lambda_+-x)(x-\lambda_-)}}{2\pi\gamma\sigma^2 x}
       \mathbf 1_{[\lambda_-,\lambda_+]}(x)\,dx,
   \qquad \lambda_\pm = \sigma^2(1\pm\sqrt\gamma)^2 .

For :math:`\gamma>1` (more rows than columns) there is an atom of mass :math:`1-1/\gamma` at 0;
for :math:`\gamma=1` the lower edge is the hard edge 0, where the density diverges like
:math:`x^{-1/2}`.

The CDF is evaluated in closed form.  With :math:`t=x/\sigma^2`, :math:`m=1+\gamma`,
:math:`h=2\sqrt\gamma` and the substitution :math:`t = m - h\cos\varphi`,
:math:`\varphi\in[0,\pi]`, the continuous part integrates to

.. math::

   G(\varphi) = \frac{h\sin\varphi + m\varphi
      - 2|1-\gamma|\arctan\!\big(\tfrac{1+\sqrt\gamma}{|1-\sqrt\gamma|}\tan\tfrac{\varphi}{2}\big)}
     {2\pi\gamma},

(the division :math:`h^2\sin^2\varphi/(m-h\cos\varphi) = h\cos\varphi + m - (1-\gamma)^2/(m-h\cos\varphi)`
and the classical integral of :math:`1/(m-h\cos\varphi)`).  This is the same function as the
authors' ``MP_CDF_inner`` (algorithms.md §1.2) written without its ``x >= lambda_plus -> 0`` bug;
the tests check it against ``scipy.integrate.quad`` of the density.  The quantile function
inverts :math:`G` by Newton's method in :math:`\varphi` from an interpolated start, vectorised,
so no per-point root finder or quadrature is ever called.

References
----------
V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random matrices",
Math. USSR-Sbornik 1 (1967).  Z. Bai, J. Silverstein, *Spectral Analysis of Large Dimensional
Random Matrices*, Springer (2010), §3.1.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numpy.typing import ArrayLike
from scipy.special import comb

from rmtheory._validation import positive_finite, positive_int, rng

__all__ = ["MarchenkoPastur", "wishart_eigenvalues"]


@numba.njit(cache=True)
def _mp_cdf_kernel(x, sigma2, a, b, m, c, two_pi_gamma, atom, lam_minus, lam_plus, survival):
    # Below the centre m the continuous mass is integrated from the lower edge (G), above it
    # from the upper edge (H = mass - G): each tail keeps its relative precision.  One pass,
    # no temporaries (the numpy version of these formulas ran at half the speed).
    out = np.empty_like(x)
    mass = 1.0 - atom
    for i in range(x.size):
        xi = x[i]
        if xi != xi:
            out[i] = np.nan
            continue
        if xi >= lam_plus:
            cdf = 1.0
        elif xi < 0.0:
            cdf = 0.0
        elif xi <= lam_minus:
            cdf = atom
        else:
            t = xi / sigma2
            r = math.sqrt((b - t) * (t - a))
            if t <= m:
                g = r + m * math.atan2(r, m - t)
                if c != 0.0:
                    g -= c * math.atan(math.sqrt(b * (t - a) / (a * (b - t))))
                g /= two_pi_gamma
                out[i] = min(max(mass - g, 0.0), 1.0) if survival else min(max(atom + g, 0.0), 1.0)
                continue
            h = m * math.atan2(r, t - m) - r
            if c != 0.0:
                h -= c * math.atan(math.sqrt(a * (b - t) / (b * (t - a))))
            h /= two_pi_gamma
            out[i] = min(max(h, 0.0), 1.0) if survival else min(max(1.0 - h, 0.0), 1.0)
            continue
        out[i] = 1.0 - cdf if survival else cdf
    return out


_NEWTON_STEPS = 3
_GRID = 1025


class MarchenkoPastur:
    r"""Marchenko–Pastur law of ratio :math:`\gamma` and variance :math:`\sigma^2`.

    The limiting eigenvalue distribution of :math:`XX^\top/n` for a :math:`p\times n` matrix
    :math:`X` with iid entries of variance ``sigma2`` and ``ratio`` :math:`= p/n` (paper eq 4–5).

    Parameters
    ----------
    ratio : float
        :math:`\gamma = p/n > 0`.  ``ratio > 1`` gives an atom of mass ``1 - 1/ratio`` at 0.
    sigma2 : float, default 1.0
        Entry variance :math:`\sigma^2 > 0` (the law's mean).

    Attributes
    ----------
    lambda_minus, lambda_plus : float
        Edges :math:`\sigma^2(1\mp\sqrt\gamma)^2` of the continuous part.
    atom : float
        Mass at 0, :math:`\max(0, 1-1/\gamma)`.

    Notes
    -----
    ``pdf`` is the density of the absolutely continuous part (it integrates to ``1 - atom``);
    ``cdf``, ``sf`` and ``ppf`` include the atom.  Everything is float64 and vectorised.

    Examples
    --------
    >>> mp = MarchenkoPastur(0.25)
    >>> mp.lambda_minus, mp.lambda_plus
    (0.25, 2.25)
    >>> float(mp.cdf(mp.ppf(0.3)))  # doctest: +ELLIPSIS
    0.3...
    """

    def __init__(self, ratio: float, sigma2: float = 1.0) -> None:
        self.ratio = positive_finite(ratio, "ratio")
        self.sigma2 = positive_finite(sigma2, "sigma2")
        g = self.ratio
        self.lambda_minus = self.sigma2 * (1.0 - math.sqrt(g)) ** 2
        self.lambda_plus = self.sigma2 * (1.0 + math.sqrt(g)) ** 2
        self.atom = max(0.0, 1.0 - 1.0 / g)
        # Continuous part in unit variance: G(phi) on phi in [0, pi].
        self._m = 1.0 + g
        self._h = 2.0 * math.sqrt(g)
        self._a = (1.0 - math.sqrt(g)) ** 2
        self._b = (1.0 + math.sqrt(g)) ** 2
        self._c = 2.0 * abs(1.0 - g)  # zero at ratio 1: no arctan term
        self._k = (1.0 + math.sqrt(g)) / abs(1.0 - math.sqrt(g)) if g != 1.0 else math.inf
        self._mass = 1.0 - self.atom  # G(pi)

    def __repr__(self) -> str:
        return f"MarchenkoPastur(ratio={self.ratio!r}, sigma2={self.sigma2!r})"

    # ------------------------------------------------------------------ support
    def support(self) -> tuple[float, float]:
        """Smallest interval holding all the mass: ``(0, lambda_plus)`` when there is an atom."""
        lower = 0.0 if self.atom > 0 else self.lambda_minus
        return lower, self.lambda_plus

    # ------------------------------------------------------------------ density
    def pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Density of the continuous part, :math:`\sqrt{(\lambda_+-x)(x-\lambda_-)}/(2\pi\gamma\sigma^2x)`."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        inside = (x > self.lambda_minus) & (x < self.lambda_plus)
        xi = x[inside]
        out[inside] = np.sqrt((self.lambda_plus - xi) * (xi - self.lambda_minus)) / (
            2.0 * math.pi * self.ratio * self.sigma2 * xi
        )
        if self.ratio == 1.0:
            out[x == 0.0] = np.inf  # the hard edge
        out[np.isnan(x)] = np.nan
        return out

    # ------------------------------------------------------------------ cdf
    def _edge_masses(self, x: ArrayLike, survival: bool) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(x).reshape(-1)
        out = _mp_cdf_kernel(
            flat,
            self.sigma2,
            self._a,
            self._b,
            self._m,
            self._c,
            2.0 * math.pi * self.ratio,
            self.atom,
            self.lambda_minus,
            self.lambda_plus,
            survival,
        )
        return out.reshape(x.shape)

    def cdf(self, x: ArrayLike) -> np.ndarray:
        """Cumulative distribution function in closed form (module docstring); 1 above ``lambda_plus``."""
        return self._edge_masses(x, survival=False)

    def sf(self, x: ArrayLike) -> np.ndarray:
        """Survival function ``1 - cdf(x)``, computed from the upper edge for precision in the tail."""
        return self._edge_masses(x, survival=True)

    # ------------------------------------------------------------------ quantiles
    # In the angle variable t = m - h cos(phi) the two sides are
    #   G(phi) = (h sin phi + m phi - c atan(k tan(phi/2))) / (2 pi gamma),
    #   H(psi) = (m psi - h sin psi - c atan(tan(psi/2) / k)) / (2 pi gamma),  psi = pi - phi,
    # with derivatives h^2 sin^2 / (m -+ h cos) / (2 pi gamma).
    def _side(self, angle: np.ndarray, upper: bool) -> np.ndarray:
        sign = -1.0 if upper else 1.0
        val = self._m * angle + sign * self._h * np.sin(angle)
        if self._c:
            half = 0.5 * angle
            num, den = (
                (np.sin(half), self._k * np.cos(half))
                if upper
                else (self._k * np.sin(half), np.cos(half))
            )
            val -= self._c * np.arctan2(num, den)
        return val / (2.0 * math.pi * self.ratio)

    def _side_derivative(self, angle: np.ndarray, upper: bool) -> np.ndarray:
        # sin^2 = 4 sh^2 ch^2 and m -+ h cos = (a or b) + (+-)2h sh^2; at the hard edge (a = 0) the
        # sh^2 cancels exactly instead of giving 0/0.
        sh2 = np.sin(0.5 * angle) ** 2
        ch2 = 1.0 - sh2
        if upper:
            d = 4.0 * self._h**2 * sh2 * ch2 / (self._b - 2.0 * self._h * sh2)
        elif self._a == 0.0:
            d = 2.0 * self._h * ch2
        else:
            d = 4.0 * self._h**2 * sh2 * ch2 / (self._a + 2.0 * self._h * sh2)
        return d / (2.0 * math.pi * self.ratio)

    @property
    def _start_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # unit-variance quantities: one table per ratio, shared by every instance (BEMA builds a
        # new law per layer fit)
        return _start_tables_for(self.ratio)

    def _build_start_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # log(angle) against log(mass on that side).  The masses are integrated here by
        # Gauss-Legendre on each table interval (a sum of positive terms: full relative accuracy
        # even deep in a tail, where the closed form cancels).  Near an edge the mass is a power
        # of the angle (angle^3 soft, angle^1 hard), so log-log interpolation is close to linear
        # and extrapolates below the table as a power law.
        angle = np.concatenate(
            [np.geomspace(1e-12, 1e-2, 300, endpoint=False), np.linspace(1e-2, math.pi, _GRID)]
        )
        nodes, weights = np.polynomial.legendre.leggauss(8)
        edges = np.concatenate([[0.0], angle])
        mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
        u = mid[:, None] + half[:, None] * nodes
        tables = []
        for upper in (False, True):
            pieces = (self._side_derivative(u, upper) * weights).sum(axis=1) * half
            tables.append(np.log(np.cumsum(pieces)))
        return np.log(angle), tables[0], tables[1]

    def _solve_angle(self, mass: np.ndarray, upper: bool) -> np.ndarray:
        log_angle, lo, hi = self._start_tables
        tab = hi if upper else lo
        with np.errstate(divide="ignore"):
            log_mass = np.log(mass)
        slope = (tab[1] - tab[0]) / (log_angle[1] - log_angle[0])
        start = np.where(
            log_mass < tab[0],
            log_angle[0] + (log_mass - tab[0]) / slope,
            np.interp(log_mass, tab, log_angle),
        )
        angle = np.exp(start)
        # The closed form loses relative precision when its O(angle) terms cancel to a tiny
        # mass; Newton only runs where it resolves the mass to 1e-9 (deeper in a soft-edge tail
        # the table start is already exact for x = a + 2h sin^2(angle/2) to double precision).
        k = self._k if upper is False else 1.0 / self._k
        scale = (self._m + self._h + (self._c * k if self._c else 0.0)) / (
            2.0 * math.pi * self.ratio
        )
        trust = mass > 1e9 * 8.0 * np.finfo(float).eps * scale * angle
        for _ in range(_NEWTON_STEPS):
            d = self._side_derivative(angle, upper)
            step = np.divide(
                self._side(angle, upper) - mass, d, out=np.zeros_like(angle), where=trust & (d > 0)
            )
            angle = np.clip(angle - step, 0.5 * angle, 2.0 * angle)
        return np.clip(angle, 0.0, math.pi)

    def ppf(self, q: ArrayLike) -> np.ndarray:
        """Quantile function: the smallest x with ``cdf(x) >= q``; NaN outside [0, 1].

        Newton's method on the closed-form CDF (or, above the median, on the closed-form
        survival function) in the angle variable, vectorised; relative accuracy ~1e-12.
        """
        q = np.asarray(q, dtype=np.float64)
        out = np.full_like(q, np.nan)
        valid = (q >= 0.0) & (q <= 1.0)
        cont = valid & (q > self.atom)
        out[valid & ~cont] = 0.0 if self.atom > 0 else self.lambda_minus
        g = q[cont] - self.atom
        upper = g > 0.5 * self._mass
        phi = np.empty_like(g)
        phi[~upper] = self._solve_angle(g[~upper], upper=False)
        phi[upper] = math.pi - self._solve_angle(1.0 - q[cont][upper], upper=True)
        # t = a + 2h sin^2(phi/2) keeps relative precision near the hard edge (a = 0).
        out[cont] = self.sigma2 * (self._a + 2.0 * self._h * np.sin(0.5 * phi) ** 2)
        return out

    def isf(self, q: ArrayLike) -> np.ndarray:
        """Inverse survival function ``ppf(1 - q)``."""
        return self.ppf(1.0 - np.asarray(q, dtype=np.float64))

    # ------------------------------------------------------------------ moments
    def moment(self, k: int) -> float:
        r"""Raw moment :math:`E[X^k] = \sigma^{2k}\sum_{r=0}^{k-1}\frac{\gamma^r}{r+1}\binom{k}{r}\binom{k-1}{r}`.

        The Narayana-polynomial formula (Bai & Silverstein 2010, Lemma 3.1); valid with the atom.
        """
        k = positive_int(k, "k", minimum=0)
        if k == 0:
            return 1.0
        g = self.ratio
        total = sum(
            g**r / (r + 1) * comb(k, r, exact=True) * comb(k - 1, r, exact=True) for r in range(k)
        )
        return float(self.sigma2**k * total)

    def mean(self) -> float:
        r"""Mean :math:`\sigma^2`."""
        return self.sigma2

    def var(self) -> float:
        r"""Variance :math:`\gamma\sigma^4`."""
        return self.ratio * self.sigma2**2

    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var())

    def median(self) -> float:
        """Median ``ppf(0.5)``."""
        return float(self.ppf(0.5))

    # ------------------------------------------------------------------ sampling
    def rvs(
        self,
        size: int | tuple[int, ...] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Independent draws by inverse transform sampling (``ppf`` of uniforms).

        For the correlated eigenvalues of an actual random matrix use :func:`wishart_eigenvalues`.
        """
        u = rng(seed).random(size)
        return self.ppf(u)


@functools.lru_cache(maxsize=256)
def _start_tables_for(ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tables = MarchenkoPastur(ratio)._build_start_tables()
    for t in tables:
        t.setflags(write=False)
    return tables


def wishart_eigenvalues(
    p: int, n: int, sigma2: float = 1.0, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    r"""Eigenvalues of :math:`XX^\top/n` for a seeded :math:`p\times n` Gaussian matrix.

    Their empirical distribution approaches ``MarchenkoPastur(p / n, sigma2)``; returned sorted
    ascending (``p`` values, including the ``p - n`` zeros when ``p > n``).

    Examples
    --------
    >>> ev = wishart_eigenvalues(200, 400, seed=0)
    >>> ev.shape
    (200,)
    """
    p = positive_int(p, "p")
    n = positive_int(n, "n")
    sigma2 = positive_finite(sigma2, "sigma2")
    X = rng(seed).standard_normal((p, n)) * math.sqrt(sigma2)
    s = np.linalg.svd(X, compute_uv=False)
    ev = np.zeros(p)
    ev[: s.size] = s**2 / n
    return np.sort(ev)
