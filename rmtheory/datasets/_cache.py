"""The on-disk cache: where it lives, verified atomic writes, and a lock between processes.

Layout: ``<root>/<dataset>/<canonical file>`` plus ``manifest.json`` (provenance) and ``.lock``.
``<root>`` is ``data_dir`` if given, else ``$RMTHEORY_DATA_DIR``, else
``$XDG_CACHE_HOME/rmtheory/datasets``, else ``~/.cache/rmtheory/datasets``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rmtheory.atomic import atomic_open, atomic_write
from rmtheory.datasets._errors import ChecksumError
from rmtheory.datasets._specs import DatasetSpec, FileSpec

try:  # POSIX only; elsewhere concurrent fetches are merely wasteful, never corrupt (os.replace)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


def default_data_dir() -> Path:
    """The cache root used when no ``data_dir`` is passed.

    ``$RMTHEORY_DATA_DIR``, else ``$XDG_CACHE_HOME/rmtheory/datasets``, else
    ``~/.cache/rmtheory/datasets``.

    Examples
    --------
    >>> import os
    >>> from rmtheory.datasets import default_data_dir
    >>> os.environ["RMTHEORY_DATA_DIR"] = "/data/rmt"  # doctest: +SKIP
    >>> default_data_dir()  # doctest: +SKIP
    PosixPath('/data/rmt')
    """
    env = os.environ.get("RMTHEORY_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rmtheory" / "datasets"


def dataset_dir(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/<spec.name>``, the folder holding the verified files of one dataset."""
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / spec.name


@contextlib.contextmanager
def file_lock(folder: Path) -> Iterator[bool]:
    """Hold an exclusive ``fcntl`` lock on ``folder/.lock``; yields whether a lock was taken.

    A read-only cache (files placed by hand in a shared folder) cannot be locked; it is still
    usable, so that case yields ``False`` instead of failing.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(folder / ".lock", "a+b")  # noqa: SIM115 - closed in finally
    except OSError:
        yield False
        return
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield fcntl is not None
    finally:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file, read in chunks."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def verify_bytes(data: bytes, spec: FileSpec) -> bytes:
    """Return ``data`` if its size and SHA-256 match ``spec``, else raise ChecksumError."""
    if len(data) != spec.size:
        raise ChecksumError(spec.name, str(spec.size), str(len(data)), what="size (bytes)")
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise ChecksumError(spec.name, spec.sha256, actual)
    return data


def read_verified(path: Path, spec: FileSpec) -> bytes:
    """Read ``path`` and verify it against ``spec`` before anyone parses the bytes."""
    return verify_bytes(Path(path).read_bytes(), spec)


def verify_file(path: Path, spec: FileSpec) -> None:
    """Raise ChecksumError unless the file at ``path`` matches ``spec`` (streamed, any size)."""
    actual, size = sha256_file(path)
    if size != spec.size:
        raise ChecksumError(spec.name, str(spec.size), str(size), what="size (bytes)")
    if actual != spec.sha256:
        raise ChecksumError(spec.name, spec.sha256, actual)


def _open_maybe_gzip(path: Path, want_gzip: bool) -> BinaryIO:
    """Open ``path``; transparently gunzip it unless the canonical file is itself a ``.gz``."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC and not want_gzip:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - caller closes


def install_file(candidate: Path, spec: FileSpec, folder: Path) -> Path:
    """Copy ``candidate`` (raw or gzip) into ``folder/spec.name`` if, and only if, it verifies.

    The decompressed bytes are hashed while they stream into a temporary file in ``folder``;
    the temporary file replaces the target with :func:`os.replace` (atomic on POSIX) only when
    size and SHA-256 match. A reader therefore never sees a partial or unverified file.

    Raises
    ------
    ChecksumError
        Naming the file, the expected and the actual hash; nothing is written.
    """
    target = folder / spec.name
    h = hashlib.sha256()
    size = 0
    # rmtheory.atomic: the temporary file is removed on any error (a bad checksum included) and
    # the installed file gets the user's umask, so a shared cache stays readable where it should.
    with (
        atomic_open(target, "wb", what="dataset file") as out,
        _open_maybe_gzip(candidate, spec.name.endswith(".gz")) as src,
    ):
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
            if size > spec.size:  # stop early: no genuine file is this long
                break
            out.write(chunk)
        if size != spec.size:
            shown = f"more than {spec.size}" if size > spec.size else str(size)
            raise ChecksumError(spec.name, str(spec.size), shown, what="size (bytes)")
        actual = h.hexdigest()
        if actual != spec.sha256:
            raise ChecksumError(spec.name, spec.sha256, actual)
    return target


def write_manifest(folder: Path, spec: DatasetSpec, source: str, detail: str) -> None:
    """Record where the verified files came from (``manifest.json``, written atomically)."""
    doc = {
        "dataset": spec.name,
        "source": source,
        "detail": detail,
        "fetched_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {f.name: {"size": f.size, "sha256": f.sha256} for f in spec.files},
    }
    atomic_write(folder / "manifest.json", json.dumps(doc, indent=2), what="dataset manifest")
