"""The one way this project writes a file: never a torn file under a final name.

Every write goes to a temporary file in the target's folder, is flushed and ``fsync``-ed, and only
then renamed over the target (``os.replace``, atomic on POSIX).  On any error — a full disk, a kill
signal turned into an exception, a bug in the caller — the temporary file is removed and the target
is left as it was.  A process killed outright (``kill -9``) cannot clean up; its temporary files
carry its pid in their name, and the next write to the same folder removes those whose process is
gone.  The file gets the permissions the user's umask gives a new file (``mkstemp`` alone would give
0600), and an overwritten file keeps the permission bits it had.

Errors name the path: an ``OSError`` from the write is re-raised as the same ``OSError`` subclass
with a message naming the path and saying what was being written.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write", "remove_stale_temporaries", "save_figure"]

_UMASK_LOCK = threading.Lock()
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")
# Versions before the pid in the name wrote ``.<target>.<8 mkstemp characters>.tmp``: no pid to
# ask, so such a file is taken as stale only once no write can still be going on (a day old).
_LEGACY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")
LEGACY_AGE_S = 86_400.0


def _umask() -> int:
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _stale(entry: os.DirEntry, name: str | None) -> bool:
    m = _TEMP.match(entry.name)
    if m is not None:
        return (name is None or m["name"] == name) and not _alive(int(m["pid"]))
    m = _LEGACY.match(entry.name)
    if m is None or (name is not None and m["name"] != name):
        return False
    try:
        age = time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    return age >= LEGACY_AGE_S


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder``; return what was removed.

    Only files named as :func:`atomic_open` names them (``.<target>.<pid>.<random>.tmp``) whose pid
    is no longer running are touched, and those of older versions (``.<target>.<random>.tmp``,
    no pid) once they are :data:`LEGACY_AGE_S` seconds old; ``name`` restricts it to one
    target's temporaries.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _stale(entry, name):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _reraise(err: OSError, path: Path, what: str) -> None:
    if getattr(err, "filename", None) == str(path):
        raise err
    message = f"could not write {what} {path}: {err.strerror or err}"
    # no filename argument: OSError would append it, naming the path a second time
    raise type(err)(err.errno, message) from err


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "wb", *, what: str = "file", **kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    ``mode`` is ``"wb"`` or ``"w"`` (text; ``encoding`` defaults to UTF-8).  ``what`` names the
    file in error messages ("checkpoint", "manifest").

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_open(d / "a.txt", "w") as fh:
    ...     _ = fh.write("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _reraise(err, folder, "folder for")
    remove_stale_temporaries(folder, path.name)
    try:
        old_mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        old_mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as err:
        _reraise(err, path, what)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, old_mode)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            _reraise(err, path, what)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes, *, what: str = "file") -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; return the path.

    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "x.json", '{"a": 1}')
    >>> p.read_text()
    '{"a": 1}'
    """
    if not isinstance(data, str | bytes | bytearray | memoryview):
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}")
    with atomic_open(path, "w" if isinstance(data, str) else "wb", what=what) as fh:
        fh.write(data)
    return Path(path)


def save_figure(fig: Any, path: str | os.PathLike, **savefig_kwargs: Any) -> Path:
    """``fig.savefig(path, **savefig_kwargs)`` through :func:`atomic_open`; return the path.

    A full disk or an interrupted plot never leaves a torn image under ``path``.  The format is
    ``savefig_kwargs["format"]``, else the suffix of ``path`` (matplotlib cannot infer it from
    the temporary file's name).  ``path`` may also be a writable binary buffer, written directly.

    >>> import tempfile, pathlib, matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure()
    >>> p = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "f.png")
    >>> p.read_bytes()[:4]
    b'\\x89PNG'
    >>> plt.close(fig)
    """
    if hasattr(path, "write"):  # a buffer (reproduce renders a figure in memory, then writes it)
        fig.savefig(path, **savefig_kwargs)
        return path
    path = Path(path)
    fmt = savefig_kwargs.pop("format", None) or path.suffix.lstrip(".").lower() or None
    with atomic_open(path, "wb", what="figure") as fh:
        fig.savefig(fh, format=fmt, **savefig_kwargs)
    return path
