"""The theorem checks can fail: each registered perturbation of the theory flips its claim.

Every perturbation in ``rmtheory/experiments/theorems/entries.py`` (a wrong law's variance, a
bound's constant scaled, Borell–TIS's exponent doubled, Gershgorin's radii shrunk) runs its
experiment twice at the small size it names, without and with the error, through
:func:`rmtheory.experiments.power.judge`; the claim must be judged without it and move to the
expected verdict with it.  The sizes are chosen so the whole file runs in well under 40 s on one
idle core.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rmtheory.experiments import power

THEOREMS = ("theorem42", "lemma53", "theorem54", "theorem57", "theorem82")
CASES = [p for name in THEOREMS for p in power.perturbations(name)]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_every_theorem_experiment_with_a_constant_has_a_perturbation():
    names = {p.experiment for p in CASES}
    assert {"theorem42", "lemma53", "theorem54", "theorem82"} <= names
    whats = {p.what for p in CASES}
    assert {"σ² × 1.02", "σ² × 1.05", "σ² × 1.1"} <= whats
    assert "Lemma 5.1's constant halved" in whats and "Lemma 5.3's constant halved" in whats


@pytest.mark.parametrize("p", CASES, ids=[f"{p.experiment}:{p.what}:{p.claim[:20]}" for p in CASES])
def test_perturbation_flips_its_claim(p):
    before, after = power.judge(p)
    assert before in ("holds", "reproduced"), f"{p.claim}: unperturbed verdict {before!r}"
    assert p.flips(before, after), f"{p.what}: {p.claim} stayed {after!r}"


def test_patches_are_undone_after_the_run():
    """A perturbation's patch lasts one run: the law and the bounds are intact afterwards."""
    from rmtheory import confidence, marchenko_pastur
    from rmtheory.experiments.theorems import entries

    law_cls, shift = marchenko_pastur.MarchenkoPastur, confidence.lemma53_shift
    for p in CASES:
        with p.patch():
            pass
    assert marchenko_pastur.MarchenkoPastur is law_cls and confidence.lemma53_shift is shift
    assert entries.borell_tis_bound(np.array([2.0]))[0] == pytest.approx(np.exp(-2.0))
    assert marchenko_pastur.MarchenkoPastur(0.5, 1.0).sigma2 == 1.0
