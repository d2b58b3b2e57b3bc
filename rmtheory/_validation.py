"""Argument checks shared by the public API: fail early, name the argument, say what was expected."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def positive_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is finite and > 0."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def probability(value: Any, name: str, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1]), else raise ``ValueError``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    ok = 0 < x < 1 if open_interval else 0 <= x <= 1
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return x


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def finite_matrix(W: Any, name: str = "W") -> np.ndarray:
    """Return ``W`` as a 2-D floating array with at least one entry, all finite."""
    A = np.asarray(W)
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
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {v.shape}")
    if v.size < min_length:
        raise ValueError(f"{name} must have at least {min_length} entries, got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN/Inf values")
    return v


def rng(seed: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, int | np.integer | np.random.SeedSequence):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {seed!r}")
