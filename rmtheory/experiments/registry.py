"""The registry of reproducible figures and tables, and the machinery that runs them.

Each entry is an :class:`Experiment`: a ``run(params, seeds, jobs, cache)`` function returning a
JSON-able dict of the numbers plotted, a ``plot(result, path)`` function, parameter sets for the
``smoke`` (CI, seconds), ``quick`` (default, minutes on a 2-core machine) and ``full`` (the paper's
sizes) sizes, and a ``claims(result)`` function comparing the result with the paper's numbers for
the verdict table (``docs/reproduction.md``).

Runs over seeds go through :func:`map_seeds`, which uses joblib processes (so a user can point
joblib at a Dask or Ray cluster with ``joblib.parallel_backend``) and caches every finished seed as
JSON, so an interrupted reproduction resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.experiments.rules import VERDICTS, Claim, relative

__all__ = [
    "Experiment",
    "Claim",
    "register",
    "register_alias",
    "EXPERIMENTS",
    "ALIASES",
    "VERDICTS",
    "reproduce",
    "map_seeds",
    "verdict",
]

SIZES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    run: Callable[..., dict]
    plot: Callable[[dict, Path], None]
    sizes: dict[str, dict[str, Any]]
    claims: Callable[[dict], list[Claim]] = field(default=lambda result: [])
    follows: str = ""  # which of paper / authors' code the experiment follows, and why
    kind: str = "figure"  # "figure" | "table" | "theorem" | "mechanism": the verdict page's section


@dataclass(frozen=True)
class Alias:
    """A numbered statement of the paper checked by an experiment registered under another name."""

    name: str
    target: str
    statement: str


class NothingRecorded(FileNotFoundError):
    """``reproduce(cached_only=True)`` found no recorded seed run to build a result from."""


EXPERIMENTS: dict[str, Experiment] = {}
ALIASES: dict[str, Alias] = {}
_REPORTING = [False]  # set while reproduce() runs, so map_seeds prints per-seed progress
# reproduce(cached_only=True): map_seeds returns the cached seeds and counts the missing and the
# found ones
_CACHED_ONLY: list = [False, 0, 0]


def register(exp: Experiment) -> Experiment:
    missing = [s for s in SIZES if s not in exp.sizes]
    if missing:
        raise ValueError(f"experiment {exp.name!r} lacks parameter sets for {missing}")
    EXPERIMENTS[exp.name] = exp
    return exp


def register_alias(name: str, target: str, statement: str) -> Alias:
    """Make ``rmtheory reproduce name`` run ``target`` (e.g. ``lemma51`` → ``fig12``)."""
    if name in EXPERIMENTS:
        raise ValueError(f"{name!r} is already an experiment")
    alias = Alias(name, target, statement)
    ALIASES[name] = alias
    return alias


def resolve(name: str) -> str:
    """The experiment an alias (or a name) stands for."""
    alias = ALIASES.get(name)
    return alias.target if alias is not None else name


def verdict(ours: float, paper: float, rel: float = 0.05, partly: float = 0.15) -> str:
    """:func:`rmtheory.experiments.rules.relative` (kept under its old name)."""
    return relative(ours, paper, rel, partly)


def _to_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_json(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def map_seeds(
    fn: Callable[..., dict],
    seeds: Iterable[int],
    jobs: int = 1,
    cache: Path | None = None,
    progress: bool | None = None,
    **kwargs: Any,
) -> list[dict]:
    """``[fn(seed=s, **kwargs) for s in seeds]`` in parallel (joblib processes), cached per seed.

    A finished seed is written to ``cache/seed<s>-<hash of kwargs>.json``; re-running skips it, so
    an interrupted run resumes.  ``jobs=1`` runs in-process (no joblib), which is what tests use.
    ``progress`` prints a line per finished seed to stderr (default: on inside :func:`reproduce`).
    """
    show = _REPORTING[0] if progress is None else progress
    seeds = list(seeds)
    # private arguments (a checkpoint folder) do not change the numbers, so not the cache key
    public = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    key = hashlib.sha1(
        json.dumps(_to_json(public), sort_keys=True, default=str).encode()
    ).hexdigest()[:10]
    results: dict[int, dict] = {}
    todo = []
    for s in seeds:
        path = (
            None
            if cache is None
            else Path(cache) / f"{getattr(fn, '__name__', 'run')}-seed{s}-{key}.json"
        )
        if path is not None and path.exists():
            results[s] = json.loads(path.read_text())
        else:
            todo.append((s, path))

    name = getattr(fn, "__name__", "run")
    if _CACHED_ONLY[0]:  # missing seeds keep their place as None
        _CACHED_ONLY[1] += len(todo)
        _CACHED_ONLY[2] += len(results)
        return [results.get(s) for s in seeds]

    def one(seed: int, path: Path | None) -> dict:
        from threadpoolctl import threadpool_limits

        t0 = time.perf_counter()
        from rmtheory.provenance import environment

        # one BLAS thread per worker when several run at once: oversubscribed OpenBLAS is 10x slower
        with threadpool_limits(limits=1 if jobs != 1 else None, user_api="blas"):
            out = _to_json(fn(seed=seed, **kwargs))
            if isinstance(out, dict):  # where it ran: float32 results are bit-equal only there
                out.setdefault("environment", _to_json(environment()))
        if path is not None:
            _atomic_write(path, json.dumps(out))
        if show:
            print(
                f"  {name}{_label(kwargs)} seed {seed} done in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        return out

    if jobs == 1 or len(todo) <= 1:
        for s, path in todo:
            results[s] = one(s, path)
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=jobs)(delayed(one)(s, p) for s, p in todo)
        results.update({s: r for (s, _), r in zip(todo, done, strict=True)})
    return [results[s] for s in seeds]


def _label(kwargs: dict) -> str:
    """What a finished unit was, beyond its seed: its arm or method, when it has one."""
    parts = [f"{k}={kwargs[k]}" for k in ("arm", "method") if isinstance(kwargs.get(k), str)]
    sizes = (kwargs.get("protocol") or {}).get("sizes") if isinstance(kwargs.get("protocol"), dict) else None
    if sizes:
        parts.append("x".join(map(str, sizes)))
    return f" [{', '.join(parts)}]" if parts else ""


def _output_dir(out_dir: Path, name: str, size: str) -> Path:
    """Where ``name`` at ``size`` is written: full-size results go to ``<out>/full/``.

    A result never overwrites one of a larger size: a smoke run whose target holds a quick (or
    full) result is written to ``<out>/smoke/`` instead.
    """
    if size == "full":
        return out_dir if out_dir.name == "full" else out_dir / "full"
    target = out_dir / f"{name}.json"
    if target.exists():
        try:
            existing = json.loads(target.read_text()).get("size", "smoke")
        except (OSError, ValueError):
            existing = "smoke"
        if existing in SIZES and SIZES.index(existing) > SIZES.index(size):
            print(
                f"  {target} holds a {existing}-size result; this {size} run goes to "
                f"{out_dir / size}/",
                file=sys.stderr,
            )
            return out_dir / size
    return out_dir


def reproduce(
    name: str,
    size: str = "quick",
    out_dir: str | Path = "figures",
    seeds: int | None = None,
    jobs: int = 1,
    plot: bool = True,
    cached_only: bool = False,
) -> dict:
    """Run experiment ``name`` at ``size``; write ``<out_dir>/<name>.json`` and ``.png``.

    ``cached_only`` computes nothing: the result is built from the seeds already recorded (a
    long run still in progress, or one that spans sessions), and ``result["partial"]`` says how
    many seed runs are missing; the claims are judged on what is there.

    Full-size results go to ``<out_dir>/full/`` with their per-seed records in
    ``<out_dir>/full/seeds/``; a smaller size never overwrites a larger one (see
    :func:`_output_dir`).

    ``seeds`` overrides the number of seeds of the size's parameter set; ``jobs`` the number of
    joblib processes.  Returns the result dict (with ``claims``).
    """
    name = resolve(name)
    if name not in EXPERIMENTS:
        known = ", ".join(sorted([*EXPERIMENTS, *ALIASES]))
        raise ValueError(f"unknown experiment {name!r}; known: {known}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    exp = EXPERIMENTS[name]
    params = dict(exp.sizes[size])
    if seeds is not None:
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        params["n_seeds"] = seeds
    out_dir = _output_dir(Path(out_dir), name, size)
    # full-size seeds are committed (figures/full/seeds/) so nobody recomputes them; smaller
    # sizes cache in the ignored .cache folder
    cache = out_dir / "seeds" if size == "full" else out_dir / ".cache"
    t0 = time.perf_counter()
    _REPORTING[0] = True
    _CACHED_ONLY[:] = [bool(cached_only), 0, 0]
    try:
        result = exp.run(params=params, jobs=jobs, cache=cache)
        missing, found = _CACHED_ONLY[1], _CACHED_ONLY[2]
    finally:
        _REPORTING[0] = False
        _CACHED_ONLY[:] = [False, 0, 0]
    if cached_only and missing and not found:
        raise NothingRecorded(
            f"cached_only: no seed run of {name!r} at {size} size is recorded in {cache} "
            f"({missing} runs missing); compute them first (reproduce without cached_only)"
        )
    if missing:
        result["partial"] = f"{missing} seed runs not yet computed (built from the recorded ones)"
    result = _to_json(
        {
            "name": name,
            "title": exp.title,
            "size": size,
            "params": params,
            "follows": exp.follows,
            **result,
            "wall_time_s": time.perf_counter() - t0,
        }
    )
    claims = [_to_json(c.as_dict()) for c in exp.claims(result)]
    if size == "smoke":  # seconds on a toy problem: shown, never judged against the paper
        for c in claims:
            c["verdict"] = "n/a"
            c["note"] = "smoke size: not judged. " + c.get("note", "")
    result["claims"] = claims
    _atomic_write(out_dir / f"{name}.json", json.dumps(result, indent=1))
    if plot:
        import matplotlib.pyplot as plt

        exp.plot(result, out_dir / f"{name}.png")
        plt.close("all")  # a reproduce --all opens dozens of figures otherwise
    return result
