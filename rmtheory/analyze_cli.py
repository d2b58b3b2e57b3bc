"""The ``rmtheory analyze`` and ``rmtheory compress`` sub-commands.

``rmtheory.cli`` calls :func:`add_commands` on its sub-parsers; the library code is imported only
when a command runs, so ``rmtheory --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_commands", "cmd_analyze", "cmd_compress"]

# What a bad file or a bad weight raises; anything else is a bug and keeps its traceback.
_USER_ERRORS = (ValueError, TypeError, ImportError, OSError)


def _fail(command: str, err: BaseException) -> int:
    print(f"rmtheory {command}: error: {err}", file=sys.stderr)
    return 2


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
    from rmtheory.analysis import compress

    try:
        result = compress(
            args.path,
            threshold=args.threshold,
            min_rank=args.min_rank,
            skip_embeddings=args.skip_embeddings,
            exclude=args.exclude,
            alpha=args.alpha,
            beta=args.beta,
        )
        out, manifest = result.save(args.out, args.manifest)
    except _USER_ERRORS as err:
        return _fail("compress", err)
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
        f"({args.threshold} threshold); parameters {_params(result.params_before)} -> "
        f"{_params(result.params_after)} ({100 * result.reduction:.1f}% fewer)"
    )
    print(f"wrote {out} and {manifest}")
    return 0


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
    """Add ``analyze`` and ``compress`` (with their ``func`` defaults) to ``rmtheory``'s parser."""
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
    a.set_defaults(func=cmd_analyze)

    c = subparsers.add_parser(
        "compress",
        help="factorise each weight at its MP rank and write W1, W2 + a manifest",
        description="Split every dense/conv weight W into W2 @ W1 at the rank given by the "
        "threshold, when that saves parameters; write .npz or .safetensors plus a JSON manifest.",
    )
    _common(c)
    c.add_argument("--out", required=True, metavar="FILE", help="output .npz or .safetensors file")
    c.add_argument("--threshold", choices=["mp", "gavish-donoho"], default="mp")
    c.add_argument(
        "--min-rank", type=int, default=0, help="keep at least this many values per layer"
    )
    c.add_argument(
        "--manifest", metavar="FILE", help="manifest path (default: <out stem>.manifest.json)"
    )
    c.set_defaults(func=cmd_compress)
