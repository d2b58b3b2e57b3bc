"""Which backend trains an experiment's networks: NumPy (the default) or PyTorch (``rmtheory.torch``).

The training runners (:func:`rmtheory.experiments.training.protocol.protocol_run`,
:func:`rmtheory.experiments.cnn.compute.cnn_run`) take ``backend="numpy" | "torch"``, ``device``
and ``dtype``; :func:`backend_context` sets them for a whole reproduction (``rmtheory reproduce
NAME --backend torch --device cuda``) and :func:`backend_kwargs` is what a runner adds to its
per-seed calls.  The rule that keeps the committed records readable: for the NumPy backend the
added keyword arguments are *none*, so its per-seed cache keys (the hash of the call's keyword
arguments, :func:`rmtheory.experiments.runner.cache_key`) are those of every record written
before the torch backend existed; any other backend, device or dtype is part of the key, so the
two backends' seeds never land in one record file, and each record's ``environment`` names the
backend, device and library versions that produced it.

>>> backend_kwargs()
{}
>>> with backend_context("numpy", dtype="float64"):
...     backend_kwargs()
{'backend': 'numpy', 'device': 'cpu', 'dtype': 'float64'}

With PyTorch installed (the ``torch`` extra; skipped here so the doctests run without it):

>>> with backend_context("torch", device="cpu"):  # doctest: +SKIP
...     backend_kwargs()
{'backend': 'torch', 'device': 'cpu'}
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["BACKENDS", "DTYPES", "backend_context", "backend_kwargs", "check_backend"]

BACKENDS = ("numpy", "torch")
DTYPES = ("float32", "float64")

_CURRENT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "rmtheory_backend", default=None
)


def check_backend(
    backend: str = "numpy", device: str | None = None, dtype: str = "float32"
) -> tuple[str, str, str]:
    """``(backend, device, dtype)`` checked and normalised; the device is a torch device *type*
    (``"cpu"``, ``"cuda"``, ``"mps"``; ``None`` → ``"cuda"`` when one is visible, else ``"cpu"``).

    Raises ValueError naming the argument; ImportError (saying how to install it) for
    ``backend="torch"`` without PyTorch.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(
                f"device must be 'cpu' (or None) for the numpy backend, got {device!r}"
            )
        return "numpy", "cpu", dtype
    import rmtheory.torch  # noqa: F401, I001  (first: its ImportError says how to install torch)

    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must name a torch device ('cpu', 'cuda', ...), got {device!r}"
        ) from err
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA device here")
    return "torch", kind, dtype


def backend_kwargs() -> dict[str, Any]:
    """The keyword arguments a runner adds to its per-seed calls: ``{}`` for the default NumPy
    float32 backend (the cache keys of the records written before the torch backend), else
    ``backend``, ``device`` and (when not float32) ``dtype``."""
    cur = _CURRENT.get()
    if not cur or (cur["backend"] == "numpy" and cur["dtype"] == "float32"):
        return {}
    out = {"backend": cur["backend"], "device": cur["device"]}
    if cur["dtype"] != "float32":
        out["dtype"] = cur["dtype"]
    return out


@contextlib.contextmanager
def backend_context(
    backend: str = "numpy", device: str | None = None, dtype: str = "float32"
) -> Iterator[dict[str, Any]]:
    """Train every network inside the ``with`` block on ``backend`` (see the module docstring)."""
    backend, device, dtype = check_backend(backend, device, dtype)
    token = _CURRENT.set({"backend": backend, "device": device, "dtype": dtype})
    try:
        yield dict(_CURRENT.get() or {})
    finally:
        _CURRENT.reset(token)
