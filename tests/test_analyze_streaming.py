"""Streaming analyze / compress: lazy readers, bounded memory, parallel runs, the result cache.

Oracles: the in-memory analysis of the same arrays (the streamed numbers must be *identical*:
same blocks, same sums), scipy's singular values and BEMA on the whole matrix (independent
routes), a hand-made bfloat16 file checked against the float32 values it was cut from, and
Eckart-Young truncations by SVD for the compressed factors.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest
import scipy.linalg

import rmtheory.analysis.layer as an_layer
import rmtheory.analysis.streaming as an_streaming
from rmtheory.analysis import analyze, compress, load_compressed
from rmtheory.analyze_cli import add_commands
from rmtheory.bema import BEMA
from rmtheory.lowrank import truncate
from rmtheory.weights_io import WeightsWriter, load_weights, open_weights, save_weights


def spiked(n, m, thetas, v=1.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    r = len(thetas)
    U, _ = np.linalg.qr(rng.normal(size=(n, r)))
    V, _ = np.linalg.qr(rng.normal(size=(m, r)))
    return (math.sqrt(v) * rng.normal(size=(n, m)) + (U * np.asarray(thetas)) @ V.T).astype(dtype)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that small test matrices take the multi-block paths."""
    monkeypatch.setattr(an_streaming, "BLOCK_BYTES", 16 * 1024)


def _model():
    return {
        "tall.weight": spiked(300, 120, [60.0, 40.0], seed=1, dtype=np.float32),  # n >= m
        "wide.weight": spiked(90, 260, [50.0], seed=2, dtype=np.float32),  # n < m: block pairs
        "square.weight": spiked(150, 150, [45.0, 30.0, 25.0], seed=3),  # float64
        "conv.weight": np.random.default_rng(4).normal(size=(40, 12, 3, 3)).astype(np.float32),
        "bias": np.zeros(90, np.float32),
        "steps": np.arange(5, dtype=np.int64),
    }


def _records(table):
    return {r.name: r.to_record() for r in table}


def _assert_identical(streamed, in_memory):
    assert _records(streamed) == _records(in_memory)
    by_name = {r.name: r for r in in_memory}
    for a in streamed:
        if by_name[a.name].eigenvalues is not None:
            np.testing.assert_array_equal(a.eigenvalues, by_name[a.name].eigenvalues)


# ------------------------------------------------------------------------------ readers
@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_streamed_file_gives_identical_numbers(tmp_path, small_blocks, suffix):
    w = _model()
    path = save_weights(tmp_path / f"m{suffix}", w)
    streamed, in_memory = analyze(path), analyze(w)
    _assert_identical(streamed, in_memory)
    assert [r.name for r in streamed] == list(w)  # file order = writing order
    # ... and right, by independent routes: scipy's singular values, BEMA on the whole matrix.
    for r in in_memory.analysed:
        M = w[r.name].reshape(r.matrix_shape).astype(np.float64)
        s = scipy.linalg.svdvals(M)
        np.testing.assert_allclose(np.sort(r.eigenvalues), np.sort(s**2 / max(M.shape)), rtol=1e-9)
        b = BEMA().fit(M)
        assert r.sigma2 == pytest.approx(b.sigma2_, rel=1e-9) and r.mp_rank == b.n_spikes_
    ranks = {r.name: r.mp_rank for r in in_memory.analysed}
    # the planted spikes are found; one more is a false spike of the bulk (probability ~beta)
    planted = {"tall.weight": 2, "wide.weight": 1, "square.weight": 3, "conv.weight": 0}
    assert all(ranks[k] - planted[k] in (0, 1) for k in planted), ranks


def test_blocked_gram_matches_one_product():
    # the block size changes only the order of the float64 sums
    W = spiked(200, 90, [30.0], seed=5)
    one = analyze({"w": W})[0]
    an_block = an_streaming.BLOCK_BYTES
    try:
        an_streaming.BLOCK_BYTES = 4096
        many = analyze({"w": W})[0]
    finally:
        an_streaming.BLOCK_BYTES = an_block
    np.testing.assert_allclose(many.eigenvalues, one.eigenvalues, rtol=1e-11, atol=1e-13)


def _write_bf16_safetensors(path, tensors):
    """safetensors by hand: 8-byte header length, JSON header, raw bf16 bits (top half of f32)."""
    header, blobs, offset = {}, [], 0
    for name, x in tensors.items():
        bits = (np.ascontiguousarray(x, dtype="<f4").view("<u4") >> 16).astype("<u2")
        blob = bits.tobytes()
        header[name] = {
            "dtype": "BF16",
            "shape": list(x.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    hb = json.dumps(header).encode()
    path.write_bytes(len(hb).to_bytes(8, "little") + hb + b"".join(blobs))


def test_bf16_is_widened_exactly(tmp_path, small_blocks):
    rng = np.random.default_rng(0)
    # float32 values with the low 16 bits cleared are exactly representable in bfloat16
    W = spiked(120, 200, [40.0], seed=6, dtype=np.float32)
    W = (W.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
    b = (rng.normal(size=7).astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)).view(
        np.float32
    )
    _write_bf16_safetensors(tmp_path / "bf.safetensors", {"fc.weight": W, "fc.bias": b})
    lazy = open_weights(tmp_path / "bf.safetensors")
    assert lazy.ref("fc.weight").stored == "BF16" and lazy.ref("fc.weight").dtype == np.float32
    got = load_weights(tmp_path / "bf.safetensors")
    np.testing.assert_array_equal(got["fc.weight"], W)
    np.testing.assert_array_equal(got["fc.bias"], b)
    np.testing.assert_array_equal(lazy.ref("fc.weight").rows(7, 11), W[7:11])
    _assert_identical(analyze(tmp_path / "bf.safetensors"), analyze({"fc.weight": W, "fc.bias": b}))


def test_float16_and_compressed_npz_members(tmp_path, small_blocks):
    w = {"h.weight": spiked(100, 140, [35.0], seed=7, dtype=np.float16), "x": np.ones(3)}
    np.savez_compressed(tmp_path / "c.npz", **w)
    lazy = open_weights(tmp_path / "c.npz")
    assert lazy.ref("h.weight").dtype == np.float16
    np.testing.assert_array_equal(lazy.ref("h.weight").rows(50, 60), w["h.weight"][50:60])
    np.testing.assert_array_equal(lazy.ref("h.weight").rows(10, 20), w["h.weight"][10:20])  # rewind
    _assert_identical(analyze(tmp_path / "c.npz"), analyze(w))


def test_sharded_folder_with_index_and_mixed_formats(tmp_path, small_blocks):
    w = _model()
    names = list(w)
    ckpt = tmp_path / "ckpt"
    save_weights(ckpt / "model-00001-of-00002.safetensors", {k: w[k] for k in names[:3]})
    save_weights(ckpt / "model-00002-of-00002.safetensors", {k: w[k] for k in names[3:]})
    index = {
        "metadata": {},
        "weight_map": {
            k: f"model-0000{1 + (i >= 3)}-of-00002.safetensors" for i, k in enumerate(names)
        },
    }
    (ckpt / "model.safetensors.index.json").write_text(json.dumps(index))
    (ckpt / "notes.npz").write_bytes(b"not listed in the index: never read")
    _assert_identical(analyze(ckpt), analyze(w))
    assert [r.name for r in analyze(ckpt)] == names
    # an index that maps a tensor to the wrong shard is refused, naming both
    index["weight_map"]["bias"] = "model-00001-of-00002.safetensors"
    (ckpt / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"'bias'.*model-00001-of-00002.*model-00002-of-00002"):
        open_weights(ckpt)
    # no index: every weights file in name order, formats mixed
    mixed = tmp_path / "mixed"
    save_weights(mixed / "a.safetensors", {k: w[k] for k in names[:2]})
    np.savez_compressed(mixed / "b.npz", **{k: w[k] for k in names[2:4]})
    np.save(mixed / "c.npy", w["bias"])
    table = analyze(mixed)
    assert [r.name for r in table] == [*names[:4], "c"]
    _assert_identical(table, analyze({**{k: w[k] for k in names[:4]}, "c": w["bias"]}))


def test_module_like_objects_without_torch():
    w = _model()

    class StateDict:
        def state_dict(self):
            return dict(w)

    class Params:
        def named_parameters(self):
            return iter((k, v) for k, v in w.items() if v.dtype.kind == "f")

    _assert_identical(analyze(StateDict()), analyze(w))
    assert [r.name for r in analyze(Params())] == [k for k, v in w.items() if v.dtype.kind == "f"]
    with pytest.raises(TypeError, match="state_dict"):
        analyze(object())


# ------------------------------------------------------------------------------ memory
def _peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_holds_one_tensor_at_a_time(tmp_path, small_blocks):
    # 8 tall float32 tensors, 2.0 MB each in float64, 16 MB in all; 16 kB blocks stand in for
    # the 64 MB blocks of a real checkpoint.
    w = {f"layer{i}.weight": spiked(1000, 250, [50.0], seed=i, dtype=np.float32) for i in range(8)}
    path = save_weights(tmp_path / "m.safetensors", w)
    largest_f64 = max(a.size for a in w.values()) * 8
    total_f64 = sum(a.size for a in w.values()) * 8
    analyze({"x": w["layer0.weight"]})
    table, peak = _peak(lambda: analyze(path, keep_eigenvalues=False))
    assert len(table.analysed) == 8
    assert peak < largest_f64, (peak, largest_f64)  # Gram 250^2 + row blocks, not the tensor
    _, peak_load = _peak(lambda: load_weights(path))
    assert peak_load >= total_f64 / 2  # the whole float32 checkpoint: what streaming avoids
    # compress to a file is bounded the same way
    result, peak_c = _peak(lambda: compress(path, out=tmp_path / "c.safetensors"))
    assert result.arrays == {} and peak_c < 2 * largest_f64, (peak_c, largest_f64)


def test_wide_tensor_is_not_read_whole(tmp_path, monkeypatch):
    W = spiked(200, 1500, [60.0], seed=9, dtype=np.float32)  # 1.2 MB float32, 2.4 MB float64
    path = save_weights(tmp_path / "wide.safetensors", {"w": W})
    monkeypatch.setattr(an_streaming, "BLOCK_BYTES", 64 * 1024)
    row = analyze({"w": W})[0]
    got, peak = _peak(lambda: analyze(path)[0])
    assert got.to_record() == row.to_record()
    assert peak < W.nbytes, (peak, W.nbytes)


# ------------------------------------------------------------------------------ extremes
def test_extreme_scales_are_scaled_or_refused_by_name():
    W = spiked(120, 200, [40.0], seed=11)
    ref = analyze({"w": W})[0]
    big = analyze({"w": np.ldexp(W, 505)})[0]  # the unscaled Gram would overflow
    assert big.mp_rank == ref.mp_rank and big.gd_rank == ref.gd_rank
    assert big.sigma2 == pytest.approx(math.ldexp(ref.sigma2, 1010), rel=1e-12)
    assert big.max_singular_value == pytest.approx(
        math.ldexp(ref.max_singular_value, 505), rel=1e-12
    )
    for factor in (1e200, 1e-200):
        with pytest.raises(ValueError, match=r"weights\['fc'\].*outside float64's range"):
            analyze({"fc": W * factor})


def test_huge_spike_is_not_mistaken_for_a_rank_deficient_bulk():
    W = spiked(150, 300, [1e8 * math.sqrt(300)], seed=12)  # spike 1e8 times the bulk's scale
    row = analyze({"w": W})[0]
    assert row.reason == "" and row.mp_rank == 1
    assert row.sigma2 == pytest.approx(1.0, rel=0.05)
    svd_row = analyze({"w": W}, method="svd")[0]
    assert row.sigma2 == pytest.approx(svd_row.sigma2, rel=1e-6)


# ------------------------------------------------------------------------------ jobs, cache, progress
def test_parallel_jobs_give_identical_table(tmp_path):
    w = _model()
    path = save_weights(tmp_path / "m.npz", w)
    _assert_identical(analyze(path, jobs=2), analyze(path))
    with pytest.raises(ValueError, match="jobs"):
        analyze(w, jobs=0)


class Interrupted(Exception):
    pass


def test_cache_resumes_an_interrupted_run(tmp_path, monkeypatch):
    w = _model()
    path = save_weights(tmp_path / "m.safetensors", w)
    fresh = analyze(path)
    real = an_layer.analyze_ref
    calls, interrupt = [], True

    def flaky(ref, *a, **k):
        calls.append(ref.name)
        if len(calls) == 3 and interrupt:
            raise Interrupted  # the run is interrupted at the third weight
        return real(ref, *a, **k)

    monkeypatch.setattr(an_layer, "analyze_ref", flaky)
    with pytest.raises(Interrupted):
        analyze(path, cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    calls.clear()
    interrupt = False
    resumed = analyze(path, cache=tmp_path / "cache")
    assert calls == ["square.weight", "conv.weight"]  # only the weights not done before
    _assert_identical(resumed, fresh)
    calls.clear()
    again = analyze(path, cache=tmp_path / "cache", keep_eigenvalues=False)
    assert calls == [] and _records(again) == _records(fresh)
    # a changed file is a different key (its size, mtime): recomputed, not served stale
    w["wide.weight"] = w["wide.weight"] * 2
    save_weights(path, w)
    calls.clear()
    changed = analyze(path, cache=tmp_path / "cache")
    assert "wide.weight" in calls
    assert changed[1].sigma2 == pytest.approx(4 * fresh[1].sigma2, rel=1e-6)
    with pytest.raises(ValueError, match="cache"):
        analyze(w, cache=tmp_path / "cache")


def test_progress_bar_advances_per_tensor(tmp_path, capsys):
    analyze(_model(), progress=True)
    err = capsys.readouterr().err
    assert "analyze" in err and "6/6" in err and "tensor" in err


# ------------------------------------------------------------------------------ compress
@pytest.mark.filterwarnings("ignore::rmtheory.analysis.RankZeroWarning")  # the noise conv
def test_compress_to_file_matches_in_memory_and_svd_truncation(tmp_path, small_blocks):
    w = _model()
    path = save_weights(tmp_path / "m.safetensors", w)
    mem = compress(w)
    for suffix in (".npz", ".safetensors"):
        out = tmp_path / f"small{suffix}"
        res = compress(path, out=out)
        assert res.path == out and res.manifest_path.exists() and res.arrays == {}
        got = load_weights(out)
        assert sorted(got) == sorted(mem.arrays)
        for k in got:
            np.testing.assert_array_equal(got[k], mem.arrays[k])
        assert res.manifest["layers"] == mem.manifest["layers"]
        dense = load_compressed(out)
        for name in ("tall.weight", "wide.weight", "square.weight"):
            k = {e["name"]: e["rank"] for e in res.manifest["layers"]}[name]
            W = w[name].astype(np.float64)
            tol = 1e-4 if w[name].dtype == np.float32 else 1e-9
            np.testing.assert_allclose(dense[name], truncate(W, k), atol=tol * np.abs(W).max())
        np.testing.assert_array_equal(dense["steps"], w["steps"])


def test_compress_failure_leaves_no_partial_output(tmp_path):
    W = np.ones((50, 60))
    W[3, 3] = np.nan
    save_weights(tmp_path / "old.npz", {"keep": np.eye(3)})
    with pytest.raises(ValueError, match="NaN"):
        compress({"a": spiked(80, 90, [30.0]), "bad": W}, out=tmp_path / "old.npz")
    np.testing.assert_array_equal(load_weights(tmp_path / "old.npz")["keep"], np.eye(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz"]


def test_writer_streams_rows_and_checks_sizes(tmp_path):
    A = np.arange(24, dtype=np.float32).reshape(6, 4)
    for suffix in (".npz", ".safetensors"):
        with WeightsWriter(tmp_path / f"w{suffix}", metadata={"k": "v"}) as wr:
            wr.add_rows("A", A.shape, A.dtype, (A[i : i + 2] for i in range(0, 6, 2)))
            wr.add("s", np.float64(3.0))
        got = load_weights(tmp_path / f"w{suffix}")
        np.testing.assert_array_equal(got["A"], A)
        assert got["s"].shape == () and got["s"] == 3.0
        with pytest.raises(ValueError, match="needs"):
            with WeightsWriter(tmp_path / f"x{suffix}") as wr:
                wr.add_rows("A", (7, 4), A.dtype, [A])
        assert not (tmp_path / f"x{suffix}").exists()


# ------------------------------------------------------------------------------ CLI
def _run(argv, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="rmtheory")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc = args.func(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_jobs_cache_and_streamed_compress(tmp_path, capsys):
    w = _model()
    path = save_weights(tmp_path / "m.safetensors", w)
    rc, out, err = _run(
        ["analyze", str(path), "--jobs", "2", "--cache", str(tmp_path / "c"), "--no-progress",
         "--json", str(tmp_path / "t.json")],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    assert json.loads((tmp_path / "t.json").read_text()) == analyze(w).to_records()
    assert len(list((tmp_path / "c").glob("*.json"))) == 4
    rc, out, err = _run(
        ["compress", str(path), "--out", str(tmp_path / "s.npz"), "--progress"], capsys
    )
    assert rc == 0, err
    assert "compress" in err and "tensor" in err  # the bar
    assert (tmp_path / "s.npz.manifest.json").exists()


def test_relative_paths_survive_a_worker_pool_started_elsewhere(tmp_path, monkeypatch):
    """Before: with jobs=2 a relative path was opened in the folder where joblib's reused worker
    pool had started ("No such file or directory: 'model.safetensors'")."""
    w = _model()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    save_weights(elsewhere / "m.safetensors", w)
    first = analyze("m.safetensors", jobs=2)  # starts the pool here
    here = tmp_path / "here"
    here.mkdir()
    save_weights(here / "model.safetensors", w)
    monkeypatch.chdir(here)
    again = analyze("model.safetensors", jobs=2)  # the same pool, started in another folder
    _assert_identical(again, first)
