"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al.).

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d
    4 .. 4+4d   the d dimension sizes, uint32 each
    then        the elements, row-major, big-endian

So the images file starts with magic ``0x00000803`` (uint8, 3-D) and the labels file with
``0x00000801`` (uint8, 1-D).

Reference: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten digits",
section "File formats for the MNIST database".
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from rmtheory.atomic import atomic_write

_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): code for code, dt in _CODES.items()}


def parse_idx(data: bytes | bytearray | memoryview, *, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes into a native-endian array of the stored shape.

    Parameters
    ----------
    data : bytes-like
        The whole, decompressed file.
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray
        Shape ``(n0, n1, ...)`` from the header; dtype per the type byte (native byte order).

    Raises
    ------
    ValueError
        Bad magic, unknown type code, or a length that disagrees with the header.

    Examples
    --------
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    array([7, 8, 9], dtype=uint8)
    """
    buf = memoryview(data)
    if len(buf) < 4:
        raise ValueError(f"{name}: {len(buf)} bytes is too short for an IDX header")
    zero0, zero1, code, ndim = buf[0], buf[1], buf[2], buf[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{name}: bad IDX magic {bytes(buf[:4]).hex()} (must start with 0000)")
    if code not in _CODES:
        raise ValueError(f"{name}: unknown IDX element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{name}: truncated IDX header ({len(buf)} < {header} bytes)")
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = _CODES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buf) != expected:
        raise ValueError(
            f"{name}: IDX header says shape {shape} ({expected} bytes) but the file has "
            f"{len(buf)} bytes"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an uncompressed IDX file; see :func:`parse_idx`.

    No checksum is checked here: the dataset loaders verify the bytes first.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> p = Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> write_idx(p, np.arange(3, dtype=np.uint8))
    >>> read_idx(p)
    array([0, 1, 2], dtype=uint8)
    """
    p = Path(path)
    return parse_idx(p.read_bytes(), name=str(p))


def encode_idx(array: np.ndarray) -> bytes:
    """Encode ``array`` (uint8, int8, int16, int32, float32 or float64) as IDX bytes."""
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODE_OF:
        raise TypeError(
            f"array dtype must be one of uint8, int8, int16, int32, float32, float64; "
            f"got {arr.dtype}"
        )
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"array must have 1..255 dimensions, got {arr.ndim}")
    code = _CODE_OF[native]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=_CODES[code]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an uncompressed IDX file (the inverse of :func:`read_idx`)."""
    atomic_write(path, encode_idx(array), what="IDX file")
