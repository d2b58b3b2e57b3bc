"""The ``rmtheory analyze``, ``rmtheory compress`` and ``rmtheory calibrate`` sub-commands.

``rmtheory.cli`` calls :func:`add_commands` on its sub-parsers; the library code is imported only
when a command runs, so ``rmtheory --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_commands", "cmd_analyze", "cmd_calibrate", "cmd_compress"]

# What a bad file or a bad weight raises; anything else is a bug and keeps its traceback.
_USER_ERRORS = (ValueError, TypeError, ImportError, OSError)


def _fail(command: str, err: BaseException) -> int:
    print(f"rmtheory {command}: error: {err}", file=sys.stderr)
    return 2


def _progress(args: argparse.Namespace) -> bool:
    """``--progress`` / ``--no-progress``, else a bar only when stderr is a terminal."""
    return sys.stderr.isatty() if args.progress is None else args.progress


def _jobs(text: str) -> int:
    """``--jobs``: checked by :func:`rmtheory._validation.n_jobs` (0 refused, -1 all CPUs, more
    than the CPUs cut to them with a warning)."""
    from rmtheory._validation import n_jobs

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a worker count, got {text!r}") from None
    try:
        return n_jobs(value, "--jobs")
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n:,}"


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the per-layer table; write plots / JSON / CSV when asked."""
    from rmtheory.analysis import analyze

    try:
        table = analyze(
            args.path,
            skip_embeddings=args.skip_embeddings,
            exclude=args.exclude,
            alpha=args.alpha,
            beta=args.beta,
            keep_eigenvalues=args.plots is not None,
            jobs=args.jobs,
            progress=_progress(args),
            cache=args.cache,
        )
        print(table.to_text())
        if args.json:
            table.to_json(args.json)
            print(f"wrote {args.json}")
        if args.csv:
            table.to_csv(args.csv)
            print(f"wrote {args.csv}")
        if args.plots:
            paths = table.plot(args.plots)
            print(f"wrote {len(paths)} plots to {args.plots}")
    except _USER_ERRORS as err:
        return _fail("analyze", err)
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    """Factorise every weight at its rank, write the factors and the manifest, report savings."""
    import warnings

    from rmtheory.analysis import RankZeroWarning, compress

    try:
        with warnings.catch_warnings():
            # printed below from the manifest, once, in the command's own words
            warnings.simplefilter("ignore", RankZeroWarning)
            result = compress(
                args.path,
                threshold=args.threshold,
                min_rank=args.min_rank,
                skip_embeddings=args.skip_embeddings,
                exclude=args.exclude,
                alpha=args.alpha,
                beta=args.beta,
                out=args.out,
                manifest_path=args.manifest,
                progress=_progress(args),
            )
        out, manifest = result.path, result.manifest_path
    except _USER_ERRORS as err:
        return _fail("compress", err)
    for w in result.warnings:
        print(f"rmtheory compress: warning: {w}", file=sys.stderr)
    for note in result.notes:
        print(f"rmtheory compress: note: {note}", file=sys.stderr)
    for e in result.manifest["layers"]:
        if e["stored"] == "factorized":
            shape = "x".join(map(str, e["shape"]))
            print(
                f"{e['name']}  {shape}  rank {e['rank']}  "
                f"{_params(e['params'])} -> {_params(e['params_after'])}"
            )
    n_fact = sum(e["stored"] == "factorized" for e in result.manifest["layers"])
    print(
        f"{n_fact} of {len(result.manifest['layers'])} tensors factorised "
        f"({args.threshold} threshold, min rank {args.min_rank}); parameters "
        f"{_params(result.params_before)} -> "
        f"{_params(result.params_after)} ({100 * result.reduction:.1f}% fewer)"
    )
    print(f"wrote {out} and {manifest}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Measure the MP threshold's false-spike rate and spike recovery on matrices of one shape."""
    from rmtheory.calibration import calibrate

    try:
        result = calibrate(
            args.rows,
            args.cols,
            beta=args.beta,
            alpha=args.alpha,
            trials=args.trials,
            spike_trials=args.spike_trials,
            spike_factor=args.spike_factor,
            seed=args.seed,
            jobs=args.jobs,
            progress=_progress(args),
        )
        print(result.to_text())
        if args.json:
            result.to_json(args.json)
            print(f"wrote {args.json}")
    except _USER_ERRORS as err:
        return _fail("calibrate", err)
    return 0


def _progress_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "path", help="weights: .npz, .npy, .safetensors, .pt/.pth/.bin (needs torch), or a folder"
    )
    p.add_argument(
        "--skip-embeddings",
        action="store_true",
        help="skip tensors named like embeddings (*embed*, *wte*, *wpe*)",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="skip tensors whose name matches this fnmatch pattern (repeatable)",
    )
    p.add_argument("--alpha", type=float, default=0.25, help="BEMA window (default 0.25)")
    p.add_argument("--beta", type=float, default=0.1, help="BEMA Tracy-Widom level (default 0.1)")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``analyze``, ``compress`` and ``calibrate`` (with their ``func`` defaults) to
    ``rmtheory``'s parser."""
    a = subparsers.add_parser(
        "analyze",
        help="per-layer MP/BEMA report of a model's weights",
        description="Fit the Marchenko-Pastur law (BEMA) to every dense and conv weight and print "
        "sigma^2, lambda+, MP rank, spikes, GoF, Gavish-Donoho rank and parameter counts.",
    )
    _common(a)
    a.add_argument("--plots", metavar="DIR", help="write each layer's ESD + MP fit to DIR/*.png")
    a.add_argument("--json", metavar="FILE", help="write the table as JSON records")
    a.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    a.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="analyse N tensors in parallel (processes, one BLAS thread each; memory x N; "
        "-1: all CPUs; capped at the CPUs)",
    )
    a.add_argument(
        "--cache",
        metavar="DIR",
        help="keep each tensor's result in DIR; a rerun after an interruption resumes from it",
    )
    _progress_flags(a)
    a.set_defaults(func=cmd_analyze)

    c = subparsers.add_parser(
        "compress",
        help="factorise each weight at its MP rank and write W1, W2 + a manifest",
        description="Split every dense/conv weight W into W2 @ W1 at the rank given by the "
        "threshold, when that saves parameters; write .npz or .safetensors plus a JSON manifest.",
    )
    _common(c)
    c.add_argument(
        "--out",
        "--output",
        dest="out",
        required=True,
        metavar="FILE",
        help="output .npz or .safetensors file (--output is accepted too)",
    )
    c.add_argument(
        "--threshold",
        choices=["mp", "gavish-donoho"],
        default="mp",
        help="rank rule: BEMA's MP edge (default) or Gavish-Donoho with unknown noise",
    )
    c.add_argument(
        "--min-rank",
        type=int,
        default=1,
        metavar="K",
        help="keep at least K singular values per layer (default 1, so no layer is written as "
        "all zeros; 0 lets a layer that looks like pure noise become all-zero factors)",
    )
    c.add_argument(
        "--manifest", metavar="FILE", help="manifest path (default: <out>.manifest.json, e.g. "
        "model_mp.safetensors.manifest.json)"
    )
    _progress_flags(c)
    c.set_defaults(func=cmd_compress)

    k = subparsers.add_parser(
        "calibrate",
        help="how often the MP threshold sees a false spike, and finds planted ones, at a shape",
        description="On pure-noise ROWS x COLS Gaussian matrices, the fraction in which the MP "
        "threshold keeps at least one direction (should be about --beta), and on matrices with "
        "1-3 planted spikes of strength --spike-factor times the BBP threshold, the fraction in "
        "which their number is found exactly. Standard errors are binomial.",
    )
    k.add_argument("rows", type=int, help="matrix rows (out features)")
    k.add_argument("cols", type=int, help="matrix columns (in features)")
    k.add_argument("--beta", type=float, default=0.1, help="Tracy-Widom level (default 0.1)")
    k.add_argument("--alpha", type=float, default=0.25, help="BEMA window (default 0.25)")
    k.add_argument(
        "--trials",
        type=int,
        default=1000,
        help="pure-noise matrices (default 1000: standard error <= 1%% at beta = 0.1)",
    )
    k.add_argument(
        "--spike-trials", type=int, default=400, help="matrices with planted spikes (default 400)"
    )
    k.add_argument(
        "--spike-factor",
        type=float,
        default=1.2,
        help="spike strength in units of the BBP detection threshold (default 1.2)",
    )
    k.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    k.add_argument(
        "--jobs", type=_jobs, default=1, metavar="N", help="parallel processes (-1: all CPUs)"
    )
    k.add_argument("--json", metavar="FILE", help="write the result as JSON")
    _progress_flags(k)
    k.set_defaults(func=cmd_calibrate)
