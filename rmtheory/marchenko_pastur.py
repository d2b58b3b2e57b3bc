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

Extreme ratios.  For :math:`\gamma<` ``SMALL_RATIO`` (0.05) the terms of :math:`G` are
:math:`O(1/\gamma)` and cancel to :math:`O(1)`, losing :math:`\sim\epsilon/\gamma` (at
:math:`\gamma=10^{-12}` the cdf at the median came out 0).  With :math:`s=\sin\frac\varphi2`,
:math:`c=\cos\frac\varphi2`, :math:`k=\frac{1+\sqrt\gamma}{1-\sqrt\gamma}` the same function is

.. math::

   2\pi G = 2\varphi + \frac{4sc(ks^2-c^2)}{c^2+ks^2}
      + \frac{2(1-\gamma)}{\gamma}\big(u-\arctan u\big),\qquad
   u=\frac{(k-1)sc}{c^2+ks^2}=O(\sqrt\gamma),

every term :math:`O(1)` or smaller, with :math:`u-\arctan u` from its series; the upper side is
:math:`2\pi(1-G)` with the signs of the last two terms flipped.  The cdf then has absolute error
below :math:`10^{-15}+4\,\mathrm{ulp}(x)\,f(x)`, the second term being the conditioning of the
problem itself (``x`` is known to half an ulp and the support is :math:`4\sqrt\gamma\sigma^2`
wide): tested against the closed form in 80-digit arithmetic for :math:`\gamma` down to
:math:`10^{-14}`; ``cdf(ppf(p))`` is within 6e-13 of ``p`` at :math:`\gamma=10^{-8}`.  For
:math:`\gamma>1/` ``SMALL_RATIO`` the continuous part is evaluated as
:math:`\gamma^{-1}\,\mathrm{MP}(1/\gamma,\gamma\sigma^2)` (the nonzero eigenvalues of
:math:`X^\top X`), so that ``sf``/``isf`` keep relative precision although the atom
:math:`1-1/\gamma` rounds.  Moments beyond the float range are ``inf``.

References
----------
V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random matrices",
Math. USSR-Sbornik 1 (1967).  Z. Bai, J. Silverstein, *Spectral Analysis of Large Dimensional
Random Matrices*, Springer (2010), §3.1.
"""

from __future__ import annotations

import decimal
import functools
import math

import numba
import numpy as np
from numpy.typing import ArrayLike
from scipy.special import comb

from rmtheory._validation import positive_finite, positive_int, rng
from rmtheory.laws import Law

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


@numba.njit(cache=True)
def _atan_series(u2):
    # (u - atan u) / u^3 = 1/3 - u^2/5 + u^4/7 - ...; 12 terms reach 1e-20 relative for |u| <= 0.15
    acc = 0.0
    for n in range(12, 0, -1):
        sign = 1.0 if n % 2 == 1 else -1.0
        acc = sign / (2 * n + 1) + u2 * acc
    return acc


@numba.njit(cache=True)
def _small_ratio_sides(s, c, k, root, cc):
    """R + E of the small-ratio form, with s = sin(phi/2), c = cos(phi/2), root = sqrt(gamma).

    E = (cc / gamma)(u - atan u) with u = root * v is evaluated as cc * root * v^3 * series(u^2):
    no 1/gamma factor, so it stays exact (and finite) down to the smallest subnormal ratio.
    """
    den = c * c + k * s * s
    v = 2.0 / (1.0 - root) * s * c / den
    u = root * v
    r = 4.0 * s * c * (k * s * s - c * c) / den
    if abs(u) > 0.15:
        e = cc / (root * root) * (u - math.atan(u))
    else:
        e = cc * root * v * v * v * _atan_series(u * u)
    return r + e


@numba.njit(cache=True)
def _mp_cdf_kernel_small(x, sigma2, a, b, k, root, cc, lam_minus, lam_plus, survival):
    # Ratio << 1 (no atom): with s = sin(phi/2), c = cos(phi/2) the closed form is rewritten as
    #   G = (2 phi + R + E) / (2 pi),  H = 1 - G = (2 psi - R - E) / (2 pi),  psi = pi - phi,
    # R = 4 s c (k s^2 - c^2) / (c^2 + k s^2),  E = (c_/gamma) (u - atan u),
    # u = (k - 1) s c / (c^2 + k s^2) = O(sqrt(gamma)): every term is O(1) or smaller, so nothing
    # cancels at the scale 1/gamma as in the general form (module docstring).
    out = np.empty_like(x)
    width = b - a
    two_pi = 2.0 * math.pi
    for i in range(x.size):
        xi = x[i]
        if xi != xi:
            out[i] = np.nan
            continue
        if xi >= lam_plus:
            out[i] = 0.0 if survival else 1.0
            continue
        if xi <= lam_minus:
            out[i] = 1.0 if survival else 0.0
            continue
        t = xi / sigma2
        s2 = min(max((t - a) / width, 0.0), 1.0)
        c2 = min(max((b - t) / width, 0.0), 1.0)
        s = math.sqrt(s2)
        c = math.sqrt(c2)
        pieces = _small_ratio_sides(s, c, k, root, cc)
        if s2 <= c2:  # lower half: G from the lower edge
            g = (4.0 * math.atan2(s, c) + pieces) / two_pi
            g = min(max(g, 0.0), 1.0)
            out[i] = 1.0 - g if survival else g
        else:
            h = (4.0 * math.atan2(c, s) - pieces) / two_pi
            h = min(max(h, 0.0), 1.0)
            out[i] = h if survival else 1.0 - h
    return out


@numba.njit(cache=True)
def _small_ratio_side_array(angle, upper, k, root, cc):
    """G(angle) (lower side) or H(angle) (upper side) in the small-ratio form, times 2 pi."""
    out = np.empty_like(angle)
    for i in range(angle.size):
        half = 0.5 * angle[i]
        if upper:  # psi = angle: sin(phi/2) = cos(psi/2)
            out[i] = 2.0 * angle[i] - _small_ratio_sides(
                math.cos(half), math.sin(half), k, root, cc
            )
        else:
            out[i] = 2.0 * angle[i] + _small_ratio_sides(
                math.sin(half), math.cos(half), k, root, cc
            )
    return out


#: Below this ratio the cdf and the quantile Newton steps use the small-ratio form (module docstring):
#: the general closed form cancels O(1) terms down to O(ratio) and loses ~eps / ratio.
SMALL_RATIO = 0.05

_NEWTON_STEPS = 3
_GRID = 1025


class MarchenkoPastur(Law):
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
        root = math.sqrt(g)
        # (1 - sqrt g)^2 cancels near g = 1 (relative error eps / (1 - g)^2 ... 2e-7 at 1 - 1e-9);
        # 1 - sqrt g = (1 - g) / (1 + sqrt g) does not: 1 - g is exact there (Sterbenz)
        # (away from 1 the plain difference does not cancel and is the better rounded of the two)
        diff = (1.0 - g) / (1.0 + root) if 0.25 < g < 4.0 else 1.0 - root
        unit_minus = diff * diff
        self.lambda_minus = self.sigma2 * unit_minus
        self.lambda_plus = self.sigma2 * (1.0 + root) ** 2
        if not math.isfinite(self.lambda_plus):
            raise ValueError(
                f"the upper edge sigma2 * (1 + sqrt(ratio))**2 overflows float64 for ratio={ratio!r}, "
                f"sigma2={sigma2!r}; use smaller units"
            )
        self.atom = max(0.0, 1.0 - 1.0 / g)
        # Continuous part in unit variance: G(phi) on phi in [0, pi].
        self._m = 1.0 + g
        self._h = 2.0 * math.sqrt(g)
        self._a = unit_minus
        self._b = (1.0 + root) ** 2
        self._c = 2.0 * abs(1.0 - g)  # zero at ratio 1: no arctan term
        # (1 + sqrt g) / |1 - sqrt g| without the cancelling difference
        self._k = (1.0 + root) ** 2 / abs(1.0 - g) if g != 1.0 else math.inf
        self._mass = 1.0 - self.atom  # G(pi)
        # ratio > 1 / SMALL_RATIO: the continuous part is (1/ratio) MP(1/ratio, ratio * sigma2) (the
        # nonzero eigenvalues of X^T X), evaluated in the small-ratio form, so that sf, isf and the
        # continuous mass 1/ratio keep relative precision although atom = 1 - 1/ratio rounds.
        self._dual = MarchenkoPastur(1.0 / g, g * self.sigma2) if g > 1.0 / SMALL_RATIO else None
        if self._dual is not None:
            self._mass = 1.0 / g
        self._small = g < SMALL_RATIO
        if self._small:
            root = math.sqrt(g)
            self._k = (1.0 + root) / (1.0 - root)
            self._root = root
            self._cc = 2.0 * (1.0 - g)  # c of the general form

    def __repr__(self) -> str:
        return f"MarchenkoPastur(ratio={self.ratio!r}, sigma2={self.sigma2!r})"

    # ------------------------------------------------------------------ support
    def _support(self) -> tuple[float, float]:
        """Smallest interval holding all the mass: ``(0, lambda_plus)`` when there is an atom."""
        lower = 0.0 if self.atom > 0 else self.lambda_minus
        return lower, self.lambda_plus

    # ------------------------------------------------------------------ density
    def pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Density of the continuous part, :math:`\sqrt{(\lambda_+-x)(x-\lambda_-)}/(2\pi\gamma\sigma^2x)`."""
        return super().pdf(x)

    def _pdf(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        inside = (x > self.lambda_minus) & (x < self.lambda_plus)
        # in unit variance, each square root separately: nothing under- or overflows at extreme
        # ratios or scales before the final division by sigma2
        t = x[inside] / self.sigma2
        root = np.sqrt(np.maximum(self._b - t, 0.0)) * np.sqrt(np.maximum(t - self._a, 0.0))
        with np.errstate(over="ignore"):  # inf only where the density exceeds the float range
            out[inside] = root / (2.0 * math.pi * self.ratio * t) / self.sigma2
        if self.ratio == 1.0:
            out[x == 0.0] = np.inf  # the hard edge
        out[np.isnan(x)] = np.nan
        return out

    # ------------------------------------------------------------------ cdf
    def _edge_masses(self, x: np.ndarray, survival: bool) -> np.ndarray:
        if self._dual is not None:
            part = self._dual._edge_masses(x, survival) * self._mass
            if survival:
                return np.where(x < 0.0, 1.0, part)
            return np.where(x < 0.0, 0.0, self.atom + part)
        flat = np.ascontiguousarray(x).reshape(-1)
        if self._small:
            out = _mp_cdf_kernel_small(
                flat,
                self.sigma2,
                self._a,
                self._b,
                self._k,
                self._root,
                self._cc,
                self.lambda_minus,
                self.lambda_plus,
                survival,
            )
            return out.reshape(x.shape)
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
        return super().cdf(x)

    def sf(self, x: ArrayLike) -> np.ndarray:
        """Survival function ``1 - cdf(x)``, computed from the upper edge for precision in the tail."""
        return super().sf(x)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return self._edge_masses(x, survival=False)

    def _sf(self, x: np.ndarray) -> np.ndarray:
        return self._edge_masses(x, survival=True)

    # ------------------------------------------------------------------ logs
    # The tails at both edges are power laws (mass ~ distance^{3/2} at a soft edge, ^{1/2} at the
    # hard one), so the side of the closed form that is integrated from the nearer edge keeps its
    # relative precision and never underflows for a representable distance; each log is taken
    # of that side: log(cdf) below the median, log1p(-sf) above it (and the mirror for logsf).
    def _logcdf(self, x: np.ndarray) -> np.ndarray:
        low, high = self._edge_masses(x, survival=False), self._edge_masses(x, survival=True)
        with np.errstate(divide="ignore"):
            return np.where(low <= 0.5, np.log(low), np.log1p(-high))

    def _logsf(self, x: np.ndarray) -> np.ndarray:
        low, high = self._edge_masses(x, survival=False), self._edge_masses(x, survival=True)
        with np.errstate(divide="ignore"):
            return np.where(high <= 0.5, np.log(high), np.log1p(-low))

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        # the log of each factor of the density: nothing under- or overflows at extreme scales
        out = np.full_like(x, -np.inf)
        inside = (x > self.lambda_minus) & (x < self.lambda_plus)
        t = x[inside] / self.sigma2
        with np.errstate(divide="ignore"):
            out[inside] = (
                0.5 * (np.log(np.maximum(self._b - t, 0.0)) + np.log(np.maximum(t - self._a, 0.0)))
                - np.log(2.0 * math.pi * self.ratio * t)
                - math.log(self.sigma2)
            )
        if self.ratio == 1.0:
            out[x == 0.0] = np.inf  # the hard edge
        out[np.isnan(x)] = np.nan
        return out

    # ------------------------------------------------------------------ quantiles
    # In the angle variable t = m - h cos(phi) the two sides are
    #   G(phi) = (h sin phi + m phi - c atan(k tan(phi/2))) / (2 pi gamma),
    #   H(psi) = (m psi - h sin psi - c atan(tan(psi/2) / k)) / (2 pi gamma),  psi = pi - phi,
    # with derivatives h^2 sin^2 / (m -+ h cos) / (2 pi gamma).
    def _side(self, angle: np.ndarray, upper: bool) -> np.ndarray:
        if self._small:
            flat = np.ascontiguousarray(angle, dtype=np.float64).reshape(-1)
            val = _small_ratio_side_array(flat, upper, self._k, self._root, self._cc)
            return val.reshape(np.shape(angle)) / (2.0 * math.pi)
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
        if self._small:  # h^2 / gamma = 4 exactly (h^2 underflows for subnormal ratios)
            den = self._b - 2.0 * self._h * sh2 if upper else self._a + 2.0 * self._h * sh2
            return 16.0 * sh2 * ch2 / den / (2.0 * math.pi)
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
        if self._small:  # every term of the small-ratio form is O(angle)
            scale = 8.0 / (2.0 * math.pi)
        else:
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
        survival function) in the angle variable, vectorised; relative accuracy ~1e-12, and
        ``cdf(ppf(q)) = q`` to 1e-11 plus the rounding of ``x`` itself (``ulp(x) * pdf(x)``, which
        only matters for ratios below ~1e-10, where the support is ~1e-5 wide around ``sigma2``).
        """
        return super().ppf(q)

    def isf(self, q: ArrayLike) -> np.ndarray:
        """Inverse survival function: ``ppf(1 - q)``, solved from the upper tail so that a tiny
        ``q`` keeps its digits (``1 - q`` would round them away)."""
        return super().isf(q)

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return self._invert(q, from_upper=False)

    def _isf(self, q: np.ndarray) -> np.ndarray:
        return self._invert(q, from_upper=True)

    def _invert(self, q: np.ndarray, from_upper: bool) -> np.ndarray:
        if self._dual is not None:
            return self._invert_dual(q, from_upper)
        out = np.full_like(q, np.nan)
        valid = (q >= 0.0) & (q <= 1.0)
        if from_upper:
            cont = valid & (q < self._mass)
            lower_mass = self._mass - q[cont]  # continuous mass below the quantile
        else:
            cont = valid & (q > self.atom)
            lower_mass = q[cont] - self.atom
        out[valid & ~cont] = 0.0 if self.atom > 0 else self.lambda_minus
        upper = lower_mass > 0.5 * self._mass
        upper_mass = q[cont][upper] if from_upper else 1.0 - q[cont][upper]
        phi = np.empty_like(lower_mass)
        phi[~upper] = self._solve_angle(lower_mass[~upper], upper=False)
        phi[upper] = math.pi - self._solve_angle(upper_mass, upper=True)
        # t = a + 2h sin^2(phi/2) keeps relative precision near the hard edge (a = 0); the clip
        # keeps the rounding of a + 2h from stepping an ulp outside the support
        x = self.sigma2 * (self._a + 2.0 * self._h * np.sin(0.5 * phi) ** 2)
        out[cont] = np.clip(x, self.lambda_minus, self.lambda_plus)
        return out

    def _invert_dual(self, q: np.ndarray, from_upper: bool) -> np.ndarray:
        out = np.full_like(q, np.nan)
        valid = (q >= 0.0) & (q <= 1.0)
        if from_upper:
            cont = valid & (q < self._mass)
            out[cont] = self._dual._invert(q[cont] / self._mass, from_upper=True)
        else:
            cont = valid & (q > self.atom)
            level = np.minimum((q[cont] - self.atom) / self._mass, 1.0)
            out[cont] = self._dual._invert(level, from_upper=False)
        out[valid & ~cont] = 0.0
        # the dual's upper edge ratio * sigma2 * (1 + 1/sqrt(ratio))^2 may round an ulp above
        # this law's (1 + sqrt(ratio))^2 * sigma2: keep the quantile on this law's support
        return np.minimum(out, self.lambda_plus)

    # ------------------------------------------------------------------ moments
    def moment(self, k: int) -> float:
        r"""Raw moment :math:`E[X^k] = \sigma^{2k}\sum_{r=0}^{k-1}\frac{\gamma^r}{r+1}\binom{k}{r}\binom{k-1}{r}`.

        The Narayana-polynomial formula (Bai & Silverstein 2010, Lemma 3.1); valid with the atom.
        Evaluated in float64 where every intermediate fits, else exactly in 60-digit decimal
        arithmetic (``k <= 400``), else (larger ``k``) as
        :math:`\frac{\sigma^{2k}}{2\pi\gamma}\int_0^\pi(m+h\cos u)^{k-1}h^2\sin^2u\,du` (the
        angle form of the density, ``m = 1 + gamma``, ``h = 2 sqrt(gamma)``) by adaptive quadrature
        around its peak at the upper edge, with the factor :math:`\sigma^{2k}b^{k-1}` in decimal
        logarithms.  A moment beyond the float range is ``inf`` (below it, ``0.0``); relative
        accuracy ~1e-13, or ``k * 1e-16`` for huge ``k``, the conditioning of a ``k``-th power.
        """
        return super().moment(k)

    def _moment(self, k: int) -> float:
        g = self.ratio
        if k <= _MOMENT_FLOAT_MAX_K:
            try:
                total = sum(
                    g**r / (r + 1) * comb(k, r, exact=True) * comb(k - 1, r, exact=True)
                    for r in range(k)
                )
                scale = self.sigma2**k
                value = float(scale * total)
            except OverflowError:
                value = math.nan
            tiny = np.finfo(np.float64).tiny
            if math.isfinite(value) and value > tiny and math.isfinite(total) and scale > tiny:
                return value
        if k <= _MOMENT_EXACT_MAX_K:
            return _moment_decimal(k, g, self.sigma2)
        return _moment_quadrature(k, g, self.sigma2)

    def mean(self) -> float:
        r"""Mean :math:`\sigma^2`."""
        return self.sigma2

    def _mean(self) -> float:
        return self.sigma2

    def _var(self) -> float:
        # variance gamma sigma^4; inf (not OverflowError) beyond the range
        return self.ratio * self.sigma2 * self.sigma2

    def _central_moment(self, k: int) -> float:
        # the classical cumulants of MP: mu_2 = gamma s^4, mu_3 = gamma^2 s^6,
        # mu_4 = (2 gamma^2 + gamma^3) s^8 (from the Narayana moments); closed forms keep the
        # relative precision that raw-moment differences lose at small gamma
        g, s2 = self.ratio, self.sigma2
        if k == 2:
            return self._var()
        if k == 3:
            return g * g * s2**3
        if k == 4:
            return (2.0 * g * g + g**3) * s2**4
        return super()._central_moment(k)

    # ------------------------------------------------------------------ sampling
    def rvs(
        self,
        size: int | tuple[int, ...] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Independent draws by inverse transform sampling (``ppf`` of uniforms).

        For the correlated eigenvalues of an actual random matrix use :func:`wishart_eigenvalues`.
        """
        return super().rvs(size, seed)


_MOMENT_FLOAT_MAX_K = 200
_MOMENT_EXACT_MAX_K = 400
_DECIMAL_DIGITS = 60


def _moment_decimal(k: int, ratio: float, sigma2: float) -> float:
    """The Narayana sum in exact-input decimal arithmetic; float() rounds (inf/0 out of range)."""
    with decimal.localcontext() as ctx:
        ctx.prec = _DECIMAL_DIGITS
        ctx.Emax, ctx.Emin = decimal.MAX_EMAX, decimal.MIN_EMIN
        g = decimal.Decimal(ratio)
        total = sum(
            g**r * comb(k, r, exact=True) * comb(k - 1, r, exact=True) / (r + 1) for r in range(k)
        )
        return float(decimal.Decimal(sigma2) ** k * total)


def _moment_quadrature(k: int, ratio: float, sigma2: float) -> float:
    """E[X^k] for large k: quadrature of the angle form, the huge factor in decimal logarithms."""
    from scipy.integrate import quad

    root = math.sqrt(ratio)
    h = 2.0 * root
    b = (1.0 + root) ** 2
    n = k - 1
    # integrand exp(n log(1 - 2h sin^2(u/2) / b)) h^2 sin^2 u, a peak of width ~sqrt(b / (h n))
    width = math.sqrt(b / (h * n)) if h > 0 else math.inf
    upper = min(math.pi, 60.0 * width)
    hb = 2.0 * h / b

    def f(u: float) -> float:
        inner = -hb * math.sin(0.5 * u) ** 2
        base = n * math.log1p(inner) if inner > -1.0 else -math.inf
        return math.exp(base) * (h * math.sin(u)) ** 2

    points = [p * width for p in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0) if p * width < upper]
    integral, _ = quad(f, 0.0, upper, epsabs=0.0, epsrel=1e-13, limit=400, points=points or None)
    if not integral > 0:
        return 0.0
    with decimal.localcontext() as ctx:
        ctx.prec = _DECIMAL_DIGITS
        D = decimal.Decimal
        b_exact = (1 + D(ratio).sqrt()) ** 2
        log_factor = k * D(sigma2).ln() + n * b_exact.ln() - (2 * D(ratio) * D(math.pi)).ln()
        log_value = log_factor + D(math.log(integral))
        if log_value > 710:
            return math.inf
        if log_value < -746:
            return 0.0
        return math.exp(float(log_value))


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
