"""Fill the committed per-seed records of a full-size experiment, arms in a chosen order.

Two of these can share the cache from opposite ends of the arm list (``--reverse``): a finished
seed is skipped, so they meet in the middle.  Used to run the paper-size tables in the background
while other work goes on; ``rmtheory reproduce NAME --full`` then reads the records.

    python tools/run_full_background.py headline
    python tools/run_full_background.py table1 --reverse
"""

import argparse
from pathlib import Path

from threadpoolctl import threadpool_limits

from rmtheory.experiments import EXPERIMENTS, registry
from rmtheory.experiments.catalog_headline import HEADLINE_ARMS, run_headline_arms

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--reverse", action="store_true")
parser.add_argument("--out", default="figures/full")
args = parser.parse_args()
params = dict(EXPERIMENTS[args.name].sizes["full"])
cache = Path(args.out) / "seeds"
registry._REPORTING[0] = True  # a line per finished seed
with threadpool_limits(limits=1, user_api="blas"):
    order = slice(None, None, -1 if args.reverse else 1)
    if "topologies" in params:  # a table: one protocol per topology
        for sizes in params["topologies"]:
            proto = {**params["protocol"], "sizes": list(sizes)}
            run_headline_arms({**params, "protocol": proto}, 1, cache, list(params["arms"])[order])
    else:
        run_headline_arms(params, 1, cache, list(HEADLINE_ARMS)[order])
