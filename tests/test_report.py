"""The verdict page and the size rules: a smoke run is never judged and never overwrites a larger
result; full-size results go to full/ and are the ones judged; every paper figure is listed."""

import json

from rmtheory.experiments import reproduce, write_report
from rmtheory.experiments.report import NOT_REGISTERED


def test_smoke_is_not_judged_and_never_overwrites_a_larger_result(tmp_path):
    quick = {"name": "fig17", "size": "quick", "title": "t", "claims": [], "wall_time_s": 1.0}
    (tmp_path / "fig17.json").write_text(json.dumps(quick))
    result = reproduce("fig17", "smoke", tmp_path)
    assert json.loads((tmp_path / "fig17.json").read_text()) == quick  # untouched
    smoke = json.loads((tmp_path / "smoke" / "fig17.json").read_text())
    assert smoke["size"] == "smoke" and result["claims"] == smoke["claims"]
    assert smoke["claims"] and all(c["verdict"] == "n/a" for c in smoke["claims"])
    assert all(c["note"].startswith("smoke size: not judged") for c in smoke["claims"])


def test_report_judges_the_largest_size_and_lists_every_paper_figure(tmp_path):
    claim = {"claim": "edge", "paper": "4", "ours": "4.0", "verdict": "reproduced", "note": ""}
    for where, size, ours in ((tmp_path, "quick", "3.0"), (tmp_path / "full", "full", "4.0")):
        where.mkdir(exist_ok=True)
        (where / "fig17.json").write_text(json.dumps(
            {"name": "fig17", "size": size, "title": "t", "wall_time_s": 1.0,
             "claims": [{**claim, "ours": ours}]}))  # fmt: skip
    text = write_report(tmp_path, tmp_path / "rep.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| fig17 |")]
    assert len(rows) == 1 and "| full |" in rows[0] and "4.0" in rows[0]
    assert (tmp_path / "full" / "fig17.json").as_posix() in rows[0]
    assert "| reproduced | 1 | 1 |" in text  # the summary counts by verdict and size
    for name in ("fig19", "fig20"):
        assert f"| {name} | — | {NOT_REGISTERED[name]}" in text
    # the paper's order: fig17 before the schematic fig19, both before the library's own experiments
    assert text.index("| fig17 |") < text.index("| fig19 |")


def test_a_claim_shared_by_two_figures_appears_once(tmp_path):
    claim = {"claim": "acc", "paper": "98.5", "ours": "97", "verdict": "partly", "note": ""}
    for name in ("table1", "fig1"):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"name": name, "size": "quick", "title": "t", "wall_time_s": 1.0,
             "claims": [claim]}))  # fmt: skip
    text = write_report(tmp_path, tmp_path / "rep.md").read_text()
    assert sum(ln.startswith("| table1 | quick | acc |") for ln in text.splitlines()) == 1
    assert "| fig1 | quick | same claims as table1 |" in text


def test_headline_summary_quotes_each_full_size_table_and_only_full(tmp_path):
    def table(name, size, ds, epochs, gain):
        return {"name": name, "size": size, "title": "t", "wall_time_s": 1.0,
                "params": {"dataset": ds, "protocol": {"epochs": epochs}},
                "claims": [
                    {"claim": f"{ds} [a] pruning raises accuracy", "paper": "+19", "ours": gain,
                     "verdict": "partly", "note": "same topology; more"},
                    {"claim": f"{ds} [a] corrected net: mp − unpruned (points)", "paper": "n/a",
                     "ours": f"{ds}-corrected", "verdict": "n/a", "note": ""}]}  # fmt: skip

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "table1.json").write_text(
        json.dumps(table("table1", "full", "mnist", 40, "+6.5"))
    )
    (tmp_path / "table4.json").write_text(
        json.dumps(table("table4", "quick", "fashion", 70, "+1.0"))
    )
    head = write_report(tmp_path, tmp_path / "rep.md").read_text().split("## The paper's")[0]
    assert "(mnist [a], 40 epochs; same topology): **partly**, +6.5 (paper +19)" in head
    assert "Without the final ReLU, MP pruning there: mnist-corrected." in head
    assert "fashion" not in head  # a quick-size table is not the paper's size
    (tmp_path / "full" / "table4.json").write_text(
        json.dumps(table("table4", "full", "fashion", 70, "+1.0"))
    )
    head = write_report(tmp_path, tmp_path / "rep.md").read_text().split("## The paper's")[0]
    assert "(fashion [a], 70 epochs; same topology): **partly**, +1.0" in head
