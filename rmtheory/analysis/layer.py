"""One tensor at a time: which tensors are weights, the settings they are analysed with, and
:func:`analyze_tensor`, the per-tensor analysis that :func:`~rmtheory.analysis.analyze` runs over
a model and :func:`rmtheory.calibration.calibrate` over its trial matrices."""

from __future__ import annotations

import fnmatch
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmtheory._validation import choice, probability
from rmtheory.analysis.records import LayerReport
from rmtheory.analysis.streaming import matrix_dims, spectrum_of, unscale
from rmtheory.bema import BEMA
from rmtheory.spectrum import spectral_convention
from rmtheory.thresholds import GavishDonohoRule
from rmtheory.weights_io import ArrayTensor, LazyWeights, TensorRef, open_weights

__all__ = [
    "EMBEDDING_PATTERNS",
    "AnalysisOptions",
    "analysis_options",
    "analyze_ref",
    "analyze_tensor",
    "prepare",
    "skipped_row",
    "tensor_refs",
]

#: Name patterns (case-insensitive ``fnmatch``) that ``skip_embeddings=True`` skips.
EMBEDDING_PATTERNS = ("*embed*", "*wte*", "*wpe*")

Weights = Mapping[str, Any] | str | os.PathLike | Any


@dataclass(frozen=True)
class AnalysisOptions:
    """The settings every tensor of one run is analysed with, checked once (:func:`analysis_options`).

    Attributes
    ----------
    patterns : tuple of (pattern, why)
        Name patterns to skip (case-insensitive ``fnmatch``) and the reason the table gives.
    alpha, beta : float
        BEMA's window and Tracy–Widom level.
    """

    patterns: tuple[tuple[str, str], ...]
    alpha: float
    beta: float


def analysis_options(
    skip_embeddings: bool = False,
    exclude: Iterable[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
) -> AnalysisOptions:
    """Check :func:`~rmtheory.analysis.analyze`'s per-tensor settings once; raise naming the bad one.

    >>> analysis_options(alpha=0.25, beta=0.1).beta
    0.1
    """
    if isinstance(exclude, str):
        raise TypeError(f"exclude must be a sequence of patterns, got the string {exclude!r}")
    pats = tuple((p, f"excluded by pattern {p!r}") for p in exclude)
    if skip_embeddings:
        pats += tuple((p, "embedding (skip_embeddings=True)") for p in EMBEDDING_PATTERNS)
    # Check alpha/beta once, up front, rather than failing on the first layer.
    alpha = probability(alpha, "alpha")
    if alpha >= 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    return AnalysisOptions(pats, alpha, probability(beta, "beta"))


def _shape_reason(shape: tuple[int, ...]) -> str:
    if len(shape) == 0:
        return "0-D (a scalar)"
    if len(shape) == 1:
        return "1-D (a bias or normalisation vector)"
    if len(shape) not in (2, 4):
        return f"{len(shape)}-D: only 2-D (dense) and 4-D (conv) weights are analysed"
    if math.prod(shape) == 0:
        return "empty"
    return ""


def _dtype_reason(ref: TensorRef) -> str:
    """Empty if the tensor reads as real floating point, else why it is not a weight."""
    if ref.unreadable:
        return ref.unreadable
    dt = ref.dtype
    if dt.kind == "f":
        return ""
    if dt.kind in "biu":
        return f"dtype {dt}: not a floating-point weight (a buffer or index)"
    if dt.kind == "c":
        return f"dtype {dt}: complex weights are not supported"
    try:  # extension floats NumPy lacks natively (ml_dtypes bfloat16, float8...)
        np.zeros(1, dtype=dt).astype(np.float64)
        return ""
    except (TypeError, ValueError):
        return f"dtype {dt}: cannot be read as floating point"


def prepare(ref: TensorRef, opts: AnalysisOptions) -> tuple[str, str]:
    """``(kind, "")`` for a weight to analyse, or ``("skipped", reason)``; reads no data."""
    for pattern, why in opts.patterns:
        if fnmatch.fnmatchcase(ref.name.lower(), pattern.lower()):
            return "skipped", why
    reason = _shape_reason(ref.shape) or _dtype_reason(ref)
    if reason:
        return "skipped", reason
    return ("dense" if ref.ndim == 2 else "conv"), ""


def tensor_refs(weights: Weights) -> list[TensorRef]:
    """The tensors of any accepted ``weights`` as lazy :class:`~rmtheory.weights_io.TensorRef` s."""
    if isinstance(weights, LazyWeights):
        refs = weights.refs()
    elif isinstance(weights, str | os.PathLike):
        refs = open_weights(weights).refs()
    else:
        if not isinstance(weights, Mapping):
            # A torch module (or anything like one), without importing torch.
            state_dict = getattr(weights, "state_dict", None)
            named = getattr(weights, "named_parameters", None)
            if callable(state_dict):
                weights = state_dict()
            elif callable(named):
                weights = dict(named())
        if not isinstance(weights, Mapping):
            raise TypeError(
                "weights must be a mapping name -> array, an object with state_dict() or "
                "named_parameters() (a torch module), or a path to a weights file, got "
                f"{type(weights).__name__}"
            )
        refs = []
        for name, value in weights.items():
            if not isinstance(name, str):
                raise TypeError(f"weights keys must be str layer names, got {name!r}")
            refs.append(ArrayTensor(name, value))
    if len(refs) == 0:
        raise ValueError("weights is empty: expected at least one tensor")
    return refs


def skipped_row(ref: TensorRef, kind: str, reason: str) -> LayerReport:
    return LayerReport(
        ref.name, tuple(ref.shape), kind, params=ref.size, params_mp=ref.size, reason=reason
    )


def analyze_ref(ref: TensorRef, opts: AnalysisOptions, method: str, keep: bool) -> LayerReport:
    """One row of :func:`~rmtheory.analysis.analyze`'s table from a tensor handle (reads its data)."""
    kind, reason = prepare(ref, opts)
    if reason:
        return skipped_row(ref, kind, reason)
    n, m = matrix_dims(ref)
    sp = spectrum_of(ref, method)
    conv = spectral_convention((n, m))
    q, e = conv.q, sp.e
    ev_scaled = sp.ev / q
    s_desc = np.sqrt(sp.ev[::-1])
    row: dict[str, Any] = dict(
        name=ref.name,
        shape=tuple(ref.shape),
        kind=kind,
        matrix_shape=conv.shape,
        gd_rank=_gd_rank(s_desc, conv.shape),
        max_singular_value=unscale(float(s_desc[0]), e, "largest singular value", ref.name),
        params=int(ref.size),
    )
    censored = None  # Gram route: BEMA's own count of numerical zeros
    if sp.route == "svd":
        # An SVD resolves singular values down to ~ q * eps * s_max: only those below are zeros
        # (BEMA's relative 1e-10 on eigenvalues would call the bulk under a huge spike "zero").
        tol = q * np.finfo(np.float64).eps * float(s_desc[0])
        censored = int(np.count_nonzero(s_desc <= tol))
    try:
        b = BEMA(opts.alpha, opts.beta).fit(ev_scaled, q=q, n_censored=censored)
    except ValueError as err:
        ev = None
        if keep:  # kept only where float64 can hold them (a layer with entries near 2**+-512)
            with np.errstate(over="ignore", under="ignore"):
                ev = np.ldexp(ev_scaled, 2 * e) if e else ev_scaled
            if not np.all(np.isfinite(ev)):
                ev = None
        return LayerReport(
            **row, eigenvalues=ev, params_mp=int(ref.size),
            reason=f"no MP fit: {_named(str(err), ref.name)}",
        )
    k = b.n_spikes_
    sigma2 = unscale(b.sigma2_, 2 * e, "noise level sigma^2", ref.name)
    lambda_plus = unscale(b.lambda_plus_, 2 * e, "edge lambda+", ref.name)
    if keep:
        unscale(float(ev_scaled[-1]), 2 * e, "largest eigenvalue", ref.name)
    return LayerReport(
        **row,
        sigma2=sigma2,
        lambda_plus=lambda_plus,
        mp_threshold=unscale(b.singular_value_threshold_, e, "threshold", ref.name),
        mp_rank=k,
        n_spikes=int(np.count_nonzero(ev_scaled > b.lambda_plus_mp_)),
        gof=b.gof_,
        params_mp=min(k * (n + m), n * m),
        eigenvalues=(np.ldexp(ev_scaled, 2 * e) if e else ev_scaled) if keep else None,
    )


def _gd_rank(s_desc: np.ndarray, shape: tuple[int, int]) -> int | None:
    """:class:`~rmtheory.thresholds.GavishDonohoRule` with unknown noise (the one rule compress
    uses too); None where the rule refuses (a mostly-zero spectrum has no median to scale)."""
    try:
        return GavishDonohoRule()(s_desc, shape).n_above
    except ValueError:
        return None


def _named(message: str, name: str) -> str:
    """BEMA speaks of "X" (its argument); the user named the tensor, so every "X" that stands
    alone as a word becomes that name ("X is all zeros", "eigenvalues of X", "edge of X")."""
    return re.sub(r"(?<![\w.(])X(?![\w(])", lambda _: name, message)


def analyze_tensor(
    tensor: Any,
    name: str = "weight",
    *,
    alpha: float = 0.25,
    beta: float = 0.1,
    method: str = "gram",
    keep_eigenvalues: bool = True,
    options: AnalysisOptions | None = None,
) -> LayerReport:
    r"""The report of one tensor, exactly as :func:`~rmtheory.analysis.analyze` computes its row.

    Parameters
    ----------
    tensor : array_like or TensorRef
        A 2-D weight ``(out, in)`` or a 4-D conv kernel (read as ``(out, in*kh*kw)``), any array
        library (:func:`rmtheory.weights_io.to_numpy`), or a handle from
        :func:`rmtheory.weights_io.open_weights` (read in blocks of rows).
    name : str
        The name the row (and any message) gives the tensor; a handle keeps its own.
    alpha, beta : float
        BEMA's window and Tracy–Widom level; ignored when ``options`` is given.
    method : {"gram", "svd"}
        As for :func:`~rmtheory.analysis.analyze`.
    keep_eigenvalues : bool
        Keep the eigenvalues :math:`s_i^2/q` in the row.
    options : AnalysisOptions, optional
        Settings already checked (:func:`analysis_options`), for loops over many tensors.

    Returns
    -------
    LayerReport
        With ``reason`` set when the tensor is not a weight or too small for BEMA.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(300, 500)) + 0.2 * np.outer(rng.normal(size=300), rng.normal(size=500))
    >>> row = analyze_tensor(W, "fc.weight")
    >>> row.name, row.mp_rank, row.params_mp
    ('fc.weight', 1, 800)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r}")
    choice(method, "method", ("gram", "svd"))
    opts = options if options is not None else analysis_options(False, (), alpha, beta)
    if not isinstance(opts, AnalysisOptions):
        raise TypeError(f"options must come from analysis_options(), got {type(opts).__name__}")
    ref = tensor if isinstance(tensor, TensorRef) else ArrayTensor(name, tensor)
    try:
        return analyze_ref(ref, opts, method, bool(keep_eigenvalues))
    finally:
        ref.release()
