"""The spectral convention: eigenvalues s**2/q with ratio p/q, and the same singular-value
threshold as the paper's divide-by-fan-in convention in both orientations."""

import math

import numpy as np
import pytest

from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import spectral_convention


@pytest.mark.parametrize("shape", [(1000, 400), (400, 1000), (700, 700)])
def test_both_conventions_give_the_same_singular_threshold(shape):
    v = 0.3
    W = np.random.default_rng(0).normal(0, math.sqrt(v), shape)
    s = np.linalg.svd(W, compute_uv=False)
    c = spectral_convention(shape)
    edge = (1 + math.sqrt(c.ratio)) ** 2
    # any scale-equivariant fit of sigma2 (here: the mean eigenvalue, the MP mean) ...
    ours = c.eigenvalues(s).mean()
    paper = c.paper_eigenvalues(s).mean()
    t_ours = c.singular_value(ours * edge)
    t_paper = c.paper_singular_value(paper * edge)
    assert t_ours == pytest.approx(t_paper, rel=1e-12)
    # ... and that threshold is the theoretical singular edge sqrt(v)(sqrt(n) + sqrt(m))
    assert t_ours == pytest.approx(
        math.sqrt(v) * (math.sqrt(shape[0]) + math.sqrt(shape[1])), rel=0.01
    )
    # our sigma2 is the entry variance in both orientations; the paper's is v * out / in
    assert ours == pytest.approx(v, rel=0.01)
    assert paper == pytest.approx(v * max(1.0, shape[0] / shape[1]), rel=0.01)
    # the largest singular value of the noise sits at that edge
    assert s[0] == pytest.approx(t_ours, rel=0.02)


def test_eigenvalues_follow_the_mp_law_of_the_convention():
    shape = (300, 1200)
    W = np.random.default_rng(1).normal(0, 1.0, shape)
    c = spectral_convention(shape)
    ev = c.eigenvalues(np.linalg.svd(W, compute_uv=False))
    mp = MarchenkoPastur(c.ratio)
    assert ev.size == 300
    assert np.quantile(ev, 0.5) == pytest.approx(mp.ppf(0.5), rel=0.02)


@pytest.mark.parametrize("bad", [(0, 3), (3,), (2, -1)])
def test_bad_shapes(bad):
    with pytest.raises(ValueError):
        spectral_convention(bad)
