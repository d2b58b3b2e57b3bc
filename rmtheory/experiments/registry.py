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

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmtheory._validation import n_jobs
from rmtheory.atomic import atomic_write
from rmtheory.experiments.rules import VERDICTS, Claim, relative
from rmtheory.experiments.runner import (
    RunContext,
    current_context,
    map_seeds,
    run_context,
    seed_run,
    to_json,
)

__all__ = [
    "Experiment",
    "Claim",
    "register",
    "size_sets",
    "register_alias",
    "EXPERIMENTS",
    "ALIASES",
    "VERDICTS",
    "reproduce",
    "map_seeds",
    "verdict",
    "RunContext",
    "run_context",
    "current_context",
    "seed_run",
    "NothingRecorded",
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


def size_sets(common: dict | None = None, **sizes: dict) -> dict[str, dict[str, Any]]:
    """The ``sizes`` of an :class:`Experiment`: each size's parameters over ``common`` ones.

    >>> size_sets({"eps": 0.1}, smoke={"n": 1}, quick={"n": 2}, full={"n": 3})["quick"]
    {'eps': 0.1, 'n': 2}
    """
    if set(sizes) != set(SIZES):
        raise ValueError(f"size_sets needs the sizes {SIZES}, got {sorted(sizes)}")
    return {s: {**(common or {}), **sizes[s]} for s in SIZES}


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


def recorded_wall_time(out_dir: Path, name: str, size: str) -> float | None:
    """The wall time of the result of ``name`` at ``size`` recorded in ``out_dir``, if any."""
    try:
        old = json.loads((Path(out_dir) / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or old.get("size") != size or old.get("partial"):
        return None
    wall = old.get("wall_time_s")
    return float(wall) if isinstance(wall, int | float) and wall > 0 else None


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
    jobs = n_jobs(jobs)
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
    expected = None if cached_only or seeds is not None else recorded_wall_time(out_dir, name, size)
    with run_context(reporting=True, cached_only=bool(cached_only), experiment=name,
                     expected_s=expected) as ctx:  # fmt: skip
        result = exp.run(params=params, jobs=jobs, cache=cache)
    missing, found = ctx.missing, ctx.found
    if cached_only and missing and not found:
        raise NothingRecorded(
            f"cached_only: no seed run of {name!r} at {size} size is recorded in {cache} "
            f"({missing} runs missing); compute them first (reproduce without cached_only)"
        )
    if missing:
        result["partial"] = f"{missing} seed runs not yet computed (built from the recorded ones)"
    result = to_json(
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
    claims = [to_json(c.as_dict()) for c in exp.claims(result)]
    if size == "smoke":  # seconds on a toy problem: shown, never judged against the paper
        for c in claims:
            c["verdict"] = "n/a"
            c["note"] = "smoke size: not judged. " + c.get("note", "")
    result["claims"] = claims
    atomic_write(out_dir / f"{name}.json", json.dumps(result, indent=1), what="result")
    if plot:
        import matplotlib.pyplot as plt

        exp.plot(result, out_dir / f"{name}.png")
        plt.close("all")  # a reproduce --all opens dozens of figures otherwise
    return result
