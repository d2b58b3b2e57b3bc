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

:func:`compress` applies a rank rule (MP or Gavish–Donoho) to every weight and returns the
factors ``W1`` (k x in), ``W2`` (out x k) with a JSON manifest; :func:`decompress` recombines them.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory._validation import probability
from rmtheory.bema import BEMA
from rmtheory.lowrank import conv_to_matrix, factorize, matrix_to_conv, recombine, svd
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import singular_values, spectral_convention
from rmtheory.thresholds import GavishDonohoRule, MPRule, gavish_donoho_omega
from rmtheory.weights_io import load_weights, save_weights, to_numpy

__all__ = [
    "EMBEDDING_PATTERNS",
    "LayerReport",
    "LayerTable",
    "analyze",
    "CompressedWeights",
    "compress",
    "decompress",
    "load_compressed",
    "manifest_path_for",
]

#: Name patterns (case-insensitive ``fnmatch``) that ``skip_embeddings=True`` skips.
EMBEDDING_PATTERNS = ("*embed*", "*wte*", "*wpe*")

Weights = Mapping[str, Any] | str | os.PathLike


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


def _shape_reason(A: np.ndarray) -> str:
    if A.ndim == 0:
        return "0-D (a scalar)"
    if A.ndim == 1:
        return "1-D (a bias or normalisation vector)"
    if A.ndim not in (2, 4):
        return f"{A.ndim}-D: only 2-D (dense) and 4-D (conv) weights are analysed"
    if A.size == 0:
        return "empty"
    return ""


def _as_float(A: np.ndarray) -> np.ndarray | str:
    """``A`` as a real floating array, or the reason it is not a weight."""
    if A.dtype.kind == "f":
        return A
    if A.dtype.kind in "biu":
        return f"dtype {A.dtype}: not a floating-point weight (a buffer or index)"
    if A.dtype.kind == "c":
        return f"dtype {A.dtype}: complex weights are not supported"
    try:  # extension floats NumPy lacks natively (ml_dtypes bfloat16, float8...)
        return A.astype(np.float32)
    except (TypeError, ValueError):
        return f"dtype {A.dtype}: cannot be read as floating point"


def _prepare(name: str, value: Any, opts: _Options) -> tuple[np.ndarray, str, np.ndarray | str]:
    """Return ``(array, kind, matrix)`` or ``(array, "skipped", reason)``."""
    if not isinstance(name, str):
        raise TypeError(f"weights keys must be str layer names, got {name!r}")
    A = to_numpy(value, f"weights[{name!r}]")
    for pattern, why in opts.patterns:
        if fnmatch.fnmatchcase(name.lower(), pattern.lower()):
            return A, "skipped", why
    reason = _shape_reason(A)
    if reason:
        return A, "skipped", reason
    M = _as_float(A if A.ndim == 2 else conv_to_matrix(A))
    if isinstance(M, str):
        return A, "skipped", M
    finite = np.isfinite(M)
    if not finite.all():
        bad = int(M.size - np.count_nonzero(finite))
        raise ValueError(
            f"weights[{name!r}] contains {bad} NaN/Inf entries of {M.size}; the layer's weights must "
            "be finite (a diverged or corrupted checkpoint?)"
        )
    return A, ("dense" if A.ndim == 2 else "conv"), M


def _items(weights: Weights) -> Iterable[tuple[str, Any]]:
    if isinstance(weights, str | os.PathLike):
        weights = load_weights(weights)
    if not isinstance(weights, Mapping):
        raise TypeError(
            "weights must be a mapping name -> array or a path to a weights file, got "
            f"{type(weights).__name__}"
        )
    if len(weights) == 0:
        raise ValueError("weights is empty: expected at least one tensor")
    return weights.items()


# ------------------------------------------------------------------------------ analyze
@functools.lru_cache(maxsize=512)
def _gd_omega(ratio: float) -> float:
    # Layers share shapes, and omega needs an MP median (a root solve): compute it once per ratio.
    return gavish_donoho_omega(ratio)


def _gd_rank(s_desc: np.ndarray, ratio: float) -> int:
    """:class:`~rmtheory.thresholds.GavishDonohoRule` with unknown noise, ``omega`` cached."""
    tau = _gd_omega(ratio) * float(np.median(s_desc))
    return int(np.count_nonzero(s_desc > tau))


def _analyze_matrix(
    name: str, A: np.ndarray, kind: str, M: np.ndarray, opts: _Options, method: str, keep: bool
) -> LayerReport:
    s = singular_values(M, method)
    conv = spectral_convention(M.shape)
    ev = conv.eigenvalues(s[::-1])
    row: dict[str, Any] = dict(
        name=name,
        shape=tuple(A.shape),
        kind=kind,
        matrix_shape=conv.shape,
        gd_rank=_gd_rank(s, conv.ratio),
        max_singular_value=float(s[0]),
        params=int(A.size),
        eigenvalues=ev if keep else None,
    )
    try:
        b = BEMA(opts.alpha, opts.beta).fit(ev, q=conv.q)
    except ValueError as err:
        return LayerReport(**row, params_mp=int(A.size), reason=f"no MP fit: {err}")
    k = b.n_spikes_
    n, m = conv.shape
    return LayerReport(
        **row,
        sigma2=b.sigma2_,
        lambda_plus=b.lambda_plus_,
        mp_threshold=b.singular_value_threshold_,
        mp_rank=k,
        n_spikes=int(np.count_nonzero(ev > b.lambda_plus_mp_)),
        gof=b.gof_,
        params_mp=min(k * (n + m), n * m),
    )


def analyze(
    weights: Weights,
    *,
    skip_embeddings: bool = False,
    exclude: Sequence[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
    method: str = "gram",
    keep_eigenvalues: bool = True,
) -> LayerTable:
    r"""Random-matrix report of every weight of a model: BEMA fit, MP and Gavish–Donoho ranks.

    For each 2-D weight (and each 4-D conv kernel, as ``(out, in*kh*kw)``) one values-only
    eigendecomposition gives the eigenvalues :math:`s_i^2/q`; BEMA (paper §9.1, Ke, Ma & Lin
    2021) fits :math:`\hat\sigma^2` and :math:`\lambda_+` to the bulk, the MP rank counts the
    eigenvalues above :math:`\lambda_+`, and truncating to it leaves
    :math:`\min(k(n+m), nm)` parameters (Algorithm 1 steps 3-5 with every sub-threshold value
    dropped).  See the module docstring for every column.

    Parameters
    ----------
    weights : mapping or path
        ``{name: array}`` with NumPy arrays or tensors of any DLPack / ``__array__`` library
        (torch, JAX, CuPy; GPU tensors are copied to the host one at a time), or a file / folder
        for :func:`rmtheory.weights_io.load_weights`.
    skip_embeddings : bool
        Skip 2-D tensors whose name matches :data:`EMBEDDING_PATTERNS` (an embedding table is a
        lookup, not a linear map; its spectrum is often not MP-like).
    exclude : sequence of str
        More name patterns to skip (case-insensitive ``fnmatch``, e.g. ``"*.lm_head.*"``).
    alpha, beta : float
        BEMA's window and Tracy–Widom level (:class:`rmtheory.bema.BEMA`).
    method : {"gram", "svd"}
        How singular values are computed (:func:`rmtheory.spectrum.singular_values`).
    keep_eigenvalues : bool
        Keep each layer's eigenvalues in the report (needed by :meth:`LayerTable.plot`).

    Returns
    -------
    LayerTable
        One :class:`LayerReport` per tensor, in the mapping's order; skipped tensors and layers
        too small for BEMA carry a ``reason``.

    Raises
    ------
    ValueError
        If a weight contains NaN/Inf (the message names the layer), ``weights`` is empty, or a
        parameter is invalid.
    TypeError
        If ``weights`` is not a mapping or path, or a value cannot be converted to an array.

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
    table = LayerTable()
    for name, value in _items(weights):
        A, kind, M = _prepare(name, value, opts)
        if isinstance(M, str):
            table.append(
                LayerReport(name, tuple(A.shape), kind, params=A.size, params_mp=A.size, reason=M)
            )
        else:
            table.append(_analyze_matrix(name, A, kind, M, opts, method, keep_eigenvalues))
    return table


# ------------------------------------------------------------------------------ compress
_RULES = ("mp", "gavish-donoho")


@dataclass(frozen=True)
class CompressedWeights:
    """Result of :func:`compress`: the arrays to write and the manifest describing them.

    Attributes
    ----------
    arrays : dict of str to numpy.ndarray
        ``<name>.W1`` / ``<name>.W2`` for factorised layers, the original tensor for the rest.
    manifest : dict
        JSON-ready: ``format``, ``threshold``, totals and one entry per tensor with ``name``,
        ``shape``, ``kind``, ``stored`` (``"factorized"``, ``"dense"`` or ``"copied"``), ``rank``,
        ``keys``, factor shapes, ``kernel_shape`` for conv layers, and ``reason``.
    """

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any]

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

    def save(
        self, path: str | os.PathLike, manifest_path: str | os.PathLike | None = None
    ) -> tuple[Path, Path]:
        """Write the arrays (``.npz`` or ``.safetensors``) and the manifest JSON
        (default :func:`manifest_path_for`); returns both paths."""
        out = save_weights(path, self.arrays, metadata={"format": "rmtheory-compressed"})
        mpath = Path(manifest_path) if manifest_path is not None else manifest_path_for(out)
        _write_text(mpath, json.dumps(self.manifest, indent=2) + "\n")
        return out, mpath


def manifest_path_for(path: str | os.PathLike) -> Path:
    """Default manifest beside a compressed file: ``model.npz`` -> ``model.manifest.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".manifest.json")


def _rank(rule: str, s: np.ndarray, shape: tuple[int, int], opts: _Options) -> int:
    if rule == "mp":
        return MPRule(opts.alpha, opts.beta)(s, shape).n_above
    return GavishDonohoRule()(s, shape).n_above


def _compress_matrix(
    name: str, A: np.ndarray, kind: str, M: np.ndarray, rule: str, min_rank: int, opts: _Options
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    n, m = M.shape
    entry: dict[str, Any] = {"name": name, "shape": list(A.shape), "kind": kind}
    if kind == "conv":
        entry["kernel_shape"] = list(A.shape)
    # One SVD in float64 gives the rank rule its values and the factors their vectors.
    dec = svd(M.astype(np.float64))
    try:
        k = _rank(rule, dec[1], (n, m), opts)
    except ValueError as err:
        entry.update(stored="dense", rank=None, keys=[name], reason=f"no rank: {err}")
        return entry, {name: A}
    k = min(max(k, min_rank), min(n, m))
    entry["rank"] = k
    if k * (n + m) >= n * m:
        entry.update(
            stored="dense",
            keys=[name],
            reason=f"rank {k}: k*(n+m) = {k * (n + m)} >= n*m = {n * m}, kept unchanged",
        )
        return entry, {name: A}
    W1, W2 = (w.astype(M.dtype) for w in factorize(M, k, decomposition=dec))
    if kind == "conv":
        W1, W2 = matrix_to_conv(W1, A.shape), W2.reshape(n, k, 1, 1)
    keys = [f"{name}.W1", f"{name}.W2"]
    entry.update(
        stored="factorized",
        keys=keys,
        W1_shape=list(W1.shape),
        W2_shape=list(W2.shape),
        reason="",
    )
    return entry, dict(zip(keys, (W1, W2), strict=True))


def compress(
    weights: Weights,
    *,
    threshold: str = "mp",
    min_rank: int = 0,
    skip_embeddings: bool = False,
    exclude: Sequence[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
) -> CompressedWeights:
    r"""Factorise every weight at its MP (or Gavish–Donoho) rank: Algorithm 1's split, once.

    With the SVD :math:`W = U\,\mathrm{diag}(s)\,V^\top` of a weight (conv kernels as
    ``(out, in*kh*kw)``) and the rank :math:`k` from the rule,
    :math:`W_1=\mathrm{diag}(\sqrt{s_{1:k}})V_{:,1:k}^\top` (``k x in``) and
    :math:`W_2=U_{:,1:k}\mathrm{diag}(\sqrt{s_{1:k}})` (``out x k``), so :math:`W_2W_1` is the best
    rank-:math:`k` approximation (:func:`rmtheory.lowrank.factorize`).  A conv kernel's ``W1`` is
    stored as a ``(k, in, kh, kw)`` kernel and ``W2`` as a ``(out, k, 1, 1)`` 1x1 convolution.
    A layer is factorised only when :math:`k(n+m) < nm` (Algorithm 1 step 4); otherwise, and for
    layers too small for the rule, it is stored unchanged; skipped tensors are copied.

    Parameters
    ----------
    weights : mapping or path
        As for :func:`analyze`.
    threshold : {"mp", "gavish-donoho"}
        The rank rule: BEMA's :math:`\lambda_+` (:class:`rmtheory.thresholds.MPRule`) or the
        Gavish–Donoho threshold with unknown noise (:class:`rmtheory.thresholds.GavishDonohoRule`).
    min_rank : int
        Keep at least this many singular values per layer (e.g. the number of classes for an
        output layer); by default a pure-noise layer gets rank 0.
    skip_embeddings, exclude, alpha, beta
        As for :func:`analyze`.

    Returns
    -------
    CompressedWeights
        ``.arrays``, ``.manifest``, ``.reduction``; ``.save(path)`` writes both.

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
    layers: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    items = list(_items(weights))
    names = {name for name, _ in items}
    for name, value in items:
        A, kind, M = _prepare(name, value, opts)
        if isinstance(M, str):
            entry = {"name": name, "shape": list(A.shape), "kind": kind, "stored": "copied"}
            entry.update(rank=None, keys=[name], reason=M)
            stored = {name: A}
        else:
            entry, stored = _compress_matrix(name, A, kind, M, threshold, int(min_rank), opts)
        for key in stored:
            if key in arrays or (key != name and key in names):
                raise ValueError(f"weights: output key {key!r} collides with an input tensor name")
        entry["params"] = int(A.size)
        entry["params_after"] = int(sum(a.size for a in stored.values()))
        layers.append(entry)
        arrays.update(stored)
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
    return CompressedWeights(arrays, manifest)


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
    """Read a file written by :meth:`CompressedWeights.save` and :func:`decompress` it."""
    mpath = Path(manifest_path) if manifest_path is not None else manifest_path_for(path)
    if not mpath.exists():
        raise FileNotFoundError(f"manifest_path: no manifest at {str(mpath)!r}")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    return decompress(load_weights(path), manifest)
