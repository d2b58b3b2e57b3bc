"""Issue 11, "Files and the command line": hostile and broken weight files, atomic saves, and
what ``compress`` writes.  Each test failed before its fix (named in the test's docstring)."""

from __future__ import annotations

import argparse
import json
import os
import threading
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from rmtheory.analysis import (
    RankZeroWarning,
    analyze,
    compress,
    decompress,
    load_compressed,
    manifest_path_for,
)
from rmtheory.analyze_cli import add_commands
from rmtheory.weights_io import MAX_DEFLATE_RATIO, load_weights, open_weights, save_weights


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="rmtheory")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc = args.func(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _noise(n, m, seed=0):
    return np.random.default_rng(seed).normal(size=(n, m))


# ------------------------------------------------------------------------------ atomic save
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_failing_save_keeps_the_existing_file(tmp_path, suffix):
    """Before: the zip was opened for writing in place, so a failure midway destroyed the good
    file already there.  Now: a temporary file, renamed over the target only when complete."""
    path = tmp_path / f"w{suffix}"
    good = {"a": np.arange(6.0).reshape(2, 3)}
    save_weights(path, good)
    before = path.read_bytes()
    bad = {"a": np.ones((2, 2)), "b": np.array([object(), 1], dtype=object)}
    with pytest.raises((TypeError, ValueError)) as info:  # the old code raised either
        save_weights(path, bad)
    assert path.read_bytes() == before
    assert "arrays['b']" in str(info.value)
    np.testing.assert_array_equal(load_weights(path)["a"], good["a"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_interrupted_save_keeps_the_existing_file(tmp_path):
    """A KeyboardInterrupt while the arrays are being converted is cleaned up the same way."""
    path = tmp_path / "w.npz"
    save_weights(path, {"a": np.eye(3)})

    class Boom:
        shape = (2,)

        def __array__(self, *a, **k):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_weights(path, {"x": np.ones(4), "y": Boom()})
    np.testing.assert_array_equal(load_weights(path)["a"], np.eye(3))
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


# ------------------------------------------------------------------------------ FIFO
def _finishes(fn, timeout=20.0):
    """Run ``fn`` in a daemon thread; return ``(finished, exception)``."""
    box = {}

    def target():
        try:
            fn()
        except BaseException as err:  # noqa: BLE001 - reported to the test
            box["err"] = err

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box.get("err")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
@pytest.mark.parametrize("where", ["folder", "file"])
def test_fifo_named_like_weights_is_refused_without_hanging(tmp_path, where):
    """Before: ``open()`` on a FIFO named w.npz waited for a writer forever."""
    save_weights(tmp_path / "a.npz", {"a": np.eye(30)})
    fifo = tmp_path / "w.npz"
    os.mkfifo(fifo)
    target = tmp_path if where == "folder" else fifo
    try:
        for fn in (load_weights, analyze):
            done, err = _finishes(lambda fn=fn: fn(target))
            assert done, f"{fn.__name__} hangs on a FIFO"
            assert isinstance(err, ValueError), err
            assert "w.npz" in str(err) and "FIFO" in str(err)
    finally:
        # release a reader that might still block in open()
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass


# ------------------------------------------------------------------------------ zip bomb
def _bomb(path, shape=(2000, 5000)):
    """A deflated .npz whose member is float64 zeros of ``shape`` (80 MB -> ~80 kB)."""
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("w.npy", "w", force_zip64=True) as m:
            np.lib.format.write_array_header_1_0(m, header)
            zeros = bytes(8 * shape[1] * 100)
            for _ in range(shape[0] // 100):
                m.write(zeros)
    return 8 * shape[0] * shape[1]


def test_deflated_npz_bomb_is_refused_before_allocating(tmp_path):
    """Before: 80 kB on disk allocated 80 MB (3 MB -> 3 GB in the report).  Now the declared size
    is checked against the compressed size and a limit before anything is allocated."""
    path = tmp_path / "bomb.npz"
    declared = _bomb(path)
    assert path.stat().st_size < declared / MAX_DEFLATE_RATIO
    for fn in (load_weights, open_weights, analyze):
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match=r"bomb\.npz.*zip bomb"):
                fn(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < declared / 20, peak
    # An explicit limit is the user's decision: below the size refused, above it read.
    with pytest.raises(ValueError, match="limit"):
        load_weights(path, max_tensor_bytes=declared - 1)
    assert load_weights(path, max_tensor_bytes=declared)["w"].shape == (2000, 5000)


def test_npy_header_that_lies_about_its_size(tmp_path):
    """A member whose .npy header declares more data than the zip entry holds (before: numpy
    allocated the declared size, then failed reading)."""
    path = tmp_path / "lie.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}  # 80 GB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("w.npy", "w") as m:
            np.lib.format.write_array_header_1_0(m, header)
            m.write(bytes(800))
    with pytest.raises(ValueError, match=r"lie\.npz.*declares 80,000,000,000 data bytes"):
        load_weights(path)
    npy = tmp_path / "lie.npy"
    np.save(npy, np.ones(10))
    npy.write_bytes(npy.read_bytes()[:-16])  # truncated
    with pytest.raises(ValueError, match=r"lie\.npy.*truncated"):
        load_weights(npy)


# ------------------------------------------------------------------------------ bad files
def _bad_safetensors(tmp_path):
    good = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}).encode()
    return {
        "garbage": b"this is not a safetensors file at all",
        "short": b"\x01\x02",
        "huge-header": (10**12).to_bytes(8, "little") + b"{}",
        "not-json": (5).to_bytes(8, "little") + b"{nope",
        "offsets": len(good).to_bytes(8, "little") + good + bytes(10),  # 64 bytes declared, 10 held
        "shape": (lambda h: len(h).to_bytes(8, "little") + h + bytes(64))(
            json.dumps({"w": {"dtype": "F32", "shape": [5, 5], "data_offsets": [0, 64]}}).encode()
        ),
    }


def test_cli_reports_a_bad_safetensors_file_without_traceback(tmp_path, capsys):
    """Before: ``rmtheory analyze bad.safetensors`` let the SafetensorError escape as a
    traceback.  Now the header is parsed by rmtheory and every fault is a ValueError naming the
    file, which the command prints as one line."""
    for label, blob in _bad_safetensors(tmp_path).items():
        path = tmp_path / f"{label}.safetensors"
        path.write_bytes(blob)
        rc, out, err = _run(["analyze", str(path)], capsys)
        assert rc == 2, label
        assert err.startswith("rmtheory analyze: error:") and f"{label}.safetensors" in err, err
        assert "Traceback" not in err and err.count("\n") == 1


def test_text_file_renamed_npz_is_named_and_described(tmp_path, capsys):
    """Before: "pickled data ... allow_pickle=False", which is not the problem."""
    path = tmp_path / "weights.npz"
    path.write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(ValueError) as info:
        load_weights(path)
    msg = str(info.value)
    assert "weights.npz" in msg and "not a NumPy .npz file" in msg and "text file" in msg
    assert "pickle" not in msg
    rc, _, err = _run(["analyze", str(path)], capsys)
    assert rc == 2 and "text file" in err
    # and the neighbours: an .npy saved as .npz, a pickle renamed .npy, an empty file
    np.save(tmp_path / "x.npy", np.ones(3))
    os.replace(tmp_path / "x.npy", tmp_path / "x.npz")
    with pytest.raises(ValueError, match=r"x\.npz.*single NumPy \.npy array"):
        load_weights(tmp_path / "x.npz")
    (tmp_path / "p.npy").write_bytes(b"\x80\x04\x95\x00")
    with pytest.raises(ValueError, match=r"p\.npy.*pickled Python data"):
        load_weights(tmp_path / "p.npy")
    (tmp_path / "e.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=r"e\.safetensors"):
        load_weights(tmp_path / "e.safetensors")


def test_object_arrays_are_refused_by_name(tmp_path):
    np.save(tmp_path / "o.npy", np.array([1, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"o\.npy.*Python objects"):
        load_weights(tmp_path / "o.npy")


def test_errors_in_a_folder_of_shards_name_the_shard(tmp_path):
    """Before: e.g. ``BadZipFile: File is not a zip file``, with no file named."""
    save_weights(tmp_path / "model-00001.npz", {"a": np.eye(30)})
    (tmp_path / "model-00002.npz").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(ValueError, match=r"shard model-00002\.npz"):
        load_weights(tmp_path)
    (tmp_path / "model-00002.npz").unlink()
    # a shard truncated after its header was read: the error at read time names it too
    st = tmp_path / "model-00003.safetensors"
    save_weights(st, {"b": _noise(40, 50)})
    lazy = open_weights(tmp_path)
    st.write_bytes(st.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"model-00003\.safetensors.*'b'"):
        lazy["b"]
    for blob in _bad_safetensors(tmp_path).values():
        st.write_bytes(blob)
        with pytest.raises(ValueError, match=r"shard model-00003\.safetensors"):
            analyze(tmp_path)


# ------------------------------------------------------------------------------ compress output
def test_compress_warns_when_a_layer_is_cut_to_rank_zero(tmp_path, capsys):
    """Before: a pure-noise layer silently became an all-zero rank-0 layer."""
    w = {"noise.weight": _noise(100, 150, seed=2), "noise.bias": np.zeros(100)}
    with pytest.warns(RankZeroWarning, match=r"'noise\.weight'.*rank 0.*min_rank"):
        c = compress(w, min_rank=0)  # asked for: the default keeps rank 1 (issue 24)
    entry = c.manifest["layers"][0]
    assert entry["rank"] == 0 and "rank 0" in entry["warning"] and c.warnings == [entry["warning"]]
    assert not decompress(c.arrays, c.manifest)["noise.weight"].any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = compress(w, min_rank=2)  # the floor: no warning
    assert kept.manifest["layers"][0]["rank"] == 2 and "warning" not in kept.manifest["layers"][0]
    save_weights(tmp_path / "m.npz", w)
    rc, out, err = _run(
        ["compress", str(tmp_path / "m.npz"), "--out", str(tmp_path / "c.npz"), "--min-rank", "0"],
        capsys,
    )
    assert rc == 0 and "warning" in err and "noise.weight" in err and "rank 0" in err


def test_npz_and_safetensors_outputs_of_one_stem_have_their_own_manifest(tmp_path):
    """Before: both wrote c.manifest.json, the second overwriting the first, so loading the
    .npz back used the .safetensors manifest."""
    rng = np.random.default_rng(3)
    W = _noise(200, 300, seed=3) + 0.5 * np.outer(rng.normal(size=200), rng.normal(size=300))
    a = compress({"w": W}, threshold="mp", out=tmp_path / "c.npz")
    b = compress({"w": W}, threshold="gavish-donoho", min_rank=5, out=tmp_path / "c.safetensors")
    assert a.manifest_path != b.manifest_path
    assert a.manifest_path == manifest_path_for(tmp_path / "c.npz")
    ka, kb = a.manifest["layers"][0]["rank"], b.manifest["layers"][0]["rank"]
    assert ka != kb
    assert np.linalg.matrix_rank(load_compressed(tmp_path / "c.npz")["w"]) == ka
    assert np.linalg.matrix_rank(load_compressed(tmp_path / "c.safetensors")["w"]) == kb
    # a manifest for another file is refused, by name
    with pytest.raises(ValueError, match=r"describes 'c\.safetensors', not 'c\.npz'"):
        load_compressed(tmp_path / "c.npz", b.manifest_path)
    # the name older versions wrote is still found when it is the only one
    legacy = tmp_path / "old.npz"
    c = compress({"w": W})
    save_weights(legacy, c.arrays)
    manifest = dict(c.manifest)
    (tmp_path / "old.manifest.json").write_text(json.dumps(manifest))
    np.testing.assert_allclose(load_compressed(legacy)["w"], decompress(c.arrays, c.manifest)["w"])


# ------------------------------------------------------------------------------ compatibility
def test_safetensors_files_interoperate_with_the_reference_library(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    w = {
        "a": _noise(7, 5).astype(np.float32),
        "b": np.arange(6, dtype=np.int64).reshape(2, 3),
        "c": np.ones(3, np.float16),
        "d": np.array([True, False]),
    }
    save_weights(tmp_path / "ours.safetensors", w, metadata={"k": "v"})
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    for k in w:
        np.testing.assert_array_equal(theirs[k], w[k])
    st.save_file(w, str(tmp_path / "theirs.safetensors"))
    ours = load_weights(tmp_path / "theirs.safetensors")
    for k in w:
        np.testing.assert_array_equal(ours[k], w[k])
        assert ours[k].dtype == w[k].dtype
