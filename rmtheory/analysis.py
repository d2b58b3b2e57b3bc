r"""Per-layer random-matrix reports of any model's weights, and their MP-rank compression.

The paper's method "can be extended to any fully connected or convolutional layer of pre-trained
DNNs" (Berlyand, Sandier, Shmalo & Zhang, arXiv 2310.03165, §4).  :func:`analyze` takes a plain
mapping ``name -> array`` (NumPy, torch, JAX, CuPy... see :func:`rmtheory.weights_io.to_numpy`) or
a weights file, and for every dense (2-D) or convolutional (4-D, read as the matrix
``(out, in*kh*kw)``) weight :math:`W` of shape :math:`(n, m)` computes, from **one** values-only
eigendecomposition:

* the eigenvalues :math:`\lambda_i = s_i^2/q`, :math:`q=\max(n,m)` (:mod:`rmtheory.spectrum`);
* BEMA's noise level :math:`\hat\sigma^2` and edge
  :math:`\lambda_+ = \hat\sigma^2[(1+\sqrt\gamma)^2 + t_{1-\beta}\,q^{-2/3}\gamma^{-1/6}(1+\sqrt\gamma)^{4/3}]`
  (paper §9.1; :class:`rmtheory.bema.BEMA`), the **MP rank** :math:`\#\{\lambda_i>\lambda_+\}`, the
  number of **spikes** beyond the plain MP edge :math:`\hat\sigma^2(1+\sqrt\gamma)^2` (eq. 4-5),
  and the goodness of fit of the bulk (§9.4);
* the Gavish–Donoho rank :math:`\#\{s_i > \omega(\gamma)\,s_{\mathrm{med}}\}` (unknown noise level;
  Gavish & Donoho 2014);
* the parameter count now (:math:`nm`) and after truncating to the MP rank :math:`k`, stored as
  the two factors of Algorithm 1 step 5 when that is smaller:
  :math:`\min(k(n+m),\,nm)`.

Tensors that are not weight matrices (biases, norms, buffers, and embeddings or name patterns
when asked) are listed with the reason they were skipped, and a layer too small for BEMA is
listed with BEMA's message: nothing is dropped silently.  NaN/Inf weights raise ``ValueError``
naming the layer.

Checkpoints of any size are processed one tensor at a time: a path is opened lazily
(:func:`rmtheory.weights_io.open_weights`), each tensor's smaller Gram matrix is accumulated in
float64 from blocks of rows read straight from the file, and the tensor is released before the
next (``docs/large_models.md``).  ``jobs=N`` analyses N tensors in parallel and ``cache=DIR``
lets an interrupted run resume.

:func:`compress` applies a rank rule (MP or Gavish–Donoho) to every weight and returns (or writes,
tensor by tensor, with ``out=``) the factors ``W1`` (k x in), ``W2`` (out x k) with a JSON
manifest; :func:`decompress` recombines them and :func:`load_compressed` reads a written result
back.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import functools
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
from joblib import Parallel, delayed
from scipy.linalg.blas import dsyrk as _syrk
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from rmtheory._validation import probability
from rmtheory._version import __version__
from rmtheory.bema import BEMA
from rmtheory.lowrank import factorize, recombine, svd
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import spectral_convention
from rmtheory.thresholds import GavishDonohoRule, MPRule, gavish_donoho_omega
from rmtheory.weights_io import (
    LazyWeights,
    TensorRef,
    WeightsWriter,
    _ArrayTensor,
    load_weights,
    open_weights,
    save_weights,
    to_numpy,
)

__all__ = [
    "EMBEDDING_PATTERNS",
    "LayerReport",
    "LayerTable",
    "RankZeroWarning",
    "analyze",
    "CompressedWeights",
    "compress",
    "decompress",
    "load_compressed",
    "manifest_path_for",
]

#: Name patterns (case-insensitive ``fnmatch``) that ``skip_embeddings=True`` skips.
EMBEDDING_PATTERNS = ("*embed*", "*wte*", "*wpe*")

Weights = Mapping[str, Any] | str | os.PathLike | Any


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class LayerReport:
    """One row of :func:`analyze`'s table.

    Attributes
    ----------
    name : str
        The tensor's name in the weights mapping.
    shape : tuple of int
        Its original shape.
    kind : {"dense", "conv", "skipped"}
        ``"conv"`` tensors ``(out, in, kh, kw)`` are analysed as the matrix ``(out, in*kh*kw)``.
    matrix_shape : tuple of int or None
        The analysed matrix ``(n, m)``.
    sigma2 : float or None
        BEMA's noise variance :math:`\\hat\\sigma^2` (entry variance of the noise).
    lambda_plus : float or None
        BEMA's edge :math:`\\lambda_+` (MP edge plus the Tracy–Widom margin), eigenvalue scale
        :math:`s^2/q`.
    mp_threshold : float or None
        The same edge on the singular-value scale, :math:`\\sqrt{q\\lambda_+}`.
    mp_rank : int or None
        Eigenvalues above :math:`\\lambda_+`: the signal rank the paper keeps.
    n_spikes : int or None
        Eigenvalues above the plain MP edge :math:`\\hat\\sigma^2(1+\\sqrt\\gamma)^2`; at least
        ``mp_rank``, the difference lying within the Tracy–Widom fluctuation of the edge.
    gof : float or None
        MP goodness of fit of the bulk (:func:`rmtheory.bema.mp_goodness_of_fit`, 0 is perfect).
    gd_rank : int or None
        Gavish–Donoho rank (unknown noise level).
    max_singular_value : float or None
        :math:`s_1`, the spectral norm.
    params : int
        Entries of the tensor now.
    params_mp : int
        Entries after truncation to ``mp_rank``: ``min(k*(n+m), n*m)``; ``params`` when the layer
        was skipped or could not be fitted.
    reason : str
        Empty when the layer was fully analysed, else why not (skipped, too small for BEMA...).
    eigenvalues : numpy.ndarray or None
        The ascending eigenvalues :math:`s_i^2/q` (kept for plots; not exported).
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    matrix_shape: tuple[int, int] | None = None
    sigma2: float | None = None
    lambda_plus: float | None = None
    mp_threshold: float | None = None
    mp_rank: int | None = None
    n_spikes: int | None = None
    gof: float | None = None
    gd_rank: int | None = None
    max_singular_value: float | None = None
    params: int = 0
    params_mp: int = 0
    reason: str = ""
    eigenvalues: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def analysed(self) -> bool:
        """Whether the MP fit succeeded (``reason`` is empty)."""
        return not self.reason

    def to_record(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (shapes as lists; the eigenvalues are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "eigenvalues":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def law(self) -> MarchenkoPastur:
        """The fitted ``MarchenkoPastur(p/q, sigma2)``; raises ``ValueError`` if not analysed."""
        if not self.analysed or self.matrix_shape is None:
            raise ValueError(f"layer {self.name!r} has no MP fit: {self.reason}")
        return MarchenkoPastur(spectral_convention(self.matrix_shape).ratio, self.sigma2)


RECORD_FIELDS = tuple(f.name for f in fields(LayerReport) if f.name != "eigenvalues")

_TEXT_COLUMNS = (
    ("name", "name"),
    ("shape", "shape"),
    ("kind", "kind"),
    ("sigma2", "sigma2"),
    ("lambda_plus", "lambda+"),
    ("mp_rank", "MP rank"),
    ("n_spikes", "spikes"),
    ("gof", "GoF"),
    ("gd_rank", "GD rank"),
    ("max_singular_value", "s_max"),
    ("params", "params"),
    ("params_mp", "params MP"),
    ("reason", "note"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class LayerTable(list):
    """The list of :class:`LayerReport` rows returned by :func:`analyze`, with exports.

    ``str(table)`` is a fixed-width text table; :meth:`to_records`, :meth:`to_csv` and
    :meth:`to_json` export it without pandas (``pandas.DataFrame(table.to_records())`` if wanted).
    """

    @property
    def analysed(self) -> list[LayerReport]:
        """The rows with an MP fit."""
        return [r for r in self if r.analysed]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row (:meth:`LayerReport.to_record`)."""
        return [r.to_record() for r in self]

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 2) -> str:
        """The records as a JSON array (missing values are ``null``); written to ``path`` if given."""
        text = json.dumps(self.to_records(), indent=indent)
        if path is not None:
            _write_text(path, text + "\n")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The records as CSV (shapes written ``256x1024``, missing values empty)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in self:
            writer.writerow(
                {
                    k: "" if v is None else _cell(v) if isinstance(v, tuple) else v
                    for k, v in ((k, getattr(r, k)) for k in RECORD_FIELDS)
                }
            )
        text = buf.getvalue()
        if path is not None:
            _write_text(path, text)
        return text

    def summary(self) -> dict[str, Any]:
        """Totals: tensors seen / analysed, parameters now and after MP truncation."""
        params = sum(r.params for r in self)
        params_mp = sum(r.params_mp for r in self)
        return {
            "n_tensors": len(self),
            "n_analysed": len(self.analysed),
            "params": params,
            "params_mp": params_mp,
            "reduction": 1.0 - params_mp / params if params else 0.0,
        }

    def to_text(self) -> str:
        """Fixed-width table, one row per tensor, then a totals line."""
        rows = [[label for _, label in _TEXT_COLUMNS]]
        rows += [[_cell(getattr(r, key)) for key, _ in _TEXT_COLUMNS] for r in self]
        widths = [max(len(row[j]) for row in rows) for j in range(len(_TEXT_COLUMNS) - 1)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in rows
        ]
        s = self.summary()
        lines.append(
            f"{s['n_analysed']} of {s['n_tensors']} tensors analysed; parameters "
            f"{s['params']:,} -> {s['params_mp']:,} after MP truncation "
            f"({100 * s['reduction']:.1f}% fewer)"
        )
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.to_text()

    def plot(self, directory: str | os.PathLike, *, bins: int = 80) -> list[Path]:
        """Save, per analysed layer, its ESD with the fitted MP density, :math:`\\lambda_\\pm`
        marked and the spikes highlighted (:func:`rmtheory.plotting.plot_esd`), as
        ``<directory>/<layer name>.png``.  Returns the paths written."""
        import matplotlib.pyplot as plt

        from rmtheory.plotting import plot_esd

        out_dir = Path(directory)
        paths: list[Path] = []
        used: set[str] = set()
        for r in self.analysed:
            if r.eigenvalues is None:
                raise ValueError(
                    f"layer {r.name!r} kept no eigenvalues: call analyze(keep_eigenvalues=True)"
                )
            # Trained layers have spikes far beyond the bulk: cap the axis at 2 lambda+ so the
            # bulk and its fit stay readable, and name the spikes beyond it in a margin note.
            xmax = 2.0 * r.lambda_plus
            far = r.eigenvalues[r.eigenvalues > xmax]
            fig = plot_esd(
                r.eigenvalues,
                r.law(),
                threshold=r.lambda_plus,
                bins=bins,
                xmax=xmax if far.size else None,
                title=f"{r.name}  {_cell(r.shape)}: MP rank {r.mp_rank}",
            )
            if far.size:
                fig.axes[0].annotate(
                    f"{far.size} spike(s) beyond the axis, up to {far.max():.4g} \u2192",
                    xy=(0.98, 0.04),
                    xycoords="axes fraction",
                    ha="right",
                    color="tab:red",
                )
            path = out_dir / f"{_file_stem(r.name, used)}.png"
            out_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120)
            plt.close(fig)
            paths.append(path)
        return paths


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "layer"
    base, i = stem, 1
    while stem in used:
        i += 1
        stem = f"{base}_{i}"
    used.add(stem)
    return stem


def _write_text(path: str | os.PathLike, text: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------------ preparing a tensor
@dataclass(frozen=True)
class _Options:
    patterns: tuple[tuple[str, str], ...]  # (pattern, why)
    alpha: float
    beta: float


def _options(skip_embeddings: bool, exclude: Iterable[str], alpha: float, beta: float) -> _Options:
    if isinstance(exclude, str):
        raise TypeError(f"exclude must be a sequence of patterns, got the string {exclude!r}")
    pats = tuple((p, f"excluded by pattern {p!r}") for p in exclude)
    if skip_embeddings:
        pats += tuple((p, "embedding (skip_embeddings=True)") for p in EMBEDDING_PATTERNS)
    # Check alpha/beta once, up front, rather than failing on the first layer.
    alpha = probability(alpha, "alpha")
    if alpha >= 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    return _Options(pats, alpha, probability(beta, "beta"))


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


def _prepare(ref: TensorRef, opts: _Options) -> tuple[str, str]:
    """``(kind, "")`` for a weight to analyse, or ``("skipped", reason)``; reads no data."""
    for pattern, why in opts.patterns:
        if fnmatch.fnmatchcase(ref.name.lower(), pattern.lower()):
            return "skipped", why
    reason = _shape_reason(ref.shape) or _dtype_reason(ref)
    if reason:
        return "skipped", reason
    return ("dense" if ref.ndim == 2 else "conv"), ""


def _refs(weights: Weights) -> list[TensorRef]:
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
            refs.append(_ArrayTensor(name, value))
    if len(refs) == 0:
        raise ValueError("weights is empty: expected at least one tensor")
    return refs


# ------------------------------------------------------------------------------ one spectrum, streamed
#: Bytes of float64 rows converted at once when forming a Gram matrix.
_BLOCK_BYTES = 64 * 2**20
# Entries beyond 2**+-500 in magnitude: the Gram (squares summed) would overflow or lose precision
# to subnormals, so the matrix is scaled by a power of two first (exact) and the results unscaled.
_SCALE_LIMIT = 500
# Below this spread (median / largest eigenvalue of the Gram) the Gram route cannot resolve the
# bulk (its absolute error is ~p * eps * largest): the singular values come from an SVD instead.
_GRAM_SPREAD_LIMIT = 1e-7


def _dims(ref: TensorRef) -> tuple[int, int]:
    n = ref.shape[0]
    return n, ref.size // n


def _block_rows(n: int, m: int) -> int:
    """Rows per block: a deterministic function of the shape, so that the same matrix gives the
    same floating-point sums whether it comes from memory or from a file."""
    if n >= m:
        budget = _BLOCK_BYTES
    else:
        # Wide: pairs of row blocks; use the room a float64 copy of the tensor would take.
        budget = min(max(_BLOCK_BYTES, (8 * n * m - 8 * n * n) // 2), 4 * _BLOCK_BYTES)
    return max(1, min(n, budget // (8 * m)))


class _NonFinite(ValueError):
    pass


def _block(
    ref: TensorRef, start: int, stop: int, scale: float, out: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Rows ``start:stop`` as C-ordered float64 times ``scale``, and their largest magnitude.

    ``out`` (rows x m float64) is reused across blocks: converting into memory already mapped is
    several times faster than into a fresh allocation.  One pass each for the max and the min:
    they also tell NaN (which propagates) and +-Inf.
    """
    raw = ref.rows(start, stop)
    if raw.dtype == np.float64 and raw.flags.c_contiguous and scale == 1.0:
        R = raw  # already what BLAS needs: no copy
    elif out is not None:
        R = out[: stop - start]
        np.copyto(R, raw)
    else:
        R = np.array(raw, dtype=np.float64, order="C")
    del raw
    if scale != 1.0:
        R *= scale
    if R.size == 0:
        return R, 0.0
    top, bottom = float(R.max()), float(R.min())
    if not (math.isfinite(top) and math.isfinite(bottom)):
        raise _NonFinite
    return R, max(top, -bottom)


def _count_nonfinite(ref: TensorRef, n: int, m: int) -> int:
    b, bad = _block_rows(n, m), 0
    for i in range(0, n, b):
        R = ref.rows(i, min(n, i + b))
        bad += int(R.size - np.count_nonzero(np.isfinite(R)))
    return bad


def _raise_nonfinite(ref: TensorRef, n: int, m: int):
    bad = _count_nonfinite(ref, n, m)
    raise ValueError(
        f"weights[{ref.name!r}] contains {bad} NaN/Inf entries of {n * m}; the layer's weights "
        "must be finite (a diverged or corrupted checkpoint?)"
    ) from None


def _gram(ref: TensorRef, n: int, m: int, scale: float) -> tuple[np.ndarray, float]:
    """Lower triangle of the smaller Gram matrix of ``scale * M`` (Fortran order), and max |M|.

    Tall (``n >= m``): ``M^T M`` summed over row blocks in one pass.  Wide: ``M M^T`` block by
    block, ``G[J, I] = R_J R_I^T``, re-reading row blocks instead of holding the tensor.
    """
    b = _block_rows(n, m)
    amax = 0.0
    buf = np.empty((b, m))
    if n >= m:
        G = np.zeros((m, m), order="F")
        for i in range(0, n, b):
            R, top = _block(ref, i, min(n, i + b), scale, buf)
            amax = max(amax, top)
            # R is C-ordered (rows x m): R.T is Fortran-ordered, and syrk(R.T) = R^T R.
            G = _syrk(1.0, R.T, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        return G, amax / scale
    G = np.zeros((n, n), order="F")
    starts = list(range(0, n, b))
    buf2 = np.empty((b, m)) if len(starts) > 1 else None
    for bi, i in enumerate(starts):
        i1 = min(n, i + b)
        RI, top = _block(ref, i, i1, scale, buf)
        amax = max(amax, top)
        G[i:i1, i:i1] = _syrk(1.0, RI.T, trans=1, lower=1)  # RI RI^T, RI.T Fortran-ordered
        for j in starts[bi + 1 :]:
            j1 = min(n, j + b)
            G[j:j1, i:i1] = _block(ref, j, j1, scale, buf2)[0] @ RI.T
    return G, amax / scale


def _scale_exponent(amax: float) -> int:
    if amax == 0.0 or 2.0**-_SCALE_LIMIT <= amax <= 2.0**_SCALE_LIMIT:
        return 0
    return math.frexp(amax)[1]


def _lower_to_upper(G: np.ndarray, upper_to_lower: bool = False) -> None:
    """Copy one triangle of a square matrix onto the other, in blocks (no p x p temporaries)."""
    p, bs = G.shape[0], 512
    for i in range(0, p, bs):
        i1 = min(p, i + bs)
        D = G[i:i1, i:i1]
        if upper_to_lower:
            G[i1:, i:i1] = G[i:i1, i1:].T
            D[...] = np.triu(D) + np.triu(D, 1).T
        else:
            G[i:i1, i1:] = G[i1:, i:i1].T
            D[...] = np.tril(D) + np.tril(D, -1).T


@dataclass
class _Spectrum:
    """Eigenvalues of the smaller Gram matrix of ``2**-e * M``, ascending; ``G`` kept for compress."""

    ev: np.ndarray  # Gram eigenvalues of the scaled matrix (s**2 * 4**-e), ascending, >= 0
    e: int
    route: str  # "gram" or "svd"
    G: np.ndarray | None = None
    M: np.ndarray | None = None  # the scaled float64 matrix, when the SVD route needed it whole


def _full_matrix(ref: TensorRef, n: int, m: int, scale: float) -> np.ndarray:
    try:
        M = _block(ref, 0, n, scale)[0]
    except _NonFinite:
        _raise_nonfinite(ref, n, m)
    return M


def _spectrum(ref: TensorRef, method: str, *, keep_gram: bool = False) -> _Spectrum:
    n, m = _dims(ref)
    if method == "svd":
        M = _full_matrix(ref, n, m, 1.0)
        amax = float(np.abs(M).max())
        e = _scale_exponent(amax)
        if e:
            M *= 2.0**-e
        s = scipy.linalg.svdvals(M, check_finite=False)
        return _Spectrum((s * s)[::-1].copy(), e, "svd", M=M if keep_gram else None)
    try:
        G, amax = _gram(ref, n, m, 1.0)
        e = _scale_exponent(amax)
        if e:
            G, _ = _gram(ref, n, m, 2.0**-e)
    except _NonFinite:
        _raise_nonfinite(ref, n, m)
    if keep_gram:
        _lower_to_upper(G)
        diag = np.diag(G).copy()
    # LAPACK's syevd (values only) destroys the lower triangle and the diagonal, and leaves the
    # strict upper triangle as it was: compress restores G from it instead of recomputing it.
    ev = scipy.linalg.eigvalsh(G, lower=True, overwrite_a=True, check_finite=False, driver="evd")
    ev = np.clip(ev, 0.0, None)
    top = ev[-1] if ev.size else 0.0
    if top > 0 and ev[ev.size // 2] < _GRAM_SPREAD_LIMIT * top:
        # The bulk sits at the Gram's rounding level: take the values from an SVD (needs the
        # whole matrix in memory) so that a huge spike is not mistaken for a rank-deficient bulk.
        del G
        M = _full_matrix(ref, n, m, 2.0**-e)
        s = scipy.linalg.svdvals(M, check_finite=False)
        return _Spectrum((s * s)[::-1].copy(), e, "svd", M=M if keep_gram else None)
    if keep_gram:
        _lower_to_upper(G, upper_to_lower=True)
        G[np.diag_indices_from(G)] = diag
        return _Spectrum(ev, e, "gram", G=G)
    return _Spectrum(ev, e, "gram")


def _unscale(value: float, power: int, what: str, name: str) -> float:
    try:
        out = math.ldexp(value, power) if power else value
    except OverflowError:
        out = math.inf
    if power and (not math.isfinite(out) or (value > 0 and out < 1e-290)):
        raise ValueError(
            f"weights[{name!r}]: the layer's {what} ({value:g} * 2**{power}) lies outside float64's "
            "range: its entries are too large or too small to analyse; rescale the weights"
        )
    return out


# ------------------------------------------------------------------------------ analyze
@functools.lru_cache(maxsize=512)
def _gd_omega(ratio: float) -> float:
    # Layers share shapes, and omega needs an MP median (a root solve): compute it once per ratio.
    return gavish_donoho_omega(ratio)


def _gd_rank(s_desc: np.ndarray, ratio: float) -> int:
    """:class:`~rmtheory.thresholds.GavishDonohoRule` with unknown noise, ``omega`` cached."""
    tau = _gd_omega(ratio) * float(np.median(s_desc))
    return int(np.count_nonzero(s_desc > tau))


def _skipped_row(ref: TensorRef, kind: str, reason: str) -> LayerReport:
    return LayerReport(
        ref.name, tuple(ref.shape), kind, params=ref.size, params_mp=ref.size, reason=reason
    )


def _analyze_ref(ref: TensorRef, opts: _Options, method: str, keep: bool) -> LayerReport:
    kind, reason = _prepare(ref, opts)
    if reason:
        return _skipped_row(ref, kind, reason)
    n, m = _dims(ref)
    sp = _spectrum(ref, method)
    conv = spectral_convention((n, m))
    q, e = conv.q, sp.e
    ev_scaled = sp.ev / q
    s_desc = np.sqrt(sp.ev[::-1])
    row: dict[str, Any] = dict(
        name=ref.name,
        shape=tuple(ref.shape),
        kind=kind,
        matrix_shape=conv.shape,
        gd_rank=_gd_rank(s_desc, conv.ratio),
        max_singular_value=_unscale(float(s_desc[0]), e, "largest singular value", ref.name),
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
        ev = ev_scaled * 2.0 ** (2 * e) if keep else None
        return LayerReport(
            **row, eigenvalues=ev, params_mp=int(ref.size), reason=f"no MP fit: {err}"
        )
    k = b.n_spikes_
    sigma2 = _unscale(b.sigma2_, 2 * e, "noise level sigma^2", ref.name)
    lambda_plus = _unscale(b.lambda_plus_, 2 * e, "edge lambda+", ref.name)
    if keep:
        _unscale(float(ev_scaled[-1]), 2 * e, "largest eigenvalue", ref.name)
    return LayerReport(
        **row,
        sigma2=sigma2,
        lambda_plus=lambda_plus,
        mp_threshold=_unscale(b.singular_value_threshold_, e, "threshold", ref.name),
        mp_rank=k,
        n_spikes=int(np.count_nonzero(ev_scaled > b.lambda_plus_mp_)),
        gof=b.gof_,
        params_mp=min(k * (n + m), n * m),
        eigenvalues=(np.ldexp(ev_scaled, 2 * e) if e else ev_scaled) if keep else None,
    )


def _analyze_task(ref: TensorRef, opts: _Options, method: str, keep: bool, one_thread: bool):
    try:
        if one_thread:
            with threadpool_limits(1):
                return _analyze_ref(ref, opts, method, keep)
        return _analyze_ref(ref, opts, method, keep)
    finally:
        ref.release()


# Per-tensor result cache: one JSON file per analysed tensor, keyed by the tensor's file identity
# (path, size, mtime, name, dtype, shape, offset) and the options.
_CACHE_VERSION = 1


def _cache_key(ref: TensorRef, opts: _Options, method: str) -> str | None:
    fp = ref.fingerprint()
    if fp is None:
        return None
    payload = json.dumps([_CACHE_VERSION, __version__, fp, opts.alpha, opts.beta, method])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _cache_read(path: Path, keep: bool) -> LayerReport | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rec = data["record"]
        rec["shape"] = tuple(rec["shape"])
        if rec["matrix_shape"] is not None:
            rec["matrix_shape"] = tuple(rec["matrix_shape"])
        ev = np.asarray(data["eigenvalues"], dtype=np.float64) if keep else None
        return LayerReport(**rec, eigenvalues=ev)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: recompute


def _cache_write(path: Path, row: LayerReport) -> None:
    ev = None if row.eigenvalues is None else [float(x) for x in row.eigenvalues]
    _write_text_atomic(path, json.dumps({"record": row.to_record(), "eigenvalues": ev}))


def analyze(
    weights: Weights,
    *,
    skip_embeddings: bool = False,
    exclude: Sequence[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
    method: str = "gram",
    keep_eigenvalues: bool = True,
    jobs: int = 1,
    progress: bool = False,
    cache: str | os.PathLike | None = None,
) -> LayerTable:
    r"""Random-matrix report of every weight of a model: BEMA fit, MP and Gavish–Donoho ranks.

    For each 2-D weight (and each 4-D conv kernel, as ``(out, in*kh*kw)``) one values-only
    eigendecomposition gives the eigenvalues :math:`s_i^2/q`; BEMA (paper §9.1, Ke, Ma & Lin
    2021) fits :math:`\hat\sigma^2` and :math:`\lambda_+` to the bulk, the MP rank counts the
    eigenvalues above :math:`\lambda_+`, and truncating to it leaves
    :math:`\min(k(n+m), nm)` parameters (Algorithm 1 steps 3-5 with every sub-threshold value
    dropped).  See the module docstring for every column.

    Tensors are processed one at a time: a path is opened lazily
    (:func:`rmtheory.weights_io.open_weights`) and each tensor is read, widened (bfloat16 to
    float32) and released before the next; the Gram matrix is accumulated in float64 from blocks
    of rows, so the peak memory is about the smaller Gram matrix plus a 64 MB block, never the
    whole checkpoint (``docs/large_models.md``).

    Parameters
    ----------
    weights : mapping, module or path
        ``{name: array}`` with NumPy arrays or tensors of any DLPack / ``__array__`` library
        (torch, JAX, CuPy; GPU tensors are copied to the host one at a time); any object with
        ``state_dict()`` or ``named_parameters()`` (a torch module; torch is not imported); or a
        file / folder of shards (read lazily), or :func:`~rmtheory.weights_io.open_weights`'s
        result.
    skip_embeddings : bool
        Skip 2-D tensors whose name matches :data:`EMBEDDING_PATTERNS` (an embedding table is a
        lookup, not a linear map; its spectrum is often not MP-like).
    exclude : sequence of str
        More name patterns to skip (case-insensitive ``fnmatch``, e.g. ``"*.lm_head.*"``).
    alpha, beta : float
        BEMA's window and Tracy–Widom level (:class:`rmtheory.bema.BEMA`).
    method : {"gram", "svd"}
        ``"gram"``: eigenvalues of the smaller Gram matrix, accumulated in float64 from row
        blocks (falls back to an SVD when the spectrum spans more than the Gram can resolve);
        ``"svd"``: LAPACK ``gesdd`` values of the whole matrix.
    keep_eigenvalues : bool
        Keep each layer's eigenvalues in the report (needed by :meth:`LayerTable.plot`).
    jobs : int
        Tensors analysed in parallel (joblib processes, one BLAS thread each); memory grows with
        it (one tensor's working set per process).
    progress : bool
        Show a progress bar (tqdm, on stderr) that advances per tensor.
    cache : path, optional
        A folder of per-tensor results: a rerun (after an interruption) reads the tensors already
        done from it instead of recomputing them.  Needs ``weights`` as a path.

    Returns
    -------
    LayerTable
        One :class:`LayerReport` per tensor, in file (or mapping) order; skipped tensors and layers
        too small for BEMA carry a ``reason``.

    Raises
    ------
    ValueError
        If a weight contains NaN/Inf (the message names the layer), ``weights`` is empty, a file
        is corrupt (the message names it), or a parameter is invalid.
    TypeError
        If ``weights`` is not a mapping, module or path, or a value cannot be converted to an array.

    Notes
    -----
    Compared with WeightWatcher (Martin & Mahoney): a plain dict of arrays needs no PyTorch;
    the MP law is fitted by BEMA's quantile regression on the bulk with a Tracy–Widom edge, not a
    kernel-density heuristic; problems raise exceptions instead of being logged.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.normal(size=300), rng.normal(size=500)
    >>> W = rng.normal(size=(300, 500)) + 0.2 * np.outer(u, v)   # noise + one strong spike
    >>> table = analyze({"fc.weight": W, "fc.bias": np.zeros(300)})
    >>> row = table[0]
    >>> row.mp_rank, row.gd_rank, round(row.sigma2, 1), row.params, row.params_mp
    (1, 1, 1.0, 150000, 800)
    >>> table[1].reason
    '1-D (a bias or normalisation vector)'
    """
    opts = _options(skip_embeddings, exclude, alpha, beta)
    if method not in ("gram", "svd"):
        raise ValueError(f"method must be 'gram' or 'svd', got {method!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    refs = _refs(weights)
    cache_dir = None
    if cache is not None:
        if isinstance(weights, Mapping) and not isinstance(weights, LazyWeights):
            raise ValueError("cache: a result cache needs weights given as a path (a file)")
        cache_dir = Path(cache)
        cache_dir.mkdir(parents=True, exist_ok=True)

    results: list[LayerReport | None] = [None] * len(refs)
    todo: list[tuple[int, str | None]] = []
    for i, ref in enumerate(refs):
        kind, reason = _prepare(ref, opts)
        if reason:
            results[i] = _skipped_row(ref, kind, reason)
            continue
        key = _cache_key(ref, opts, method) if cache_dir is not None else None
        if key is not None:
            hit = _cache_read(cache_dir / f"{key}.json", keep_eigenvalues)
            if hit is not None:
                results[i] = hit
                continue
        todo.append((i, key))

    bar = tqdm(
        total=len(refs), initial=len(refs) - len(todo), unit="tensor", desc="analyze",
        disable=not progress, file=sys.stderr,
    )  # fmt: skip
    try:
        if jobs == 1 or len(todo) <= 1:
            tasks = (_analyze_task(refs[i], opts, method, keep_eigenvalues, False) for i, _ in todo)
        else:
            tasks = Parallel(n_jobs=int(jobs), return_as="generator")(
                delayed(_analyze_task)(refs[i], opts, method, keep_eigenvalues, True)
                for i, _ in todo
            )
        for (i, key), row in zip(todo, tasks, strict=True):
            bar.set_postfix_str(refs[i].name, refresh=False)
            if key is not None:
                _cache_write(cache_dir / f"{key}.json", row)
            results[i] = row
            bar.update(1)
    finally:
        bar.close()
    return LayerTable(results)


# ------------------------------------------------------------------------------ compress
_RULES = ("mp", "gavish-donoho")


class RankZeroWarning(UserWarning):
    """:func:`compress` cut a layer to rank 0: stored as all-zero factors (the layer outputs 0)."""


@dataclass(frozen=True)
class CompressedWeights:
    """Result of :func:`compress`: the arrays to write and the manifest describing them.

    Attributes
    ----------
    arrays : dict of str to numpy.ndarray
        ``<name>.W1`` / ``<name>.W2`` for factorised layers, the original tensor for the rest;
        empty when :func:`compress` wrote them straight to a file (``out=``).
    manifest : dict
        JSON-ready: ``format``, ``threshold``, totals and one entry per tensor with ``name``,
        ``shape``, ``kind``, ``stored`` (``"factorized"``, ``"dense"`` or ``"copied"``), ``rank``,
        ``keys``, factor shapes, ``kernel_shape`` for conv layers, ``reason``, and ``warning`` for
        a layer cut to rank 0.
    path, manifest_path : pathlib.Path or None
        Where :func:`compress` wrote them (``out=``), else ``None``.
    """

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any]
    path: Path | None = None
    manifest_path: Path | None = None

    @property
    def params_before(self) -> int:
        """Entries of all input tensors."""
        return int(self.manifest["params_before"])

    @property
    def params_after(self) -> int:
        """Entries of all stored arrays."""
        return int(self.manifest["params_after"])

    @property
    def reduction(self) -> float:
        """Fraction of parameters removed, ``1 - after / before``."""
        return 1.0 - self.params_after / self.params_before if self.params_before else 0.0

    @property
    def warnings(self) -> list[str]:
        """The manifest's per-layer warnings (layers cut to rank 0)."""
        return [e["warning"] for e in self.manifest["layers"] if e.get("warning")]

    def save(
        self, path: str | os.PathLike, manifest_path: str | os.PathLike | None = None
    ) -> tuple[Path, Path]:
        """Write the arrays (``.npz`` or ``.safetensors``, atomically) and the manifest JSON
        (default :func:`manifest_path_for`); returns both paths."""
        if self.path is not None and not self.arrays:
            raise ValueError(f"already written to {self.path} by compress(out=...)")
        out = save_weights(path, self.arrays, metadata={"format": "rmtheory-compressed"})
        mpath = Path(manifest_path) if manifest_path is not None else manifest_path_for(out)
        manifest = dict(self.manifest, file=out.name)
        _write_text_atomic(mpath, json.dumps(manifest, indent=2) + "\n")
        return out, mpath


def manifest_path_for(path: str | os.PathLike) -> Path:
    """Default manifest beside a compressed file: ``model.npz`` -> ``model.npz.manifest.json``.

    The suffix stays in the name, so ``model.npz`` and ``model.safetensors`` have a manifest each.
    """
    p = Path(path)
    return p.with_name(p.name + ".manifest.json")


def _rank(rule: str, s: np.ndarray, shape: tuple[int, int], opts: _Options) -> int:
    if rule == "mp":
        return MPRule(opts.alpha, opts.beta)(s, shape).n_above
    return GavishDonohoRule()(s, shape).n_above


def _row_chunks(ref: TensorRef) -> Iterable[np.ndarray]:
    n, m = _dims(ref) if ref.ndim else (1, 1)
    b = max(1, _BLOCK_BYTES // max(1, m * ref.dtype.itemsize))
    for i in range(0, n, b):
        yield ref.rows(i, min(n, i + b))


class _Sink:
    """Where compress puts its arrays; refuses an output key that would collide with another
    output or with another input tensor's name."""

    def __init__(self, names: set[str]):
        self.names = names
        self.keys: set[str] = set()

    def claim(self, key: str, owner: str) -> None:
        if key in self.keys or (key != owner and key in self.names):
            raise ValueError(f"weights: output key {key!r} collides with an input tensor name")
        self.keys.add(key)


class _MemorySink(_Sink):
    def __init__(self, names: set[str]):
        super().__init__(names)
        self.arrays: dict[str, np.ndarray] = {}

    def copy(self, name: str, ref: TensorRef) -> None:
        self.claim(name, name)
        self.arrays[name] = ref.read()

    def add(self, key: str, array: np.ndarray, owner: str) -> None:
        self.claim(key, owner)
        self.arrays[key] = array


class _WriterSink(_Sink):
    def __init__(self, writer: WeightsWriter, names: set[str]):
        super().__init__(names)
        self.writer = writer

    def copy(self, name: str, ref: TensorRef) -> None:
        self.claim(name, name)
        self.writer.add_rows(name, ref.shape, ref.dtype, _row_chunks(ref))

    def add(self, key: str, array: np.ndarray, owner: str) -> None:
        self.claim(key, owner)
        self.writer.add(key, array)


def _factors_from_gram(ref: TensorRef, sp: _Spectrum, k: int, n: int, m: int):
    """``W1`` (k x m), ``W2`` (n x k) with ``W2 @ W1`` the projection of M on its top-k singular
    subspace, from the top-k eigenvectors of the Gram matrix and one more pass over the rows."""
    p = min(n, m)
    _, Z = scipy.linalg.eigh(
        sp.G, lower=True, subset_by_index=[p - k, p - 1], driver="evr",
        overwrite_a=True, check_finite=False,
    )  # fmt: skip
    sp.G = None
    Z = np.ascontiguousarray(Z[:, ::-1])  # descending
    scale = 2.0**-sp.e
    b = _block_rows(n, m)
    if n < m:  # Z = U_k: C = U_k^T M (k x m), norms of its rows = s_i
        C = np.zeros((k, m))
        for i in range(0, n, b):
            i1 = min(n, i + b)
            C += Z[i:i1].T @ _block(ref, i, i1, scale)[0]
        r = np.linalg.norm(C, axis=1)
        root = np.sqrt(r)
        inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
        W1, W2 = C * inv[:, None], Z * root
    else:  # Z = V_k: B = M V_k (n x k), norms of its columns = s_i
        B = np.empty((n, k))
        for i in range(0, n, b):
            i1 = min(n, i + b)
            B[i:i1] = _block(ref, i, i1, scale)[0] @ Z
        r = np.linalg.norm(B, axis=0)
        root = np.sqrt(r)
        inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
        W1, W2 = Z.T * root[:, None], B * inv
    if sp.e:  # undo the power-of-two scaling (exactly), half on each factor
        W1 = np.ldexp(W1, sp.e // 2)
        W2 = np.ldexp(W2, sp.e - sp.e // 2)
    return W1, W2


def _compress_ref(
    ref: TensorRef, kind: str, rule: str, min_rank: int, opts: _Options, sink
) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """Compress one weight into ``sink``; return its manifest entry and ``{key: shape}`` stored."""
    name = ref.name
    n, m = _dims(ref)
    entry: dict[str, Any] = {"name": name, "shape": list(ref.shape), "kind": kind}
    if kind == "conv":
        entry["kernel_shape"] = list(ref.shape)
    sp = _spectrum(ref, "gram", keep_gram=True)
    s = np.sqrt(sp.ev[::-1])  # scaled singular values: the rank rules are scale-invariant
    try:
        k = _rank(rule, s, (n, m), opts)
    except ValueError as err:
        entry.update(stored="dense", rank=None, keys=[name], reason=f"no rank: {err}")
        sink.copy(name, ref)
        return entry, {name: tuple(ref.shape)}
    k = min(max(k, min_rank), min(n, m))
    entry["rank"] = k
    if k * (n + m) >= n * m:
        entry.update(
            stored="dense",
            keys=[name],
            reason=f"rank {k}: k*(n+m) = {k * (n + m)} >= n*m = {n * m}, kept unchanged",
        )
        sink.copy(name, ref)
        return entry, {name: tuple(ref.shape)}
    dtype = ref.dtype if ref.dtype.kind == "f" else np.dtype(np.float32)
    if k == 0:
        W1, W2 = np.zeros((0, m)), np.zeros((n, 0))
        msg = (
            f"layer {name!r}: the {rule} threshold keeps no direction (rank 0), so it is stored as "
            "all-zero factors and the layer will output zeros (plus its bias); pass min_rank "
            "(--min-rank) to keep some, or exclude the layer"
        )
        entry["warning"] = msg
        warnings.warn(msg, RankZeroWarning, stacklevel=3)
    elif sp.route == "svd":
        W1, W2 = factorize(sp.M, k, decomposition=svd(sp.M))
        if sp.e:
            W1, W2 = np.ldexp(W1, sp.e // 2), np.ldexp(W2, sp.e - sp.e // 2)
    else:
        W1, W2 = _factors_from_gram(ref, sp, k, n, m)
    W1, W2 = W1.astype(dtype), W2.astype(dtype)
    if kind == "conv":
        W1, W2 = W1.reshape(k, *ref.shape[1:]), W2.reshape(n, k, 1, 1)
    keys = [f"{name}.W1", f"{name}.W2"]
    entry.update(
        stored="factorized",
        keys=keys,
        W1_shape=list(W1.shape),
        W2_shape=list(W2.shape),
        reason="",
    )
    for key in keys:  # both checked before either is written
        sink.claim(key, name)
        sink.keys.discard(key)
    for key, arr in zip(keys, (W1, W2), strict=True):
        sink.add(key, arr, name)
    return entry, {keys[0]: W1.shape, keys[1]: W2.shape}


def compress(
    weights: Weights,
    *,
    threshold: str = "mp",
    min_rank: int = 0,
    skip_embeddings: bool = False,
    exclude: Sequence[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
    out: str | os.PathLike | None = None,
    manifest_path: str | os.PathLike | None = None,
    progress: bool = False,
) -> CompressedWeights:
    r"""Factorise every weight at its MP (or Gavish–Donoho) rank: Algorithm 1's split, once.

    With the SVD :math:`W = U\,\mathrm{diag}(s)\,V^\top` of a weight (conv kernels as
    ``(out, in*kh*kw)``) and the rank :math:`k` from the rule,
    :math:`W_1=\mathrm{diag}(\sqrt{s_{1:k}})V_{:,1:k}^\top` (``k x in``) and
    :math:`W_2=U_{:,1:k}\mathrm{diag}(\sqrt{s_{1:k}})` (``out x k``), so :math:`W_2W_1` is the best
    rank-:math:`k` approximation (Eckart–Young).  The singular values and the top-:math:`k`
    singular vectors come from the smaller Gram matrix (accumulated from row blocks, as in
    :func:`analyze`) and one more pass over the rows, so one tensor's working set is about the
    Gram matrix, never the tensor in float64 plus its SVD.  A conv kernel's ``W1`` is
    stored as a ``(k, in, kh, kw)`` kernel and ``W2`` as a ``(out, k, 1, 1)`` 1x1 convolution.
    A layer is factorised only when :math:`k(n+m) < nm` (Algorithm 1 step 4); otherwise, and for
    layers too small for the rule, it is stored unchanged; skipped tensors are copied.

    Parameters
    ----------
    weights : mapping, module or path
        As for :func:`analyze`.
    threshold : {"mp", "gavish-donoho"}
        The rank rule: BEMA's :math:`\lambda_+` (:class:`rmtheory.thresholds.MPRule`) or the
        Gavish–Donoho threshold with unknown noise (:class:`rmtheory.thresholds.GavishDonohoRule`).
    min_rank : int
        Keep at least this many singular values per layer (e.g. the number of classes for an
        output layer).  By default a pure-noise layer gets rank 0 -- all-zero factors -- with a
        :class:`RankZeroWarning` and a ``warning`` in its manifest entry.
    skip_embeddings, exclude, alpha, beta
        As for :func:`analyze`.
    out : path, optional
        Write the result here (``.npz`` or ``.safetensors``) tensor by tensor as it is computed,
        atomically, with the manifest beside it (``manifest_path``, default
        :func:`manifest_path_for`); ``.arrays`` is then empty.  Without it the arrays are
        returned in memory.
    manifest_path : path, optional
        With ``out``: where the manifest goes.
    progress : bool
        Show a progress bar (tqdm, on stderr) advancing per tensor.

    Returns
    -------
    CompressedWeights
        ``.arrays``, ``.manifest``, ``.reduction``; ``.save(path)`` writes both.  Read a saved
        result back with :func:`load_compressed`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(300, 500)) + 0.2 * np.outer(rng.normal(size=300), rng.normal(size=500))
    >>> c = compress({"fc.weight": W})
    >>> sorted(c.arrays), c.manifest["layers"][0]["rank"], c.params_after
    (['fc.weight.W1', 'fc.weight.W2'], 1, 800)
    """
    if threshold not in _RULES:
        raise ValueError(f"threshold must be one of {_RULES}, got {threshold!r}")
    if isinstance(min_rank, bool) or not isinstance(min_rank, int | np.integer) or min_rank < 0:
        raise ValueError(f"min_rank must be an integer >= 0, got {min_rank!r}")
    opts = _options(skip_embeddings, exclude, alpha, beta)
    refs = _refs(weights)
    names = {r.name for r in refs}
    writer = (
        WeightsWriter(out, metadata={"format": "rmtheory-compressed"}) if out is not None else None
    )
    sink = _WriterSink(writer, names) if writer is not None else _MemorySink(names)
    layers: list[dict[str, Any]] = []
    bar = tqdm(
        total=len(refs), unit="tensor", desc="compress", disable=not progress, file=sys.stderr
    )
    try:
        for ref in refs:
            bar.set_postfix_str(ref.name, refresh=False)
            try:
                kind, reason = _prepare(ref, opts)
                if reason:
                    if ref.unreadable:
                        raise ValueError(
                            f"weights[{ref.name!r}]: {ref.unreadable}, so it cannot be copied to "
                            "the output; exclude it"
                        )
                    stored = {ref.name: tuple(ref.shape)}
                    sink.copy(ref.name, ref)
                    entry = {
                        "name": ref.name,
                        "shape": list(ref.shape),
                        "kind": kind,
                        "stored": "copied",
                    }
                    entry.update(rank=None, keys=[ref.name], reason=reason)
                else:
                    entry, stored = _compress_ref(ref, kind, threshold, int(min_rank), opts, sink)
            finally:
                ref.release()
            entry["params"] = int(ref.size)
            entry["params_after"] = int(sum(math.prod(s) for s in stored.values()))
            layers.append(entry)
            bar.update(1)
        manifest = {
            "format": "rmtheory-compressed",
            "version": 1,
            "threshold": threshold,
            "alpha": alpha,
            "beta": beta,
            "min_rank": int(min_rank),
            "params_before": sum(e["params"] for e in layers),
            "params_after": sum(e["params_after"] for e in layers),
            "layers": layers,
        }
        if writer is None:
            return CompressedWeights(sink.arrays, manifest)
        path = writer.close()
        manifest["file"] = path.name
        mpath = Path(manifest_path) if manifest_path is not None else manifest_path_for(path)
        _write_text_atomic(mpath, json.dumps(manifest, indent=2) + "\n")
        return CompressedWeights({}, manifest, path, mpath)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()


def decompress(arrays: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Dense weights from :func:`compress`'s output: ``W2 @ W1`` reshaped to each layer's shape.

    Factorised layers come back as their rank-``k`` truncations (Eckart–Young); the others as
    stored.

    Raises
    ------
    ValueError
        If the manifest is not an rmtheory manifest or names an array that is missing.
    """
    if manifest.get("format") != "rmtheory-compressed":
        raise ValueError("manifest: not an rmtheory-compressed manifest (missing 'format')")
    out: dict[str, np.ndarray] = {}
    for e in manifest["layers"]:
        missing = [k for k in e["keys"] if k not in arrays]
        if missing:
            raise ValueError(f"arrays: layer {e['name']!r} needs {missing}, which are missing")
        if e["stored"] != "factorized":
            out[e["name"]] = to_numpy(arrays[e["name"]], e["name"])
            continue
        W1, W2 = (to_numpy(arrays[k], k) for k in e["keys"])
        shape = tuple(e["shape"])
        if e["kind"] == "conv":
            # explicit sizes: a rank-0 factor has no entries to infer a -1 from
            W1 = W1.reshape(W1.shape[0], int(np.prod(shape[1:])))
            W2 = W2.reshape(shape[0], W1.shape[0])
        out[e["name"]] = recombine(W1, W2).reshape(shape)
    return out


def load_compressed(
    path: str | os.PathLike, manifest_path: str | os.PathLike | None = None
) -> dict[str, np.ndarray]:
    """Read a file written by :func:`compress` (``out=``) or :meth:`CompressedWeights.save` and
    :func:`decompress` it: the dense, rank-truncated weights, ``{name: array}``.

    The manifest is looked for at :func:`manifest_path_for` (``model.npz.manifest.json``), then
    at the name older versions used (``model.manifest.json``) when that one describes this file.

    Raises
    ------
    FileNotFoundError
        If there is no manifest for ``path``.
    ValueError
        If the manifest describes another file, or the arrays do not match it.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(300, 500)) + 0.2 * np.outer(rng.normal(size=300), rng.normal(size=500))
    >>> out = os.path.join(tempfile.mkdtemp(), "small.npz")
    >>> _ = compress({"fc": W}, out=out)
    >>> dense = load_compressed(out)
    >>> dense["fc"].shape, int(np.linalg.matrix_rank(dense["fc"]))
    ((300, 500), 1)
    """
    p = Path(path)
    if manifest_path is not None:
        mpath = Path(manifest_path)
    else:
        mpath = manifest_path_for(p)
        legacy = p.with_name(p.stem + ".manifest.json")
        if not mpath.exists() and legacy.exists():
            mpath = legacy
    if not mpath.exists():
        raise FileNotFoundError(f"manifest_path: no manifest at {str(mpath)!r}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"manifest_path: {mpath} is not JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"manifest_path: {mpath} is not an rmtheory manifest")
    described = manifest.get("file")
    if described is not None and described != p.name:
        raise ValueError(
            f"manifest_path: {mpath} describes {described!r}, not {p.name!r}; pass the manifest "
            "written with this file"
        )
    return decompress(load_weights(p), manifest)
