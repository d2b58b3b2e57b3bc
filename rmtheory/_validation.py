"""Argument checks shared by the public API: fail early, name the argument, say what was expected.

The rule everywhere: a value that is not what the argument needs raises ``TypeError`` (wrong kind:
``None``, a string, a bool, a complex number, an array where one number is expected) or
``ValueError`` (right kind, wrong value: NaN, negative, empty, ragged), and the message names the
argument.  Nothing is silently converted: complex input is never cut to its real part, ``None`` never
becomes NaN and a float never becomes an integer by truncation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def real_scalar(value: Any, name: str) -> float:
    """``value`` as a Python float; ``TypeError`` unless it is one real number (NaN/inf pass)."""
    if value is None or isinstance(value, bool | np.bool_ | str | bytes):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    if isinstance(value, complex | np.complexfloating) or np.iscomplexobj(value):
        raise TypeError(f"{name} must be a real number, got complex {_describe(value)}")
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise TypeError(f"{name} must be a single real number, got an array of shape {value.shape}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}") from None


def positive_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is finite and > 0."""
    x = real_scalar(value, name)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def nonnegative_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is finite and >= 0."""
    x = real_scalar(value, name)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def probability(value: Any, name: str, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1]), else raise ``ValueError``."""
    x = real_scalar(value, name)
    ok = 0 < x < 1 if open_interval else 0 <= x <= 1
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return x


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, else raise (floats are refused, never truncated)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def real_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 array of any shape; ``TypeError`` for None, complex, bool, text or objects
    that are not numbers, ``ValueError`` for ragged nesting.  NaN and inf pass (callers decide)."""
    if x is None:
        raise TypeError(f"{name} must be real numbers, got None")
    try:
        a = np.asarray(x)
    except ValueError:
        raise ValueError(
            f"{name} must be a rectangular array of real numbers (ragged input)"
        ) from None
    kind = a.dtype.kind
    if kind in "iuf":
        return a.astype(np.float64, copy=False)
    if kind == "c":
        raise TypeError(f"{name} must be real numbers, got complex values (dtype {a.dtype})")
    if kind == "O":
        for v in a.flat:
            if v is None or isinstance(v, bool | np.bool_ | str | bytes):
                raise TypeError(f"{name} must be real numbers, got an entry {_describe(v)}")
            if isinstance(v, complex | np.complexfloating):
                raise TypeError(f"{name} must be real numbers, got complex entry {v!r}")
        try:
            return a.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be real numbers, got {_describe(x)}") from None
    raise TypeError(f"{name} must be real numbers, got dtype {a.dtype} ({_describe(x)})")


def finite_matrix(W: Any, name: str = "W") -> np.ndarray:
    """Return ``W`` as a 2-D floating array with at least one entry, all finite."""
    if W is None:
        raise TypeError(f"{name} must be a 2-D array of real numbers, got None")
    try:
        A = np.asarray(W)
    except ValueError:
        raise ValueError(f"{name} must be a rectangular 2-D matrix (ragged input)") from None
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got an array of shape {A.shape}")
    if A.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {A.shape}")
    if not np.issubdtype(A.dtype, np.floating):
        if not np.issubdtype(A.dtype, np.number) or np.iscomplexobj(A):
            raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
        A = A.astype(np.float64)
    if not np.all(np.isfinite(A)):
        bad = int(np.size(A) - np.count_nonzero(np.isfinite(A)))
        raise ValueError(f"{name} contains {bad} NaN/Inf entries; weights must be finite")
    return A


def finite_vector(x: Any, name: str, *, min_length: int = 1) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array of finite values with at least ``min_length`` entries."""
    v = real_array(x, name)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {v.shape}")
    if v.size < min_length:
        raise ValueError(f"{name} must have at least {min_length} entries, got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN/Inf values")
    return v


def choice(value: Any, name: str, options: tuple) -> Any:
    """``value`` if it is one of ``options`` (compared without hashing, so arrays fail cleanly)."""
    for opt in options:
        if isinstance(opt, str) and isinstance(value, str) and value == opt:
            return opt
        if not isinstance(opt, str) and value is opt:
            return opt
    raise ValueError(f"{name} must be one of {options}, got {_describe(value)}")


def size_argument(size: Any, name: str = "size") -> int | tuple[int, ...] | None:
    """A sample ``size``: None, an int >= 0 or a tuple of them (floats refused, never truncated)."""
    if size is None:
        return None
    if isinstance(size, tuple | list):
        return tuple(positive_int(s, f"{name}[{i}]", minimum=0) for i, s in enumerate(size))
    return positive_int(size, name, minimum=0)


def rng(seed: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool | np.bool_):
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {seed!r}")
    if seed is None or isinstance(seed, int | np.integer | np.random.SeedSequence):
        if isinstance(seed, int | np.integer) and seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed!r}")
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {seed!r}")


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask where the OS has one, and no more
    than a container's CPU quota allows (cgroup ``cpu.max``, as ``joblib.cpu_count`` reads it;
    a 2-CPU quota on a 64-core host means 2 workers, not 64)."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    try:
        from joblib import cpu_count
    except ImportError:  # pragma: no cover - a declared dependency
        return max(1, cpus)
    return max(1, min(cpus, cpu_count()))


def n_jobs(value: Any, name: str = "jobs") -> int:
    """A worker count, checked once for every entry point and capped at :func:`available_cpus`.

    ``-1`` (or any negative ``-k``, joblib's convention) means all CPUs but ``k - 1``; ``0`` and
    non-integers are refused.  A count above the CPUs this process may use is cut to that number
    with a warning: more processes than cores only add start-up cost and cache thrashing.

    >>> n_jobs(1)
    1
    >>> n_jobs(-1) == available_cpus()
    True
    """
    import warnings

    if value is None or isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer (a worker count, or -1 for all CPUs), got {_describe(value)}")
    jobs, cpus = int(value), available_cpus()
    if jobs == 0:
        raise ValueError(f"{name} must be a positive worker count or -1 for all CPUs, got 0")
    if jobs < 0:
        if -jobs > cpus:
            raise ValueError(f"{name}={jobs} leaves no CPU: this process may use {cpus}")
        return cpus + 1 + jobs
    if jobs > cpus:
        warnings.warn(
            f"{name}={jobs} is more than the {cpus} CPU(s) this process may use; using {cpus}",
            RuntimeWarning,
            stacklevel=2,
        )
        return cpus
    return jobs
