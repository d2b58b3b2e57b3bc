"""Property-based tests of the public numerical API (issue 11).

The oracle everywhere: a call returns a *correct* value, or raises ``ValueError``/``TypeError``
whose message names the offending argument.  "Correct" is checked against an independent route
(LAPACK's SVD, multiprecision sums, exact power-of-two rescaling, inverse functions) within the
problem's own conditioning, stated at each assertion; a value that is out of the float range may be
``inf``/``0`` only where the true value is.

Two parts: (1) hostile arguments -- every documented parameter of the numerical API is fed values of
the wrong kind (None, text, bools, complex numbers, arrays where a number is expected, floats where
an integer is expected) and invalid values (NaN, inf, negative, zero, out of range); and floats drawn
by hypothesis over the whole double range, classified valid/invalid by the documented contract;
(2) value properties at any scale the documented contract accepts.
"""

import math
import os
import re
import warnings

import mpmath
import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rmtheory import approximation, confidence, lowrank, spectrum, spiked, thresholds
from rmtheory.bema import BEMA, mp_goodness_of_fit
from rmtheory.marchenko_pastur import MarchenkoPastur, wishart_eigenvalues
from rmtheory.tracy_widom import TracyWidom, paper_code_edge_scaling, wishart_edge_scaling


def approx(expected, **kw):
    """pytest.approx without its default absolute tolerance of 1e-12 (tiny values must match too)."""
    kw.setdefault("abs", 0.0)
    return pytest.approx(expected, **kw)


#: RMT_HYPOTHESIS_SCALE=20 multiplies every example budget (a thorough run; the default tier uses 1).
SCALE = int(os.environ.get("RMT_HYPOTHESIS_SCALE", "1"))
FAST = settings(
    max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
EPS = float(np.finfo(float).eps)
TINY = float(np.finfo(float).tiny)
HUGE = float(np.finfo(float).max)

# ---------------------------------------------------------------------------------- hostile values
WRONG_KIND_SCALAR = [
    None,
    "0.5",
    b"0.5",
    True,
    0.5 + 0.5j,
    np.complex128(0.5 + 1j),
    [0.5],
    (0.5,),
    np.array([0.5, 0.6]),
    {"x": 0.5},
    object(),
]
NOT_POSITIVE = [0.0, -0.0, -1.0, -5e-324, math.nan, math.inf, -math.inf]
NOT_PROBABILITY = [0.0, 1.0, -1e-300, 1.5, math.nan, math.inf]
WRONG_KIND_INT = [2.5, 3.0, np.float64(3.0), "3", None, True, 1 + 0j, [3], 1e300]
WRONG_KIND_ARRAY = [
    None,
    "abc",
    np.array([1 + 1j, 2.0]),
    [1.0, None],
    np.array([True, False]),
    [[1.0, 2.0], [3.0]],
    object(),
]
BAD_MATRIX = [
    None,
    "abc",
    np.ones((4, 3)) + 1j,
    np.ones(5),
    np.ones((2, 3, 4)),
    np.ones((0, 3)),
    np.full((4, 3), np.nan),
    np.full((4, 3), np.inf),
    np.ones((4, 3), dtype=bool),
    [[1.0, 2.0], [3.0]],
]

W_SMALL = np.random.default_rng(0).standard_normal((60, 40))
EV_SMALL = np.sort(np.random.default_rng(1).uniform(0.5, 1.5, 60))
NET = [
    np.random.default_rng(2).standard_normal((5, 4)),
    np.random.default_rng(3).standard_normal((3, 5)),
]
XIN = np.random.default_rng(4).standard_normal((6, 4))
LABELS = np.array([0, 1, 2, 0, 1, 2])


def _case(name, arg, call, values):
    return [pytest.param(arg, call, v, id=f"{name}-{arg}-{i}") for i, v in enumerate(values)]


def _mp(**kw):
    args = {"ratio": 0.5, "sigma2": 1.0, **kw}
    return MarchenkoPastur(args["ratio"], args["sigma2"])


HOSTILE = (
    # Marchenko-Pastur
    _case("MP", "ratio", lambda v: MarchenkoPastur(v), WRONG_KIND_SCALAR + NOT_POSITIVE)
    + _case("MP", "sigma2", lambda v: MarchenkoPastur(0.5, v), WRONG_KIND_SCALAR + NOT_POSITIVE)
    + _case("MP.cdf", "x", lambda v: _mp().cdf(v), WRONG_KIND_ARRAY)
    + _case("MP.sf", "x", lambda v: _mp().sf(v), WRONG_KIND_ARRAY)
    + _case("MP.pdf", "x", lambda v: _mp().pdf(v), WRONG_KIND_ARRAY)
    + _case("MP.ppf", "q", lambda v: _mp().ppf(v), WRONG_KIND_ARRAY)
    + _case("MP.isf", "q", lambda v: _mp().isf(v), WRONG_KIND_ARRAY)
    + _case("MP.moment", "k", lambda v: _mp().moment(v), WRONG_KIND_INT + [-1])
    + _case("MP.rvs", "size", lambda v: _mp().rvs(v, seed=0), [2.5, "3", (2, 1.5), True, -1])
    + _case("MP.rvs", "seed", lambda v: _mp().rvs(3, seed=v), ["x", 1.5, -1, True])
    + _case("wishart", "p", lambda v: wishart_eigenvalues(v, 10), WRONG_KIND_INT + [0])
    + _case("wishart", "sigma2", lambda v: wishart_eigenvalues(5, 10, v), NOT_POSITIVE)
    # Tracy-Widom
    + _case("TW", "beta", lambda v: TracyWidom(v), [None, "1", True, 1.5, 3, 0, 1 + 0j, [1]])
    + _case("TW.cdf", "x", lambda v: TracyWidom(1).cdf(v), WRONG_KIND_ARRAY)
    + _case("TW.logcdf", "x", lambda v: TracyWidom(2).logcdf(v), WRONG_KIND_ARRAY)
    + _case("TW.pdf", "x", lambda v: TracyWidom(4).pdf(v), WRONG_KIND_ARRAY)
    + _case("TW.ppf", "q", lambda v: TracyWidom(1).ppf(v), WRONG_KIND_ARRAY)
    + _case("TW.isf", "q", lambda v: TracyWidom(1).isf(v), WRONG_KIND_ARRAY)
    + _case("TW.rvs", "size", lambda v: TracyWidom(1).rvs(v, seed=0), [2.5, "3", (2, 1.5), -1])
    + _case("edge", "n", lambda v: wishart_edge_scaling(v, 10), WRONG_KIND_INT + [0])
    + _case("edge", "sigma2", lambda v: wishart_edge_scaling(20, 10, v), NOT_POSITIVE)
    + _case("paper_edge", "p", lambda v: paper_code_edge_scaling(20, v), WRONG_KIND_INT + [0])
    # spectrum
    + _case("singular_values", "W", lambda v: spectrum.singular_values(v), BAD_MATRIX)
    + _case(
        "singular_values",
        "method",
        lambda v: spectrum.singular_values(W_SMALL, v),
        [None, "GRAM", 1, ["svd"]],
    )  # fmt: skip
    + _case("esd", "W", lambda v: spectrum.esd(v), BAD_MATRIX)
    + _case(
        "spectral_convention",
        "shape",
        lambda v: spectrum.spectral_convention(v),
        [None, (2.5, 3), (3,), (0, 3), (-1, 3), "ab", 5, (True, 3), (3.0, 4)],
    )  # fmt: skip
    + _case(
        "eigenvalues",
        "singular_values",
        lambda v: spectrum.spectral_convention((3, 4)).eigenvalues(v),
        WRONG_KIND_ARRAY[:-1] + [[-1.0, 1.0], [np.nan, 1.0]],
    )  # fmt: skip
    # BEMA and the goodness of fit
    + _case(
        "BEMA",
        "alpha",
        lambda v: BEMA(alpha=v).fit(W_SMALL),
        WRONG_KIND_SCALAR + NOT_PROBABILITY + [0.5, 0.7],
    )  # fmt: skip
    + _case(
        "BEMA", "beta", lambda v: BEMA(beta=v).fit(W_SMALL), WRONG_KIND_SCALAR + NOT_PROBABILITY
    )
    + _case(
        "BEMA", "variant", lambda v: BEMA(variant=v).fit(W_SMALL), [None, "paper", 1, ["default"]]
    )
    + _case(
        "BEMA.fit",
        "X",
        lambda v: BEMA().fit(v, q=100),
        BAD_MATRIX[:5] + [np.array([1.0, np.nan] * 30), np.linspace(0.5, 1.5, 60) + 0j],
    )  # fmt: skip
    + _case("BEMA.fit", "q", lambda v: BEMA().fit(EV_SMALL, q=v), WRONG_KIND_INT + [0, -1, 10])
    + _case(
        "BEMA.fit",
        "n_censored",
        lambda v: BEMA().fit(EV_SMALL, q=100, n_censored=v),
        [2.5, 3.0, np.float64(3.0), "3", True, 1 + 0j, -1],
    )  # fmt: skip
    + _case("gof", "eigenvalues", lambda v: mp_goodness_of_fit(v, 1.0, 0.5), WRONG_KIND_ARRAY)
    + _case("gof", "sigma2", lambda v: mp_goodness_of_fit(EV_SMALL, v, 0.5), NOT_POSITIVE)
    + _case(
        "gof",
        "n_censored",
        lambda v: mp_goodness_of_fit(EV_SMALL, 1.0, 0.5, n_censored=v),
        [2.5, -1, "1", None],
    )  # fmt: skip
    # spikes
    + _case(
        "osv",
        "theta",
        lambda v: spiked.outlier_singular_value(v, 0.5),
        WRONG_KIND_ARRAY + [-1.0, math.nan, math.inf],
    )  # fmt: skip
    + _case(
        "osv",
        "ratio",
        lambda v: spiked.outlier_singular_value(2.0, v),
        WRONG_KIND_SCALAR + NOT_POSITIVE + [1.5],
    )  # fmt: skip
    + _case("osv", "sigma2", lambda v: spiked.outlier_singular_value(2.0, 0.5, v), NOT_POSITIVE)
    + _case(
        "overlaps", "theta", lambda v: spiked.singular_vector_overlaps(v, 0.5), WRONG_KIND_ARRAY
    )
    + _case("tfo", "s", lambda v: spiked.theta_from_outlier(v, 0.5), WRONG_KIND_ARRAY + [-2.0])
    + _case(
        "tfo",
        "fill_value",
        lambda v: spiked.theta_from_outlier(2.0, 0.5, fill_value=v),
        [None, "x", 1 + 1j, [0.0]],
    )  # fmt: skip
    + _case("detection", "ratio", lambda v: spiked.detection_threshold(v), NOT_POSITIVE + [2.0])
    + _case("square", "g", lambda v: spiked.square_outlier(2.0, v), NOT_POSITIVE + [None])
    + _case("wigner", "theta", lambda v: spiked.wigner_outlier_eigenvalue(v), WRONG_KIND_ARRAY)
    + _case("wigner", "sigma", lambda v: spiked.wigner_outlier_eigenvalue(2.0, v), NOT_POSITIVE)
    + _case(
        "wigner_tfo",
        "eigenvalue",
        lambda v: spiked.wigner_theta_from_outlier(v),
        WRONG_KIND_ARRAY + [-3.0],
    )  # fmt: skip
    + _case(
        "bgn", "method", lambda v: spiked.bgn_predictions(2.0, 0.5, method=v), [None, "closed", 1]
    )
    + _case(
        "d_transform", "z", lambda v: spiked.d_transform(v, 0.5), WRONG_KIND_ARRAY + [0.5, math.nan]
    )
    + _case(
        "weight_spikes",
        "shape",
        lambda v: spiked.weight_spike_predictions([3.0], v),
        [None, (2.5, 3), (3,), "ab", (0, 3)],
    )  # fmt: skip
    # approximation
    + _case(
        "truncate_below",
        "threshold",
        lambda v: approximation.truncate_below(W_SMALL, v),
        WRONG_KIND_SCALAR + [-1.0, math.nan, math.inf],
    )  # fmt: skip
    + _case("truncate_below", "W", lambda v: approximation.truncate_below(v, 1.0), BAD_MATRIX)
    + _case(
        "spike_block_norm",
        "sigma",
        lambda v: approximation.spike_block_norm(v),
        WRONG_KIND_ARRAY + [0.0, -1.0, [], np.ones((2, 2))],
    )  # fmt: skip
    + _case(
        "spike_block_norm",
        "eps",
        lambda v: approximation.spike_block_norm(2.0, eps=v),
        WRONG_KIND_SCALAR + [-0.1, math.nan],
    )  # fmt: skip
    + _case(
        "theta_asymptotic", "g", lambda v: approximation.theta_asymptotic([2.0], g=v), NOT_POSITIVE
    )
    + _case(
        "wigner_theta",
        "theta",
        lambda v: approximation.wigner_theta_asymptotic(v),
        WRONG_KIND_ARRAY + [-1.0],
    )  # fmt: skip
    + _case(
        "tfw",
        "noise_var",
        lambda v: approximation.theta_from_weights(W_SMALL, v, 1.0),
        WRONG_KIND_SCALAR + NOT_POSITIVE,
    )  # fmt: skip
    + _case(
        "tfw",
        "threshold",
        lambda v: approximation.theta_from_weights(W_SMALL, 1.0, v),
        WRONG_KIND_SCALAR + [-1.0, math.nan, math.inf],
    )  # fmt: skip
    + _case(
        "tfw",
        "edge",
        lambda v: approximation.theta_from_weights(W_SMALL, 1.0, 1.0, edge=v),
        [-1.0, math.nan, "x", 1 + 1j],
    )  # fmt: skip
    + _case(
        "approximation_error",
        "threshold",
        lambda v: approximation.approximation_error(W_SMALL, W_SMALL, v),
        [-1.0, None, math.inf],
    )
    + _case(
        "approximation_error",
        "S",
        lambda v: approximation.approximation_error(W_SMALL, v, 1.0),
        BAD_MATRIX + [np.ones((3, 3))],
    )  # fmt: skip
    + _case(
        "theta_empirical", "n", lambda v: approximation.theta_empirical([3.0], v), WRONG_KIND_INT
    )
    + _case(
        "theta_empirical",
        "threshold",
        lambda v: approximation.theta_empirical([3.0], 30, threshold=v),
        [-1.0, math.nan, "MP", None, True],
    )  # fmt: skip
    + _case(
        "theta_empirical",
        "vectors",
        lambda v: approximation.theta_empirical([3.0], 30, vectors=v),
        ["Random", None, ["random"]],
    )
    + _case(
        "theta_convergence",
        "sizes",
        lambda v: approximation.theta_convergence([3.0], sizes=v, n_seeds=1),
        [None, "100", (100.5, 200), (0, 100), (100,)],
    )  # fmt: skip
    + _case(
        "wigner_empirical",
        "eps",
        lambda v: approximation.wigner_theta_empirical([3.0], 30, eps=v),
        [-1.0, None],
    )
    # confidence
    + _case(
        "confidence",
        "logits",
        lambda v: confidence.classification_confidence(v, [0, 1]),
        [None, "x", np.ones((2, 3)) + 1j, np.ones(3), np.ones((2, 1)), np.full((2, 3), np.nan)],
    )
    + _case(
        "confidence",
        "labels",
        lambda v: confidence.classification_confidence(np.ones((2, 3)), v),
        [None, [0.5, 1], [0, 3], [-1, 0], [True, False], [0, 1, 2]],
    )  # fmt: skip
    + _case(
        "accuracy",
        "delta",
        lambda v: confidence.accuracy_from_confidence(v),
        WRONG_KIND_ARRAY + [[], [np.nan]],
    )  # fmt: skip
    + _case(
        "good_set",
        "h",
        lambda v: confidence.good_set([0.1, 0.2], v),
        [None, "x", -0.1, math.nan, [0.1, 0.2, 0.3], 1 + 1j],
    )  # fmt: skip
    + _case(
        "network",
        "weights",
        lambda v: confidence.network_logits(v, None, XIN),
        [None, 5, "ab", [], np.ones((3, 4)), [None], [np.ones((5, 4)), np.ones((3, 4))]],
    )
    + _case(
        "network",
        "biases",
        lambda v: confidence.network_logits(NET, v, XIN),
        [5, "ab", [np.ones(5)], [np.ones(4), None], [np.ones(5) + 1j, None]],
    )  # fmt: skip
    + _case(
        "network",
        "x",
        lambda v: confidence.network_logits(NET, None, v),
        [None, "x", np.ones((2, 5)), np.ones((2, 4)) + 1j, np.full((2, 4), np.inf)],
    )  # fmt: skip
    + _case(
        "network",
        "activation",
        lambda v: confidence.network_logits(NET, None, XIN, v),
        [None, "tanh", ["abs"], np.array(["abs"]), 1],
    )  # fmt: skip
    + _case(
        "layer_input",
        "layer",
        lambda v: confidence.layer_input(NET, None, v, XIN),
        [None, 1.0, "0", True, 5, -3, [0]],
    )  # fmt: skip
    + _case(
        "lemma51",
        "eps",
        lambda v: confidence.lemma51_bound(NET, None, 0, v, XIN),
        WRONG_KIND_SCALAR + NOT_POSITIVE,
    )  # fmt: skip
    + _case(
        "lemma51",
        "constant",
        lambda v: confidence.lemma51_bound(NET, None, 0, 0.1, XIN, v),
        [None, 2, "sqrt(2)", ["2"]],
    )  # fmt: skip
    + _case(
        "lemma51",
        "scale",
        lambda v: confidence.lemma51_bound(NET, None, 0, 0.1, XIN, scale=v),
        [None, 1, ["eps"]],
    )
    + _case(
        "lemma51",
        "form",
        lambda v: confidence.lemma51_bound(NET, None, 0, 0.1, XIN, form=v),
        [None, 17, {"eq17"}],
    )
    + _case(
        "lemma53",
        "noise_var",
        lambda v: confidence.lemma53_scale(NET, 0, XIN, noise_var=v),
        NOT_POSITIVE + ["x"],
    )  # fmt: skip
    + _case(
        "lemma53",
        "failure_prob",
        lambda v: confidence.lemma53_shift(NET, 0, XIN, failure_prob=v),
        NOT_PROBABILITY + ["x", [0.1]],
    )  # fmt: skip
    + _case(
        "thm54",
        "theta",
        lambda v: confidence.theorem54_shift(NET, 0, XIN, v),
        WRONG_KIND_SCALAR + [-1.0, math.nan, math.inf],
    )  # fmt: skip
    + _case(
        "thm57",
        "eps",
        lambda v: confidence.theorem57_bound(
            NET, None, 0, XIN, LABELS, eps=v, threshold=1.0, noise_var=0.1
        ),
        [None, -1.0, math.nan, "x"],
    )  # fmt: skip
    + _case(
        "thm57",
        "threshold",
        lambda v: confidence.theorem57_bound(NET, None, 0, XIN, LABELS, threshold=v, noise_var=0.1),
        [0.0, -1.0, math.nan, "x"],
    )  # fmt: skip
    + _case(
        "thm57",
        "bema",
        lambda v: confidence.theorem57_bound(NET, None, 0, XIN, LABELS, bema=v),
        ["x", 1, BEMA],
    )  # fmt: skip
    # lowrank
    + _case("truncate", "rank", lambda v: lowrank.truncate(W_SMALL, v), WRONG_KIND_INT + [-1, 41])
    + _case("factorize", "rank", lambda v: lowrank.factorize(W_SMALL, v), WRONG_KIND_INT + [41])
    + _case("factorize", "W", lambda v: lowrank.factorize(v, 1), BAD_MATRIX)
    + _case(
        "recombine",
        "W1",
        lambda v: lowrank.recombine(v, np.ones((3, 2))),
        [None, np.ones(2), np.ones((2, 4)) + 1j, np.full((2, 4), np.nan)],
    )  # fmt: skip
    + _case(
        "conv_to_matrix", "kernel", lambda v: lowrank.conv_to_matrix(v), [None, np.ones((2, 3))]
    )
    + _case(
        "matrix_to_conv",
        "kernel_shape",
        lambda v: lowrank.matrix_to_conv(np.ones((2, 9)), v),
        [None, 7, "abcd", (2, 1.0, 3, 3), (2, 1, 3), (2, 2, 3, 3), (2, -1, 3, 3)],
    )  # fmt: skip
    # rank rules (through the shared validation)
    + _case("mp_rank", "W", lambda v: thresholds.mp_rank(v), BAD_MATRIX[:-1])
    + [pytest.param("W", lambda v: thresholds.mp_rank(v), [[1.0, 2.0], [3.0]],
                    id="mp_rank-W-ragged")]  # fmt: skip
    + _case(
        "mp_threshold",
        "beta",
        lambda v: thresholds.mp_threshold(W_SMALL, beta=v),
        WRONG_KIND_SCALAR + NOT_PROBABILITY,
    )  # fmt: skip
    + _case(
        "keep_rank",
        "keep_fraction",
        lambda v: thresholds.keep_rank(2, 10, v),
        [None, -0.1, 1.5, math.nan, "x"],
    )  # fmt: skip
    + _case("keep_rank", "p", lambda v: thresholds.keep_rank(2, v, 0.5), WRONG_KIND_INT + [0])
)


def _names(arg: str, message: str) -> bool:
    """The message names the argument (``shape[0]`` names ``shape``, ``sizes[1]`` names ``sizes``)."""
    return re.search(rf"\b{re.escape(arg)}\b", message) is not None


@pytest.mark.parametrize(("arg", "call", "value"), HOSTILE)
def test_hostile_argument_is_refused_naming_it(arg, call, value):
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)  # nothing cast silently
        with pytest.raises((TypeError, ValueError)) as err:
            call(value)
    assert _names(arg, str(err.value)), f"{type(err.value).__name__}: {err.value}"


# Floats over the whole double range (and the non-finite ones), classified by the contract.
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
positive_finite = st.floats(min_value=5e-324, max_value=HUGE, allow_nan=False, allow_infinity=False)


def _check_scalar_contract(call, value, valid: bool, arg: str):
    if valid:
        return call(value)
    with pytest.raises((TypeError, ValueError)) as err:
        call(value)
    assert _names(arg, str(err.value)), str(err.value)
    return None


@FAST
@given(any_float, any_float)
def test_mp_parameters_any_double(ratio, sigma2):
    valid = all(math.isfinite(v) and v > 0 for v in (ratio, sigma2))
    try:
        mp = MarchenkoPastur(ratio, sigma2)
    except ValueError as err:
        msg = str(err)
        assert not valid or ("overflows" in msg and "sigma2" in msg and "ratio" in msg)
        if valid:  # refused only where the upper edge truly exceeds the float range
            assert math.log(sigma2) + 2 * math.log1p(math.sqrt(ratio)) > math.log(HUGE) - 1e-12
        return
    except TypeError:
        raise AssertionError("a float is never the wrong kind") from None
    assert valid
    assert math.isfinite(mp.lambda_plus) and 0 <= mp.lambda_minus <= mp.lambda_plus


@FAST
@given(any_float)
def test_spike_functions_any_double_theta(theta):
    valid = math.isfinite(theta) and theta >= 0
    for fn in (spiked.outlier_singular_value, lambda t: spiked.singular_vector_overlaps(t, 0.5)):
        out = _check_scalar_contract(lambda v, fn=fn: fn(v, 0.5) if fn is spiked.outlier_singular_value
                                     else fn(v), theta, valid, "theta")  # fmt: skip
        if valid:
            vals = np.asarray(out, dtype=float).ravel()
            assert np.all(np.isfinite(vals)) and np.all(vals >= 0)


@FAST
@given(any_float)
def test_tracy_widom_quantile_any_double(q):
    tw = TracyWidom(1)
    x = tw.ppf(q)
    if math.isnan(q) or not 0 <= q <= 1:
        assert math.isnan(x)  # scipy's convention, documented
    elif q in (0.0, 1.0):
        assert x == (-math.inf if q == 0 else math.inf)
    else:
        assert math.isfinite(x)


# ---------------------------------------------------------------------------------- values: MP law
log_ratio = st.floats(min_value=-300, max_value=300)
log_scale = st.floats(min_value=-300, max_value=300)
levels = st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30)


def _mp_or_none(lr, ls):
    ratio, sigma2 = 10.0**lr, 10.0**ls
    try:
        return MarchenkoPastur(ratio, sigma2)
    except ValueError as err:
        assert "overflows" in str(err)  # only an unrepresentable upper edge is refused
        return None


def _cdf_conditioning(mp, x):
    """How far cdf can move when x moves by its own rounding: 4 ulp(x) times a density bound."""
    pdf = np.where(np.isfinite(mp.pdf(x)), mp.pdf(x), np.inf)
    # the peak density of the (semicircle-like) bulk, 1 / (pi sqrt(ratio) sigma2), in logs
    log_peak = -math.log(math.pi) - 0.5 * math.log(mp.ratio) - math.log(mp.sigma2)
    with np.errstate(over="ignore", divide="ignore"):
        peak = np.exp(np.log(4 * np.spacing(np.abs(x))) + log_peak)
        return 1e-11 + np.maximum(4 * np.spacing(np.abs(x)) * pdf, peak)


@settings(max_examples=60 * SCALE, deadline=None)
@given(log_ratio, log_scale, levels)
def test_mp_cdf_inverts_ppf_at_any_ratio_and_scale(lr, ls, qs):
    mp = _mp_or_none(lr, ls)
    assume(mp is not None)
    q = np.array(qs)
    with np.errstate(over="ignore"):
        x = mp.ppf(q)
    assert np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x <= mp.lambda_plus)
    assert np.all(np.diff(x[np.argsort(q)]) >= 0)
    cont = q > mp.atom
    err = np.abs(mp.cdf(x[cont]) - q[cont])
    assert np.all(err <= _cdf_conditioning(mp, x[cont]))
    up = mp.isf(1 - q)
    np.testing.assert_array_equal(np.isnan(up), np.isnan(x))


@settings(max_examples=40 * SCALE, deadline=None)
@given(
    log_ratio,
    log_scale,
    st.lists(st.floats(min_value=-0.2, max_value=1.3), min_size=2, max_size=40),
)
def test_mp_cdf_sf_are_a_monotone_partition_of_one(lr, ls, fractions):
    mp = _mp_or_none(lr, ls)
    assume(mp is not None)
    x = np.sort(np.array(fractions)) * mp.lambda_plus
    F, S = mp.cdf(x), mp.sf(x)
    assert np.all((F >= 0) & (F <= 1)) and np.all(np.diff(F) >= 0)
    np.testing.assert_allclose(F + S, 1.0, rtol=0, atol=4 * EPS)
    assert np.all(mp.pdf(x) >= 0)
    assert np.isnan(mp.cdf(np.nan)) and np.isnan(mp.sf(np.nan))


@settings(max_examples=30 * SCALE, deadline=None)
@given(
    st.floats(min_value=-6, max_value=6), st.floats(min_value=-3, max_value=3), st.integers(1, 700)
)
def test_mp_moments_match_an_exact_narayana_sum(lr, ls, k):
    ratio, sigma2 = 10.0**lr, 10.0**ls
    mpmath.mp.dps = 40
    g = mpmath.mpf(ratio)
    total = mpmath.fsum(
        g**r / (r + 1) * mpmath.binomial(k, r) * mpmath.binomial(k - 1, r) for r in range(k)
    )
    ref = mpmath.mpf(sigma2) ** k * total
    ours = MarchenkoPastur(ratio, sigma2).moment(k)
    if ref > HUGE:
        assert ours == math.inf
    elif ref < 5e-324:
        assert ours == 0.0
    elif ref < TINY:
        assert abs(ours - float(ref)) <= 5e-324 * 2  # subnormal: absolute rounding
    else:
        # the float inputs are exact; a k-th power is k-fold ill-conditioned only in its inputs
        assert ours == approx(float(ref), rel=1e-12)


# ---------------------------------------------------------------------------------- values: TW law
@settings(max_examples=40 * SCALE, deadline=None)
@given(st.sampled_from([1, 2, 4]), st.lists(any_float, min_size=1, max_size=30))
def test_tracy_widom_values_at_any_double(beta, xs):
    tw = TracyWidom(beta)
    x = np.array(xs)
    F, S, f, L = tw.cdf(x), tw.sf(x), tw.pdf(x), tw.logcdf(x)
    nan = np.isnan(x)
    for v in (F, S, f, L):
        np.testing.assert_array_equal(np.isnan(v), nan)  # NaN in, NaN out -- never otherwise
    ok = ~nan
    assert np.all((F[ok] >= 0) & (F[ok] <= 1)) and np.all(f[ok] >= 0) and np.all(L[ok] <= 0)
    np.testing.assert_allclose(F[ok] + S[ok], 1.0, rtol=0, atol=4 * EPS)
    order = np.argsort(x[ok])
    assert np.all(np.diff(F[ok][order]) >= 0)


@settings(max_examples=40 * SCALE, deadline=None)
@given(st.sampled_from([1, 2, 4]), st.floats(min_value=1e-10, max_value=1 - 1e-10))
def test_tracy_widom_quantiles_invert_the_cdf(beta, q):
    tw = TracyWidom(beta)
    x = tw.ppf(q)
    assert abs(tw.cdf(x) - q) <= 1e-12
    qs = min(q, 1 - q)  # the upper tail keeps relative precision down to 1e-35
    assert tw.sf(tw.isf(qs)) == approx(qs, rel=1e-9)


# ---------------------------------------------------------------------------------- values: spikes
scales = st.integers(min_value=-400, max_value=400)
ratios = st.floats(min_value=1e-300, max_value=1.0)
thetas = st.floats(min_value=0.0, max_value=1e300)


@settings(max_examples=60 * SCALE, deadline=None)
@given(thetas, ratios, st.floats(min_value=-300, max_value=300))
def test_bgn_closed_forms_are_finite_ordered_and_invertible(theta, c, ls):
    sigma2 = 10.0**ls
    rho = float(spiked.outlier_singular_value(theta, c, sigma2))
    sigma = math.sqrt(sigma2)
    edge = sigma * (1 + math.sqrt(c))
    assert math.isfinite(rho) and rho >= edge * (1 - 4 * EPS) and rho >= theta * (1 - 4 * EPS)
    ov = spiked.singular_vector_overlaps(theta, c, sigma2)
    small, large = float(ov.smaller_side), float(ov.larger_side)
    assert 0 <= large <= small + 4 * EPS <= 1 + 8 * EPS
    threshold = spiked.detection_threshold(c, sigma2)
    if theta > 1.01 * threshold:
        # relative condition number of the inverse map, (1 + t^2)(c + t^2) / (t^4 - c): 1 for
        # large t, 1/t^2 where c << t^2 << 1 (rho barely moves), infinite at the transition
        t = min(theta / sigma, 1e50)
        kappa = (1 + t * t) * (c + t * t) / ((t * t - math.sqrt(c)) * (t * t + math.sqrt(c)))
        back = float(spiked.theta_from_outlier(rho, c, sigma2))
        assert back == approx(theta, rel=1e-13 + 16 * EPS * kappa)
    elif theta <= threshold:
        assert rho == approx(edge, rel=4 * EPS) and small == 0.0


@settings(max_examples=60 * SCALE, deadline=None)
@given(
    st.floats(min_value=1e-3, max_value=1e3),
    ratios,
    st.floats(min_value=0.01, max_value=100),
    scales,
)
def test_bgn_predictions_are_exactly_scale_covariant(t, c, s2, k):
    theta = t * math.sqrt(s2)
    a = 2.0**k
    base = spiked.outlier_singular_value(theta, c, s2)
    scaled = spiked.outlier_singular_value(theta * a, c, s2 * a * a)
    assert float(scaled) == approx(float(base) * a, rel=4 * EPS)
    ob, osc = (
        spiked.singular_vector_overlaps(theta, c, s2),
        spiked.singular_vector_overlaps(theta * a, c, s2 * a * a),
    )
    assert float(osc.smaller_side) == approx(float(ob.smaller_side), rel=8 * EPS, abs=8 * EPS)


@settings(max_examples=40 * SCALE, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e300), st.floats(min_value=-300, max_value=300))
def test_wigner_forms_at_any_scale(theta, ls):
    sigma = 10.0**ls
    lam = float(spiked.wigner_outlier_eigenvalue(theta, sigma))
    assert math.isfinite(lam) and lam >= 2 * sigma * (1 - 4 * EPS) and lam >= theta * (1 - 4 * EPS)
    ov = float(spiked.wigner_eigenvector_overlap(theta, sigma))
    assert 0 <= ov <= 1
    if theta > 1.01 * sigma:
        assert float(spiked.wigner_theta_from_outlier(lam, sigma)) == approx(theta, rel=1e-9)
        # the block norm sigma^2/(2 theta) + sqrt(sigma^2 + 5 sigma^4 / (4 theta^2)), over sigma
        r = sigma / theta
        ref = sigma * (0.5 * r + math.sqrt(1 + 1.25 * r * r))
        got = float(approximation.wigner_spike_block_norm(theta, sigma))
        assert got == approx(ref, rel=1e-13)


@settings(max_examples=40 * SCALE, deadline=None)
@given(st.floats(min_value=1.0001, max_value=1e300), st.floats(min_value=-300, max_value=300))
def test_square_approximation_limit_matches_its_closed_form(t, lg):
    g = 10.0**lg
    sigma = t * math.sqrt(g)
    assume(math.isfinite(sigma) and sigma > 0)
    got = approximation.theta_asymptotic([sigma], 1.0, g)
    ref = math.sqrt(g) * (0.5 / t + math.sqrt(1 + 1.25 / (t * t)))  # f(sigma) of the docstring
    assert got == approx(ref, rel=1e-12)


@settings(max_examples=40 * SCALE, deadline=None)
@given(st.floats(min_value=0.05, max_value=50), ratios, scales)
def test_theta_asymptotic_is_exactly_scale_covariant(t, c, k):
    a = 2.0**k
    base = approximation.theta_asymptotic([t], c, 1.0)
    assert math.isfinite(base) and base > 0
    assert approximation.theta_asymptotic([t * a], c, a * a) == approx(base * a, rel=1e-14)


# ---------------------------------------------------------------------------------- values: spectrum
shapes = st.tuples(st.integers(2, 14), st.integers(2, 14))


@settings(max_examples=50 * SCALE, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1), st.integers(min_value=-1070, max_value=1020))
def test_singular_values_at_any_scale_match_lapack(shape, seed, k):
    W = np.ldexp(np.random.default_rng(seed).standard_normal(shape), k)
    assume(np.all(np.isfinite(W)) and np.any(W != 0))
    ref = scipy.linalg.svdvals(W)
    assume(np.all(np.isfinite(ref)))
    s = spectrum.singular_values(W)
    # the Gram route's contract: absolute error ~ p eps s_max^2 on the squares (here in units of
    # s_max, so that nothing over- or underflows in the check itself)
    p = min(shape)
    np.testing.assert_allclose(
        (s / ref[0]) ** 2, (ref / ref[0]) ** 2, rtol=1e-12, atol=16 * p * EPS
    )
    try:
        ev = spectrum.esd(W)
    except ValueError as err:
        q = max(shape)
        msg = str(err)
        log_top = 2 * math.log(ref[0]) - math.log(q)
        if "overflow" in msg:
            assert log_top > math.log(HUGE) - 1e-9
        else:
            assert "underflow" in msg and np.any(
                (ref > ref[0] * 8 * p * EPS)
                & (np.log(ref) * 2 - math.log(q) < math.log(TINY) + 1e-9)
            )
    else:
        assert np.all(np.isfinite(ev)) and ev.shape == (p,)


@settings(max_examples=25 * SCALE, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(min_value=-700, max_value=700))
def test_bema_is_scale_equivariant_or_says_why_not(seed, k):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((60, 90))
    W[0] += 5.0 * rng.standard_normal(90)  # a spike row
    base = BEMA().fit(W)
    try:
        fit = BEMA().fit(np.ldexp(W, k))
    except ValueError as err:
        assert re.search("overflow|underflow", str(err))
        # refused only where a scaled eigenvalue (one above the numerical-rank floor) or the
        # fitted edge leaves the float range
        ev, shift = base.eigenvalues_, 2 * k * math.log(2)
        meaningful = ev[ev > ev.max() * (8 * 60 * EPS) ** 2]
        top = math.log(ev.max()) + shift
        bottom = math.log(meaningful.min()) + shift
        edge = math.log(base.lambda_plus_) + shift
        big, small = math.log(HUGE) - 1e-9, math.log(TINY) + 1e-9
        assert top > big or bottom < small or edge > big
        return
    assert fit.sigma2_ == approx(math.ldexp(base.sigma2_, 2 * k), rel=1e-12)
    assert fit.n_spikes_ == base.n_spikes_ and fit.n_censored_ == base.n_censored_ == 0
    assert fit.singular_value_threshold_ == approx(
        math.ldexp(base.singular_value_threshold_, k), rel=1e-12
    )


RULES = [
    ("mp_threshold", thresholds.mp_threshold, True),
    ("mp_rank", thresholds.mp_rank, False),
    ("gavish_donoho_threshold", thresholds.gavish_donoho_threshold, True),
    ("gavish_donoho_rank", thresholds.gavish_donoho_rank, False),
    ("energy_rank", thresholds.energy_rank, False),
]


@pytest.mark.parametrize(("name", "rule", "is_threshold"), RULES)
@settings(max_examples=10 * SCALE, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(min_value=-150, max_value=150))
def test_rank_rules_are_scale_equivariant(name, rule, is_threshold, seed, k):
    W = np.random.default_rng(seed).standard_normal((50, 70))
    base, scaled = rule(W), rule(np.ldexp(W, k))
    if is_threshold:
        assert scaled == approx(math.ldexp(base, k), rel=1e-12)
    else:
        assert scaled == base


@pytest.mark.parametrize("k", [-700, 700])
def test_rank_rules_at_extreme_scales(k):
    W = np.random.default_rng(0).standard_normal((50, 70))
    for _, rule, is_threshold in RULES:
        base, scaled = rule(W), rule(np.ldexp(W, k))
        assert scaled == (approx(math.ldexp(base, k), rel=1e-12) if is_threshold else base)


# ---------------------------------------------------------------------------------- values: approximation
@settings(max_examples=20 * SCALE, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(min_value=-480, max_value=480))
def test_theta_from_weights_is_scale_equivariant(seed, k):
    rng = np.random.default_rng(seed)
    N = 60
    W = rng.standard_normal((N, N)) / math.sqrt(N)
    W[0, 0] += 3.0
    base = approximation.theta_from_weights(W, 1 / N, 2.2)
    a = math.ldexp(1.0, k)
    got = approximation.theta_from_weights(W * a, (1 / N) * a * a, 2.2 * a)
    assert got == approx(base * a, rel=1e-11)


@settings(max_examples=25 * SCALE, deadline=None)
@given(st.integers(0, 2**32 - 1), shapes, st.floats(min_value=0, max_value=5))
def test_truncation_and_approximation_error_are_eckart_young(seed, shape, tau):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(shape)
    s = scipy.linalg.svdvals(W)
    t = approximation.truncate_below(W, tau)
    assert t.rank == int(np.count_nonzero(s >= tau))
    dropped = s[s < tau]
    assert t.largest_dropped == approx(dropped[0] if dropped.size else 0.0, rel=1e-12)
    err = approximation.approximation_error(W, W, tau)  # ||W' - W|| = largest dropped value
    assert err == approx(t.largest_dropped, rel=1e-10, abs=1e-12 * s[0])
    k = min(t.rank, min(shape))
    W1, W2 = lowrank.factorize(W, k)
    np.testing.assert_allclose(W2 @ W1, lowrank.truncate(W, k), atol=1e-12 * s[0])


# ---------------------------------------------------------------------------------- values: confidence
@settings(max_examples=40 * SCALE, deadline=None)
@given(st.integers(1, 20), st.integers(2, 6), st.integers(0, 2**32 - 1), st.floats(-300, 300))
def test_classification_confidence_by_brute_force(n, K, seed, lscale):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, K)) * 10.0**lscale
    y = rng.integers(0, K, n)
    d = confidence.classification_confidence(Z, y)
    ref = [Z[i, y[i]] - max(Z[i, j] for j in range(K) if j != y[i]) for i in range(n)]
    np.testing.assert_array_equal(d, ref)
    assert confidence.accuracy_from_confidence(d) == np.mean(np.array(ref) > 0)
    h = abs(float(np.median(d)))
    assert (
        confidence.good_set_accuracy_bound(d, h) <= confidence.accuracy_from_confidence(d) or h == 0
    )
