"""The ``rmtheory`` command line.

Sub-commands import their library code lazily so that ``rmtheory --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_demo(args: argparse.Namespace) -> int:
    from rmtheory.demo import run_demo, run_headline

    jobs = _jobs(args.jobs)
    if jobs is None:
        return 2
    if args.synthetic:
        run_demo(out_dir=args.out or "figures/demo", seed=args.seed)
    else:
        run_headline(out_dir=args.out, jobs=jobs, size="smoke" if args.smoke else "quick",
                     update_docs=args.update_docs)  # fmt: skip
    return 0


def _jobs(value: int) -> int | None:
    """``--jobs`` checked once (rmtheory._validation.n_jobs); None, with the reason, when wrong."""
    from rmtheory._validation import n_jobs

    try:
        return n_jobs(value, "--jobs")
    except (TypeError, ValueError) as err:
        print(f"rmtheory: {err}", file=sys.stderr)
        return None


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from rmtheory.datasets import DatasetUnavailable, fetch

    try:
        paths = fetch(args.name, progress=not args.quiet)
    except DatasetUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


def _recorded_results(out: str) -> str:
    """``out``; for the default ``figures`` when this folder has none, the committed records of the
    checkout rmtheory runs from (so `rmtheory list` shows the measured costs from anywhere)."""
    from pathlib import Path

    if out != "figures" or Path(out).is_dir():
        return out
    committed = Path(__file__).resolve().parents[1] / "figures"
    return str(committed) if committed.is_dir() else out


def _cmd_list(args: argparse.Namespace) -> int:
    from rmtheory.experiments import ALIASES, EXPERIMENTS
    from rmtheory.experiments.report import cost_line, data_needs, measured_costs

    folder = _recorded_results(args.out)
    costs = measured_costs(folder)
    pad = " " * 16
    print(f"measured compute time on one core (from the results recorded in {folder}/)")
    for name in sorted(EXPERIMENTS):
        exp = EXPERIMENTS[name]
        print(f"{name:>14}  {exp.title}")
        print(f"{pad}cost: {cost_line(name, costs)}; data: {data_needs(name)}")
    for name in sorted(ALIASES):
        alias = ALIASES[name]
        print(f"{name:>14}  {alias.statement} (checked by {alias.target})")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from rmtheory.experiments import ALIASES, EXPERIMENTS, reproduce, write_report
    from rmtheory.experiments.backends import backend_context, check_backend
    from rmtheory.experiments.report import print_claims, write_gallery

    try:
        backend, device, dtype = check_backend(args.backend, args.device, args.dtype)
    except (ImportError, ValueError) as err:
        print(f"rmtheory: {err}", file=sys.stderr)
        return 2
    if args.out is None:  # another backend's results never replace the NumPy ones in figures/
        default = backend == "numpy" and dtype == "float32"
        args.out = "figures" if default else f"figures/{backend}-{device}-{dtype}"
    if args.report and not (args.all or args.names):
        print(write_report(args.out), write_gallery(args.out))
        return 0
    names = sorted(EXPERIMENTS) if args.all else args.names
    jobs = _jobs(args.jobs)
    if jobs is None:
        return 2
    if not names:
        print("name one or more experiments (see `rmtheory list`), or --all", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in EXPERIMENTS and n not in ALIASES]
    if unknown:
        print(f"unknown experiment(s) {unknown}; see `rmtheory list`", file=sys.stderr)
        return 2
    from rmtheory.datasets import DatasetUnavailable
    from rmtheory.experiments.registry import DamagedRecordError, NothingRecorded

    if backend == "torch" and jobs != 1:
        print("rmtheory: --backend torch trains one seed at a time (--jobs 1); one process "
              "owns the device", file=sys.stderr)  # fmt: skip
        jobs = 1
    for name in names:
        try:
            with backend_context(backend, device, dtype):
                result = reproduce(name, args.size, args.out, seeds=args.seeds, jobs=jobs,
                                   cached_only=args.cached_only)  # fmt: skip
            print_claims(result)
            if backend != "numpy" and "backend" not in result:  # the runner took no backend
                print(f"rmtheory: {name} trains nothing on --backend {backend} (its runner is "
                      "NumPy-only, or it trains no network): its result is NumPy's",
                      file=sys.stderr)  # fmt: skip
        except DatasetUnavailable as err:
            print(f"{name} needs a dataset that is not available here:\n{err}", file=sys.stderr)
            return 2
        except NothingRecorded as err:  # --cached-only with nothing recorded
            print(f"{name}: {err}", file=sys.stderr)
            return 2
        except DamagedRecordError as err:  # its message names the experiment and the files
            print(f"rmtheory: {err}", file=sys.stderr)
            return 2
    if args.all or args.report:
        print(write_report(args.out), write_gallery(args.out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from rmtheory import __version__

    parser = argparse.ArgumentParser(
        prog="rmtheory",
        description="Random-matrix theory of neural-network pruning: reproduce the paper "
        "(demo, list, reproduce), analyse or compress any model's weights (analyze, compress), "
        "fetch datasets (data).",
    )
    parser.add_argument("--version", action="version", version=f"rmtheory {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="the headline at quick size: the authors' MNIST protocol and its controls, a trained "
        "layer's ESD, Fig 17 (about 10 minutes on 2 cores)",
        description="Run the paper's headline at quick size (2 seeds): the authors' MNIST protocol "
        "trained normally, with MP pruning and with five controls, the ESD of a trained layer "
        "with its BEMA fit, and Fig 17; print a line per finished seed and a summary that says "
        "the size and seeds each verdict rests on. Writes figures/demo/ (untracked) and its "
        "reproduction.md; --update-docs writes figures/ and docs/reproduction.md instead.",
    )
    demo.add_argument(
        "--out", default=None,
        help="folder for figures and JSON (default: figures/demo, or figures with --update-docs)",
    )  # fmt: skip
    demo.add_argument(
        "--update-docs", action="store_true",
        help="write the repository's figures/ and its verdict page docs/reproduction.md",
    )  # fmt: skip
    demo.add_argument(
        "--jobs", type=int, default=2, help="joblib processes (default 2; -1: all CPUs)"
    )
    demo.add_argument(
        "--smoke", action="store_true", help="seconds-long smoke size instead of quick"
    )
    demo.add_argument(
        "--synthetic", action="store_true", help="offline: MP fit of a random noisy low-rank matrix"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the --synthetic demo")
    demo.set_defaults(func=_cmd_demo)

    from rmtheory.experiments.report import add_size_arguments

    lst = sub.add_parser(
        "list",
        help="list the reproducible figures and tables",
        description="Every reproducible figure, table and theorem check of the paper, with the "
        "compute time measured at each size (from the recorded results) and the data it needs; "
        "then the numbered statements checked by another experiment.",
    )
    lst.add_argument(
        "--out", default="figures", help="folder of recorded results (default: figures)"
    )
    lst.set_defaults(func=_cmd_list)
    rep = sub.add_parser(
        "reproduce",
        help="regenerate figures/tables of the paper with a verdict",
        description="Run experiments (see `rmtheory list`) at a size: --smoke (seconds, never "
        "judged), --quick (the default, minutes) or --full (the paper's size; per-seed records "
        "under figures/full/seeds/). Writes <out>/<name>.json and .png and prints each claim's "
        "verdict; every finished seed is cached, so an interrupted run resumes. --all also "
        "rewrites docs/reproduction.md and docs/gallery.md.",
    )
    rep.add_argument("names", nargs="*", help="experiments to run (see `rmtheory list`)")
    rep.add_argument("--all", action="store_true", help="run every experiment")
    rep.add_argument(
        "--report", action="store_true", help="(re)write docs/reproduction.md from figures/*.json"
    )
    add_size_arguments(rep)
    rep.add_argument(
        "--backend", choices=["numpy", "torch"], default="numpy",
        help="what trains the networks of the training experiments (Tables 1-6 at full size, "
        "the headline, Figs 7-11): numpy (default) or torch (pip install -e '.[torch]'); "
        "another backend's per-seed records have their own cache keys and name it, and its "
        "results go to figures/<backend>-<device>-<dtype>/ unless --out is given",
    )  # fmt: skip
    rep.add_argument(
        "--device", default=None,
        help="torch device for --backend torch: cpu, cuda, ... (default: cuda when visible)",
    )  # fmt: skip
    rep.add_argument(
        "--dtype", choices=["float32", "float64"], default="float32",
        help="precision of the training (default float32, the authors')",
    )  # fmt: skip
    # default out: figures/ for numpy, figures/<backend>-<device>/ for another backend
    rep.set_defaults(func=_cmd_reproduce, out=None)

    from rmtheory.analyze_cli import add_commands as add_analyze_commands

    add_analyze_commands(sub)

    data = sub.add_parser("data", help="dataset utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="fetch and verify a dataset into the cache")
    fetch.add_argument("name", choices=["mnist", "fashion-mnist", "cifar10"])
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_cmd_data_fetch)
    return parser


def _console_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as a command-line user reads it: no source path, line number or code line."""
    return f"rmtheory: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    args = build_parser().parse_args(argv)
    library_format, warnings.formatwarning = warnings.formatwarning, _console_warning
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `rmtheory list | head`: the reader left; no traceback
        import os

        # stdout is gone: point it at devnull so the interpreter's final flush stays quiet
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # not a real file (a test's capture)
            pass
        return 0
    finally:  # main() is also called from Python (tests, notebooks): leave their format alone
        warnings.formatwarning = library_format


if __name__ == "__main__":
    sys.exit(main())
