"""Damaged caches and data files, unwritable outputs, partial caches, bad training options and names: every case
is recomputed or refused in one line (exit 2, or 1 for a run that failed), never a traceback, NaN or a silently
smaller file. Found by a user probe; each test names the case it covers."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch

from archi2vec import cache, catalog_status
from archi2vec.cache import CacheWarning, DamagedCacheWarning
from archi2vec.cli import main
from fennec.io import write_npz
from fennec.registry import UnknownNameError
from fennec.validation import FennecInputError, FennecInputWarning


def _one_line(err: str) -> str:
    """The error output, checked to be one line and no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def seed_cache(small_graphs):
    """Write some of the session's graphs into the (per-test) cache: {name: graph} of those written."""
    by_name = {g.name: g for g in small_graphs}

    def seed(*names: str) -> dict[str, object]:
        for n in names:
            cache.save_graph(cache.graph_path(n), by_name[n])
        return {n: by_name[n] for n in names}

    return seed


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------- damaged cache entries
_GOOD_META = np.array(json.dumps({"name": "timm:resnet10t", "n_params": 1.0, "flops": None, "depth": 3}))
_X = np.ones((4, 42), np.float32)
_E = np.array([[0, 1, 2], [1, 2, 3]], np.int32)
GRAPH_DAMAGE = {
    "junk": b"junk\n",
    "empty": b"",
    "wrong columns": _npz_bytes(x=np.ones((4, 3), np.float32), edge_index=_E, meta=_GOOD_META),
    "nan features": _npz_bytes(x=np.full((4, 42), np.nan, np.float32), edge_index=_E, meta=_GOOD_META),
    "edge out of range": _npz_bytes(x=_X, edge_index=np.array([[0], [9]], np.int32), meta=_GOOD_META),
    "meta not an object": _npz_bytes(x=_X, edge_index=_E, meta=np.array("[1, 2]")),
    "no meta": _npz_bytes(x=_X, edge_index=_E),
    "pickled": _npz_bytes(x=np.array([object()], dtype=object), edge_index=_E, meta=_GOOD_META),
}


@pytest.mark.parametrize("damage", list(GRAPH_DAMAGE))
def test_damaged_graph_is_extracted_again_and_overwritten(damage, data_dir, seed_cache, capsys) -> None:
    """Was BadZipFile from cache.py in graph / embed / export / train; a damaged file counted as extracted."""
    good = seed_cache("timm:resnet10t")["timm:resnet10t"]
    path = cache.graph_path("timm:resnet10t")
    path.write_bytes(GRAPH_DAMAGE[damage])
    st = catalog_status(["resnet10t"])
    assert st["ok"] == [] and st["pending"] == ["timm:resnet10t"]
    assert str(path) in st["damaged"]["timm:resnet10t"]
    with pytest.warns(DamagedCacheWarning, match=r"damaged cache file .*timm__resnet10t\.npz"):
        assert main(["graph", "resnet10t", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == good.num_nodes
    assert torch.equal(cache.load_graph(path).x, good.x)  # overwritten with the real graph


def test_truncated_graph_is_extracted_again_by_embed(data_dir, seed_cache, capsys) -> None:
    seed_cache("timm:resnet10t")
    path = cache.graph_path("timm:resnet10t")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.warns(DamagedCacheWarning, match="timm__resnet10t.npz"):
        assert main(["embed", "resnet10t", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["resnet10t"]) == 8
    cache.load_graph(path)  # readable again


EMBEDDING_DAMAGE = {
    "junk": lambda good: b"junk that numpy would take for a pickle",
    "empty": lambda good: b"",
    "truncated": lambda good: good[:-5],
    "header only": lambda good: good[:100],
    "wrong shape": lambda good: _npy_bytes(np.ones(3, np.float32)),
    "two-dimensional": lambda good: _npy_bytes(np.ones((1, 8), np.float32)),
    "nan": lambda good: _npy_bytes(np.full(8, np.nan, np.float32)),
    "an npz": lambda good: _npz_bytes(a=np.ones(8, np.float32)),
}


@pytest.mark.parametrize("damage", list(EMBEDDING_DAMAGE))
def test_damaged_embedding_is_recomputed_and_overwritten(damage, data_dir, seed_cache, capsys) -> None:
    """Was `ValueError: pickled data`, EOFError or a broadcast error from api.py; a NaN vector was served."""
    seed_cache("timm:resnet10t")
    assert main(["embed", "resnet10t", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)["resnet10t"]
    (path,) = (data_dir.parent / "cache").glob("emb-*/timm__resnet10t.npy")
    path.write_bytes(EMBEDDING_DAMAGE[damage](path.read_bytes()))
    with pytest.warns(DamagedCacheWarning, match=r"damaged cache file .*timm__resnet10t\.npy.*recomputed"):
        assert main(["embed", "resnet10t", "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)["resnet10t"]
    np.testing.assert_allclose(again, first, atol=1e-6)
    assert all(math.isfinite(v) for v in again)
    np.testing.assert_allclose(np.load(path), first, atol=1e-6)  # the entry was overwritten with the vector


def test_failures_reads_damaged_entries_without_counting_them(data_dir, seed_cache, capsys) -> None:
    """Was JSONDecodeError / KeyError 'reason' from `failures`; a junk graph counted as extracted."""
    seed_cache("timm:resnet10t", "torchvision:alexnet")
    cache.graph_path("torchvision:alexnet").write_bytes(b"junk")
    cache.failure_path("timm:resnet18").write_text("{bad", encoding="utf-8")
    cache.failure_path("timm:convnext_atto").write_text('{"name": "x"}', encoding="utf-8")
    cache.save_failure("timm:vit_tiny_patch16_224", "TraceError: boom", 1.0)
    assert main(["failures", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_ok"] == 1
    assert out["failures"] == {"timm:vit_tiny_patch16_224": "TraceError: boom"}
    assert sorted(out["damaged"]) == ["timm:convnext_atto", "timm:resnet18", "torchvision:alexnet"]
    assert main(["failures"]) == 0
    text = capsys.readouterr().out
    assert "(3 with a damaged cache file)" in text.splitlines()[0]
    assert "torchvision__alexnet.npz" in text and "`archi2vec catalog` extracts it again" in text


def test_catalog_extracts_damaged_entries_again(seed_cache, monkeypatch, tmp_path) -> None:
    """A damaged graph or failure record was a traceback even with --retry-failures; now it is redone."""
    from archi2vec import build_catalog

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    seed_cache("timm:resnet10t")
    cache.graph_path("timm:resnet10t").write_bytes(b"junk")
    cache.failure_path("torchvision:alexnet").write_text('{"name": "x"}', encoding="utf-8")
    with pytest.warns(DamagedCacheWarning) as record:
        summary = build_catalog(["resnet10t", "alexnet"], log=lambda _: None)
    assert summary["done"] == 2 and summary["failed"] == 0
    assert {str(w.message).split("'")[1].rsplit("/", 1)[1] for w in record} == {
        "timm__resnet10t.npz", "torchvision__alexnet.fail.json"}
    st = catalog_status(["resnet10t", "alexnet"])
    assert sorted(st["ok"]) == ["timm:resnet10t", "torchvision:alexnet"] and not st["damaged"]
    assert not cache.failure_path("torchvision:alexnet").exists()


def test_catalog_records_a_failure_and_retries_it(seed_cache, monkeypatch, tmp_path) -> None:
    import archi2vec.catalog as catalog
    from archi2vec.graph import GraphExtractionError

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    real = catalog.extract

    def flaky(name: str, **kwargs: object) -> object:
        if name == "torchvision:alexnet":
            raise GraphExtractionError("fx: boom; hooks: boom")
        return real(name, **kwargs)

    monkeypatch.setattr(catalog, "extract", flaky)
    s = catalog.build_catalog(["alexnet", "resnet10t"], log=lambda _: None)
    assert s["done"] == 1 and s["failed"] == 1
    assert cache.load_failure("torchvision:alexnet")["reason"].startswith("GraphExtractionError: fx: boom")
    assert catalog.build_catalog(["alexnet"], log=lambda _: None)["skipped"] == 1  # a failure is not retried
    monkeypatch.setattr(catalog, "extract", real)
    assert catalog.build_catalog(["alexnet"], retry_failures=True, log=lambda _: None)["done"] == 1
    assert cache.load_failure("torchvision:alexnet") is None


def test_train_and_export_leave_out_damaged_graphs(data_dir, seed_cache, tmp_path, capsys) -> None:
    names = ["timm:resnet10t", "timm:mobilenetv3_small_050", "timm:resnet18", "torchvision:alexnet",
             "timm:convnext_atto"]
    seed_cache(*names)
    cache.graph_path("timm:resnet18").write_bytes(b"junk")
    out = tmp_path / "trained"
    with pytest.warns(DamagedCacheWarning, match=r"1 cache entries are damaged and left out"):
        assert main(["train", "--epochs", "1", "--dim", "8", "--hidden", "8", "--out", str(out)]) == 0
    with np.load(out / "embeddings.npz") as z:
        assert sorted(z["names"]) == sorted(set(names) - {"timm:resnet18"})
        assert np.isfinite(z["vectors"]).all()


# ----------------------------------------------------------------------------------------- data files
def _torch_bytes(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _nan_weights(good: bytes) -> bytes:
    ckpt = torch.load(io.BytesIO(good), weights_only=True)
    next(iter(ckpt["state_dict"].values())).fill_(float("nan"))
    return _torch_bytes(ckpt)


def _foreign_config(good: bytes) -> bytes:
    ckpt = torch.load(io.BytesIO(good), weights_only=True)
    ckpt["config"]["colour"] = "blue"
    return _torch_bytes(ckpt)


ENCODER_DAMAGE = {
    "junk": (lambda good: b"junk", "not a torch checkpoint"),
    "truncated": (lambda good: good[:1000], "not a torch checkpoint"),
    "another checkpoint": (lambda good: _torch_bytes({"a": 1}), "no config and state_dict"),
    "foreign config": (_foreign_config, "weights that do not fit the encoder"),
    "nan weights": (_nan_weights, "not finite"),
}


@pytest.mark.parametrize("damage", list(ENCODER_DAMAGE))
def test_damaged_encoder_is_one_line(damage, data_dir, capsys) -> None:
    """Was a KeyError from the unpickler, KeyError 'config' or a PytorchStreamReader traceback."""
    make, why = ENCODER_DAMAGE[damage]
    path = data_dir / "encoder.pt"
    path.write_bytes(make(path.read_bytes()))
    for argv in (["export", "--out", str(data_dir)], ["embed", "resnet10t"]):
        assert main(argv) == 2
        err = _one_line(capsys.readouterr().err)
        assert f"encoder weights {str(path)!r}" in err and why in err and "archi2vec train --out" in err


EMBEDDINGS_DAMAGE = {
    "truncated": (lambda good: good[: len(good) // 2], "not a zip archive"),
    "junk": (lambda good: b"junk", "not a zip archive"),
    "nan": (lambda good: _npz_bytes(names=np.array(["timm:resnet10t"]), vectors=np.full((1, 8), np.nan)),
            "not finite"),
    "other width": (lambda good: _npz_bytes(names=np.array(["timm:resnet10t"]), vectors=np.ones((1, 4))),
                    "width 4"),
    "no names": (lambda good: _npz_bytes(vectors=np.ones((1, 8))), "no names and vectors"),
}


@pytest.mark.parametrize("damage", list(EMBEDDINGS_DAMAGE))
def test_damaged_shipped_embeddings_are_one_line(damage, data_dir, seed_cache, capsys) -> None:
    """Was a BadZipFile traceback from `archi2vec embed resnet18`."""
    seed_cache("timm:resnet10t")
    good = _npz_bytes(names=np.array(["timm:resnet10t"]), vectors=np.ones((1, 8), np.float32))
    make, why = EMBEDDINGS_DAMAGE[damage]
    path = data_dir / "embeddings.npz"
    path.write_bytes(make(good))
    assert main(["embed", "resnet10t"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"embeddings {str(path)!r}" in err and why in err and "--no-precomputed" in err
    assert main(["embed", "resnet10t", "--no-precomputed"]) == 0  # the way round it that the message gives


def test_load_embeddings_refuses_a_damaged_file(tmp_path) -> None:
    import archi2vec

    path = tmp_path / "e.npz"
    path.write_bytes(b"junk")
    with pytest.raises(FennecInputError, match="not a zip archive"):
        archi2vec.load_embeddings(path)


# ----------------------------------------------------------------------------------------- paths and state
@pytest.mark.parametrize("argv", [["graph", "resnet10t"], ["embed", "--no-precomputed", "resnet10t"],
                                  ["catalog", "--limit", "1"], ["failures"]])
def test_cache_that_is_a_file_is_one_line(argv, data_dir, tmp_path, monkeypatch, capsys) -> None:
    """Was an OutputPathError traceback (after the extraction, for graph and embed)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(a_file))
    assert main(argv) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"$ARCHI2VEC_CACHE {str(a_file)!r}: is a file, not a folder; point ARCHI2VEC_CACHE at a folder" in err


def test_graph_without_cache_ignores_a_bad_cache_setting(tmp_path, monkeypatch, capsys) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(a_file))
    assert main(["graph", "resnet10t", "--no-cache"]) == 0


def test_a_cache_that_refuses_writes_warns_once_and_goes_on(data_dir, monkeypatch, capsys) -> None:
    """A read-only or full cache folder costs the next run the work again, not this run its answer."""
    def refuse(path, data) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cache, "save_graph", refuse)
    with pytest.warns(CacheWarning, match=r"cannot write \(Read-only file system\); going on without caching"):
        assert main(["embed", "resnet10t", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["resnet10t"]) == 8
    assert not cache.graph_path("timm:resnet10t").exists()


@pytest.mark.parametrize("command", ["train", "export"])
def test_an_empty_out_is_refused(command, data_dir, capsys) -> None:
    assert main([command, "--out", ""]) == 2  # Path("") is the current folder: it must not be written into
    assert "--out: empty path; give a folder" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", ["train", "export"])
def test_output_in_a_file_is_refused_before_any_work(command, data_dir, seed_cache, tmp_path, capsys) -> None:
    """`train --out <a file>` was a traceback only after training."""
    seed_cache("timm:resnet10t", "torchvision:alexnet", "timm:resnet18", "timm:convnext_atto")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    argv = [command, "--out", str(a_file)] + (["--epochs", "1"] if command == "train" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = _one_line(captured.err)
    assert f"--out '{a_file}/" in err and "is a file, not a folder" in err
    assert "training on" not in captured.out and a_file.read_text() == "x"


def test_train_with_an_empty_cache_says_to_run_catalog(data_dir, tmp_path, capsys) -> None:
    """A fresh install: was `ValueError: need at least one array to stack`."""
    out = tmp_path / "X"
    assert main(["train", "--epochs", "1", "--out", str(out)]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "no cached graphs" in err and "run `archi2vec catalog` first" in err
    assert not out.exists()
    assert main(["export", "--out", str(data_dir)]) == 2
    assert "no cached graphs" in _one_line(capsys.readouterr().err)


def test_train_with_one_training_graph_is_refused(data_dir, seed_cache, tmp_path, capsys) -> None:
    seed_cache("timm:resnet10t")
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "X")]) == 2
    assert "training needs at least 2" in _one_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------- no silent shrinking
def test_export_and_train_refuse_to_drop_architectures(data_dir, seed_cache, capsys) -> None:
    """`archi2vec export` replaced the shipped 1451-entry embeddings.npz with the 65 graphs of a local cache."""
    held = ["timm:resnet10t", "torchvision:alexnet", "timm:resnet50", "timm:vit_base_patch16_224", "timm:mixnet_s"]
    write_npz(data_dir / "embeddings.npz", names=np.array(held), vectors=np.ones((5, 8), np.float32))
    before = {f: (data_dir / f).read_bytes() for f in ("embeddings.npz", "encoder.pt")}
    seed_cache("timm:resnet10t", "torchvision:alexnet", "timm:resnet18")
    for argv in (["export"], ["train", "--epochs", "1", "--dim", "8"]):
        assert main(argv) == 2
        err = _one_line(capsys.readouterr().err)
        assert "embeddings.npz holds 5 architectures but only 3 graphs are cached, so 3 of them" in err
        assert "run `archi2vec catalog` first" in err and "--allow-fewer" in err
        assert {f: (data_dir / f).read_bytes() for f in before} == before  # untouched
    assert main(["export", "--allow-fewer"]) == 0
    assert json.loads(capsys.readouterr().out)["n_embedded"] == 3
    with np.load(data_dir / "embeddings.npz") as z:
        assert sorted(z["names"]) == ["timm:resnet10t", "timm:resnet18", "torchvision:alexnet"]
    seed_cache("timm:convnext_atto")  # more graphs than the file holds: nothing is lost, no flag needed
    assert main(["export"]) == 0
    assert json.loads(capsys.readouterr().out)["n_embedded"] == 4


def test_export_overwrites_an_unreadable_embeddings_file(data_dir, seed_cache, capsys) -> None:
    seed_cache("timm:resnet10t", "torchvision:alexnet")
    (data_dir / "embeddings.npz").write_bytes(b"junk")
    with pytest.warns(FennecInputWarning, match="embeddings.npz.*not a zip archive.*overwritten"):
        assert main(["export"]) == 0
    with np.load(data_dir / "embeddings.npz") as z:
        assert len(z["names"]) == 2


def test_export_without_an_encoder_in_the_default_folder_is_exit_1(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ARCHI2VEC_DATA", str(tmp_path / "empty"))
    assert main(["export"]) == 1  # an install without its data, as for embed
    assert "run `archi2vec train`" in _one_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------- training options
@pytest.mark.parametrize(("argv", "message"), [
    (["--w-contrast", "nan"], "--w-contrast: expected a number >= 0, got 'nan'"),
    (["--w-reg", "-1"], "--w-reg: expected a number >= 0, got '-1'"),
    (["--w-family", "inf"], "--w-family: expected a number >= 0, got 'inf'"),
    (["--w-desc", "x"], "--w-desc: expected a number >= 0"),
    (["--time-budget", "-5"], "--time-budget: expected a positive number, got '-5'"),
    (["--time-budget", "nan"], "--time-budget: expected a positive number"),
    (["--seed", "-1"], "--seed: expected an integer in [0, 4294967295], got '-1'"),
])
def test_bad_training_options_are_one_line(argv, message, capsys) -> None:
    """`--w-contrast nan` trained a NaN encoder and wrote it with exit 0."""
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epochs", "1", *argv])
    assert exc.value.code == 2
    assert message in _one_line(capsys.readouterr().err)


def test_all_zero_loss_weights_are_refused(data_dir, tmp_path, capsys) -> None:
    argv = ["train", "--out", str(tmp_path / "X")]
    for w in ("--w-contrast", "--w-reg", "--w-family", "--w-desc"):
        argv += [w, "0"]
    assert main(argv) == 2
    assert "all 0, so nothing would be learnt" in _one_line(capsys.readouterr().err)


def test_api_checks_training_options(small_graphs, tmp_path) -> None:
    from archi2vec import train_and_export
    from archi2vec.train import train_encoder

    with pytest.raises(FennecInputError, match="w_desc: expected a number >= 0, got nan"):
        train_encoder(small_graphs[:3], w_desc=float("nan"), log=None)
    with pytest.raises(FennecInputError, match="time_budget: expected a positive number"):
        train_encoder(small_graphs[:3], time_budget=-5, log=None)
    with pytest.raises(FennecInputError, match="lr: expected a positive number"):
        train_and_export(tmp_path, lr=-1.0, log=None)
    assert not tmp_path.joinpath("encoder.pt").exists()


def test_a_loss_that_becomes_nan_stops_training_and_writes_nothing(data_dir, seed_cache, tmp_path, monkeypatch,
                                                                   capsys) -> None:
    seed_cache("timm:resnet10t", "torchvision:alexnet", "timm:resnet18", "timm:convnext_atto")
    monkeypatch.setattr("archi2vec.train.nt_xent", lambda z1, z2, t: (z1 * float("nan")).sum())
    out = tmp_path / "X"
    assert main(["train", "--epochs", "2", "--dim", "8", "--out", str(out)]) == 1
    err = _one_line(capsys.readouterr().err)
    assert "training diverged: the loss became nan in epoch 1" in err and "nothing was written" in err
    assert not (out / "encoder.pt").exists() and not (out / "embeddings.npz").exists()


# ----------------------------------------------------------------------------------------- names
def test_build_catalog_takes_one_string_as_one_name(monkeypatch, tmp_path) -> None:
    """`build_catalog('torchvision:alexnet')` iterated its characters and cached 19 .fail.json files."""
    from archi2vec import build_catalog

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    assert build_catalog("torchvision:alexnet", log=lambda _: None)["done"] == 1
    assert sorted(p.name for p in cache.graph_dir().iterdir()) == ["torchvision__alexnet.npz"]


def test_build_catalog_refuses_an_unknown_name_without_caching_it(monkeypatch, tmp_path) -> None:
    """An unknown name is bad input, not an extraction failure: it was cached as one."""
    from archi2vec import build_catalog

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    with pytest.raises(UnknownNameError, match="'bad'"):
        build_catalog(["alexnet", "bad"], log=lambda _: None)
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.npz"))  # checked before any work


def test_embed_strips_names_and_prints_a_repeated_name_once(data_dir, seed_cache, capsys) -> None:
    """`embed --format json resnet10t resnet10t " resnet10t"` gave 2 keys for 3 names, without a word."""
    seed_cache("timm:resnet10t", "torchvision:alexnet")
    assert main(["embed", "--format", "json", "resnet10t", "resnet10t", " resnet10t", "alexnet "]) == 0
    captured = capsys.readouterr()
    assert list(json.loads(captured.out)) == ["resnet10t", "alexnet"]
    assert "'resnet10t' given more than once, printed once" in _one_line(captured.err)
    assert main(["embed", "resnet10t", " resnet10t"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["resnet10t"]


def test_graph_from_timm_takes_the_timm_prefix(small_graphs) -> None:
    """`graph_from_timm('timm:resnet18')` failed with timm's "Unknown model source 'timm'"."""
    from archi2vec import graph_from_timm, graph_from_torchvision

    ref = {g.name: g for g in small_graphs}
    g = graph_from_timm("timm:resnet10t.gluon_in1k")
    assert g.name == "timm:resnet10t" and torch.equal(g.x, ref["timm:resnet10t"].x)
    assert torch.equal(graph_from_torchvision("torchvision:alexnet").x, ref["torchvision:alexnet"].x)
    with pytest.raises(UnknownNameError, match=r"not a timm architecture name.*use graph_from_torchvision"):
        graph_from_timm("torchvision:alexnet")
    with pytest.raises(UnknownNameError, match=r"unknown architecture 'timm:resnet10x'.*resnet10t"):
        graph_from_timm("resnet10x")
    with pytest.raises(UnknownNameError, match="not a torchvision architecture name"):
        graph_from_torchvision("timm:resnet10t")
