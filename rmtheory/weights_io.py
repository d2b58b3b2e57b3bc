"""Reading and writing a model's weights, one tensor at a time if need be.

Nothing here needs a deep-learning framework.  Formats, chosen by the file suffix:

* ``.npz`` / ``.npy``: NumPy; arrays of Python objects (pickles) are refused, so a weights file
  never runs code;
* ``.safetensors``: read by rmtheory's own header parser (no package needed); bfloat16 tensors
  are widened to float32 exactly (a bfloat16 is the top half of a float32);
* ``.pt`` / ``.pth`` / ``.bin``: a PyTorch state dict, only when ``torch`` is importable, read with
  ``torch.load(..., weights_only=True)``; checkpoints that wrap the state dict
  (``{"state_dict": ...}``, ``{"model": ...}``) are unwrapped;
* a directory: the shards its ``*.safetensors.index.json`` (or ``*.bin.index.json``) names, else
  every such file in it, in name order (``model-00001-of-00002.safetensors``...).

:func:`open_weights` reads only the headers and returns a :class:`LazyWeights` mapping whose
values are read when asked for: each entry's :class:`TensorRef` knows its name, shape and dtype
and reads all of the tensor (:meth:`TensorRef.read`) or a range of its rows
(:meth:`TensorRef.rows`) straight from the file, so a checkpoint larger than memory can be
analysed tensor by tensor (:func:`rmtheory.analysis.analyze`).  :func:`load_weights` reads
everything into a dict.

Hostile or broken files are refused with a ``ValueError`` that names the file (the shard, in a
folder) and the fault, before anything large is allocated: a FIFO or device named like a weights
file, a text file renamed ``.npz``, a header that declares more data than the file holds, a
deflated ``.npz`` member that would expand past ``max_tensor_bytes`` or more than
:data:`MAX_DEFLATE_RATIO` times its compressed size (a "zip bomb").

:func:`save_weights` and :class:`WeightsWriter` write ``.npz`` (uncompressed) or
``.safetensors`` atomically: to a temporary file beside the target, renamed over it only once
complete, so a failed save never destroys the file already there.  The writer takes one tensor
(or one block of rows) at a time.

:func:`to_numpy` turns any array-like (a torch, JAX or CuPy tensor, on any device) into a NumPy
array: through DLPack (``numpy.from_dlpack``, zero-copy on the CPU) when the object offers
``__dlpack__``, else through ``numpy.asarray`` after moving it to host memory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import struct
import tempfile
import tokenize
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.atomic import atomic_open

__all__ = [
    "ArrayTensor",
    "MAX_DEFLATE_RATIO",
    "SUPPORTED_SUFFIXES",
    "LazyWeights",
    "TensorRef",
    "WeightsWriter",
    "default_max_tensor_bytes",
    "load_weights",
    "open_weights",
    "save_weights",
    "to_numpy",
]

#: File suffixes :func:`load_weights` reads.
SUPPORTED_SUFFIXES = (".npz", ".npy", ".safetensors", ".pt", ".pth", ".bin")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin")
# Keys under which training checkpoints commonly nest the model's state dict.
_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module")

#: A compressed ``.npz`` member larger than 64 MiB that would expand more than this many times its
#: compressed size is refused unless ``max_tensor_bytes`` is passed explicitly (float weights
#: deflate by a few percent; a 1000-fold ratio is a file of zeros or a zip bomb).
MAX_DEFLATE_RATIO = 100
_DEFLATE_GUARD_BYTES = 64 * 2**20
# The safetensors reference implementation refuses headers above 100 MB; so do we.
_MAX_SAFETENSORS_HEADER = 100_000_000

# safetensors dtype -> (NumPy dtype as stored, bytes per element).  BF16 is read as uint16 and
# widened; the float8 / sub-byte types have no NumPy equivalent and are listed unreadable.
_ST_NUMPY = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
_NUMPY_ST = {
    "f8": "F64",
    "f4": "F32",
    "f2": "F16",
    "i8": "I64",
    "i4": "I32",
    "i2": "I16",
    "i1": "I8",
    "u8": "U64",
    "u4": "U32",
    "u2": "U16",
    "u1": "U8",
    "b1": "BOOL",
}


def _torch_to_host(x: Any) -> Any:
    x = x.detach().cpu()
    # NumPy has no bfloat16 / float8: widen (exactly) to float32.
    if x.is_floating_point() and x.element_size() < 4 and str(x.dtype) != "torch.float16":
        x = x.float()
    return x.numpy()


def to_numpy(x: Any, name: str = "array") -> np.ndarray:
    """Convert an array-like (NumPy, torch, JAX, CuPy, nested lists...) to a NumPy array on the CPU.

    DLPack first (``numpy.from_dlpack``: zero-copy for CPU tensors), then the framework's own
    route to host memory (``.detach().cpu()`` for torch, ``.get()`` for CuPy), then
    ``numpy.asarray``.  Tensors that require gradients are detached; bfloat16/float8 torch tensors
    are widened to float32 (NumPy has no such dtype).

    Parameters
    ----------
    x : array_like
        The tensor.
    name : str
        Used in the error message.

    Returns
    -------
    numpy.ndarray
        A view of ``x`` where possible, otherwise a copy.

    Raises
    ------
    TypeError
        If nothing converts ``x``.

    Examples
    --------
    >>> to_numpy([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__.split(".", 1)[0]
    if module == "torch":
        x = x.detach()
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError, AttributeError):
            pass  # another device or a dtype NumPy lacks: take the framework's own route below
    try:
        if module == "torch":
            return _torch_to_host(x)
        if module == "cupy":
            return x.get()
        return np.asarray(x)
    except Exception as err:  # the framework's own exception types are unknown here
        raise TypeError(
            f"{name}: cannot convert a {type(x).__module__}.{type(x).__name__} to a NumPy array "
            f"({err})"
        ) from err


def default_max_tensor_bytes() -> int:
    """The default limit on one tensor's declared size: the machine's physical memory.

    A header that declares a larger tensor is refused before anything is allocated.
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX
        return 2**40


# ----------------------------------------------------------------------------------- files
def _kind_of(mode: int) -> str:
    for test, what in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return what
    return "not a regular file"


def _open_regular(path: Path):
    """Open ``path`` for reading, refusing anything but a regular file *without blocking*.

    ``open()`` on a FIFO waits for a writer forever; ``O_NONBLOCK`` makes it return at once, and
    ``fstat`` on the descriptor (not the name, which could be swapped) tells what it is.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(
                f"{path}: {_kind_of(mode)}, not a regular file; weights are read only from "
                "regular files"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _describe_start(head: bytes) -> str:
    """What a file that is not the expected format looks like, from its first bytes."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single NumPy .npy array (rename it to .npy)"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "it is a zip archive (an .npz? rename it to .npz)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "it holds pickled Python data, which rmtheory never loads"
    if head.startswith(b"{"):
        return f"it starts like JSON text ({head[:24]!r})"
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if printable == len(head):
        return f"it looks like a text file (it starts with {head[:24]!r})"
    return f"it starts with the bytes {head[:16]!r}"


def _readinto_exact(f, out: np.ndarray, where: str) -> None:
    view = memoryview(out.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            raise ValueError(
                f"{where}: the file ends {len(view) - got} bytes early (truncated or modified "
                "since its header was read)"
            )
        got += n


class TensorRef:
    """A handle on one tensor: its name, shape and dtype, and how to read it.

    Obtained from :meth:`LazyWeights.ref`.  Reading never keeps a copy: each call of
    :meth:`read` or :meth:`rows` returns a fresh array.

    Attributes
    ----------
    name : str
        The tensor's name.
    shape : tuple of int
        Its shape.
    dtype : numpy.dtype or None
        The dtype :meth:`read` returns (float32 for a bfloat16 tensor); ``None`` when NumPy cannot
        hold the stored type (then ``unreadable`` says why).
    stored : str
        The dtype as stored (``"BF16"``, ``"float32"``...).
    source : str
        The file it lives in, or ``"<memory>"``.
    unreadable : str
        Empty, or why the values cannot be read as a NumPy array.
    """

    name: str
    shape: tuple[int, ...]
    stored: str = ""
    source: str = "<memory>"
    unreadable: str = ""

    @property
    def dtype(self) -> np.dtype | None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the array :meth:`read` returns (0 when unreadable)."""
        return self.size * self.dtype.itemsize if self.dtype is not None else 0

    def _matrix_shape(self) -> tuple[int, int]:
        n = self.shape[0] if self.shape else 1
        return n, (self.size // n if n else math.prod(self.shape[1:]))

    def read(self) -> np.ndarray:
        """The whole tensor, in :attr:`dtype`."""
        n, _ = self._matrix_shape()
        return self.rows(0, n).reshape(self.shape)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the tensor seen as the matrix ``(shape[0], prod(shape[1:]))``."""
        raise NotImplementedError  # pragma: no cover

    def fingerprint(self) -> tuple | None:
        """A key that changes when the tensor's file changes (``None`` for in-memory tensors)."""
        return None

    def release(self) -> None:
        """Drop any open stream or converted copy (called after each tensor is processed)."""

    def _check_rows(self, start: int, stop: int) -> None:
        if self.unreadable:
            raise ValueError(f"{self.source}: tensor {self.name!r}: {self.unreadable}")
        n, _ = self._matrix_shape()
        if not 0 <= start <= stop <= n:
            raise ValueError(f"rows: need 0 <= start <= stop <= {n}, got {start}, {stop}")

    def __repr__(self) -> str:
        dt = self.dtype if self.dtype is not None else self.stored
        return f"<TensorRef {self.name!r} {self.shape} {dt} in {self.source}>"


class _FileTensor(TensorRef):
    """A C-ordered tensor stored contiguously at ``offset`` in a file (safetensors, .npy, a
    stored .npz member)."""

    def __init__(self, name, shape, stored_dtype, path, offset, *, stored="", widen=False, why=""):
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self._stored_dtype = np.dtype(stored_dtype) if stored_dtype is not None else None
        self._widen = widen  # bfloat16 bits -> float32
        self.stored = stored or (str(self._stored_dtype) if self._stored_dtype else "")
        self.source = str(path)
        # absolute: a worker process of a reused pool may run in another folder
        self._file = os.path.abspath(path)
        self._offset = int(offset)
        self.unreadable = why

    @property
    def dtype(self):
        if self._stored_dtype is None:
            return None
        return np.dtype(np.float32) if self._widen else self._stored_dtype

    def fingerprint(self):
        st = os.stat(self._file)
        return (
            os.path.realpath(self._file),
            st.st_size,
            st.st_mtime_ns,
            self.name,
            self.stored,
            self.shape,
            self._offset,
        )

    def rows(self, start, stop):
        self._check_rows(start, stop)
        n, m = self._matrix_shape()
        raw = np.empty((stop - start, m), dtype=self._stored_dtype)
        if raw.size:
            with _open_regular(Path(self._file)) as f:
                f.seek(self._offset + start * m * self._stored_dtype.itemsize)
                _readinto_exact(f, raw, f"{self.source}: tensor {self.name!r}")
        if self._widen:
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw.astype(raw.dtype.newbyteorder("="), copy=False)


class _ZipStreamTensor(TensorRef):
    """A compressed ``.npz`` member: rows are decompressed in order from one open stream."""

    def __init__(self, name, shape, dtype, path, member, header_len):
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self._dtype = np.dtype(dtype)
        self.stored = str(self._dtype)
        self.source = str(path)
        # absolute: a worker process of a reused pool may run in another folder
        self._file = os.path.abspath(path)
        self._member = member
        self._header_len = int(header_len)
        self.unreadable = ""
        self._state = None

    @property
    def dtype(self):
        return self._dtype

    def fingerprint(self):
        st = os.stat(self._file)
        key = (os.path.realpath(self._file), st.st_size, st.st_mtime_ns)
        return (*key, self.name, self.stored, self.shape, self._member)

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_state"] = None
        return d

    def release(self):
        if self._state is not None:
            for obj in reversed(self._state[:3]):
                with contextlib.suppress(Exception):
                    obj.close()
            self._state = None

    def rows(self, start, stop):
        self._check_rows(start, stop)
        _, m = self._matrix_shape()
        row_bytes = m * self._dtype.itemsize
        where = f"{self.source}: member {self._member!r}"
        if self._state is None or start < self._state[3]:
            self.release()
            f = _open_regular(Path(self._file))
            try:
                z = zipfile.ZipFile(f)
                s = z.open(self._member)
                s.read(self._header_len)
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                f.close()
                raise ValueError(f"{where}: cannot be read ({err})") from err
            self._state = [f, z, s, 0]
        f, z, s, pos = self._state
        try:
            if start > pos:
                s.seek((start - pos) * row_bytes, os.SEEK_CUR)
            out = np.empty((stop - start, m), dtype=self._dtype)
            if out.size:
                _readinto_exact(s, out, where)
        except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as err:
            self.release()
            raise ValueError(f"{where}: cannot be read ({err})") from err
        self._state[3] = stop
        return out.astype(out.dtype.newbyteorder("="), copy=False)


class ArrayTensor(TensorRef):
    """A tensor already in memory (a NumPy array or any framework tensor), converted on use.

    ``ArrayTensor(name, value)`` gives any array the :class:`TensorRef` interface the streaming
    analysis reads (``rows``, ``read``, ``release``); ``source`` names where it came from."""

    def __init__(self, name, value, source="<memory>"):
        self.name = name
        self._value = value
        self._array = None
        self.source = source
        self.unreadable = ""
        shape = getattr(value, "shape", None)
        try:
            self.shape = tuple(int(d) for d in shape) if shape is not None else None
        except TypeError:
            self.shape = None
        if self.shape is None:
            self.shape = tuple(self.array.shape)

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = to_numpy(self._value, f"weights[{self.name!r}]")
            self.shape = tuple(self._array.shape)
        return self._array

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def stored(self):  # noqa: D401 - a property standing in for the attribute
        return str(self.dtype)

    def __getstate__(self):
        # Send NumPy data to worker processes (joblib memory-maps large arrays).
        d = dict(self.__dict__)
        d["_value"] = self.array
        d["_array"] = None
        return d

    def release(self):
        if self._array is not None and self._array is not self._value:
            self._array = None

    def read(self):
        return self.array

    def rows(self, start, stop):
        n, m = self._matrix_shape()
        if not 0 <= start <= stop <= n:
            raise ValueError(f"rows: need 0 <= start <= stop <= {n}, got {start}, {stop}")
        A = self.array
        return A.reshape(n, m)[start:stop] if A.ndim != 2 else A[start:stop]


# ----------------------------------------------------------------------------------- readers
_ArrayTensor = ArrayTensor  # the name it had while private


def _npy_header(fp, where: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Parse an .npy header at the stream's position: ``(shape, dtype, fortran, header bytes)``."""
    start = fp.tell()
    head = fp.read(8)
    if not head.startswith(b"\x93NUMPY"):
        raise ValueError(f"{where}: not a NumPy .npy array: {_describe_start(head)}")
    if len(head) < 8:  # the magic string alone, no version bytes
        raise ValueError(f"{where}: truncated .npy header ({len(head)} bytes, need at least 8)")
    major = head[6]
    try:
        fp.seek(start)
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            shape, fortran, dtype = np.lib.format._read_array_header(fp, version)
    except (
        ValueError, SyntaxError, TypeError, EOFError, tokenize.TokenError, RecursionError,
        MemoryError, OverflowError,
    ) as err:  # NumPy tokenizes and evaluates the header text: each of these is a corrupt one
        raise ValueError(f"{where}: corrupt .npy header (version {major}): {err}") from None
    if dtype.hasobject:
        raise ValueError(
            f"{where}: holds Python objects (pickled data), which rmtheory never loads; save the "
            "weights as numeric arrays"
        )
    return tuple(shape), dtype, bool(fortran), fp.tell() - start


class _Limits:
    def __init__(self, max_tensor_bytes: int | None):
        self.explicit = max_tensor_bytes is not None
        if max_tensor_bytes is None:
            self.max_bytes = default_max_tensor_bytes()
        else:
            if isinstance(max_tensor_bytes, bool) or not isinstance(
                max_tensor_bytes, int | np.integer
            ):
                raise TypeError(f"max_tensor_bytes must be an int, got {max_tensor_bytes!r}")
            if max_tensor_bytes < 0:
                raise ValueError(f"max_tensor_bytes must be >= 0, got {max_tensor_bytes!r}")
            self.max_bytes = int(max_tensor_bytes)

    def check(self, where: str, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            raise ValueError(
                f"{where}: declares {nbytes:,} bytes, more than the limit of {self.max_bytes:,} "
                "(max_tensor_bytes; default: the machine's memory); refused before allocating"
            )


def _npy_refs(path: Path, f, size: int, limits: _Limits) -> list[TensorRef]:
    shape, dtype, fortran, hlen = _npy_header(f, str(path))
    nbytes = math.prod(shape) * dtype.itemsize
    if hlen + nbytes != size:
        raise ValueError(
            f"{path}: the .npy header declares {nbytes:,} data bytes but the file holds "
            f"{size - hlen:,} (truncated or corrupt)"
        )
    limits.check(f"{path}", nbytes)
    if fortran and len(shape) > 1:
        return [_FortranTensor(path.stem, shape, dtype, path, hlen)]
    return [_FileTensor(path.stem, shape, dtype, path, hlen)]


class _FortranTensor(_FileTensor):
    """A Fortran-ordered .npy: rows are not contiguous, so it is read whole (rare in practice)."""

    def rows(self, start, stop):
        self._check_rows(start, stop)
        n, m = self._matrix_shape()
        raw = np.empty(self.size, dtype=self._stored_dtype)
        with _open_regular(Path(self._file)) as f:
            f.seek(self._offset)
            _readinto_exact(f, raw, f"{self.source}: tensor {self.name!r}")
        A = raw.reshape(self.shape[::-1]).transpose()
        return np.ascontiguousarray(A.reshape(n, m)[start:stop])

    def read(self):
        n, _ = self._matrix_shape()
        return self.rows(0, n).reshape(self.shape)


def _npz_refs(path: Path, f, size: int, limits: _Limits) -> list[TensorRef]:
    head = f.read(4)
    f.seek(0)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")):
        raise ValueError(
            f"{path}: not a NumPy .npz file (a zip archive): {_describe_start(f.read(32))}"
        )
    try:
        z = zipfile.ZipFile(f)
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz (corrupt zip archive: {err})") from None
    refs: list[TensorRef] = []
    for zi in infos:
        if zi.is_dir():
            continue
        name = zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename
        where = f"{path}: member {zi.filename!r}"
        if zi.flag_bits & 0x1:
            raise ValueError(f"{where}: encrypted, cannot be read")
        try:
            if zi.compress_type == zipfile.ZIP_STORED:
                f.seek(zi.header_offset)
                local = f.read(30)
                if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
                    raise ValueError(f"{where}: corrupt zip entry (bad local header)")
                n_name, n_extra = struct.unpack("<HH", local[26:30])
                data = zi.header_offset + 30 + n_name + n_extra
                if data + zi.file_size > size:
                    raise ValueError(
                        f"{where}: the zip entry declares {zi.file_size:,} bytes past the end of "
                        "the file (truncated or corrupt)"
                    )
                f.seek(data)
                shape, dtype, fortran, hlen = _npy_header(f, where)
            else:
                with z.open(zi) as s:
                    shape, dtype, fortran, hlen = _npy_header(s, where)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as err:
            raise ValueError(f"{where}: cannot be read ({err})") from None
        nbytes = math.prod(shape) * dtype.itemsize
        if hlen + nbytes != zi.file_size:
            raise ValueError(
                f"{where}: the .npy header declares {nbytes:,} data bytes but the zip entry holds "
                f"{zi.file_size - hlen:,} (corrupt, or a zip bomb); refused before allocating"
            )
        limits.check(where, nbytes)
        if zi.compress_type != zipfile.ZIP_STORED:
            ratio = zi.file_size / max(zi.compress_size, 1)
            if (
                not limits.explicit
                and zi.file_size > _DEFLATE_GUARD_BYTES
                and ratio > MAX_DEFLATE_RATIO
            ):
                raise ValueError(
                    f"{where}: {zi.compress_size:,} compressed bytes declare {zi.file_size:,} "
                    f"uncompressed (ratio {ratio:.0f} > {MAX_DEFLATE_RATIO}: a zip bomb, or an "
                    "array of zeros); refused before allocating. Pass max_tensor_bytes= to "
                    "open_weights / load_weights to read it anyway"
                )
            if fortran and len(shape) > 1:
                raise ValueError(f"{where}: a compressed Fortran-ordered array is not supported")
            refs.append(_ZipStreamTensor(name, shape, dtype, path, zi.filename, hlen))
        elif fortran and len(shape) > 1:
            refs.append(_FortranTensor(name, shape, dtype, path, data + hlen))
        else:
            refs.append(_FileTensor(name, shape, dtype, path, data + hlen))
    return refs


# Bits per element of every dtype the reference loader knows (it refuses any other name).
_ST_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}  # fmt: skip
# The reference parser (serde_json) stops at 128 levels of nesting; a real header has 3.
_MAX_SAFETENSORS_DEPTH = 128
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_depth(text: bytes, limit: int) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (strings skipped), stopping past ``limit``:
    checked before parsing, so a hostile header cannot exhaust Python's recursion."""
    depth = deepest = 0
    for m in _JSON_TOKENS.finditer(text):
        c = m.group()[:1]
        if c in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest


def _is_count(d: Any) -> bool:
    return isinstance(d, int) and not isinstance(d, bool) and d >= 0


def _safetensors_header(path: Path, f, size: int) -> tuple[dict, int]:
    """The header of a safetensors file, checked as the reference loader checks it, and its
    length: the 8-byte length, at most 100 MB, JSON text opening with an object, nesting within
    128 levels, ``__metadata__`` a str -> str map (or null)."""
    head = f.read(8)
    if len(head) < 8:
        raise ValueError(
            f"{path}: not a safetensors file: {size} bytes, shorter than the 8-byte header length"
        )
    n = int.from_bytes(head, "little")
    if n > size - 8 or n > _MAX_SAFETENSORS_HEADER or n < 2:
        f.seek(0)
        limit = " (the reference loader's limit is 100 MB)" if n > _MAX_SAFETENSORS_HEADER else ""
        raise ValueError(
            f"{path}: not a safetensors file: its first 8 bytes declare a {n:,}-byte header in a "
            f"{size:,}-byte file{limit} ({_describe_start(f.read(32))})"
        )
    raw = f.read(n)
    if not raw.lstrip(b" \t\r\n").startswith(b"{"):
        raise ValueError(
            f"{path}: not a safetensors file: its header is not a JSON object (it starts with "
            f"{raw[:16]!r})"
        )
    depth = _json_depth(raw, _MAX_SAFETENSORS_DEPTH)
    if depth > _MAX_SAFETENSORS_DEPTH:
        raise ValueError(
            f"{path}: corrupt safetensors header: it nests more than {_MAX_SAFETENSORS_DEPTH} "
            "levels deep (a real header nests 3)"
        )
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(
            f"{path}: not a safetensors file: its header is not JSON ({err})"
        ) from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file: its header is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and not (
        isinstance(meta, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    ):
        raise ValueError(
            f"{path}: corrupt safetensors header: __metadata__ must map str to str, got "
            f"{_short(meta)}"
        )
    return header, n


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _safetensors_refs(path: Path, f, size: int, limits: _Limits) -> list[TensorRef]:
    header, n = _safetensors_header(path, f, size)
    data_start, data_size = 8 + n, size - 8 - n
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name!r}"
        ok = (
            isinstance(info, dict)
            and isinstance(info.get("dtype"), str)
            and isinstance(info.get("shape"), list)
            and all(_is_count(d) for d in info["shape"])
            and isinstance(info.get("data_offsets"), list)
            and len(info["data_offsets"]) == 2
            and all(_is_count(d) for d in info["data_offsets"])
        )
        if not ok:
            raise ValueError(f"{where}: malformed header entry {_short(info)}")
        begin, end = info["data_offsets"]
        if not begin <= end <= data_size:
            raise ValueError(
                f"{where}: data_offsets [{begin}, {end}] lie outside the file's {data_size:,} data "
                "bytes (truncated or corrupt)"
            )
        st_dtype, shape = info["dtype"], tuple(info["shape"])
        bits = _ST_BITS.get(st_dtype)
        if bits is None:
            raise ValueError(
                f"{where}: unknown safetensors dtype {st_dtype!r} (expected one of "
                f"{', '.join(_ST_BITS)})"
            )
        nbits = math.prod(shape) * bits
        if nbits % 8 or nbits // 8 != end - begin:
            raise ValueError(
                f"{where}: shape {list(shape)} of {st_dtype} needs {nbits / 8:,g} bytes but "
                f"data_offsets span {end - begin:,} (corrupt header)"
            )
        if st_dtype in _ST_NUMPY:
            widen = st_dtype == "BF16"
            limits.check(where, math.prod(shape) * (4 if widen else bits // 8))
            ref = _FileTensor(
                name,
                shape,
                _ST_NUMPY[st_dtype],
                path,
                data_start + begin,
                stored=st_dtype,
                widen=widen,
            )
        else:
            why = f"dtype {st_dtype}: NumPy cannot hold it"
            ref = _FileTensor(name, shape, None, path, data_start + begin, stored=st_dtype, why=why)
        entries.append((begin, end, ref))
    # The tensors must tile the data exactly, as the reference loader demands: in offset order
    # each starts where the previous ended (no overlap, no hole) and the last ends the file.
    entries.sort(key=lambda t: (t[0], t[1]))
    covered = 0
    for begin, end, ref in entries:
        if begin != covered:
            fault = "overlaps the tensor before it" if begin < covered else "leaves a hole before it"
            raise ValueError(
                f"{path}: tensor {ref.name!r}: data_offsets [{begin}, {end}] {fault} (bytes "
                f"{min(begin, covered):,}-{max(begin, covered):,}): a corrupt or hostile header"
            )
        covered = end
    if covered != data_size:
        raise ValueError(
            f"{path}: the tensors cover {covered:,} of the file's {data_size:,} data bytes: "
            f"{data_size - covered:,} bytes after the last tensor belong to none (truncated or "
            "corrupt header)"
        )
    return [ref for _, _, ref in entries]  # file order: reading front to back


def _flatten(obj: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif hasattr(value, "shape") or isinstance(value, int | float):
            yield name, value


def _torch_refs(path: Path, f, size: int, limits: _Limits) -> list[TensorRef]:
    # what is wrong with the file itself is said with or without PyTorch installed
    if size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes), not a PyTorch checkpoint")
    start = f.read(16)
    f.seek(0)
    if not (start.startswith(b"PK") or start[:1] == b"\x80"):
        raise ValueError(
            f"{path}: not a PyTorch checkpoint (neither a zip archive nor pickled data: "
            f"{_describe_start(start)})"
        )
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{path}: reading {path.suffix} files needs PyTorch (not a dependency of rmtheory); "
            "install torch, or save the weights as .npz / .safetensors"
        ) from None
    try:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises its own (and pickle's) exception types
        raise ValueError(f"{path}: {_torch_refusal(err)}") from None
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"{path}: expected a state dict (a mapping name -> tensor), got {type(obj).__name__}; "
            "save model.state_dict(), not the model"
        )
    for key in _STATE_DICT_KEYS:
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    return [ArrayTensor(name, to_numpy(v, name), str(path)) for name, v in _flatten(obj)]


def _torch_refusal(err: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in rmtheory's words: torch's own
    message suggests ``weights_only=False``, which would run the file's pickled code."""
    text = str(err)
    if "Weights only load failed" in text or "Unsupported global" in text:
        found = re.search(r"Unsupported (?:global|operand)[^\n]*?:\s*(?:GLOBAL\s+)?([^\s,]+)", text)
        what = f" ({found.group(1)})" if found else ""
        return (
            f"refused: the checkpoint holds Python objects other than tensors{what}; rmtheory "
            "never runs a checkpoint's pickled code. Save model.state_dict() (tensors only), or "
            "convert the weights to .safetensors or .npz"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return f"not a readable PyTorch checkpoint ({first})"


_READERS = {
    ".npz": _npz_refs,
    ".npy": _npy_refs,
    ".safetensors": _safetensors_refs,
    **dict.fromkeys(_TORCH_SUFFIXES, _torch_refs),
}


def _file_refs(path: Path, limits: _Limits) -> list[TensorRef]:
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(
            f"path: unsupported weights file {path.name!r}; expected one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        return reader(path, f, size, limits)


def _index_shards(folder: Path) -> tuple[list[Path], dict[str, str], Path] | None:
    """Shards named by a ``*.index.json`` (safetensors preferred) with its weight map and path,
    or None if there is none."""
    indexes = sorted(folder.glob("*.safetensors.index.json")) or sorted(folder.glob("*.index.json"))
    if not indexes:
        return None
    index = indexes[0]
    try:
        with _open_regular(index) as f:
            weight_map = json.loads(f.read().decode("utf-8")).get("weight_map")
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{index}: not a readable checkpoint index ({err})") from None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise ValueError(f"{index}: no 'weight_map' of tensor name -> shard file")
    shards = []
    for name in sorted(set(weight_map.values())):
        shard = folder / name
        if Path(name).name != name:
            raise ValueError(f"{index}: shard {name!r} is not a file name in {folder}")
        if not shard.exists():
            raise ValueError(f"{index}: names shard {name!r}, which is missing from {folder}")
        shards.append(shard)
    return shards, weight_map, index


class LazyWeights(Mapping):
    """``{name: numpy.ndarray}`` whose values are read from disk only when accessed.

    Returned by :func:`open_weights`; iterating over names or calling :meth:`ref` reads nothing.
    Every access of ``weights[name]`` reads the tensor again (nothing is cached), so a loop
    ``for name in weights: f(weights[name])`` holds one tensor at a time.
    """

    def __init__(self, refs: Iterable[TensorRef], files: Iterable[Path] = ()):
        self._refs: dict[str, TensorRef] = {}
        for r in refs:
            if r.name in self._refs:
                raise ValueError(
                    f"path: tensor {r.name!r} appears in two files: {self._refs[r.name].source} "
                    f"and {r.source}"
                )
            self._refs[r.name] = r
        self.files = [Path(p) for p in files]

    def __getitem__(self, name: str) -> np.ndarray:
        ref = self._refs[name]
        try:
            return ref.read()
        finally:
            ref.release()

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def ref(self, name: str) -> TensorRef:
        """The :class:`TensorRef` of ``name`` (shape, dtype, file) without reading its data."""
        return self._refs[name]

    def refs(self) -> list[TensorRef]:
        """All :class:`TensorRef` s, in file order."""
        return list(self._refs.values())

    @property
    def nbytes(self) -> int:
        """Bytes of all readable tensors as :meth:`read` returns them."""
        return sum(r.nbytes for r in self._refs.values())

    def __repr__(self) -> str:
        return f"<LazyWeights: {len(self)} tensors in {len(self.files)} file(s)>"


def _check_exists(p: Path) -> None:
    """Raise naming ``p`` when it cannot be reached: missing, a dangling link or a link loop."""
    try:
        os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):
            raise FileNotFoundError(
                f"path: {str(p)!r} is a symbolic link to {os.readlink(p)!r}, which does not exist"
            ) from None
        raise FileNotFoundError(f"path: no such file or directory: {str(p)!r}") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OSError(
                errno.ELOOP,
                f"path: {str(p)!r} is a loop of symbolic links (following them never reaches a "
                "file)",
            ) from None
        raise


def open_weights(path: str | os.PathLike, *, max_tensor_bytes: int | None = None) -> LazyWeights:
    """Open a weights file (or a folder of shards) without reading its tensors.

    Only the headers are read and checked; the values come from disk one tensor (or one block of
    rows) at a time when used.

    Parameters
    ----------
    path : str or path-like
        A ``.npz``, ``.npy``, ``.safetensors``, ``.pt``/``.pth``/``.bin`` file, or a directory:
        its ``*.index.json`` shards (safetensors index preferred), else every file with these
        suffixes in name order.  PyTorch files are read whole (``torch.load``).
    max_tensor_bytes : int, optional
        Refuse any tensor whose header declares more bytes than this (default: the machine's
        memory).  Passing it also lifts the :data:`MAX_DEFLATE_RATIO` guard on compressed
        ``.npz`` members.

    Returns
    -------
    LazyWeights

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an unsupported suffix, something that is not a regular file, a corrupt or hostile file
        (the message names the file and the fault), an empty directory, or a name in two shards.
    ImportError
        If a PyTorch file is read without torch installed.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(f, fc=np.ones((3, 2)))
    >>> w = open_weights(f)
    >>> w.ref("fc").shape, w["fc"].sum()
    ((3, 2), np.float64(6.0))
    """
    limits = _Limits(max_tensor_bytes)
    p = Path(path)
    _check_exists(p)
    if not p.is_dir():
        return LazyWeights(_file_refs(p, limits), [p])
    indexed = _index_shards(p)
    if indexed is None:
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in SUPPORTED_SUFFIXES)
    else:
        files = indexed[0]
    if not files:
        raise ValueError(
            f"path: directory {str(p)!r} holds no weights file ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    refs: list[TensorRef] = []
    for f in files:
        try:
            refs += _file_refs(f, limits)
        except (ValueError, TypeError) as err:
            msg = str(err)
            if f.name not in msg:  # every reader names its file; make sure of it
                msg = f"{f}: {msg}"
            raise type(err)(f"shard {f.name} of {p}: {msg}") from err
    if indexed is not None:
        _, weight_map, index = indexed
        where = {r.name: Path(r.source).name for r in refs}
        for name, shard in weight_map.items():
            if where.get(name) != shard:
                found = f"it is in {where[name]}" if name in where else "no shard holds it"
                raise ValueError(
                    f"{index}: maps tensor {name!r} to shard {shard}, but {found} (an incomplete "
                    "or mismatched checkpoint)"
                )
    return LazyWeights(refs, files)


def load_weights(
    path: str | os.PathLike, *, max_tensor_bytes: int | None = None
) -> dict[str, np.ndarray]:
    """Read a weights file (or a directory of them) into ``{name: numpy.ndarray}``.

    Everything is read into memory; for checkpoints larger than memory use :func:`open_weights`
    (or pass the path to :func:`rmtheory.analysis.analyze`, which streams).

    Parameters
    ----------
    path : str or path-like
        As for :func:`open_weights`.
    max_tensor_bytes : int, optional
        As for :func:`open_weights`.

    Returns
    -------
    dict
        Tensor name to array, in file order; bfloat16 widened to float32.

    Raises
    ------
    FileNotFoundError, ValueError, ImportError, TypeError
        As for :func:`open_weights`; a tensor NumPy cannot hold (float8) raises ``ValueError``.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(f, fc=np.ones((3, 2)))
    >>> {k: v.shape for k, v in load_weights(f).items()}
    {'fc': (3, 2)}
    """
    lazy = open_weights(path, max_tensor_bytes=max_tensor_bytes)
    out: dict[str, np.ndarray] = {}
    for ref in lazy.refs():
        try:
            out[ref.name] = ref.read()
        finally:
            ref.release()
    return out


# ----------------------------------------------------------------------------------- writers
def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _as_bytes(a: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(a).reshape(-1).view(np.uint8))


class _Aborted(Exception):
    """Thrown into the atomic writer to discard its temporary file."""


class WeightsWriter:
    """Write tensors one at a time to ``.npz`` (uncompressed) or ``.safetensors``, atomically.

    Everything goes to a temporary file beside ``path``; :meth:`close` renames it over ``path``
    only when complete, and any failure (or leaving the ``with`` block by an exception) removes
    it, so the file already at ``path`` survives a failed save.  Memory use is one tensor (or one
    block of rows, :meth:`add_rows`) at a time; a ``.safetensors`` file, whose header precedes
    its data, is assembled from a temporary data file at the end.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> f = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> with WeightsWriter(f) as w:
    ...     w.add("a", np.ones((2, 3), np.float32))
    ...     w.add_rows("b", (4, 2), np.float64, (np.full((2, 2), i) for i in range(2)))
    >>> sorted(load_weights(f)), load_weights(f)["b"][3, 1]
    (['a', 'b'], np.float64(1.0))
    """

    def __init__(self, path: str | os.PathLike, metadata: Mapping[str, str] | None = None):
        p = Path(path)
        self.suffix = p.suffix.lower()
        if self.suffix not in (".npz", ".safetensors"):
            raise ValueError(f"path: expected a .npz or .safetensors output file, got {p.name!r}")
        if metadata is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError("metadata must map str to str")
        if p.exists() and not p.is_file():
            raise ValueError(f"path: {str(p)!r} exists and is not a regular file")
        self.path = p
        self.metadata = dict(metadata) if metadata else None
        self._names: set[str] = set()
        self._entries: dict[str, dict] = {}
        self._offset = 0
        self._closed = False
        self._data = None
        self._zip = None
        # The output is one rmtheory.atomic temporary file, renamed over ``path`` on close; the
        # safetensors data (written before its header is known) go to an anonymous scratch file
        # that the OS removes whatever happens to this process.
        self._stack = contextlib.ExitStack()
        self._file = self._stack.enter_context(atomic_open(p, "wb", what="weights file"))
        try:
            if self.suffix == ".npz":
                self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED, allowZip64=True)
            else:
                self._data = tempfile.TemporaryFile(dir=p.parent, prefix=f".{p.name}.data.")
        except BaseException:
            self.abort()
            raise

    # -- adding
    def _check(self, name: str, shape, dtype: np.dtype) -> None:
        if self._closed:
            raise ValueError("WeightsWriter: already closed")
        if not isinstance(name, str) or not name:
            raise TypeError(f"tensor names must be non-empty str, got {name!r}")
        if name in self._names:
            raise ValueError(f"arrays: tensor {name!r} written twice")
        if dtype.hasobject or dtype.kind not in "biuf":
            raise TypeError(
                f"arrays[{name!r}]: dtype {dtype} cannot be stored (numeric arrays only)"
            )
        if self.suffix == ".safetensors" and dtype.str[1:] not in _NUMPY_ST:
            raise TypeError(f"arrays[{name!r}]: dtype {dtype} has no safetensors equivalent")

    def add(self, name: str, array: Any) -> None:
        """Write one tensor (array-like, converted with :func:`to_numpy`)."""
        a = np.asarray(to_numpy(array, f"arrays[{name!r}]"))
        self.add_rows(name, a.shape, a.dtype, [a])

    def add_rows(self, name: str, shape, dtype, chunks: Iterable[np.ndarray]) -> None:
        """Write a tensor of ``shape`` and ``dtype`` from consecutive blocks of C-ordered data."""
        try:
            dt = np.dtype(dtype)
            shape = tuple(int(d) for d in shape)
            self._check(name, shape, dt)
            expected = math.prod(shape) * dt.itemsize
            le = dt.newbyteorder("<") if dt.itemsize > 1 else dt
            written = 0
            if self._zip is not None:
                header = {
                    "descr": np.lib.format.dtype_to_descr(dt),
                    "fortran_order": False,
                    "shape": shape,
                }
                with self._zip.open(f"{name}.npy", "w", force_zip64=True) as m:
                    try:
                        np.lib.format.write_array_header_1_0(m, header)
                    except ValueError:
                        np.lib.format.write_array_header_2_0(m, header)
                    for c in chunks:
                        b = _as_bytes(np.asarray(c, dtype=dt))
                        written += len(b)
                        m.write(b)
                    if written != expected:
                        raise ValueError(
                            f"arrays[{name!r}]: blocks hold {written} bytes, shape {shape} needs "
                            f"{expected}"
                        )
            else:
                for c in chunks:
                    b = _as_bytes(np.asarray(c, dtype=le))
                    written += len(b)
                    self._data.write(b)
                if written != expected:
                    raise ValueError(
                        f"arrays[{name!r}]: blocks hold {written} bytes, shape {shape} needs {expected}"
                    )
                self._entries[name] = {
                    "dtype": _NUMPY_ST[dt.str[1:]],
                    "shape": list(shape),
                    "data_offsets": [self._offset, self._offset + written],
                }
                self._offset += written
            self._names.add(name)
        except BaseException as err:
            self._fail(err)
            raise

    # -- finishing
    def close(self) -> Path:
        """Finish the file and move it into place; returns the path."""
        if self._closed:
            return self.path
        try:
            if self._zip is not None:
                self._zip.close()
            else:
                header: dict[str, Any] = {}
                if self.metadata:
                    header["__metadata__"] = self.metadata
                header.update(self._entries)
                hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
                hb += b" " * (-len(hb) % 8)
                self._file.write(len(hb).to_bytes(8, "little"))
                self._file.write(hb)
                self._data.flush()
                self._data.seek(0)
                buf = memoryview(bytearray(2**20))  # one reusable MiB: no large temporaries
                while n := self._data.readinto(buf):
                    self._file.write(buf[:n])
                self._data.close()
                self._data = None
            self._closed = True
            self._stack.close()  # fsync, keep the mode of a file already there, rename
            _fsync_dir(self.path.parent)
        except BaseException as err:
            self._fail(err)
            raise
        return self.path

    def _fail(self, err: BaseException) -> None:
        """Discard the temporary file; an ``OSError`` (a full disk) comes back naming ``path``."""
        self._close_handles()
        self._stack.__exit__(type(err), err, err.__traceback__)

    def _close_handles(self) -> None:
        self._closed = True
        for handle in (self._zip, self._data):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self._zip = self._data = None

    def abort(self) -> None:
        """Discard everything written; the file at ``path`` (if any) is left as it was."""
        self._close_handles()
        with contextlib.suppress(_Aborted):
            self._stack.__exit__(_Aborted, _Aborted(), None)  # removes the temporary file

    def __enter__(self) -> WeightsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save_weights(
    path: str | os.PathLike,
    arrays: Mapping[str, Any],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``{name: array}`` to ``.npz`` (uncompressed) or ``.safetensors``, by suffix, atomically.

    The file is written beside ``path`` under a temporary name and renamed over it only when
    complete (:class:`WeightsWriter`): a failing save leaves any existing file untouched.

    Parameters
    ----------
    path : str or path-like
        Output file; its folder is created.
    arrays : mapping
        Name to array-like (converted with :func:`to_numpy`); numeric dtypes only.
    metadata : mapping of str to str, optional
        Stored in the safetensors header (``.npz`` has no place for it and ignores it).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For another suffix.
    TypeError
        If ``arrays`` is not a mapping, or an array has a dtype the format cannot store.
    """
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a mapping name -> array, got {type(arrays).__name__}")
    with WeightsWriter(path, metadata) as w:
        for name, value in arrays.items():
            w.add(name, value)
    return w.path
