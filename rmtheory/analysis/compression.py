"""MP-rank compression: :func:`compress` factorises every weight at its rank (MP or Gavish–Donoho)
into ``W1`` (k x in) and ``W2`` (out x k), into memory or tensor by tensor into a file (the
sinks), with a JSON manifest; :func:`decompress` and :func:`load_compressed` recombine them."""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
from tqdm import tqdm

from rmtheory._validation import positive_int
from rmtheory.analysis import streaming
from rmtheory.analysis.layer import AnalysisOptions, Weights, analysis_options, prepare, tensor_refs
from rmtheory.analysis.streaming import Spectrum, block_rows, matrix_dims, read_block, spectrum_of
from rmtheory.atomic import atomic_write
from rmtheory.lowrank import factorize, recombine, svd
from rmtheory.thresholds import GavishDonohoRule, MPRule
from rmtheory.weights_io import TensorRef, WeightsWriter, load_weights, save_weights, to_numpy

__all__ = [
    "CompressedWeights",
    "DEFAULT_MIN_RANK",
    "RankZeroWarning",
    "compress",
    "decompress",
    "load_compressed",
    "manifest_path_for",
]

_RULES = ("mp", "gavish-donoho")

#: :func:`compress` keeps at least this many singular values per layer unless told otherwise.
DEFAULT_MIN_RANK = 1


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

    @property
    def notes(self) -> list[str]:
        """``"<name>: <note>"`` for each layer kept above its rule's rank by ``min_rank``."""
        return [f"{e['name']}: {e['note']}" for e in self.manifest["layers"] if e.get("note")]

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
        atomic_write(mpath, json.dumps(manifest, indent=2) + "\n", what="manifest")
        return out, mpath


def manifest_path_for(path: str | os.PathLike) -> Path:
    """Default manifest beside a compressed file: ``model.npz`` -> ``model.npz.manifest.json``.

    The suffix stays in the name, so ``model.npz`` and ``model.safetensors`` have a manifest each.
    """
    p = Path(path)
    return p.with_name(p.name + ".manifest.json")


def _rank(rule: str, s: np.ndarray, shape: tuple[int, int], opts: AnalysisOptions) -> int:
    if rule == "mp":
        return MPRule(opts.alpha, opts.beta)(s, shape).n_above
    return GavishDonohoRule()(s, shape).n_above


def _row_chunks(ref: TensorRef) -> Iterable[np.ndarray]:
    n, m = matrix_dims(ref) if ref.ndim else (1, 1)
    b = max(1, streaming.BLOCK_BYTES // max(1, m * ref.dtype.itemsize))
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


def _factors_from_gram(ref: TensorRef, sp: Spectrum, k: int, n: int, m: int):
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
    b = block_rows(n, m)
    if n < m:  # Z = U_k: C = U_k^T M (k x m), norms of its rows = s_i
        C = np.zeros((k, m))
        for i in range(0, n, b):
            i1 = min(n, i + b)
            C += Z[i:i1].T @ read_block(ref, i, i1, scale)[0]
        r = np.linalg.norm(C, axis=1)
        root = np.sqrt(r)
        inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
        W1, W2 = C * inv[:, None], Z * root
    else:  # Z = V_k: B = M V_k (n x k), norms of its columns = s_i
        B = np.empty((n, k))
        for i in range(0, n, b):
            i1 = min(n, i + b)
            B[i:i1] = read_block(ref, i, i1, scale)[0] @ Z
        r = np.linalg.norm(B, axis=0)
        root = np.sqrt(r)
        inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
        W1, W2 = Z.T * root[:, None], B * inv
    if sp.e:  # undo the power-of-two scaling (exactly), half on each factor
        W1 = np.ldexp(W1, sp.e // 2)
        W2 = np.ldexp(W2, sp.e - sp.e // 2)
    return W1, W2


def _compress_ref(
    ref: TensorRef, kind: str, rule: str, min_rank: int, opts: AnalysisOptions, sink
) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """Compress one weight into ``sink``; return its manifest entry and ``{key: shape}`` stored."""
    name = ref.name
    n, m = matrix_dims(ref)
    entry: dict[str, Any] = {"name": name, "shape": list(ref.shape), "kind": kind}
    if kind == "conv":
        entry["kernel_shape"] = list(ref.shape)
    sp = spectrum_of(ref, "gram", keep_gram=True)
    s = np.sqrt(sp.ev[::-1])  # scaled singular values: the rank rules are scale-invariant
    try:
        k = _rank(rule, s, (n, m), opts)
    except ValueError as err:
        entry.update(stored="dense", rank=None, keys=[name], reason=f"no rank: {err}")
        sink.copy(name, ref)
        return entry, {name: tuple(ref.shape)}
    if k < min_rank:
        entry["note"] = (
            f"the {rule} threshold keeps {k} direction(s)"
            + (" (looks like pure noise at this shape)" if k == 0 else "")
            + f"; kept rank {min(min_rank, n, m)} (min_rank)"
        )
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
            f"layer {name!r}: the {rule} threshold keeps no direction (rank 0) and min_rank=0 was "
            "asked, so it is stored as all-zero factors and the layer will output zeros (plus its "
            "bias); leave min_rank at its default (1) to keep the strongest direction, or exclude "
            "the layer"
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
    min_rank: int = DEFAULT_MIN_RANK,
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
        output layer); default 1, so that no layer is ever written as all zeros: a layer whose
        rule keeps nothing (it looks like pure noise at its shape) keeps its strongest direction
        and says so in a ``note`` of its manifest entry.  ``min_rank=0`` lets such a layer become
        rank 0 -- all-zero factors, the layer outputs zeros -- with a :class:`RankZeroWarning` and
        a ``warning`` in its manifest entry.
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
    min_rank = positive_int(min_rank, "min_rank", minimum=0)
    opts = analysis_options(skip_embeddings, exclude, alpha, beta)
    refs = tensor_refs(weights)
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
                kind, reason = prepare(ref, opts)
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
        atomic_write(mpath, json.dumps(manifest, indent=2) + "\n", what="manifest")
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
    if not isinstance(manifest, Mapping) or manifest.get("format") != "rmtheory-compressed":
        raise ValueError("manifest: not an rmtheory-compressed manifest (missing 'format')")
    layers = manifest.get("layers")
    needed = ("name", "keys", "stored", "shape")
    if not isinstance(layers, list) or not all(
        isinstance(e, Mapping) and all(k in e for k in needed) and isinstance(e["keys"], list)
        for e in layers
    ):
        raise ValueError(
            f"manifest: its 'layers' must be a list of entries with {', '.join(needed)} "
            "(a damaged or hand-edited manifest?)"
        )
    out: dict[str, np.ndarray] = {}
    for e in layers:
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
