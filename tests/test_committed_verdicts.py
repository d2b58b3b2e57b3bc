"""Re-judge every committed result without recomputing: the verdicts must not move.

The claims of a result are a pure function of its JSON (``Experiment.claims``), so judging a
committed ``figures/full/*.json`` again with today's rules must give, claim by claim, what was
committed.  This is the guard of every refactoring of the rules (``rmtheory.experiments.rules``):
a change of leniency shows here as a changed verdict, a changed tolerance as a changed note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rmtheory.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1] / "figures"
FULL = sorted((ROOT / "full").glob("*.json"))
QUICK = sorted(ROOT.glob("*.json"))


def _rejudge(path: Path) -> tuple[list[dict], list[dict]]:
    committed = json.loads(path.read_text())
    result = {k: v for k, v in committed.items() if k != "claims"}
    again = [c.as_dict() for c in EXPERIMENTS[committed["name"]].claims(result)]
    return committed["claims"], again


def test_there_are_full_size_records():
    assert len(FULL) >= 10, "figures/full/*.json went missing"


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.stem)
def test_full_size_verdicts_unchanged(path):
    committed, again = _rejudge(path)
    assert len(again) == len(committed)
    for old, new in zip(committed, again, strict=True):
        # every field: claim, paper, ours, verdict and the note that states the rule
        assert new == old, f"{path.name}: {old['claim']}"


@pytest.mark.parametrize("path", QUICK, ids=lambda p: p.stem)
def test_quick_size_verdicts_unchanged(path):
    committed, again = _rejudge(path)
    if json.loads(path.read_text())["size"] == "smoke":
        pytest.skip("smoke results are never judged")
    assert [(c["claim"], c["verdict"]) for c in again] == [
        (c["claim"], c["verdict"]) for c in committed
    ], path.name


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.stem)
def test_full_size_rebuilt_from_the_committed_seed_records(path):
    """``reproduce NAME --full --cached-only`` without writing: every seed record is found under
    its cache key, the result rebuilt from them equals the committed one, and so do its claims."""
    from rmtheory.experiments.registry import to_json
    from rmtheory.experiments.runner import run_context

    committed = json.loads(path.read_text())
    exp = EXPERIMENTS[committed["name"]]
    with run_context(cached_only=True) as ctx:
        rebuilt = exp.run(params=committed["params"], jobs=1, cache=path.parent / "seeds")
    # a result still being filled in the background (issue 20) says how many runs it lacks
    partial = re.match(r"(\d+) seed runs not yet computed", committed.get("partial", ""))
    assert ctx.missing == (int(partial.group(1)) if partial else 0) and ctx.found > 0
    rebuilt = to_json(rebuilt)
    for key, value in rebuilt.items():
        assert value == committed[key], f"{path.name}: {key}"
    result = {**{k: v for k, v in committed.items() if k != "claims"}, **rebuilt}
    assert [c.as_dict() for c in exp.claims(result)] == committed["claims"]
