"""Every ``rmtheory analyze`` / ``compress`` / ``data`` command shown in README.md and docs/*.md
runs, on small synthetic inputs, so the docs cannot drift from the CLI (issue 24 item 7).

Commands are taken from the markdown itself (code blocks and inline code); a command that needs
real data (a dataset download) or names a placeholder is skipped with the reason.  File names a
doc says a command writes ("wrote A and B", "writes X too") are checked to exist afterwards.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from rmtheory.cli import main
from rmtheory.weights_io import save_weights

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"rmtheory (?:analyze|compress|data)\b[^`\n]*")
PLACEHOLDER = re.compile(r"[<>|]|\b(?:NAME|PATH|FILE|ROWS|COLS)\b")


def _commands() -> list[tuple[str, str, str]]:
    """``(doc, command, what the doc says it writes)`` for every command in the docs."""
    found, seen = [], set()
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            for m in COMMAND.finditer(line):
                text = m.group().split("  #")[0].split(" # ")[0].strip().rstrip(".,;:)")
                if text in ("rmtheory analyze", "rmtheory compress") or text in seen:
                    continue  # a bare mention in prose, not a command
                seen.add(text)
                # what the doc says the command wrote: a "wrote ..." line below it, or a comment
                said = " ".join(lines[i : i + 12]) if line.lstrip().startswith("$") else line
                wrote = re.findall(r"wrote (\S+) and (\S+)", said)
                also = re.findall(r"writes (\S+\.json) too", line)
                names = [n for pair in wrote for n in pair] + also
                found.append((doc.name, text, " ".join(names)))
    return found


COMMANDS = _commands()


def test_the_docs_show_commands():
    kinds = {c.split()[1] for _, c, _ in COMMANDS}
    assert {"analyze", "compress", "data"} <= kinds, COMMANDS


def _model(rng):
    """Noise with planted rank-8 / rank-4 signals, the model the docs describe (smaller)."""

    def layer(n, m, k):
        U, V = rng.normal(size=(n, k)), rng.normal(size=(m, k))
        return (rng.normal(size=(n, m)) + 0.6 * U @ V.T).astype(np.float32) / np.sqrt(m)

    return {
        "fc1.weight": layer(200, 150, 8),
        "fc1.bias": np.zeros(200, np.float32),
        "fc2.weight": layer(160, 200, 4),
        "fc2.bias": np.zeros(160, np.float32),
        "out.weight": rng.normal(size=(10, 160)).astype(np.float32),
        "out.bias": np.zeros(10, np.float32),
    }


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    w = _model(rng)
    save_weights(tmp_path / "model.npz", w)
    save_weights(tmp_path / "model.safetensors", w)
    shards = tmp_path / "path" / "to" / "checkpoint"
    names = list(w)
    save_weights(shards / "model-00001-of-00002.safetensors", {k: w[k] for k in names[:3]})
    save_weights(shards / "model-00002-of-00002.safetensors", {k: w[k] for k in names[3:]})
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("doc, command, writes", COMMANDS, ids=[c for _, c, _ in COMMANDS])
def test_doc_command_runs(doc, command, writes, workdir, capsys):
    if command.startswith("rmtheory data"):
        pytest.skip(f"{doc}: `{command}` downloads a real dataset (network and ~55-170 MB)")
    if PLACEHOLDER.search(command):
        pytest.skip(f"{doc}: `{command}` names a placeholder, not a runnable command")
    argv = shlex.split(command)[1:]
    rc = main([*argv, "--no-progress"] if argv[0] in ("analyze", "compress") else argv)
    out, err = capsys.readouterr()
    assert rc == 0, f"{doc}: `{command}` exited {rc}:\n{err}"
    for name in writes.split():
        assert (workdir / name).exists(), f"{doc} says `{command}` writes {name}; it did not"
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag in ("--json", "--out", "--plots"):
            assert (workdir / value).exists(), f"`{command}`: {value} was not written"


def test_compress_output_is_answered_with_out(workdir, capsys):
    """``--output`` (what users type) is accepted as ``--out``; before: top-level usage and
    "--out is required", never naming --output."""
    rc = main(["compress", "model.npz", "--output", "small.npz", "--no-progress"])
    assert rc == 0 and (workdir / "small.npz").exists()
    assert (workdir / "small.npz.manifest.json").exists()
