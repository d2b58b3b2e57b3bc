"""Fill the committed per-seed records of a full-size experiment, one (arm, seed) run at a time.

Several of these can share the record folder (two on a 2-core machine, one BLAS thread each):
each run is claimed first through a file created exclusively beside the checkpoints, so no two
workers train the same run; a claim whose worker died is taken over, and the run resumes from its
last epoch checkpoint.  ``--reverse`` walks the runs from the other end, which keeps the workers
apart.  ``rmtheory reproduce NAME --full`` then reads the records.

    python tools/run_full_background.py table1
    python tools/run_full_background.py table1 --reverse
"""

import argparse
import os
from pathlib import Path

from threadpoolctl import threadpool_limits

from rmtheory.experiments import EXPERIMENTS, registry
from rmtheory.experiments.catalog_headline import HEADLINE_ARMS, _checkpoints
from rmtheory.experiments.protocol_runs import protocol_run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(path: Path) -> bool:
    """Create ``path`` holding our pid; False if a live worker holds it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            owner = int(path.read_text() or 0)
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            return False
        path.unlink(missing_ok=True)  # its worker died: take the run over
        return _claim(path)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def _runs(name: str, params: dict):
    """(label, map_seeds keyword arguments) for every arm of every topology."""
    if "topologies" in params:  # a table: one protocol per topology
        for sizes in params["topologies"]:
            proto = {**params["protocol"], "sizes": list(sizes)}
            for arm in params["arms"]:
                yield f"{name}-{'x'.join(map(str, sizes))}-{arm}", arm, proto
    else:
        for arm in HEADLINE_ARMS:
            yield f"{name}-{arm}", arm, params["protocol"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--reverse", action="store_true")
    parser.add_argument("--out", default="figures/full")
    args = parser.parse_args()
    params = dict(EXPERIMENTS[args.name].sizes["full"])
    cache = Path(args.out) / "seeds"
    ckpt = _checkpoints(cache)
    Path(ckpt).mkdir(parents=True, exist_ok=True)
    registry._REPORTING[0] = True  # a line per finished seed
    units = [(label, arm, proto, s) for label, arm, proto in _runs(args.name, params)
             for s in range(params["n_seeds"])]  # fmt: skip
    with threadpool_limits(limits=1, user_api="blas"):
        for label, arm, proto, seed in units[:: -1 if args.reverse else 1]:
            claim = Path(ckpt) / f"{label}-seed{seed}.claim"
            if not _claim(claim):
                continue
            try:
                registry.map_seeds(protocol_run, [seed], 1, cache, arm=arm, dataset=params["dataset"],
                                   subset=params["subset"], protocol=proto, _checkpoint_dir=ckpt)  # fmt: skip
            finally:
                claim.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
