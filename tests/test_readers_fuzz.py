"""Hostile files and arrays, fed to every reader and public entry point (issue 24 item 5).

The contract: a clear ``ValueError`` / ``TypeError`` / ``OSError`` that names the file or the
argument, or a correct value -- never another exception (``RecursionError``, ``KeyError``,
``struct.error``...).  The safetensors reader is compared with the reference loader (the
``safetensors`` package, in the test extra): whatever it refuses, we refuse; whatever it reads,
we read to the same arrays.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rmtheory.analysis import analyze, analyze_tensor, compress, load_compressed
from rmtheory.bema import BEMA
from rmtheory.weights_io import load_weights, open_weights

CLEAR = (ValueError, TypeError, OSError)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DTYPES = ["F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F8_E4M3", "X32", "C64", ""]
SIZES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


def _safetensors(header: bytes | dict, data: bytes = b"") -> bytes:
    hb = header if isinstance(header, bytes) else json.dumps(header).encode()
    return len(hb).to_bytes(8, "little") + hb + data


def _write(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(name)


def _clear_or_value(fn, path: Path):
    """``fn(path)``: its value, or None after checking that the error is clear and names the file."""
    try:
        return fn(path)
    except CLEAR as err:
        assert path.name in str(err), f"{type(err).__name__} without the file name: {err}"
        return None


# ------------------------------------------------------------------------------ safetensors
entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(DTYPES),
        "shape": st.lists(st.integers(-1, 4), max_size=3),
        "data_offsets": st.one_of(
            st.lists(st.integers(-2, 40), min_size=2, max_size=2),
            st.lists(st.integers(0, 40), max_size=3),
            st.just([0, 8.0]),
        ),
    }
)
metadata = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
    st.lists(st.text(max_size=3), max_size=2),
)


@st.composite
def headers(draw):
    h = draw(st.dictionaries(st.sampled_from(["a", "b", "c.weight"]), entries, max_size=3))
    if draw(st.booleans()):
        h["__metadata__"] = draw(metadata)
    return h


def _reference(blob: bytes):
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        return load(blob)
    except SafetensorError:
        return None
    except KeyError as err:  # a dtype its NumPy frontend cannot hold (BF16, float8): its name
        return str(err.args[0])


_NUMPY = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1",
          "BOOL": "?"}  # fmt: skip


def _decoded(header: dict, blob: bytes) -> dict:
    """Each tensor read straight from the file's bytes; BF16 widened to float32 (its top half)."""
    data = blob[8 + int.from_bytes(blob[:8], "little"):]
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        raw = data[e["data_offsets"][0] : e["data_offsets"][1]]
        if e["dtype"] == "BF16":
            out[k] = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            out[k] = np.frombuffer(raw, _NUMPY[e["dtype"]])
        out[k] = out[k].reshape(e["shape"])
    return out


@FUZZ
@given(header=headers(), extra=st.integers(-4, 8), fill=st.binary(min_size=0, max_size=48))
@example(header={"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, extra=0,
         fill=b"\x80\x3f")  # 1.0 twice: a valid BF16 file, which the reference's NumPy side refuses
@example(header={"a": {"dtype": "BF16", "shape": [0], "data_offsets": [0, 0]}}, extra=0, fill=b"")
def test_safetensors_headers_against_the_reference_loader(header, extra, fill):
    pytest.importorskip("safetensors")
    spans = [
        e["data_offsets"][-1]
        for k, e in header.items()
        if k != "__metadata__" and e["data_offsets"] and isinstance(e["data_offsets"][-1], int)
    ]
    size = max(0, max(spans, default=0) + extra)
    blob = _safetensors(header, (fill * (size // max(1, len(fill)) + 1))[:size] if fill else bytes(size))
    path = _write(blob, ".safetensors")
    try:
        ours = _clear_or_value(load_weights, path)
        ref = _reference(blob)
        if isinstance(ref, str):  # the reference's NumPy side stops at a dtype; we widen BF16
            if ours is not None:
                assert ref == "BF16", f"we read {header}, with a dtype NumPy cannot hold"
                want = _decoded(header, blob)
                assert sorted(ours) == sorted(want)
                for k in want:
                    np.testing.assert_array_equal(ours[k], want[k])
        elif ref is None:
            assert ours is None, f"the reference refuses {header}, we read {ours}"
        elif ours is not None:
            assert sorted(ours) == sorted(ref)
            for k in ref:
                got = ours[k].view(ref[k].dtype) if ours[k].dtype.kind == "b" else ours[k]
                np.testing.assert_array_equal(got, ref[k])
        else:  # we refuse only what NumPy cannot hold (float8, complex...)
            dts = {e["dtype"] for k, e in header.items() if k != "__metadata__"}
            assert dts - set(SIZES), f"we refuse {header}, which the reference reads"
    finally:
        path.unlink()


@pytest.mark.parametrize(
    "header, fault",
    [
        (b"[" * 200_000, "not a JSON object"),
        (b'{"a":' + b"[" * 200_000, "nests more than 128 levels"),
        (b'{"a": {"b": ' * 150 + b"1" + b"}" * 300, "nests more than 128 levels"),
        ({"__metadata__": ["x"]}, "__metadata__ must map str to str"),
        ({"__metadata__": {"k": 1}}, "__metadata__ must map str to str"),
        ([1, 2], "not a JSON object"),
        (b'"text"', "not a JSON object"),
    ],
)
def test_hostile_safetensors_headers_are_named_refusals(header, fault, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(_safetensors(header if isinstance(header, bytes) else json.dumps(header).encode()))
    with pytest.raises(ValueError, match=fault) as info:
        load_weights(path)
    assert "bad.safetensors" in str(info.value)


def _entry(begin, end, n=2):
    return {"dtype": "F32", "shape": [n], "data_offsets": [begin, end]}


@pytest.mark.parametrize(
    "header, size, fault",
    [
        ({"a": _entry(0, 8), "b": _entry(0, 8)}, 8, "overlaps"),
        ({"a": _entry(0, 8), "b": _entry(4, 12)}, 12, "overlaps"),
        ({"a": _entry(8, 16)}, 16, "hole"),
        ({"a": _entry(0, 8), "b": _entry(12, 20)}, 20, "hole"),
        ({"a": _entry(0, 8)}, 12, "belong to none"),
        ({"a": _entry(0, 16)}, 8, "outside"),
        ({"a": {"dtype": "X32", "shape": [2], "data_offsets": [0, 8]}}, 8, "unknown safetensors dtype"),
        ({"a": _entry(0, 8, n=3)}, 8, "needs 12 bytes"),
    ],
)
def test_offsets_must_tile_the_data_as_the_reference_demands(header, size, fault, tmp_path):
    path = tmp_path / "m.safetensors"
    blob = _safetensors(header, bytes(size))
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=fault) as info:
        open_weights(path)
    assert "m.safetensors" in str(info.value)
    if pytest.importorskip("safetensors"):
        assert _reference(blob) is None  # the reference refuses it too


def test_what_the_reference_reads_we_read(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.numpy import save

    arrays = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.zeros(0, np.float64),
              "z": np.ones(0, np.float32)}  # fmt: skip
    path = tmp_path / "ok.safetensors"
    path.write_bytes(save(arrays, metadata={"format": "np"}))
    got = load_weights(path)
    assert sorted(got) == sorted(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)


# ------------------------------------------------------------------------------ npz / npy / pt
@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".npz", ".npy", ".safetensors"]))
def test_random_bytes_are_refused_by_name(data, suffix):
    path = _write(data, suffix)
    try:
        assert _clear_or_value(load_weights, path) is None or len(data) > 0
        _clear_or_value(lambda p: analyze(p), path)
        _clear_or_value(lambda p: compress(p), path)
    finally:
        path.unlink()


@FUZZ
@given(cut=st.integers(0, 400))
def test_truncated_files_are_refused_by_name(cut, tmp_path):
    src = tmp_path / "whole.npz"
    np.savez(src, w=np.arange(60.0).reshape(6, 10))
    blob = src.read_bytes()
    path = _write(blob[: min(cut, len(blob) - 1)], ".npz")
    try:
        assert _clear_or_value(load_weights, path) is None
    finally:
        path.unlink()


def test_npz_member_with_a_hostile_header_is_refused(tmp_path):
    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w.npy", b"\x93NUMPY\x01\x00" + (100).to_bytes(2, "little") + b"{" * 100)
    with pytest.raises(ValueError) as info:
        load_weights(path)
    assert "h.npz" in str(info.value)


class Custom:
    """Not a tensor: torch's weights-only loader refuses it."""


def test_pytorch_files_say_what_is_wrong(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.pt: the file is empty \(0 bytes\)"):
        load_weights(empty)
    text = tmp_path / "notes.pt"
    text.write_bytes(b"hello world\n")
    with pytest.raises(ValueError, match="notes.pt: not a PyTorch checkpoint.*text file"):
        load_weights(text)
    torch = pytest.importorskip("torch")
    evil = tmp_path / "evil.pt"
    torch.save({"x": Custom()}, evil)
    with pytest.raises(ValueError) as info:
        load_weights(evil)
    message = str(info.value)
    assert "evil.pt" in message and "never runs" in message and "state_dict" in message
    assert "weights_only=False" not in message and "weights_only" not in message  # never relayed


def test_symlink_loops_and_dangling_links_are_named(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    os.symlink(b, a)
    os.symlink(a, b)
    with pytest.raises(OSError, match="loop of symbolic links"):
        load_weights(a)
    dangling = tmp_path / "d.npz"
    os.symlink(tmp_path / "gone.npz", dangling)
    with pytest.raises(FileNotFoundError, match="symbolic link to .*gone.npz.*does not exist"):
        load_weights(dangling)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_weights(tmp_path / "missing.npz")


def test_load_compressed_with_damaged_manifests(tmp_path):
    out = tmp_path / "c.npz"
    rng = np.random.default_rng(0)
    compress({"w": rng.normal(size=(60, 80)) + 3 * np.outer(rng.normal(size=60), rng.normal(size=80))}, out=out)
    manifest = Path(str(out) + ".manifest.json")
    for damaged in ("", "{", "[]", '{"format": "rmtheory-compressed"}', "null"):
        manifest.write_text(damaged)
        with pytest.raises(CLEAR) as info:
            load_compressed(out)
        assert "manifest" in str(info.value)


# ------------------------------------------------------------------------------ arrays
arrays = st.one_of(
    st.just(None),
    st.just("text"),
    st.just([[1.0, 2.0], [3.0]]),
    st.just(np.array([[1 + 2j, 3j]])),
    st.just(np.zeros((0, 5))),
    st.just(np.full((30, 40), np.nan)),
    st.just(np.array([[np.inf] * 30] * 40)),
    st.just(np.zeros((30, 40))),
    st.just(np.ones((30, 40))),
    st.just(np.array(["a", "b"], dtype=object)),
    st.builds(
        lambda n, m, s, e: np.random.default_rng(s).normal(size=(n, m)) * 2.0**e,
        st.integers(1, 40), st.integers(1, 40), st.integers(0, 5), st.integers(-1000, 1000),
    ),  # fmt: skip
)


@FUZZ
@given(W=arrays)
def test_analyze_and_bema_on_hostile_arrays(W):
    try:
        row = analyze_tensor(W, "fc2.weight")
    except CLEAR as err:
        assert "fc2.weight" in str(err) or "weights" in str(err) or "W" in str(err), str(err)
    else:
        assert row.name == "fc2.weight"
        if row.analysed:
            assert row.sigma2 > 0 and math.isfinite(row.lambda_plus) and row.mp_rank >= 0
        else:
            assert "of X" not in row.reason  # the tensor's name, not BEMA's "X"
    try:
        BEMA().fit(W, q=50) if np.ndim(W) == 1 else BEMA().fit(W)
    except CLEAR as err:
        assert str(err)
    try:
        c = compress({"fc2.weight": W})
    except CLEAR as err:
        assert "fc2.weight" in str(err) or "weights" in str(err)
    else:
        assert c.manifest["layers"][0]["rank"] != 0  # min rank 1: never an all-zero layer
