"""Checkpoint hardening (issue 11, "Training / Checkpoints"): stale temporaries are removed, and a
damaged or inconsistent checkpoint is refused on load with a ValueError that names the file and the
fault -- never resumed silently, never reported as a raw BadZipFile/KeyError/JSONDecodeError, and NaN
weights never surface later as "lower the learning rate"."""

import json
import re

import numpy as np
import pytest

from rmtheory.nn import MLP, load_model, save_model, train
from rmtheory.nn.checkpoint import restore_training, stale_temporaries


def blobs(n=120, d=4, classes=3, seed=0):
    g = np.random.default_rng(seed)
    centres = 3 * g.standard_normal((classes, d))
    y = g.integers(0, classes, n)
    return (centres[y] + g.standard_normal((n, d))).astype(np.float32), y


def _train(path, epochs=1, resume=False):
    X, y = blobs()
    model = MLP([4, 8, 3], seed=0)
    h = train(model, (X, y), None, epochs=epochs, checkpoint=path, resume=resume, verbose=False)
    return model, h


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "run.npz"
    _train(path)
    return path


def _rewrite(path, meta=None, arrays=None, drop=()):
    """Rewrite checkpoint ``path`` with some metadata fields or arrays replaced (a damaged file)."""
    with np.load(path, allow_pickle=False) as z:
        content = {k: np.array(z[k]) for k in z.files}
    m = json.loads(str(content.pop("meta")))
    m.update(meta or {})
    content.update(arrays or {})
    for key in drop:
        content.pop(key)
    np.savez(path, meta=np.array(json.dumps(m)), **content)


def _resume(path):
    model = MLP([4, 8, 3], seed=0)
    return restore_training(path, model, np.random.default_rng(0), None, None)


def _names(path, fault):
    return re.escape(str(path)) + ".*" + fault


# ---------------------------------------------------------------------------------- temporaries
def test_stale_temporaries_of_a_killed_write_are_removed_at_the_next_save(tmp_path):
    path = tmp_path / "run.npz"
    _train(path)
    # what a kill between mkstemp and os.replace leaves (same names as tempfile.mkstemp gives)
    for tag in ("k2j3h4", "x9y8z7"):
        (tmp_path / f"run.npz.{tag}.tmp").write_bytes(b"partial")
    other = tmp_path / "other.npz.abc.tmp"  # another checkpoint's file is not ours to remove
    other.write_bytes(b"x")
    assert len(stale_temporaries(path)) == 2
    _train(path, epochs=2, resume=True)
    assert stale_temporaries(path) == []
    assert other.exists()


def test_stale_temporaries_are_removed_when_resuming_a_finished_run(tmp_path):
    path = tmp_path / "run.npz"
    _train(path)
    (tmp_path / "run.npz.q1w2e3.tmp").write_bytes(b"partial")
    _train(path, epochs=1, resume=True)  # nothing left to train: only the resume runs
    assert stale_temporaries(path) == []


# ---------------------------------------------------------------------------------- validation
def test_negative_next_epoch_is_refused(ckpt):
    _rewrite(ckpt, meta={"next_epoch": -5})
    with pytest.raises(
        ValueError, match=_names(ckpt, "next_epoch must be an integer >= 0, got -5")
    ):
        _resume(ckpt)


@pytest.mark.parametrize("value", [1.5, "3", True, None])
def test_non_integer_next_epoch_is_refused(ckpt, value):
    _rewrite(ckpt, meta={"next_epoch": value})
    with pytest.raises(ValueError, match=_names(ckpt, "next_epoch")):
        _resume(ckpt)


@pytest.mark.parametrize("key", ["layer0_f0", "layer1_b", "mom0_0"])
def test_float16_weights_or_momentum_are_refused(ckpt, key):
    with np.load(ckpt) as z:
        a = np.array(z[key])
    _rewrite(ckpt, arrays={key: a.astype(np.float16)})
    with pytest.raises(ValueError, match=_names(ckpt, f"'{key}' is float16.*float32")):
        _resume(ckpt)


def test_float16_weights_are_refused_by_load_model(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, MLP([4, 8, 3], seed=0))
    with np.load(path) as z:
        a = np.array(z["layer0_f0"])
    _rewrite(path, arrays={"layer0_f0": a.astype(np.float16)})
    with pytest.raises(ValueError, match=_names(path, "float16")):
        load_model(path)


def test_nan_weights_are_named_as_a_diverged_checkpoint_not_a_learning_rate(ckpt):
    with np.load(ckpt) as z:
        w = np.array(z["layer0_f0"])
    w[0, 0] = np.nan
    _rewrite(ckpt, arrays={"layer0_f0": w})
    with pytest.raises(ValueError, match=_names(ckpt, "'layer0_f0' holds NaN/Inf")) as err:
        _resume(ckpt)
    assert "learning rate" not in str(err.value)
    # through train(resume=True): the load fails, no TrainingDiverged later
    X, y = blobs()
    with pytest.raises(ValueError, match="NaN/Inf"):
        train(MLP([4, 8, 3], seed=0), (X, y), None, epochs=3, checkpoint=ckpt, resume=True,
              verbose=False)  # fmt: skip


def test_truncated_archive_is_named_not_a_raw_bad_zip_file(ckpt):
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=_names(ckpt, "truncated or corrupt")):
        _resume(ckpt)
    with pytest.raises(ValueError, match=_names(ckpt, "truncated or corrupt")):
        load_model(ckpt)


def test_corrupt_array_bytes_are_named(ckpt):
    # flip bytes inside the stored data of an array: the zip CRC (or the .npy header) breaks
    data = bytearray(ckpt.read_bytes())
    start = data.index(b"layer0_f0.npy") + 200
    data[start : start + 64] = bytes(64)
    ckpt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(ckpt))):
        _resume(ckpt)


@pytest.mark.parametrize("key", ["layer0_b", "mom1_0", "layer1_f0"])
def test_missing_array_is_named_not_a_raw_key_error(ckpt, key):
    _rewrite(ckpt, drop=[key])
    with pytest.raises(ValueError, match=_names(ckpt, f"'{key}' is missing")):
        _resume(ckpt)


def test_missing_meta_field_is_named_not_a_raw_key_error(ckpt):
    with np.load(ckpt) as z:
        content = {k: np.array(z[k]) for k in z.files}
    m = json.loads(str(content.pop("meta")))
    del m["sizes"], m["rng"]
    np.savez(ckpt, meta=np.array(json.dumps(m)), **content)
    with pytest.raises(ValueError, match=_names(ckpt, "lacks the field 'rng'")):
        _resume(ckpt)
    with pytest.raises(ValueError, match=_names(ckpt, "sizes")):
        load_model(ckpt)


def test_metadata_that_is_not_json_is_named_not_a_raw_decode_error(ckpt):
    with np.load(ckpt) as z:
        content = {k: np.array(z[k]) for k in z.files if k != "meta"}
    np.savez(ckpt, meta=np.array("{not json"), **content)
    with pytest.raises(ValueError, match=_names(ckpt, "not valid JSON")):
        _resume(ckpt)


def test_text_file_renamed_npz_is_named(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some text\n")
    with pytest.raises(ValueError, match=_names(path, "not a readable .npz archive")):
        _resume(path)
    with pytest.raises(ValueError, match=_names(path, "not a readable .npz archive")):
        load_model(path)


def test_a_folder_or_a_bare_npy_is_named(tmp_path):
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    with pytest.raises(ValueError, match=_names(folder, "not a regular file")):
        load_model(folder)
    npy = tmp_path / "w.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match=_names(npy, "single array")):
        load_model(npy)


def test_bad_rng_state_and_history_are_named(ckpt):
    _rewrite(ckpt, meta={"rng": {"bit_generator": "PCG64", "state": "nonsense"}})
    with pytest.raises(ValueError, match=_names(ckpt, "random generator state")):
        _resume(ckpt)


def test_shape_mismatch_is_named(ckpt):
    with np.load(ckpt) as z:
        b = np.array(z["layer0_b"])
    _rewrite(ckpt, arrays={"layer0_b": np.concatenate([b, b])})
    with pytest.raises(ValueError, match=re.escape(str(ckpt))):
        _resume(ckpt)


def test_model_dtype_mismatch_is_named(ckpt):
    model = MLP([4, 8, 3], seed=0, dtype=np.float64)
    with pytest.raises(ValueError, match=_names(ckpt, "float32 weights, the model is float64")):
        restore_training(ckpt, model, np.random.default_rng(0), None, None)


def test_a_valid_checkpoint_still_resumes(tmp_path):
    path = tmp_path / "ok.npz"
    _train(path)
    epoch, bufs, history = _resume(path)
    assert epoch == 1 and history.epoch == [0] and len(bufs) == 2
    assert all(np.isfinite(b).all() for layer in bufs for b in layer)
