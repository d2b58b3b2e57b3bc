"""Fill the committed per-seed records of a full-size experiment, one (arm, seed) run at a time.

Several of these can share the record folder (two on a 2-core machine, one BLAS thread each):
each run is claimed first through a file created exclusively beside the checkpoints, so no two
workers train the same run; a claim whose worker died is taken over, and the run resumes from its
last epoch checkpoint.  ``--reverse`` walks the runs from the other end, which keeps the workers
apart.  ``rmtheory reproduce NAME --full`` then reads the records.

    python tools/run_full_background.py table1
    python tools/run_full_background.py table1 --reverse
    python tools/run_full_background.py table1 --arms normal mp --seeds 3:10   # more seeds
    python tools/run_full_background.py table1 --sizes 784,2000,2000,1000,500,10 --arms normal mp
    python tools/run_full_background.py headline --arms normal mp output_only --seeds 6:30
    python tools/run_full_background.py headline --arms cut_keep_momentum cut_reset_momentum \
        shake_output --seeds 0:30 --dead-only          # interventions on the dead-unit seeds

Runs go seed by seed (every chosen arm of a seed, then the next seed), so a stopped worker leaves
complete paired seeds behind.

A machine lent for a few hours loses its checkpoints when it goes, so a run that cannot finish
is wasted: ``--until 02:20 --run-minutes 70`` claims a run only while it can end by 02:20 (the
next 02:20 in local time; an ISO date-time also works), and the worker stops after that.
"""

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from threadpoolctl import threadpool_limits

from rmtheory.experiments import EXPERIMENTS, map_seeds
from rmtheory.experiments.runner import cache_key
from rmtheory.experiments.training.protocol import (
    HEADLINE_ARMS,
    INTERVENTION_ARMS,
    checkpoint_dir,
    dead_units,
    protocol_run,
)


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


def _row_arms(params: dict, sizes) -> dict:
    """A table topology's arms and their seeds (``params["row_arms"]``, else every arm on
    ``params["n_seeds"]``; a topology not in the size: every arm)."""
    for t, row in zip(params["topologies"], params.get("row_arms") or [], strict=False):
        if list(t) == list(sizes):
            return dict(row)
    return dict.fromkeys(params["arms"], params.get("n_seeds", 1))


def _runs(name: str, params: dict, arms=None, topologies=None):
    """(label, arm, protocol) for every chosen arm of every chosen topology."""
    if "topologies" in params:  # a table: one protocol per topology
        for sizes in topologies or params["topologies"]:
            proto = {**params["protocol"], "sizes": list(sizes)}
            for arm in arms or _row_arms(params, sizes):
                yield f"{name}-{'x'.join(map(str, sizes))}-{arm}", arm, proto
    else:
        for arm in arms or HEADLINE_ARMS:
            yield f"{name}-{arm}", arm, params["protocol"]


def _seed_range(text: str, n_seeds: int) -> list[int]:
    """``START:STOP`` or a comma list (``0,3,4``); empty: the size's seeds."""
    if "," in text or (text and ":" not in text):
        return [int(s) for s in text.split(",") if s]
    start, _, stop = text.partition(":")
    return list(range(int(start or 0), int(stop) if stop else n_seeds))


def _dead_after_first_pass(cache: Path, params: dict, proto: dict, seed: int) -> bool | None:
    """Whether the normal net of ``seed`` has a dead output unit after epoch 1 (None: not run yet)."""
    key = cache_key({"arm": "normal", "dataset": params["dataset"], "subset": params["subset"],
                     "protocol": proto})  # fmt: skip
    path = cache / f"protocol_run-seed{seed}-{key}.json"
    if not path.exists():
        return None
    return dead_units(json.loads(path.read_text()), 0) > 0


def _deadline(text: str, now: dt.datetime) -> dt.datetime:
    """``HH:MM`` (the next such time after ``now``, local) or an ISO date-time, as local time."""
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(v) for v in text.split(":"))
            at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return at if at > now else at + dt.timedelta(days=1)
        at = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise SystemExit(f"run_full_background: --until {text!r} is not HH:MM or an ISO "
                         f"date-time ({err})") from None  # fmt: skip
    return at.astimezone().replace(tzinfo=None) if at.tzinfo else at


def _fits(until: dt.datetime | None, minutes: float, now: dt.datetime) -> bool:
    """Whether a run of ``minutes`` started ``now`` ends by ``until`` (no deadline: always)."""
    return until is None or now + dt.timedelta(minutes=minutes) <= until


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--reverse", action="store_true")
    parser.add_argument("--out", default="figures/full")
    parser.add_argument("--arms", nargs="+", help="arms to run (default: every arm)")
    parser.add_argument(
        "--seeds", default="", help="START:STOP or 0,3,4 (default: the size's seeds)"
    )
    parser.add_argument(
        "--dead-only",
        action="store_true",
        help="intervention arms only on seeds whose normal net has a dead output "
        "unit after epoch 1 (seeds without a normal record yet are skipped)",
    )
    parser.add_argument(
        "--sizes", action="append", help="a topology, e.g. 784,2000,10 (repeatable)"
    )
    parser.add_argument("--until", help="claim no run that cannot end by then (HH:MM or ISO)")
    parser.add_argument(
        "--run-minutes", type=float, default=0.0,
        help="the expected length of one run, for --until (default 0: no new run after --until)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.run_minutes < 0:
        parser.error(f"--run-minutes must be >= 0, got {args.run_minutes}")
    until = _deadline(args.until, dt.datetime.now()) if args.until else None
    params = dict(EXPERIMENTS[args.name].sizes["full"])
    cache = Path(args.out) / "seeds"
    ckpt = checkpoint_dir(cache)
    Path(ckpt).mkdir(parents=True, exist_ok=True)
    topologies = [[int(n) for n in t.split(",")] for t in args.sizes or []]
    runs = list(_runs(args.name, params, args.arms, topologies))
    # without --seeds each table arm runs the seeds its topology asks for (row_arms)
    n_of = {label: (_row_arms(params, proto["sizes"]).get(arm, params["n_seeds"])
                    if "topologies" in params else params["n_seeds"])
            for label, arm, proto in runs}  # fmt: skip
    seeds = _seed_range(args.seeds, max(n_of.values(), default=params["n_seeds"]))
    units = [(label, arm, proto, s) for s in seeds for label, arm, proto in runs
             if args.seeds or s < n_of[label]]  # fmt: skip
    with threadpool_limits(limits=1, user_api="blas"):
        for label, arm, proto, seed in units[:: -1 if args.reverse else 1]:
            if args.dead_only and arm in INTERVENTION_ARMS:
                if not _dead_after_first_pass(cache, params, proto, seed):
                    continue
            if not _fits(until, args.run_minutes, dt.datetime.now()):
                print(f"run_full_background: {label} seed {seed} and later runs cannot end by "
                      f"{until:%Y-%m-%d %H:%M} ({args.run_minutes:g} min a run): stopping",
                      flush=True)  # fmt: skip
                break
            claim = Path(ckpt) / f"{label}-seed{seed}.claim"
            if not _claim(claim):
                continue
            try:
                map_seeds(protocol_run, [seed], 1, cache, progress=True, arm=arm,  # a line per run
                          dataset=params["dataset"], subset=params["subset"], protocol=proto,
                          _checkpoint_dir=ckpt)  # fmt: skip
            finally:
                claim.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
