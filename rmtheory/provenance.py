"""Where a result was computed: the machine, the BLAS and its thread count, the library versions.

float32 training is bit-reproducible only on the same CPU kind, BLAS library and BLAS thread count
(a 64×784 @ 784×1000 product already differs between 1 and 2 OpenBLAS threads); elsewhere results
agree in distribution only.  Every per-seed record therefore carries :func:`environment`, so a
reader can tell a re-run on the same machine (expect identical numbers) from one elsewhere (expect
the same distribution).  See ``docs/reproducibility.md``.
"""

from __future__ import annotations

import platform
import sys
from functools import lru_cache
from importlib import metadata
from typing import Any

__all__ = ["backend_environment", "environment"]


@lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _blas() -> list[dict[str, Any]]:
    """The BLAS/OpenMP pools loaded *now*, with the thread count in effect at the call."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    keep = ("user_api", "internal_api", "num_threads", "version", "architecture")
    return [{k: pool.get(k) for k in keep} for pool in threadpool_info()]


def environment(**extra: Any) -> dict[str, Any]:
    """A JSON-ready description of where the calling process computes.

    Call it inside the ``threadpool_limits`` block a computation runs under, so that the BLAS
    thread count recorded is the one used.  ``extra`` (e.g. ``backend="torch", device="cuda:0"``)
    is merged in.

    >>> env = environment()
    >>> sorted(env)[:3]
    ['blas', 'cpu', 'machine']
    >>> env["versions"]["numpy"] is not None
    True
    """
    out: dict[str, Any] = {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": sys.version.split()[0],
        "versions": {p: _version(p) for p in ("rmtheory", "numpy", "scipy", "numba")},
        "blas": _blas(),
    }
    out.update(extra)
    return out


def backend_environment(
    backend: str = "numpy", device: str = "cpu", **extra: Any
) -> dict[str, Any]:
    """:func:`environment` plus the training backend: ``backend``, ``device`` and, for
    ``"torch"``, torch's version, its CUDA / cuDNN versions and the accelerator's name.

    A per-seed record of a training run carries this, so results of the two backends (or of two
    devices) are told apart by the record itself (``docs/torch.md``).

    >>> env = backend_environment()
    >>> env["backend"], env["device"], "torch" in env["versions"]
    ('numpy', 'cpu', False)
    """
    out = environment(backend=backend, device=device, **extra)
    if backend == "torch":
        import torch

        out["versions"]["torch"] = torch.__version__
        out["versions"]["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        out["versions"]["cudnn"] = cudnn
        out["torch_threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            out["accelerator"] = torch.cuda.get_device_name(torch.device(device))
    return out
