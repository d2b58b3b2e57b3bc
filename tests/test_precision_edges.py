"""MP's lower edge keeps relative precision near ratio 1 (issue 24 item 6), checked against mpmath."""

import mpmath
import pytest

from rmtheory.marchenko_pastur import MarchenkoPastur

RATIOS = [1 - 1e-9, 1 - 1e-6, 1 + 1e-6]


def _exact_edge(ratio, sigma2):
    mpmath.mp.dps = 60
    return mpmath.mpf(sigma2) * (1 - mpmath.sqrt(mpmath.mpf(ratio))) ** 2


def _exact_quantile(ratio, q):
    """The unit-variance MP quantile by the closed-form G(phi) in 60-digit arithmetic."""
    mpmath.mp.dps = 60
    g = mpmath.mpf(ratio)
    m, h, c = 1 + g, 2 * mpmath.sqrt(g), 2 * abs(1 - g)
    k = (1 + mpmath.sqrt(g)) / abs(1 - mpmath.sqrt(g))
    atom = max(mpmath.mpf(0), 1 - 1 / g)

    def G(phi):
        return atom + (h * mpmath.sin(phi) + m * phi - c * mpmath.atan(k * mpmath.tan(phi / 2))) / (
            2 * mpmath.pi * g
        )

    target = mpmath.mpf(q)
    lo, hi = mpmath.mpf(0), mpmath.pi / 2
    for _ in range(200):  # bisection: G is increasing
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if G(mid) < target else (lo, mid)
    return m - h * mpmath.cos((lo + hi) / 2)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("sigma2", [1.0, 3.7])
def test_lambda_minus_relative_precision(ratio, sigma2):
    law = MarchenkoPastur(ratio, sigma2)
    ref = _exact_edge(ratio, sigma2)
    assert abs(law.lambda_minus - ref) / ref <= 1e-13


@pytest.mark.parametrize("ratio", RATIOS)
def test_ppf_near_zero_inherits_the_edge(ratio):
    law = MarchenkoPastur(ratio)
    if law.atom == 0:
        assert law.ppf(0.0) == law.lambda_minus
        levels = [1e-40, 1e-30]
        for q in levels:
            ref = _exact_quantile(ratio, mpmath.mpf(q))
            assert abs(float(law.ppf(q)) - ref) / ref <= 1e-13
        return
    # just above the atom the continuous part starts at lambda_minus: the quantile x must carry
    # the continuous mass q - atom, checked by quadrature of the density from the exact edge
    import numpy as np

    mpmath.mp.dps = 60
    g = mpmath.mpf(ratio)
    a, b = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2
    for q in [float(np.nextafter(law.atom, 1.0)), law.atom + 1e3 * np.spacing(law.atom)]:
        x = float(law.ppf(q))
        mass = mpmath.quad(
            lambda t: mpmath.sqrt((b - t) * (t - a)) / (2 * mpmath.pi * g * t), [a, mpmath.mpf(x)]
        )
        want = mpmath.mpf(q) - mpmath.mpf(law.atom)  # the law's atom is the float 1 - 1/ratio
        # the mass is a 3/2 power of x - lambda_minus (~1e-10 lambda_minus here): 1e-2 in the
        # mass is < 1e-12 relative in x; x lies just above the exact edge
        assert abs(mass - want) / want <= 1e-2
        assert _exact_edge(ratio, 1.0) <= x <= _exact_edge(ratio, 1.0) * (1 + 1e-7)
