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
import re
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
    records_lacking,
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
    "DamagedRecordError",
    "Schematic",
    "SCHEMATICS",
    "register_schematic",
    "paper_ref",
    "paper_position",
    "paper_order",
    "TABLE_PLACES",
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
    # what of the paper it reproduces ("Figure 12", "Theorem 4.2"; "" for the library's own):
    # derived from the name by :func:`paper_ref` unless given
    paper_ref: str = ""
    # the module that builds the record (where its parameters and sizes live); derived
    module: str = ""

    def __post_init__(self):
        # frozen: the derived fields are set once, here, so every index reads the same record
        if not self.paper_ref:
            object.__setattr__(self, "paper_ref", paper_ref(self.name))
        if not self.module:
            object.__setattr__(self, "module", _caller_module())


@dataclass(frozen=True)
class Alias:
    """A numbered statement of the paper checked by an experiment registered under another name."""

    name: str
    target: str
    statement: str


@dataclass(frozen=True)
class Schematic:
    """A figure of the paper with no number to reproduce (a drawing): the verdict page lists it,
    in the paper's order, as *not checkable*."""

    name: str
    statement: str
    paper_ref: str = ""  # derived from the name, as for an :class:`Experiment`

    def __post_init__(self):
        if not self.paper_ref:
            object.__setattr__(self, "paper_ref", paper_ref(self.name))


class NothingRecorded(FileNotFoundError):
    """``reproduce(cached_only=True)`` found no recorded seed run to build a result from."""


class DamagedRecordError(ValueError):
    """A per-seed record parses but lacks what its experiment reads from it (named in the message)."""


EXPERIMENTS: dict[str, Experiment] = {}
ALIASES: dict[str, Alias] = {}
SCHEMATICS: dict[str, Schematic] = {}

_NUMBERED = re.compile(r"(fig|table|theorem|lemma|corollary|proposition)(\d+)")
_WORDS = {"fig": "Figure", "table": "Table", "theorem": "Theorem", "lemma": "Lemma",
          "corollary": "Corollary", "proposition": "Proposition"}  # fmt: skip

#: Where the paper puts its tables among its figures: Table k stands just before Figure
#: ``TABLE_PLACES[k]`` (Table 7, the regression hyper-parameters, after the last one, Figure 26).
#: A fact of the paper's layout, not of the registry: registering an experiment never changes it.
TABLE_PLACES = {1: 1, 2: 1, 3: 1, 4: 3, 5: 3, 6: 3, 7: 27}


def paper_ref(name: str) -> str:
    """The paper's numbered item an experiment's name stands for; ``""`` for the library's own.

    Figures and tables keep their number; a statement's two digits are section and number (the
    paper numbers statements within sections, all below 10 here).  A longer statement number is
    ambiguous (``theorem101``: 10.1 or 1.01?), so it is not guessed: the record states it.

    >>> [paper_ref(n) for n in ("fig12", "table3", "theorem42", "lemma53", "esd", "theorem101")]
    ['Figure 12', 'Table 3', 'Theorem 4.2', 'Lemma 5.3', '', '']
    """
    m = _NUMBERED.fullmatch(name)
    if m is None:
        return ""
    word, digits = _WORDS[m[1]], m[2]
    if word in ("Figure", "Table"):
        return f"{word} {int(digits)}"
    return f"{word} {digits[0]}.{digits[1]}" if len(digits) == 2 else ""


def paper_position(ref: str) -> tuple[int, int, int] | None:
    """Sort key of a figure or table of the paper in its order (``None`` for anything else).

    Figure n sorts at n; Table k just before the figure :data:`TABLE_PLACES` puts it before.

    >>> sorted(["Figure 3", "Table 4", "Figure 2"], key=paper_position)
    ['Figure 2', 'Table 4', 'Figure 3']
    """
    word, _, number = ref.partition(" ")
    if word == "Figure" and number.isdigit():
        return int(number), 1, 0
    if word == "Table" and number.isdigit():
        k = int(number)
        if k not in TABLE_PLACES:
            raise ValueError(
                f"paper_position: {ref!r} has no place among the figures; add it to "
                "rmtheory.experiments.registry.TABLE_PLACES (the figure it stands before)"
            )
        return TABLE_PLACES[k], 0, k
    return None


def paper_order() -> list[str]:
    """The names of the paper's figures and tables in its order: every registered experiment
    and :class:`Schematic` whose :attr:`paper_ref` is a figure or a table."""
    records = [*EXPERIMENTS.values(), *SCHEMATICS.values()]
    placed = [(paper_position(r.paper_ref), r.name) for r in records]
    return [name for key, name in sorted(p for p in placed if p[0] is not None)]


def _caller_module() -> str:
    """The first module outside this one on the stack: the one building an :class:`Experiment`
    (the dataclass ``__init__`` runs with this module's globals, so it is skipped too)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in (__name__, "dataclasses"):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


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
    if exp.name in SCHEMATICS:
        raise ValueError(f"{exp.name!r} is registered as a schematic (no numbers to reproduce)")
    EXPERIMENTS[exp.name] = exp
    return exp


def register_alias(name: str, target: str, statement: str) -> Alias:
    """Make ``rmtheory reproduce name`` run ``target`` (e.g. ``lemma51`` → ``fig12``)."""
    if name in EXPERIMENTS:
        raise ValueError(f"{name!r} is already an experiment")
    alias = Alias(name, target, statement)
    ALIASES[name] = alias
    return alias


def register_schematic(name: str, statement: str) -> Schematic:
    """Record a figure of the paper that has no number to reproduce (e.g. a drawing of a layer).

    It is listed on the verdict page in the paper's order as *not checkable*, with ``statement``
    as the reason; ``rmtheory reproduce name`` says so instead of "unknown experiment".
    """
    if name in EXPERIMENTS or name in ALIASES:
        raise ValueError(f"{name!r} is already an experiment or an alias")
    if not statement:
        raise ValueError(f"register_schematic: {name!r} needs a statement (what the figure shows)")
    schematic = Schematic(name, statement)
    if paper_position(schematic.paper_ref) is None:
        raise ValueError(f"register_schematic: {name!r} names no figure or table of the paper")
    SCHEMATICS[name] = schematic
    return schematic


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


def recorded_wall_time(
    out_dir: Path, name: str, size: str, params: dict | None = None
) -> float | None:
    """The wall time of the result of ``name`` at ``size`` recorded in ``out_dir``, if any (and,
    when ``params`` is given, only if it was run with those parameters: a run with other seeds or
    epochs says nothing about this one's time)."""
    try:
        old = json.loads((Path(out_dir) / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or old.get("size") != size or old.get("partial"):
        return None
    if params is not None and old.get("params") != json.loads(json.dumps(params, default=str)):
        return None
    wall = old.get("wall_time_s")
    return float(wall) if isinstance(wall, int | float) and wall > 0 else None


def _raise_lacking(err: KeyError, read: list[Path], name: str) -> None:
    """A ``KeyError`` while building ``name`` from its records, as an error naming the records
    that lack the key (nothing to say when none does: then it is not about the records)."""
    key = err.args[0] if err.args else None
    lacking = records_lacking(read, key) if isinstance(key, str) else []
    if lacking:
        files = ", ".join(map(str, lacking))
        raise DamagedRecordError(
            f"{name}: the per-seed record(s) {files} lack {key!r} (damaged, or written by an "
            "older version): remove them to compute them again"
        ) from err


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
    if name in SCHEMATICS:
        raise ValueError(
            f"{name!r} ({SCHEMATICS[name].paper_ref}) is {SCHEMATICS[name].statement}: "
            "no numbers to reproduce"
        )
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
    expected = None if cached_only else recorded_wall_time(out_dir, name, size, params)
    with run_context(reporting=True, cached_only=bool(cached_only), experiment=name,
                     expected_s=expected) as ctx:  # fmt: skip
        try:
            result = exp.run(params=params, jobs=jobs, cache=cache)
        except KeyError as err:
            _raise_lacking(err, ctx.read, name)
            raise
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
        write_figure(exp.plot, result, out_dir / f"{name}.png")
    return result


def write_figure(plot: Callable[[dict, Any], Any], result: dict, path: Path) -> Path | None:
    """``plot(result, buffer)`` rendered in memory, then written to ``path`` through
    :func:`rmtheory.atomic.atomic_write`: a full disk or a kill never leaves a torn image (the
    plot functions call ``fig.savefig`` on what they are given; PNG is matplotlib's default).
    Nothing is written when the plot saves nothing."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        plot(result, buffer)
    finally:
        plt.close("all")  # a reproduce --all opens dozens of figures otherwise
    if not buffer.getbuffer().nbytes:
        return None
    return atomic_write(path, buffer.getvalue(), what="figure")
