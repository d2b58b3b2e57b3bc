"""tools/merge_device_records.py: only well-formed per-seed records enter, nothing is overwritten."""

import importlib.util
import io
import json
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("merge", ROOT / "tools" / "merge_device_records.py")
merge_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(merge_mod)


def _archive(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_merge_takes_records_refuses_the_rest_and_keeps_existing(tmp_path):
    into = tmp_path / "seeds"
    into.mkdir()
    (into / "protocol_run-seed1-abc.json").write_text('{"a": 1}')
    good = json.dumps({"test_accuracy": [0.9]}).encode()
    _archive(tmp_path / "r.tar.gz", {
        "figures/full/seeds/protocol_run-seed0-abc.json": good,
        "figures/full/seeds/protocol_run-seed1-abc.json": b'{"a": 2}',   # differs: kept
        "figures/full/seeds/broken.json": b'{"trunc',                    # damaged
        "figures/full/seeds/../../../evil.json": good,                   # outside the folder
        "figures/full/seeds/checkpoints/x.json": good,                    # not a record
    })  # fmt: skip
    counts = merge_mod.merge(tmp_path / "r.tar.gz", into)
    assert counts == {"added": 1, "same": 0, "differs": 1, "refused": 3}
    assert json.loads((into / "protocol_run-seed0-abc.json").read_text()) == {"test_accuracy": [0.9]}
    assert (into / "protocol_run-seed1-abc.json").read_text() == '{"a": 1}'
    assert not (tmp_path / "evil.json").exists() and not (into / "broken.json").exists()
