"""IDX parsing, checked against headers built by hand with ``struct`` (the published layout)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rmtheory.datasets import read_idx, write_idx
from rmtheory.datasets.idx import encode_idx, parse_idx


def test_parse_hand_built_uint8_images():
    # magic 0x00000803, dims 2x2x3, row-major pixels 0..11, as in LeCun's file-format page
    raw = struct.pack(">I3I", 0x803, 2, 2, 3) + bytes(range(12))
    arr = parse_idx(raw)
    assert arr.shape == (2, 2, 3)
    assert arr.dtype == np.uint8
    assert arr[1, 0, 2] == 1 * 6 + 0 * 3 + 2


def test_parse_hand_built_labels():
    raw = struct.pack(">II", 0x801, 5) + bytes([5, 0, 4, 1, 9])
    assert parse_idx(raw).tolist() == [5, 0, 4, 1, 9]


def test_big_endian_int32_and_float64_values():
    ints = struct.pack(">II", 0x0C01, 3) + struct.pack(">3i", -7, 0, 123456789)
    assert parse_idx(ints).tolist() == [-7, 0, 123456789]
    floats = struct.pack(">III", 0x0E02, 1, 2) + struct.pack(">2d", 0.1, -2.5)
    out = parse_idx(floats)
    assert out.shape == (1, 2) and out.tolist() == [[0.1, -2.5]]
    assert out.dtype.isnative


def test_encode_matches_hand_built_header():
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert encode_idx(arr) == struct.pack(">I2I", 0x802, 2, 3) + bytes(range(6))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False},
    )
)
def test_roundtrip_any_supported_array(arr):
    back = parse_idx(encode_idx(arr))
    assert back.shape == arr.shape and back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


def test_read_write_file(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "x-idx3-ubyte", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte"), arr)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\x00\x00", "too short"),
        (struct.pack(">II", 0x01000801, 1) + b"\x00", "bad IDX magic"),
        (struct.pack(">II", 0x0701, 1) + b"\x00", "unknown IDX element type"),
        (struct.pack(">I", 0x0803) + struct.pack(">I", 2), "truncated IDX header"),
        (struct.pack(">II", 0x0801, 3) + b"\x00\x01", "header says shape"),
        (struct.pack(">II", 0x0801, 1) + b"\x00\x01", "header says shape"),
    ],
)
def test_malformed_inputs_are_rejected(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(raw)


def test_unsupported_dtype_rejected():
    with pytest.raises(TypeError, match="dtype"):
        encode_idx(np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="dimensions"):
        encode_idx(np.array(3, dtype=np.uint8))
