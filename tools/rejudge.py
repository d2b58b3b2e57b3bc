"""Judge committed results again with today's rules, without recomputing, and rewrite their claims.

The claims of a result are a pure function of its JSON (``Experiment.claims``), so a change of a
rule (``rmtheory.experiments.rules``) or of a claim's wording reaches the committed results by
re-judging them; ``git diff figures/`` then shows every verdict the change moved, which is what a
reviewer reads.  A result whose claims need data it does not hold must be recomputed instead
(``rmtheory reproduce NAME``).

    python tools/rejudge.py                  # every committed result (figures/*.json, figures/full/*.json)
    python tools/rejudge.py table1 headline  # these experiments, at every size committed
    python tools/rejudge.py --check          # exit 1 (and list them) if any would change
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rmtheory.atomic import atomic_write
from rmtheory.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1] / "figures"


def rejudge(path: Path) -> tuple[list[dict], list[dict], dict]:
    """(committed claims, claims judged now, the result) of one committed JSON file."""
    committed = json.loads(path.read_text())
    result = {k: v for k, v in committed.items() if k != "claims"}
    again = [c.as_dict() for c in EXPERIMENTS[committed["name"]].claims(result)]
    return committed.get("claims", []), again, committed


def _moved(old: list[dict], new: list[dict]) -> list[str]:
    before = {c["claim"]: c["verdict"] for c in old}
    out = [f"  {c['claim']}: {before.get(c['claim'], '(new)')} -> {c['verdict']}"
           for c in new if before.get(c["claim"]) != c["verdict"]]  # fmt: skip
    gone = {c["claim"] for c in old} - {c["claim"] for c in new}
    return out + [f"  {name}: removed" for name in sorted(gone)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="experiments (default: every committed result)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on a change")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; see `rmtheory list`")
    changed = []
    for path in [*sorted(ROOT.glob("*.json")), *sorted(ROOT.glob("full/*.json"))]:
        name = json.loads(path.read_text()).get("name")
        if name not in EXPERIMENTS or (args.names and name not in args.names):
            continue
        old, new, committed = rejudge(path)
        if old == new:
            continue
        changed.append(path)
        print(f"{path.relative_to(ROOT.parent)}:")
        print("\n".join(_moved(old, new)) or "  (wording, notes or powers only)")
        if not args.check:
            committed["claims"] = new
            atomic_write(path, json.dumps(committed, indent=1), what="result")
    print(f"{len(changed)} result(s) {'would change' if args.check else 'rewritten'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
