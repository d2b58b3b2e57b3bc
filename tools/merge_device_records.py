"""Unpack per-seed records brought back from a lent machine into ``figures/full/seeds/``.

    python tools/merge_device_records.py /path/to/records.tar.gz [--into figures/full/seeds]

Only regular ``*.json`` files directly under ``figures/full/seeds/`` in the archive are taken; each
must parse as a JSON object, and one that exists here already is kept (a differing copy is reported,
never overwritten: the two ran on different machines and both are evidence).  Writes are atomic.
"""

import argparse
import json
import sys
import tarfile
from pathlib import Path, PurePosixPath

from rmtheory.atomic import atomic_write

PREFIX = PurePosixPath("figures/full/seeds")


def merge(archive: Path, into: Path) -> dict[str, int]:
    counts = {"added": 0, "same": 0, "differs": 0, "refused": 0}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.parent != PREFIX or name.suffix != ".json":
                counts["refused"] += 1
                continue
            data = tar.extractfile(member).read()
            try:
                record = json.loads(data)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                print(f"  refused {name}: not a JSON object", file=sys.stderr)
                counts["refused"] += 1
                continue
            target = into / name.name
            if target.exists():
                same = target.read_bytes() == data
                counts["same" if same else "differs"] += 1
                if not same:
                    print(f"  kept the existing {target} (the archive's copy differs)", file=sys.stderr)
                continue
            atomic_write(target, data, what="per-seed record")
            counts["added"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--into", type=Path, default=Path(PREFIX))
    args = parser.parse_args()
    if not args.archive.is_file():
        parser.error(f"archive {args.archive} does not exist")
    print(merge(args.archive, args.into))


if __name__ == "__main__":
    main()
