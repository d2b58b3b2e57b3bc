"""The verdict table (``docs/reproduction.md``) built from the JSON files, and the entry point
shared by the thin scripts in ``validation/``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from rmtheory.atomic import atomic_write
from rmtheory.experiments.registry import (
    ALIASES,
    EXPERIMENTS,
    SCHEMATICS,
    VERDICTS,
    paper_order,
    reproduce,
)

__all__ = [
    "write_report",
    "write_gallery",
    "script_main",
    "add_size_arguments",
    "measured_costs",
    "data_needs",
    "print_claims",
    "validation_script",
    "write_validation_scripts",
]


def __getattr__(name: str):
    """``PAPER_ORDER`` and ``NOT_REGISTERED``, derived from the records on each access (PEP 562),
    so that an index can never lag behind what is registered.

    ``PAPER_ORDER``: the paper's figures and tables in its order
    (:func:`rmtheory.experiments.registry.paper_order`); ``NOT_REGISTERED``: those with nothing to
    check (the :data:`~rmtheory.experiments.registry.SCHEMATICS`) and why.
    """
    if name == "PAPER_ORDER":
        return tuple(paper_order())
    if name == "NOT_REGISTERED":
        return {n: _not_checkable(n) for n in SCHEMATICS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _not_checkable(name: str) -> str:
    """The reason a schematic's row on the verdict page gives."""
    return f"{SCHEMATICS[name].statement}: no numbers to reproduce"


_RANK = {"smoke": 0, "quick": 1, "full": 2}


def _largest_results(figures_dir: Path) -> dict[str, tuple[dict, Path]]:
    """For each experiment, its result of the largest size found (``full/`` beats the top level)."""
    found: dict[str, tuple[dict, Path]] = {}
    for path in [*sorted(figures_dir.glob("*.json")), *sorted(figures_dir.glob("full/*.json"))]:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        name = result.get("name", path.stem) if isinstance(result, dict) else None
        if name not in EXPERIMENTS:
            continue
        old = found.get(name)
        if old is None or _RANK.get(result.get("size"), 0) > _RANK.get(old[0].get("size"), 0):
            found[name] = (result, path)
    return found


def _ordered_names() -> list[str]:
    """The verdict page's order: the headline, the paper's figures and tables in its order, the
    theorems, then the library's own experiments (each group from the records)."""
    paper = paper_order()
    rest = sorted(n for n in EXPERIMENTS if n not in paper and n != "headline")
    theorems = [n for n in rest if EXPERIMENTS[n].kind == "theorem"]
    others = [n for n in rest if n not in theorems]
    return ["headline", *paper, *theorems, *others]


def _summary(rows: list[tuple]) -> list[str]:
    counts: dict[tuple[str, str], int] = {}
    for _, size, c, _ in rows:
        counts[c["verdict"], size] = counts.get((c["verdict"], size), 0) + 1
    sizes = [s for s in ("full", "quick", "smoke") if any(k[1] == s for k in counts)]
    verdicts = [v for v in VERDICTS if any(k[0] == v for k in counts)]
    lines = ["| verdict | " + " | ".join(sizes) + " | all |", "|---" * (len(sizes) + 2) + "|"]
    for v in verdicts:
        cells = [str(counts.get((v, s), 0)) for s in sizes]
        total = sum(counts.get((v, s), 0) for s in sizes)
        lines.append(f"| {v} | " + " | ".join(cells) + f" | {total} |")
    return lines


def _headline_sentences(found: dict) -> list[str]:
    """The headline claims in one sentence each, from the headline and table1 results."""
    out = []
    head = found.get("headline")
    if head is not None:
        result, path = head
        by = {c["claim"]: c for c in result.get("claims", [])}
        gain = next((c for k, c in by.items() if k.startswith("headline: MP pruning raises")), None)
        if gain is not None:
            parts = [c for k, c in by.items() if k.startswith("headline: ") and c is not gain]
            levels = "; ".join(f"{c['claim'][len('headline: '):]} {c['paper']}: "
                               f"**{c['verdict']}**" for c in parts)  # fmt: skip
            size = gain["note"].rsplit("; ", 1)[-1] if "paper's" in gain["note"] else ""
            out.append(
                f"- **Does MP pruning raise MNIST accuracy from 70–85 % to 98.5 %?** Under the "
                f"authors' own protocol ({result['size']} size): the gain is "
                f"**{gain['verdict']}** — pruned − normal = {gain['ours']}"
                + (f" ({size})" if size else "")
                + (f"; {levels}" if levels else "")
                + f". (`{path.as_posix()}`)"
            )
        cause = [c for k, c in by.items() if k.startswith("mechanism:") and " vs normal" in k]
        if cause:
            parts = "; ".join(
                f"{c['claim'][len('mechanism: ') :].replace(' vs normal (points)', '')} "
                f"{c['ours'].split(';')[0]} ({c['note'].split(';')[0]})"
                for c in cause
            )
            out.append(
                "- **Why?** With a ReLU after the output layer some class outputs die (zero on "
                "almost every image) and their classes are never predicted; changing the output "
                "layer revives them. An ingredient is said to cause a gain only when its paired "
                f"95 % CI lies above 0. One ingredient at a time: {parts}."
            )
        cond = [c for k, c in by.items() if k.startswith("mechanism: mp − normal on seeds")]
        if cond:
            out.append("  Conditional on the mechanism: " + "; ".join(
                f"{c['claim'].split('on seeds ')[1].replace(' (points)', '')}: "
                f"{c['ours']}" for c in cond) + ".")  # fmt: skip
        shots = [c for k, c in by.items() if k.startswith("intervention")]
        if shots:
            out.append("  One-shot interventions from the epoch-1 state of the dead-unit seeds: "
                       + "; ".join(f"{c['claim'].split(': ', 1)[1].replace(' (points)', '')} "
                                   f"{c['ours'].split(' (95%')[0]} ({c['note']})"
                                   for c in shots) + ".")  # fmt: skip
        relu = next((c for k, c in by.items() if k.startswith("without the final ReLU")), None)
        if relu is not None:
            out.append(
                "- **Without the final ReLU** (the corrected net) nothing dies and MP pruning is a "
                f"compression, not an accuracy gain: {relu['ours']}."
            )
    for name in ("table1", "table4"):
        out += _full_table_sentences(found.get(name))
    return out


def _full_table_sentences(table) -> list[str]:
    """The gain under the authors' protocol, and MP on the corrected net, of a full-size table."""
    if table is None or table[0].get("size") != "full":
        return []
    result, path = table
    epochs = result["params"].get("protocol", {}).get("epochs", "?")
    out = []
    for c in result.get("claims", []):
        if "raises accuracy" in c["claim"]:
            out.append(
                f"- **At full size** ({c['claim'].split(' pruning')[0]}, {epochs} epochs; "
                f"{c['note'].split(';')[0]}): **{c['verdict']}**, {c['ours']} (paper "
                f"{c['paper']}). (`{path.as_posix()}`)"
            )
        elif c["claim"].endswith("corrected net: mp − unpruned (points)"):
            out.append(f"  Without the final ReLU, MP pruning there: {c['ours']}.")
    return out


def _section(name: str) -> str:
    if name == "headline" or name in paper_order():
        return "paper"
    exp = EXPERIMENTS.get(name)
    return "theorems" if exp is not None and exp.kind == "theorem" else "beyond"


def _rows_of(name: str, result: dict, path: Path, rows: list, seen: dict) -> list[str]:
    """Table rows of one result; a claim already shown by another entry is referred to."""
    body, shared = [], []
    for c in result.get("claims", []):
        key = (c["claim"], c["ours"])
        if key in seen:
            shared.append(seen[key])
            continue
        seen[key] = name
        rows.append((name, result["size"], c, path.as_posix()))
        note = c.get("note", "").replace("|", "/")
        if result.get("partial"):
            note = f"PARTIAL ({result['partial']}). {note}"
        tags = "".join(f" *{t}*" for t in c.get("tags", ()))
        power = c.get("power", "").replace("|", "/") or "not stated"
        body.append(
            f"| {name} | {result['size']} | {c['claim']} | {c['paper']} | {c['ours']} | "
            f"**{c['verdict']}**{tags} | {power} | `{path.as_posix()}` | {note} |"
        )
    if shared:
        body.append(
            f"| {name} | {result['size']} | same claims as {', '.join(sorted(set(shared)))} | "
            f"| | | | `{path.as_posix()}` | |"
        )
    elif not result.get("claims"):
        body.append(f"| {name} | {result['size']} | (no numbered claim: a figure of data) "
                    f"| | | **n/a** | none: nothing judged | `{path.as_posix()}` | |")  # fmt: skip
    return body


def write_report(
    figures_dir: str | Path = "figures", out: str | Path = "docs/reproduction.md"
) -> Path:
    """Write the verdict page from the JSON results (largest size of each); each row names its file.

    On top: counts by verdict and size and the headline claims in one sentence each; then every
    figure and table of the paper in its order (unregistered ones with the reason), the theorems,
    and the library's own experiments.  A claim shared by two entries (a table and its figure) is
    shown once.
    """
    figures_dir = Path(figures_dir)
    found = _largest_results(figures_dir)
    rows: list[tuple] = []
    seen: dict = {}
    missing: list[str] = []
    sections = {"paper": [], "theorems": [], "beyond": []}
    for name in _ordered_names():
        section = _section(name)
        if name not in EXPERIMENTS:
            if name in SCHEMATICS:
                sections[section].append(
                    f"| {name} | — | {_not_checkable(name)} | | | **not checkable** | none: no "
                    "number | | |"
                )
            continue
        if name not in found:
            missing.append(name)
            continue
        sections[section] += _rows_of(name, *found[name], rows, seen)
    header = [
        "| figure | size | claim | paper / theory | ours | verdict | power | source | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    headline = _headline_sentences(found)
    lines = [
        "# Reproduction verdicts",
        "",
        "Generated by `rmtheory reproduce --report` from the JSON files in `figures/` (quick size)",
        "and `figures/full/` (the paper's size); for each experiment the largest size present is",
        "judged, and every row names the file its number comes from. Smoke runs are never judged.",
        "*reproduced*: our number agrees with the paper's within the tolerance stated in the",
        "experiment; *partly*: loosely or in trend only; *not reproduced*; for theorems *holds*,",
        "*violated*, *vacuous* (true but useless) or *not checkable*; *n/a*: no paper number.",
        "*by construction*: the row's quantity is fixed by how it is built, so it cannot fail; it",
        "is counted apart and is not evidence. A verdict marked *calibrated* rests on a constant",
        "fitted to the paper (the threshold T); *substitute*: judged on a stand-in for the paper's",
        "net or data. The *power* column says what deliberate error in the theory flips the row's",
        "verdict (`tests/test_power*.py` checks each one), or why the row has none.",
        "",
        "## Summary",
        "",
        *_summary(rows),
        "",
        *(["## The headline", "", *headline, ""] if headline else []),
        "## The paper's figures and tables, in its order",
        "",
        *header,
        *sections["paper"],
        "",
        "## Theorems",
        "",
        "Each numbered statement of the paper, the experiment (and `validation/<name>.py` script)",
        "that checks it, its verdict and its tightness (in the `ours` column and the figure).",
        "",
        *header,
        *sections["theorems"],
    ]
    if ALIASES:
        lines += ["", "Statements checked by a figure's experiment:", ""]
        lines += [
            f"- **{a.name}** ({a.statement}): `rmtheory reproduce {a.name}` runs "
            f"`{a.target}` (`validation/{a.target}.py`); its rows are above."
            for a in ALIASES.values()
        ]
    lines += ["", "## Beyond the paper", "", *header, *sections["beyond"]]
    if missing:
        lines += ["", f"Registered but not yet run: {', '.join(missing)}."]
    follows = [(n, EXPERIMENTS[n].follows) for n in _ordered_names()
               if n in EXPERIMENTS and EXPERIMENTS[n].follows]  # fmt: skip
    if follows:
        lines += ["", "## Paper or authors' code? (the protocol behind each verdict)", ""]
        lines += [f"- **{n}**: {f}" for n, f in follows]
    return atomic_write(out, "\n".join(lines) + "\n", what="verdict page")


def write_gallery(figures_dir: str | Path = "figures", out: str | Path = "docs/gallery.md") -> Path:
    """A page showing every ``<figures_dir>/<name>.png`` with its title, size and verdicts."""
    figures_dir, out = Path(figures_dir), Path(out)
    rel = Path(os.path.relpath(figures_dir.resolve(), out.parent.resolve()))
    lines = [
        "# Figure gallery",
        "",
        "Every figure regenerated by `rmtheory reproduce`, the largest size present (`figures/full/` for the",
        "paper's size), in the paper's order. Numbers behind each",
        "figure are in the JSON file of the same name; verdicts are in [the reproduction table](reproduction.md).",
        "",
    ]
    found = _largest_results(figures_dir)
    for name in _ordered_names():
        if name not in found:
            continue
        result, js = found[name]
        png = js.with_suffix(".png")
        if not png.exists():
            continue
        counts: dict[str, int] = {}
        for c in result.get("claims", []):
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no numbered claims"
        lines += [
            f"## {name}: {result['title']}",
            "",
            f"Size `{result['size']}`; claims: {summary}."
            + (f" Partial: {result['partial']}." if result.get("partial") else ""),
            "",
            f"![{name}]({(rel / png.relative_to(figures_dir)).as_posix()})",
            "",
        ]
    return atomic_write(out, "\n".join(lines) + "\n", what="figure gallery")


def _natural(name: str) -> tuple:
    head = name.rstrip("0123456789")
    tail = name[len(head) :]
    return head, int(tail) if tail else -1


def _compute_seconds(result: dict) -> float:
    """Training time recorded in a result (the sum of its runs' ``epoch_time``), else its wall
    time: a result rebuilt from recorded seeds took seconds, its runs did not."""
    total = 0.0

    def walk(obj):
        nonlocal total
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key == "epoch_time" and isinstance(value, list):
                    total += sum(v for v in value if isinstance(v, int | float))
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk({k: v for k, v in result.items() if k not in ("params", "claims")})
    wall = result.get("wall_time_s")
    return max(total, float(wall) if isinstance(wall, int | float) else 0.0)


def measured_costs(figures_dir: str | Path = "figures") -> dict[str, dict[str, float]]:
    """``{name: {size: seconds}}`` measured by the recorded results in ``figures_dir`` (and its
    ``full/`` and ``smoke/`` folders): one core's compute time of each size, where recorded."""
    figures_dir = Path(figures_dir)
    out: dict[str, dict[str, float]] = {}
    paths = [*figures_dir.glob("*.json"), *figures_dir.glob("full/*.json"),
             *figures_dir.glob("smoke/*.json")]  # fmt: skip
    for path in sorted(paths):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(result, dict) or result.get("name") not in EXPERIMENTS:
            continue
        seconds = _compute_seconds(result)
        # under a second: a result rebuilt from recorded seeds that kept no epoch times
        if seconds >= 1.0 and not result.get("partial"):
            out.setdefault(result["name"], {})[result.get("size", "?")] = seconds
    return out


def data_needs(name: str) -> str:
    """The datasets experiment ``name`` reads at each size (``synthetic`` when it draws its own)."""
    exp = EXPERIMENTS[name]
    by_size = {}
    for size, params in exp.sizes.items():
        data = params.get("datasets") or params.get("dataset")
        data = data if isinstance(data, list | tuple) else [data] if data else []
        real = [d for d in data if not str(d).startswith("tiny")]
        by_size[size] = ", ".join(real) or "synthetic"
    sizes = {}
    for size, data in by_size.items():
        sizes.setdefault(data, []).append(size)
    return "; ".join(f"{d} ({', '.join(s)})" if len(sizes) > 1 else d for d, s in sizes.items())


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def cost_line(name: str, costs: dict[str, dict[str, float]]) -> str:
    """``quick 12 min, full 3.5 h``: the sizes with a recorded result (smoke ones seconds)."""
    measured = costs.get(name, {})
    done = [f"{s} {_duration(measured[s])}" for s in ("smoke", "quick", "full") if s in measured]
    rest = [s for s in ("quick", "full") if s not in measured]
    text = ", ".join(done) or "not measured"
    return text + (f" ({', '.join(rest)} not measured)" if done and rest else "")


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--full", dest="size", action="store_const", const="full", help="the paper's full size"
    )
    size.add_argument(
        "--quick", dest="size", action="store_const", const="quick",
        help="minutes on 2 cores (the default)",
    )  # fmt: skip
    size.add_argument(
        "--smoke", dest="size", action="store_const", const="smoke",
        help="seconds (CI); smoke results are never judged",
    )  # fmt: skip
    parser.set_defaults(size="quick")
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (overrides the size's)"
    )
    parser.add_argument(
        "--jobs", type=int, default=1,
        help="joblib processes for runs over seeds (-1: all CPUs; capped at the CPUs available)",
    )  # fmt: skip
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="compute nothing: build the result from the seeds already recorded",
    )
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")


def script_main(name: str, argv: Sequence[str] | None = None) -> dict:
    """Entry point of ``validation/<name>.py``: parse the size options, reproduce, print the verdicts."""
    exp = EXPERIMENTS[name]
    parser = argparse.ArgumentParser(description=f"{name}: {exp.title}")
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    result = reproduce(
        name, args.size, args.out, seeds=args.seeds, jobs=args.jobs, cached_only=args.cached_only
    )
    print_claims(result)
    return result


def _source_path(module: str) -> str:
    """``rmtheory/experiments/theory/entries.py`` for ``rmtheory.experiments.theory.entries``."""
    mod = sys.modules.get(module)
    if mod is None or not getattr(mod, "__file__", None):
        return module.replace(".", "/") + ".py"
    root = Path(sys.modules["rmtheory"].__file__).resolve().parents[1]
    return Path(mod.__file__).resolve().relative_to(root).as_posix()


def validation_script(name: str) -> str:
    """The text of ``validation/<name>.py``, its header written from the :class:`Experiment`
    record: the paper reference it reproduces, its title, and the module holding its parameters.

    ``tests/test_house.py`` compares every script with this text, so a header cannot name a
    module the experiment has left (as 15 of 39 did when the catalogs were split by family).
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"validation_script: {name!r} is not a registered experiment")
    exp = EXPERIMENTS[name]
    title = exp.title if exp.title.endswith((".", "?")) else exp.title + "."
    ref = exp.paper_ref or "beyond the paper's numbered figures"
    what = f"{name}: {title}" if title.startswith(ref) else f"{name} ({ref}): {title}"
    head = textwrap.fill(f"Validation script for {what}", width=97)
    full = "the full size" if exp.kind == "theorem" else "the paper's size"
    script = f"validation/{name}.py"
    return (
        f'"""{head}\n\nParameters and sizes: {_source_path(exp.module)}.\n\n'
        f"python {script}            # quick size (default)\n"
        f"python {script} --full     # {full}\n"
        f"python {script} --smoke    # seconds (CI)\n"
        '"""\n\nfrom rmtheory.experiments import script_main\n\n'
        f'if __name__ == "__main__":\n    script_main("{name}")\n'
    )


def write_validation_scripts(folder: str | Path = "validation") -> list[Path]:
    """(Re)write ``<folder>/<name>.py`` for every registered experiment; returns the paths
    whose text changed.  Run it after registering or moving an experiment."""
    changed = []
    for name in sorted(EXPERIMENTS):
        path = Path(folder) / f"{name}.py"
        text = validation_script(name)
        if not path.exists() or path.read_text() != text:
            atomic_write(path, text, what="validation script")
            changed.append(path)
    return changed


def print_claims(result: dict) -> None:
    """The verdicts of a result, a line each (a smoke result says once that it is not judged)."""
    n = result.get("params", {}).get("n_seeds")
    seeds = f", {n} seed{'s' if n != 1 else ''}" if isinstance(n, int) else ""
    print(f"{result['name']} ({result['size']} size{seeds}, {result['wall_time_s']:.1f} s): "
          f"{result['title']}")  # fmt: skip
    if result["size"] == "smoke" and result["claims"]:
        print("  smoke size: a toy problem that checks the code runs; its results are never "
              "judged against the paper (every verdict n/a)")  # fmt: skip
    for c in result["claims"]:
        print(f"  [{c['verdict']:>14}] {c['claim']}: paper {c['paper']}, ours {c['ours']}")
