"""docs/torch.md runs: every python block of the page, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "torch.md"


def test_the_page_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)  # the ESD figure is written here
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "fewer" in out and "split" in out
    assert namespace["after"] < namespace["before"]
    assert any(e.get("action") == "split" for e in namespace["events"])
    assert (tmp_path / "esd_layer2.png").stat().st_size > 0
