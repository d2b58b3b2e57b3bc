"""Tests for rmtheory.analyze, rmtheory.weights_io and the analyze / compress commands.

Values are checked against independent routes: the planted rank and noise level of a spiked
matrix, BGN's outlier prediction (rmtheory.spiked), scipy's svdvals, BEMA on the 2-D matrix,
the library's Gavish-Donoho rule, Eckart-Young's residual, and parameter counts by hand.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmtheory.analysis import (
    LayerTable,
    RankZeroWarning,
    analyze,
    compress,
    decompress,
    load_compressed,
    manifest_path_for,
)
from rmtheory.analyze_cli import add_commands
from rmtheory.bema import BEMA
from rmtheory.lowrank import truncate
from rmtheory.spiked import outlier_singular_value
from rmtheory.thresholds import gavish_donoho_rank
from rmtheory.weights_io import load_weights, save_weights, to_numpy


def spiked(n, m, thetas, v=1.0, seed=0):
    """Noise with entry variance ``v`` plus sum theta_i u_i v_i^T (orthonormal u, v)."""
    rng = np.random.default_rng(seed)
    r = len(thetas)
    U, _ = np.linalg.qr(rng.normal(size=(n, r)))
    V, _ = np.linalg.qr(rng.normal(size=(m, r)))
    return math.sqrt(v) * rng.normal(size=(n, m)) + (U * np.asarray(thetas)) @ V.T


@pytest.fixture(scope="module")
def planted():
    # 400 x 1000, noise variance 0.04, three spikes well above the detection threshold
    # (theta_bar = sqrt(q v) c^(1/4) ~ 5.0 in these units).
    return spiked(400, 1000, [40.0, 25.0, 15.0], v=0.04, seed=1)


# ------------------------------------------------------------------------------ analyze
def test_planted_spikes_give_rank_noise_level_and_bgn_outlier(planted):
    row = analyze({"fc.weight": planted})[0]
    assert row.kind == "dense" and row.reason == ""
    assert row.mp_rank == 3 and row.n_spikes == 3 and row.gd_rank == 3
    assert row.sigma2 == pytest.approx(0.04, rel=0.03)
    gamma = 400 / 1000
    # BEMA's edge = MP edge + a Tracy-Widom margin of order q^(-2/3): within 3 %.
    assert row.lambda_plus == pytest.approx(0.04 * (1 + math.sqrt(gamma)) ** 2, rel=0.03)
    assert row.mp_threshold == pytest.approx(math.sqrt(1000 * row.lambda_plus), rel=1e-12)
    # BGN: in units where the noise entries have variance sigma2 / q, theta -> theta / sqrt(q).
    q = 1000
    predicted = math.sqrt(q) * float(outlier_singular_value(40.0 / math.sqrt(q), gamma, 0.04))
    assert row.max_singular_value == pytest.approx(predicted, rel=0.02)
    assert row.params == 400_000 and row.params_mp == 3 * (400 + 1000)


def test_pure_noise_has_no_signal():
    rng = np.random.default_rng(7)
    row = analyze({"w": rng.normal(size=(300, 700))})[0]
    assert row.mp_rank <= 1 and row.gd_rank == 0
    assert row.sigma2 == pytest.approx(1.0, rel=0.03)
    assert row.gof < 0.05
    assert row.params_mp == row.mp_rank * 1000
    # beta = 0.1 is the Tracy-Widom level: pure noise shows a false spike ~10 % of the time
    # (binomial(60, 0.1): mean 6, sd 2.3; the bound is 4 sd above).
    table = analyze({f"w{i}": rng.normal(size=(100, 200)) for i in range(60)})
    false = sum(r.mp_rank > 0 for r in table)
    assert false <= 15


def test_spectrum_matches_scipy_and_bema_on_the_matrix():
    W = spiked(120, 250, [30.0], seed=3)
    row = analyze({"w": W})[0]
    s = scipy.linalg.svdvals(W)
    assert row.max_singular_value == pytest.approx(s[0], rel=1e-10)
    np.testing.assert_allclose(np.sort(row.eigenvalues), np.sort(s**2 / 250), rtol=1e-8)
    b = BEMA().fit(W)
    assert row.sigma2 == pytest.approx(b.sigma2_, rel=1e-10)
    assert row.mp_rank == b.n_spikes_
    assert row.gof == pytest.approx(b.gof_, rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_gd_rank_equals_library_rule(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(50, 200)), int(rng.integers(50, 300)))
    W = spiked(*shape, rng.uniform(5, 40, size=int(rng.integers(0, 6))), seed=seed)
    assert analyze({"w": W})[0].gd_rank == gavish_donoho_rank(W)


def test_conv_kernel_is_analysed_as_out_by_in_kh_kw():
    rng = np.random.default_rng(0)
    K = rng.normal(size=(48, 16, 3, 3)).astype(np.float32)
    row = analyze({"conv.weight": K})[0]
    assert row.kind == "conv" and row.shape == (48, 16, 3, 3) and row.matrix_shape == (48, 144)
    M = K.reshape(48, 144).astype(np.float64)
    assert row.max_singular_value == pytest.approx(scipy.linalg.svdvals(M)[0], rel=1e-6)
    assert row.sigma2 == pytest.approx(BEMA().fit(M).sigma2_, rel=1e-6)
    assert row.params == K.size
    assert row.params_mp == min(row.mp_rank * (48 + 144), 48 * 144)


def test_skipped_tensors_are_listed_with_reasons_in_order():
    rng = np.random.default_rng(0)
    weights = {
        "embeddings.word_embeddings.weight": rng.normal(size=(500, 64)),
        "fc.weight": rng.normal(size=(100, 200)),
        "fc.bias": np.zeros(100),
        "norm.weight": np.ones(100),
        "steps": np.int64(3),
        "position_ids": np.arange(64)[None, :],
        "conv1d.weight": rng.normal(size=(8, 4, 3)),
        "mask": np.ones((40, 40), dtype=bool),
        "cplx": np.ones((40, 40), dtype=complex),
        "empty": np.zeros((0, 5)),
    }
    table = analyze(weights, skip_embeddings=False)
    assert [r.name for r in table] == list(weights)
    reasons = {r.name: r.reason for r in table}
    assert reasons["embeddings.word_embeddings.weight"] == ""
    assert reasons["fc.weight"] == ""
    assert "1-D" in reasons["fc.bias"] and "1-D" in reasons["norm.weight"]
    assert "0-D" in reasons["steps"]
    assert "int" in reasons["position_ids"]
    assert "3-D" in reasons["conv1d.weight"]
    assert "bool" in reasons["mask"]
    assert "complex" in reasons["cplx"]
    assert reasons["empty"] == "empty"
    skipped = [r for r in table if r.reason]
    assert all(r.kind == "skipped" and r.mp_rank is None for r in skipped)
    assert all(r.params_mp == r.params == np.asarray(weights[r.name]).size for r in skipped)
    table = analyze(weights, skip_embeddings=True, exclude=["FC.*"])
    reasons = {r.name: r.reason for r in table}
    assert "embedding" in reasons["embeddings.word_embeddings.weight"]
    assert "FC.*" in reasons["fc.weight"] and "FC.*" in reasons["fc.bias"]


def test_too_small_for_bema_is_reported_not_dropped():
    rng = np.random.default_rng(0)
    table = analyze({"tiny": rng.normal(size=(30, 50)), "vec": rng.normal(size=(1, 300))})
    assert len(table) == 2
    for row in table:
        assert row.kind == "dense" and "20 bulk eigenvalues" in row.reason
        assert row.mp_rank is None and row.sigma2 is None
        assert row.gd_rank is not None and row.max_singular_value > 0
        assert row.params_mp == row.params
    assert not table.analysed


def test_zero_layer_is_reported():
    row = analyze({"zero": np.zeros((100, 100))})[0]
    assert "no MP fit" in row.reason and row.max_singular_value == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_weights_raise_naming_the_layer(bad):
    W = np.ones((50, 60))
    W[3, 4] = bad
    with pytest.raises(ValueError, match=r"encoder\.layer\.3\.weight.*NaN/Inf"):
        analyze({"ok": np.eye(40), "encoder.layer.3.weight": W})


def test_bad_arguments():
    with pytest.raises(TypeError, match="mapping"):
        analyze([np.eye(30)])
    with pytest.raises(ValueError, match="empty"):
        analyze({})
    with pytest.raises(ValueError, match="alpha"):
        analyze({"w": np.eye(30)}, alpha=0.7)
    with pytest.raises(ValueError, match="method"):
        analyze({"w": np.eye(30)}, method="qr")
    with pytest.raises(TypeError, match="exclude"):
        analyze({"w": np.eye(30)}, exclude="*.bias")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        # up to two large dimensions (0 allowed: empty tensors), then up to two kernel-sized ones
        st.tuples(
            st.lists(st.integers(0, 70), max_size=2), st.lists(st.integers(1, 4), max_size=2)
        ).map(lambda t: t[0] + t[1]),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 2**32 - 1),
)
def test_property_every_tensor_gets_a_row(shapes, seed):
    rng = np.random.default_rng(seed)
    weights = {f"t{i}": rng.normal(size=tuple(s)) for i, s in enumerate(shapes)}
    table = analyze(weights)
    assert [r.name for r in table] == list(weights)
    for r, (_, a) in zip(table, weights.items(), strict=True):
        assert r.params == a.size and r.shape == a.shape
        assert 0 <= r.params_mp <= r.params
        assert (r.mp_rank is None) == bool(r.reason)
        if a.ndim in (2, 4) and a.size:
            assert r.kind in ("dense", "conv") and r.gd_rank is not None
        else:
            assert r.kind == "skipped"


# ------------------------------------------------------------------------------ frameworks
def test_torch_tensors_via_dlpack_and_bf16():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    t = torch.randn(150, 260, generator=g, requires_grad=True)
    bf = torch.randn(150, 260, generator=g).to(torch.bfloat16)
    table = analyze({"a": t, "b": bf, "bias": torch.zeros(150)})
    ref = analyze({"a": t.detach().numpy().copy(), "b": bf.float().numpy()})
    for got, want in zip(table[:2], ref, strict=True):
        assert got.sigma2 == pytest.approx(want.sigma2, rel=1e-12)
        assert got.mp_rank == want.mp_rank and got.gd_rank == want.gd_rank
    assert table[2].kind == "skipped"
    # DLPack hands over CPU memory without a copy
    assert np.shares_memory(to_numpy(t), t.detach().numpy())


def test_to_numpy_reports_unconvertible_objects():
    class Weird:
        def __array__(self, *a, **k):
            raise RuntimeError("no")

    with pytest.raises(TypeError, match="weights\\['x'\\]"):
        analyze({"x": Weird()})


# ------------------------------------------------------------------------------ exports
def test_json_and_csv_exports_round_trip(tmp_path, planted):
    table = analyze({"fc.weight": planted, "fc.bias": np.zeros(400), "tiny": np.eye(10)})
    records = json.loads(table.to_json(tmp_path / "t.json"))
    assert records == json.loads((tmp_path / "t.json").read_text())
    assert [r["name"] for r in records] == ["fc.weight", "fc.bias", "tiny"]
    assert records[0]["shape"] == [400, 1000] and records[0]["mp_rank"] == 3
    assert records[0]["sigma2"] == table[0].sigma2
    assert records[1]["sigma2"] is None and "eigenvalues" not in records[0]
    assert "NaN" not in table.to_json()
    rows = list(csv.DictReader(io.StringIO(table.to_csv(tmp_path / "t.csv"))))
    assert rows == list(csv.DictReader(open(tmp_path / "t.csv")))
    assert rows[0]["shape"] == "400x1000" and int(rows[0]["mp_rank"]) == 3
    assert float(rows[0]["lambda_plus"]) == pytest.approx(table[0].lambda_plus, rel=1e-12)
    assert rows[1]["mp_rank"] == "" and rows[1]["reason"].startswith("1-D")
    text = str(table)
    assert "fc.weight" in text and "400x1000" in text and "MP rank" in text
    s = table.summary()
    assert s["params"] == 400_000 + 400 + 100 and s["params_mp"] == 3 * 1400 + 400 + 100


def test_plots_one_png_per_analysed_layer(tmp_path, planted):
    table = analyze({"enc/fc.weight": planted, "b": np.zeros(3), "w2": np.eye(60) * 2})
    paths = table.plot(tmp_path)
    assert len(paths) == len(table.analysed) == 2
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    assert paths[0].name == "enc_fc.weight.png"
    with pytest.raises(ValueError, match="keep_eigenvalues"):
        analyze({"w": planted}, keep_eigenvalues=False).plot(tmp_path)


# ------------------------------------------------------------------------------ readers
def _model(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "fc1.weight": spiked(200, 300, [40.0, 30.0], seed=seed).astype(np.float32),
        "fc1.bias": np.zeros(200, dtype=np.float32),
        "conv.weight": rng.normal(size=(48, 16, 3, 3)).astype(np.float32),
    }


def _same_table(a: LayerTable, b: LayerTable):
    # safetensors lists tensors in its own (sorted) order: compare by name
    assert {r.name: r.to_record() for r in a} == {r.name: r.to_record() for r in b}


def test_npz_reader(tmp_path):
    w = _model()
    np.savez(tmp_path / "m.npz", **w)
    loaded = load_weights(tmp_path / "m.npz")
    assert list(loaded) == list(w)
    for k in w:
        np.testing.assert_array_equal(loaded[k], w[k])
    _same_table(analyze(tmp_path / "m.npz"), analyze(w))
    np.save(tmp_path / "single.npy", w["fc1.weight"])
    assert list(load_weights(tmp_path / "single.npy")) == ["single"]


def test_safetensors_reader_and_bf16(tmp_path):
    st_np = pytest.importorskip("safetensors.numpy")
    w = _model()
    st_np.save_file(w, str(tmp_path / "m.safetensors"))
    _same_table(analyze(str(tmp_path / "m.safetensors")), analyze(w))
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    t = torch.randn(7, 5).to(torch.bfloat16)
    st_torch.save_file({"b": t, "f": torch.ones(3)}, str(tmp_path / "bf.safetensors"))
    got = load_weights(tmp_path / "bf.safetensors")
    assert got["b"].dtype == np.float32
    np.testing.assert_array_equal(got["b"], t.float().numpy())


def test_torch_state_dict_reader(tmp_path):
    torch = pytest.importorskip("torch")
    w = _model()
    sd = {k: torch.from_numpy(v) for k, v in w.items()}
    torch.save(sd, tmp_path / "m.pt")
    _same_table(analyze(tmp_path / "m.pt"), analyze(w))
    torch.save({"epoch": 3, "state_dict": sd}, tmp_path / "ckpt.pth")
    assert list(load_weights(tmp_path / "ckpt.pth")) == list(w)
    torch.save([1, 2], tmp_path / "list.bin")
    with pytest.raises(TypeError, match="state dict"):
        load_weights(tmp_path / "list.bin")


def test_directory_of_shards(tmp_path):
    w = _model()
    np.savez(tmp_path / "a.npz", **{k: w[k] for k in ["fc1.weight"]})
    np.savez(tmp_path / "b.npz", **{k: w[k] for k in ["fc1.bias", "conv.weight"]})
    assert sorted(load_weights(tmp_path)) == sorted(w)
    np.savez(tmp_path / "c.npz", **{"fc1.bias": w["fc1.bias"]})
    with pytest.raises(ValueError, match="two files"):
        load_weights(tmp_path)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "nope.npz")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported"):
        load_weights(tmp_path / "m.h5")
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="no weights file"):
        load_weights(tmp_path / "d")


# ------------------------------------------------------------------------------ compress
def test_compress_round_trip_reproduces_truncations(tmp_path):
    rng = np.random.default_rng(5)
    W = spiked(200, 300, [40.0, 30.0, 25.0], seed=2)  # detection threshold ~15.6
    K = rng.normal(size=(40, 16, 3, 3)) + 0.3 * np.einsum(
        "o,ihw->oihw", rng.normal(size=40), rng.normal(size=(16, 3, 3))
    )
    weights = {"fc.weight": W, "fc.bias": np.ones(200), "conv.weight": K}
    c = compress(weights)
    layers = {e["name"]: e for e in c.manifest["layers"]}
    assert layers["fc.weight"]["rank"] == 3 == analyze({"w": W})[0].mp_rank
    k_conv = layers["conv.weight"]["rank"]
    assert k_conv == analyze({"w": K})[0].mp_rank >= 1
    assert layers["fc.bias"]["stored"] == "copied"
    assert c.arrays["fc.weight.W1"].shape == (3, 300) and c.arrays["fc.weight.W2"].shape == (200, 3)
    assert c.arrays["conv.weight.W1"].shape == (k_conv, 16, 3, 3)
    assert c.arrays["conv.weight.W2"].shape == (40, k_conv, 1, 1)
    assert layers["conv.weight"]["kernel_shape"] == [40, 16, 3, 3]
    assert c.params_before == W.size + 200 + K.size
    assert c.params_after == 3 * 500 + 200 + k_conv * (40 + 144)
    for path in (tmp_path / "c.npz", tmp_path / "c.safetensors"):
        if path.suffix == ".safetensors":
            pytest.importorskip("safetensors")
        out, mpath = c.save(path)
        assert mpath == manifest_path_for(path) and mpath.exists()
        dense = load_compressed(out)
        np.testing.assert_allclose(dense["fc.weight"], truncate(W, 3), atol=1e-10)
        # Eckart-Young: the residual is exactly the discarded singular values.
        s = scipy.linalg.svdvals(W)
        assert np.sum((W - dense["fc.weight"]) ** 2) == pytest.approx(np.sum(s[3:] ** 2))
        Kt = truncate(K.reshape(40, -1), k_conv).reshape(K.shape)
        np.testing.assert_allclose(dense["conv.weight"], Kt, atol=1e-10)
        np.testing.assert_array_equal(dense["fc.bias"], weights["fc.bias"])


def test_compress_float32_and_gavish_donoho(planted):
    W = planted.astype(np.float32)
    c = compress({"w": W}, threshold="gavish-donoho")
    assert c.manifest["layers"][0]["rank"] == gavish_donoho_rank(W)
    assert c.arrays["w.W1"].dtype == np.float32
    dense = decompress(c.arrays, c.manifest)["w"]
    k = c.manifest["layers"][0]["rank"]
    np.testing.assert_allclose(dense, truncate(W.astype(np.float64), k), atol=1e-4)


def test_compress_keeps_dense_when_factoring_does_not_pay_and_handles_small():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(60, 80))
    c = compress({"w": W, "tiny": np.eye(8)}, min_rank=50)
    e, tiny = c.manifest["layers"]
    assert e["stored"] == "dense" and e["rank"] == 50 and "kept unchanged" in e["reason"]
    np.testing.assert_array_equal(c.arrays["w"], W)
    assert tiny["stored"] == "dense" and "20 bulk eigenvalues" in tiny["reason"]
    assert c.reduction == 0.0


def test_compress_rank_zero_noise_layer_round_trips():
    # pure noise: rank 0 for this seed (a false spike has probability ~beta = 0.1 per layer)
    rng = np.random.default_rng(2)
    with pytest.warns(RankZeroWarning, match="rank 0"):  # asked for, and stated (issues 11, 24)
        c = compress(
            {"w": rng.normal(size=(100, 150)), "k": rng.normal(size=(40, 16, 3, 3))}, min_rank=0
        )
    dense = decompress(c.arrays, c.manifest)
    assert [e["rank"] for e in c.manifest["layers"]] == [0, 0]
    assert not dense["w"].any() and not dense["k"].any() and dense["k"].shape == (40, 16, 3, 3)


def test_compress_errors():
    with pytest.raises(ValueError, match="threshold"):
        compress({"w": np.eye(40)}, threshold="energy")
    with pytest.raises(ValueError, match="min_rank"):
        compress({"w": np.eye(40)}, min_rank=-1)
    with pytest.raises(ValueError, match="collides"):
        compress({"a": spiked(50, 80, [30.0]), "a.W1": np.zeros(3)})
    with pytest.raises(ValueError, match="manifest"):
        decompress({}, {"layers": []})


# ------------------------------------------------------------------------------ CLI
def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="rmtheory")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc = args.func(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_cli_analyze_and_compress(tmp_path, capsys, suffix):
    w = _model()
    path = tmp_path / f"m{suffix}"
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    save_weights(path, w)
    rc, out, err = _run(
        [
            "analyze",
            str(path),
            "--plots",
            str(tmp_path / "plots"),
            "--json",
            str(tmp_path / "t.json"),
            "--csv",
            str(tmp_path / "t.csv"),
        ],
        capsys,
    )
    assert rc == 0, err
    assert "fc1.weight" in out and "conv.weight" in out and "1-D" in out
    records = {r["name"]: r for r in json.loads((tmp_path / "t.json").read_text())}
    assert sorted(records) == sorted(w)
    assert records["fc1.weight"]["mp_rank"] == 2
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2
    assert (tmp_path / "t.csv").read_text().startswith("name,shape,kind")

    out_file = tmp_path / f"c{suffix}"
    rc, out, err = _run(["compress", str(path), "--out", str(out_file)], capsys)
    assert rc == 0, err
    assert "fc1.weight" in out and "rank 2" in out and "% fewer" in out
    manifest = json.loads(manifest_path_for(out_file).read_text())
    assert {e["name"]: e["rank"] for e in manifest["layers"]}["fc1.weight"] == 2
    dense = load_compressed(out_file)
    np.testing.assert_allclose(dense["fc1.weight"], truncate(w["fc1.weight"], 2), atol=1e-4)


def test_cli_errors_are_reported_not_raised(tmp_path, capsys):
    W = np.ones((40, 40))
    W[0, 0] = np.nan
    np.savez(tmp_path / "bad.npz", **{"layer.7.weight": W})
    rc, _, err = _run(["analyze", str(tmp_path / "bad.npz")], capsys)
    assert rc == 2 and "layer.7.weight" in err and "NaN" in err
    rc, _, err = _run(["compress", str(tmp_path / "none.npz"), "--out", "x.npz"], capsys)
    assert rc == 2 and "no such file" in err
    rc, _, err = _run(["compress", str(tmp_path / "bad.npz"), "--out", "x.h5"], capsys)
    assert rc == 2


# ------------------------------------------------------------------------------ honest defaults
def test_compress_never_writes_an_all_zero_layer_by_default(tmp_path, capsys):
    """Before: --threshold gavish-donoho cut a 10x128 output layer to rank 0 (exit 0, a dead
    classifier).  Now the default min_rank is 1: the strongest direction is kept, with a note."""
    import warnings

    rng = np.random.default_rng(0)
    w = {"fc2.weight": rng.normal(size=(10, 128)), "noise.weight": rng.normal(size=(100, 150))}
    for rule in ("gavish-donoho", "mp"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RankZeroWarning)
            c = compress(w, threshold=rule)
        ranks = {e["name"]: e["rank"] for e in c.manifest["layers"]}
        assert all(k is None or k >= 1 for k in ranks.values()), ranks
        assert c.manifest["min_rank"] == 1 and not c.warnings
        dense = decompress(c.arrays, c.manifest)
        for e in c.manifest["layers"]:
            if e["stored"] == "factorized":
                s = np.linalg.svd(w[e["name"]], compute_uv=False)
                # the rank-1 factor is the best rank-1 approximation: its norm is s_1
                np.testing.assert_allclose(np.linalg.norm(dense[e["name"]], 2), s[0], rtol=1e-10)
        if rule == "gavish-donoho":  # the reported case: GD keeps nothing of the 10x128 layer
            assert any(n.startswith("fc2.weight: ") and "looks like pure noise" in n for n in c.notes)
            assert ranks["fc2.weight"] == 1
    save_weights(tmp_path / "m.npz", w)
    parser = argparse.ArgumentParser(prog="rmtheory")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["compress", str(tmp_path / "m.npz"), "--out", str(tmp_path / "c.npz"),
         "--threshold", "gavish-donoho", "--no-progress"]
    )  # fmt: skip
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert "min rank 1" in out and "note:" in err and "rank 0" not in out
    assert all(e["rank"] != 0 for e in json.loads(
        (tmp_path / "c.npz.manifest.json").read_text())["layers"])  # fmt: skip


def test_analyze_notes_a_pure_noise_layer():
    """Before: "100.0% fewer" and an empty note for a layer with no direction above the edge."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(200, 300)) + 0.3 * np.outer(rng.normal(size=200), rng.normal(size=300))
    t = analyze({"noise.weight": rng.normal(size=(200, 300)), "fc.weight": signal})
    noise, fc = t
    assert noise.mp_rank == 0 and noise.pure_noise and "looks like pure noise" in noise.note
    assert fc.mp_rank >= 1 and not fc.pure_noise and fc.note == ""
    assert noise.reason == ""  # analysed: the record format is unchanged
    text = t.to_text()
    assert "looks like pure noise at this shape" in text.splitlines()[1]
    assert "1 layer(s) have no direction above the noise edge" in text.splitlines()[-1]
    assert "noise.weight" in text.splitlines()[-1]
    # the percentage itself says the noise layer counts as 0 (it reads "100.0% fewer" when all are)
    assert "% fewer, 1 pure-noise layer(s) counted as 0)" in text.splitlines()[-2]


def test_notes_name_the_tensor_not_x():
    row = analyze({"fc2.weight": np.random.default_rng(0).normal(size=(10, 128))})[0]
    assert "of fc2.weight" in row.reason and " of X" not in row.reason
    # every BEMA message relayed, not only "of X": before, an all-zero layer said "X is all zeros"
    zero = analyze({"fc2.weight": np.zeros((50, 40))})[0]
    assert "fc2.weight is all zeros" in zero.reason
    assert not re.search(r"\bX\b", zero.reason), zero.reason


def test_analyze_tensor_is_the_row_analyze_gives():
    from rmtheory.analysis import analyze_tensor

    W = spiked(120, 200, [40.0, 25.0], seed=3)
    row, table_row = analyze_tensor(W, "fc.weight"), analyze({"fc.weight": W})[0]
    assert row == table_row
    np.testing.assert_array_equal(row.eigenvalues, table_row.eigenvalues)
    with pytest.raises(ValueError, match="method"):
        analyze_tensor(W, method="qr")
    with pytest.raises(TypeError, match="options"):
        analyze_tensor(W, options={"alpha": 0.25})
