"""The ``rmtheory`` command line.

Sub-commands import their library code lazily so that ``rmtheory --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_demo(args: argparse.Namespace) -> int:
    from rmtheory.demo import run_demo

    run_demo(out_dir=args.out, seed=args.seed)
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    from rmtheory import __version__

    parser = argparse.ArgumentParser(prog="rmtheory", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rmtheory {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit the MP law to a random matrix and plot its ESD")
    demo.add_argument("--out", default="figures", help="folder for the plot (default: figures)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    data = sub.add_parser("data", help="dataset utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="fetch and verify a dataset into the cache")
    fetch.add_argument("name", choices=["mnist", "fashion-mnist", "cifar10"])
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_cmd_data_fetch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
