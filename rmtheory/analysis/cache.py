"""The per-tensor result cache of :func:`~rmtheory.analysis.analyze` (``cache=DIR``).

One JSON file per analysed tensor, named by a key of the tensor's file identity (path, size,
mtime, name, dtype, shape, offset) and the options, so that a rerun after an interruption reads
the tensors already done.  A damaged entry is recomputed (with a warning naming it) and rewritten
atomically (:mod:`rmtheory.atomic`); the key and the entry's format are those of earlier versions.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from rmtheory._version import __version__
from rmtheory.analysis.layer import AnalysisOptions
from rmtheory.analysis.records import LayerReport
from rmtheory.atomic import atomic_write
from rmtheory.weights_io import TensorRef

__all__ = ["CACHE_VERSION", "cache_key", "cache_read", "cache_write"]

#: Part of every key: bump it when an entry's meaning changes.
CACHE_VERSION = 1


def cache_key(ref: TensorRef, opts: AnalysisOptions, method: str) -> str | None:
    """The entry name of ``ref`` analysed with ``opts`` and ``method``; None for a tensor with no
    file identity (in memory)."""
    fp = ref.fingerprint()
    if fp is None:
        return None
    payload = json.dumps([CACHE_VERSION, __version__, fp, opts.alpha, opts.beta, method])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def cache_read(path: Path, keep: bool) -> LayerReport | None:
    """The row stored at ``path``, or None when there is none or it is damaged (then recomputed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        warnings.warn(f"analyze cache: cannot read {path} ({err}); recomputing", stacklevel=3)
        return None
    try:
        data = json.loads(text)
        rec = data["record"]
        rec["shape"] = tuple(rec["shape"])
        if rec["matrix_shape"] is not None:
            rec["matrix_shape"] = tuple(rec["matrix_shape"])
        ev = np.asarray(data["eigenvalues"], dtype=np.float64) if keep else None
        return LayerReport(**rec, eigenvalues=ev)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        warnings.warn(
            f"analyze cache: {path} is damaged ({type(err).__name__}); recomputing it",
            stacklevel=3,
        )
        return None


def cache_write(path: Path, row: LayerReport) -> None:
    """Store ``row`` (with its eigenvalues, if kept) at ``path``, atomically."""
    ev = None if row.eigenvalues is None else [float(x) for x in row.eigenvalues]
    text = json.dumps({"record": row.to_record(), "eigenvalues": ev})
    atomic_write(path, text, what="analyze cache entry")
