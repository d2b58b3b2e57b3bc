"""Pull single members out of ``.deb`` (ar + tar.xz) and ``.tgz`` archives, in pure Python.

Only named members are streamed out, never ``extractall``: an archive from the network cannot
write outside the scratch folder, and nothing else is unpacked.
"""

from __future__ import annotations

import io
import lzma
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from rmtheory.atomic import atomic_open

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


def iter_ar_members(fh: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """Yield ``(name, offset, size)`` for each member of a Unix ``ar`` archive (a ``.deb``).

    Format: the 8-byte magic ``!<arch>\\n``, then per member a 60-byte ASCII header (name 16,
    mtime 12, uid 6, gid 6, mode 8, size 10, terminator ```\\n``) followed by the data, padded to
    an even length.
    """
    fh.seek(0)
    if fh.read(8) != _AR_MAGIC:
        raise ValueError("not an ar archive (a .deb starts with '!<arch>\\n')")
    while True:
        header = fh.read(_AR_HEADER)
        if not header:
            return
        if len(header) != _AR_HEADER or header[58:60] != b"`\n":
            raise ValueError("corrupt ar member header")
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        offset = fh.tell()
        yield name, offset, size
        fh.seek(offset + size + (size & 1))


def _decompressor(member: str) -> Callable[[BinaryIO], BinaryIO] | None:
    if member.endswith(".xz"):
        return lambda f: lzma.open(f, "rb")  # type: ignore[return-value]
    if member.endswith(".gz"):
        import gzip

        return lambda f: gzip.open(f, "rb")  # type: ignore[return-value]
    if member.endswith(".tar"):
        return lambda f: f
    return None


def extract_from_deb(deb: Path, wanted: dict[str, Path]) -> dict[str, Path]:
    """Copy members of a ``.deb``'s ``data.tar.*`` whose basename is a key of ``wanted``.

    Parameters
    ----------
    deb : Path
        The Debian package.
    wanted : dict
        ``basename -> destination path``.

    Returns
    -------
    dict
        ``basename -> destination`` for the members found (possibly fewer than wanted).
    """
    with open(deb, "rb") as fh:
        for name, offset, size in iter_ar_members(fh):
            if not name.startswith("data.tar"):
                continue
            opener = _decompressor(name)
            if opener is None:
                raise ValueError(
                    f"{deb.name}: {name} uses a compression Python cannot read without extra "
                    "packages; install the package with apt-get instead"
                )
            fh.seek(offset)
            raw = io.BytesIO(fh.read(size))
            with opener(raw) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
                return _copy_members(tar, wanted)
    raise ValueError(f"{deb.name} has no data.tar member")


def extract_from_tar(archive: Path, wanted: dict[str, Path]) -> dict[str, Path]:
    """Like :func:`extract_from_deb` for a (compressed) tar archive, matched on member path
    *or* basename."""
    with tarfile.open(archive, mode="r:*") as tar:
        return _copy_members(tar, wanted)


def _copy_members(tar: tarfile.TarFile, wanted: dict[str, Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for member in tar:
        if not member.isfile():
            continue
        key = member.name if member.name in wanted else member.name.rsplit("/", 1)[-1]
        if key not in wanted or key in found:
            continue
        src = tar.extractfile(member)
        if src is None:  # pragma: no cover - isfile() members always have data
            continue
        with src, atomic_open(wanted[key], "wb", what="extracted file") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        found[key] = wanted[key]
    return found
