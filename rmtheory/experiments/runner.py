"""Runs over seeds: :func:`map_seeds` (parallel, cached per seed), the run adapter
:func:`seed_run`, and the :class:`RunContext` that :func:`~rmtheory.experiments.registry.reproduce`
hands down to them.

A family's compute function takes ``seed`` and keyword parameters and returns plain data; an
entry's ``run(params, jobs, cache)`` is built from it and the names of the parameters it takes
(:func:`seed_run`), so a new figure states only what is specific to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory._validation import n_jobs
from rmtheory.atomic import atomic_write, remove_stale_temporaries

__all__ = [
    "RunContext",
    "run_context",
    "current_context",
    "map_seeds",
    "seed_run",
    "checkpoint_dir",
    "cache_key",
    "to_json",
    "DamagedRecord",
    "discard_damaged",
    "records_lacking",
]


class DamagedRecord(UserWarning):
    """A per-seed record or checkpoint could not be read and is computed again."""


@dataclass
class RunContext:
    """What a reproduction hands down to every :func:`map_seeds` call inside it.

    ``reporting``: print a line per finished unit; ``cached_only``: compute nothing, return the
    recorded seeds (``None`` for a missing one) and count ``missing`` and ``found`` runs;
    ``experiment``: the name progress lines start with; ``expected_s``: the wall time of the
    last recorded run of this experiment at this size (for the estimate of what remains);
    ``read``: the per-seed records read from the cache (what :func:`records_lacking` searches
    when building the result from them fails).
    """

    reporting: bool = False
    cached_only: bool = False
    experiment: str = ""
    expected_s: float | None = None
    missing: int = 0
    found: int = 0
    done: int = 0
    started: float = 0.0
    read: list[Path] = field(default_factory=list)


_CONTEXT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "rmtheory_run_context", default=None
)


def current_context() -> RunContext:
    """The context of the reproduction in progress (a quiet default outside one)."""
    ctx = _CONTEXT.get()
    return ctx if ctx is not None else RunContext()


@contextlib.contextmanager
def run_context(**fields: Any) -> Iterator[RunContext]:
    """Run the ``with`` block inside a :class:`RunContext` built from ``fields``."""
    ctx = RunContext(**fields)
    ctx.started = time.perf_counter()
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def to_json(obj: Any) -> Any:
    """``obj`` with NumPy values as plain Python ones and non-finite floats as ``None``."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def checkpoint_dir(cache: str | Path | None) -> str | None:
    """Where the epoch checkpoints of the training runs cached in ``cache`` live."""
    return None if cache is None else str(Path(cache) / "checkpoints")


def cache_key(kwargs: dict) -> str:
    """The hash of a call's public keyword arguments that names its per-seed records."""
    # private arguments (a checkpoint folder) do not change the numbers, so not the cache key
    public = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    return hashlib.sha1(
        json.dumps(to_json(public), sort_keys=True, default=str).encode()
    ).hexdigest()[:10]


def _read_record(path: Path) -> dict | None:
    """The record at ``path``, or ``None`` (with a warning naming the file) when it is damaged."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        why = f"unreadable ({type(err).__name__}: {err})"
    else:
        if isinstance(record, dict) and record:
            return record
        why = "empty" if record in ({}, [], None) else f"a JSON {type(record).__name__}"
    warnings.warn(f"damaged per-seed record {path}: {why}; computing it again", DamagedRecord,
                  stacklevel=3)  # fmt: skip
    return None


def _keys(obj: Any) -> set[str]:
    """Every key of every dict nested in ``obj``."""
    if isinstance(obj, dict):
        return set(obj).union(*(_keys(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(_keys(v) for v in obj))
    return set()


def records_lacking(paths: Iterable[Path], key: str) -> list[Path]:
    """The records among ``paths`` in which no (nested) dict has ``key``: what a ``KeyError``
    raised while building a result from them points at (a record hand-edited, or written by an
    older version, that still parses)."""
    lacking = []
    for p in dict.fromkeys(paths):
        try:
            record = json.loads(Path(p).read_text())
        except (OSError, ValueError):
            continue
        if key not in _keys(record):
            lacking.append(Path(p))
    return lacking


def discard_damaged(path: Path, why: str, *with_it: Path) -> None:
    """Warn that ``path`` (a record or checkpoint) is damaged and remove it (and ``with_it``, the
    files that only make sense beside it), so the run it belongs to is computed again."""
    warnings.warn(f"damaged {path}: {why}; computing it again", DamagedRecord, stacklevel=3)
    for p in (path, *with_it):
        Path(p).unlink(missing_ok=True)


def _damaged_checkpoint(err: BaseException, folder: str | Path | None) -> Path | None:
    """The checkpoint in ``folder`` that error ``err`` names (a unit that could not resume from
    it), or ``None`` when the error names none of them: then it is not a damaged file."""
    if folder is None:
        return None
    text = str(err)
    try:
        entries = [p for p in Path(folder).iterdir() if p.is_file()]
    except OSError:
        return None
    named = [p for p in entries if str(p) in text]
    return max(named, key=lambda p: len(str(p))) if named else None


def _incomplete(results: dict[int, dict], paths: dict[int, Path]) -> list[int]:
    """Seeds whose record lacks a key that the other records of the same call have."""
    keys = [set(r) - {"environment"} for r in results.values()]
    if len(keys) < 2:
        return []
    common = set.union(*keys)
    bad = []
    for s, r in results.items():
        lost = sorted(common - set(r) - {"environment"})
        # a key most records lack is optional; one only this record lacks is damage
        lost = [k for k in lost if sum(k in other for other in keys) > len(keys) / 2]
        if lost:
            warnings.warn(f"damaged per-seed record {paths[s]}: lacks {lost}; computing it again",
                          DamagedRecord, stacklevel=3)  # fmt: skip
            bad.append(s)
    return bad


def _label(kwargs: dict) -> str:
    """What a finished unit was, beyond its seed: its arm or method, when it has one."""
    named = ("arm", "method", "layout", "init")
    parts = [f"{k}={kwargs[k]}" for k in named if isinstance(kwargs.get(k), str)]
    proto = kwargs.get("protocol")
    sizes = proto.get("sizes") if isinstance(proto, dict) else None
    if sizes:
        parts.append("x".join(map(str, sizes)))
    return f" [{', '.join(parts)}]" if parts else ""


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _progress(name: str, kwargs: dict, seed: int, took: float, left: int, mean: float) -> str:
    ctx = current_context()
    ctx.done += 1
    head = f"{ctx.experiment}: " if ctx.experiment else ""
    line = f"  {head}{name}{_label(kwargs)} seed {seed} done in {took:.1f} s"
    if ctx.started:
        elapsed = time.perf_counter() - ctx.started
        line += f"; {ctx.done} unit(s) in {_minutes(elapsed)}"
        if ctx.expected_s and elapsed < ctx.expected_s:
            left_s = ctx.expected_s - elapsed
            line += f", about {_minutes(left_s)} left (last run: {_minutes(ctx.expected_s)})"
        elif ctx.expected_s:  # slower than the last run (a busier machine): no guess
            line += f", longer than the last run ({_minutes(ctx.expected_s)})"
        elif left:
            line += f", {left} more in this batch (about {_minutes(left * mean)})"
    return line


def map_seeds(
    fn: Callable[..., dict],
    seeds: Iterable[int],
    jobs: int = 1,
    cache: Path | None = None,
    progress: bool | None = None,
    **kwargs: Any,
) -> list[dict]:
    """``[fn(seed=s, **kwargs) for s in seeds]`` in parallel (joblib processes), cached per seed.

    A finished seed is written to ``cache/<fn name>-seed<s>-<hash of kwargs>.json``; re-running
    skips it, so an interrupted run resumes (the temporary files a killed run left in ``cache``
    are removed first).  A damaged record (unreadable, empty, not an object, or lacking a key
    the other seeds' records have) is computed again, with a :class:`DamagedRecord` warning
    naming the file; so is a unit that fails on a damaged checkpoint of its own (an error naming
    a file in ``kwargs["_checkpoint_dir"]``): the checkpoint is removed, with the warning, and
    the unit starts afresh, once.  ``jobs=1`` runs in-process (no joblib), which is what tests
    use; ``jobs`` goes through :func:`rmtheory._validation.n_jobs`.
    ``progress`` prints a line per finished seed to stderr (default: the :class:`RunContext`'s
    ``reporting``, on inside :func:`~rmtheory.experiments.registry.reproduce`).
    """
    ctx = current_context()
    show = ctx.reporting if progress is None else progress
    jobs = n_jobs(jobs)
    seeds = list(seeds)
    key = cache_key(kwargs)
    name = getattr(fn, "__name__", "run")
    folder = None if cache is None else Path(cache)
    paths = {s: None if folder is None else folder / f"{name}-seed{s}-{key}.json" for s in seeds}
    if folder is not None:  # what a killed run left half-written, whichever records it wrote
        remove_stale_temporaries(folder)
    results: dict[int, dict] = {}
    for s, path in paths.items():
        if path is not None and path.exists():
            record = _read_record(path)
            if record is not None:
                results[s] = record
                ctx.read.append(path)
    for s in _incomplete(results, paths):
        del results[s]
    todo = [(s, paths[s]) for s in seeds if s not in results]

    if ctx.cached_only:  # missing seeds keep their place as None
        ctx.missing += len(todo)
        ctx.found += len(results)
        return [results.get(s) for s in seeds]

    def one(seed: int, path: Path | None) -> tuple[dict, float]:
        from threadpoolctl import threadpool_limits

        from rmtheory.provenance import environment

        t0 = time.perf_counter()
        # one BLAS thread per worker when several run at once: oversubscribed OpenBLAS is 10x slower
        with threadpool_limits(limits=1 if jobs != 1 else None, user_api="blas"):
            try:
                out = fn(seed=seed, **kwargs)
            except (ValueError, OSError) as err:
                damaged = _damaged_checkpoint(err, kwargs.get("_checkpoint_dir"))
                if damaged is None:
                    raise
                discard_damaged(damaged, str(err))  # start the unit afresh, once
                out = fn(seed=seed, **kwargs)
            out = to_json(out)
            if isinstance(out, dict):  # where it ran: float32 results are bit-equal only there
                out.setdefault("environment", to_json(environment()))
        if path is not None:
            atomic_write(path, json.dumps(out), what="per-seed record")
        return out, time.perf_counter() - t0

    times: list[float] = []

    def finished(seed: int, out: dict, took: float, left: int) -> None:
        results[seed] = out
        times.append(took)
        if show:
            line = _progress(name, kwargs, seed, took, left, sum(times) / len(times))
            print(line, file=sys.stderr, flush=True)

    if jobs == 1 or len(todo) <= 1:
        for i, (s, path) in enumerate(todo):
            finished(s, *one(s, path), len(todo) - i - 1)
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=jobs)(delayed(one)(s, p) for s, p in todo)
        for i, ((s, _), (out, took)) in enumerate(zip(todo, done, strict=True)):
            finished(s, out, took, len(todo) - i - 1)
    return [results[s] for s in seeds]


def seed_run(
    fn: Callable[..., dict],
    names: Sequence[str] | Mapping[str, str],
    summarise: Callable[[list[dict], dict], dict] | None = None,
    **fixed: Any,
) -> Callable[..., Any]:
    """The ``run(params, jobs, cache, **extra)`` of an entry, from a compute function.

    ``run`` calls ``fn`` for every seed of ``range(params["n_seeds"])`` through
    :func:`map_seeds` with the parameters ``names`` taken from ``params`` (a mapping renames:
    ``{"sizes": "planted_sizes"}`` passes ``params["planted_sizes"]`` as ``sizes``), plus
    ``fixed`` and ``extra`` keyword arguments, and returns ``summarise(records, params)``
    (the records themselves without ``summarise``).  The cache key is that of the keyword arguments passed,
    whatever their order.

    >>> def square(seed, power):
    ...     return {"value": seed**power}
    >>> run = seed_run(square, ["power"], lambda runs, p: [r["value"] for r in runs])
    >>> run({"n_seeds": 3, "power": 2}, jobs=1, cache=None)
    [0, 1, 4]
    """
    names = dict(names) if isinstance(names, Mapping) else {n: n for n in names}

    def run(params: dict, jobs: int = 1, cache: Path | None = None, **extra: Any) -> Any:
        kwargs = {arg: params[key] for arg, key in names.items()}
        records = map_seeds(fn, range(params["n_seeds"]), jobs, cache, **kwargs, **fixed, **extra)
        return records if summarise is None else summarise(records, params)

    run.__name__ = f"run_{getattr(fn, '__name__', 'fn')}"
    run.__doc__ = f"Seeds of ``{getattr(fn, '__name__', 'fn')}`` with parameters {list(names)}."
    return run
