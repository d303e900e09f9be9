"""The ``archi2vec`` CLI, run in-process: exit codes, JSON output, caching, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archi2vec.cli import main


def test_embed_json(data_dir, capsys) -> None:
    rc = main(["embed", "resnet10t", "torchvision:alexnet", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["resnet10t", "torchvision:alexnet"]
    assert all(len(v) == 8 for v in out.values())
    assert out["resnet10t"] != out["torchvision:alexnet"]
    # second run: served from the embedding cache, identical
    assert main(["embed", "timm:resnet10t.gluon_in1k", "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(again["timm:resnet10t.gluon_in1k"], out["resnet10t"], atol=1e-6)


def test_embed_text(data_dir, capsys) -> None:
    assert main(["embed", "torchvision:alexnet"]) == 0
    line = capsys.readouterr().out.strip()
    name, vec = line.split("\t")
    assert name == "torchvision:alexnet" and len(vec.split()) == 8


def test_embed_api_matches_cli(data_dir, capsys) -> None:
    import archi2vec

    v = archi2vec.embed(["torchvision:alexnet", "alexnet"])
    assert v.shape == (2, 8) and v.dtype == np.float32
    np.testing.assert_array_equal(v[0], v[1])
    assert main(["embed", "alexnet", "--format", "json"]) == 0
    np.testing.assert_allclose(json.loads(capsys.readouterr().out)["alexnet"], v[0], atol=1e-6)


def test_precomputed_embeddings_are_used(data_dir, capsys) -> None:
    from fennec.io import write_npz

    write_npz(data_dir / "embeddings.npz", names=np.array(["torchvision:alexnet"]),
              vectors=np.full((1, 8), 7.0, dtype=np.float32))
    assert main(["embed", "alexnet", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["alexnet"] == [7.0] * 8
    assert main(["embed", "alexnet", "--format", "json", "--no-precomputed"]) == 0
    assert json.loads(capsys.readouterr().out)["alexnet"] != [7.0] * 8


def test_unknown_name_exit_2(data_dir, capsys) -> None:
    assert main(["embed", "resnet50", "resnt18"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "resnt18" in err and "resnet18" in err
    assert main(["graph", "vit_tiny_patch16_22", "--stats"]) == 2
    assert "vit_tiny_patch16_224" in capsys.readouterr().err


def test_graph_stats(data_dir, capsys) -> None:
    assert main(["graph", "resnet10t", "--stats", "--format", "json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["trace_path"] == "fx" and st["family"] == "resnet"
    assert st["nodes"] == sum(st["nodes_by_op"].values())
    assert st["edges"] == sum(st["edges_by_op"].values())
    assert main(["graph", "resnet10t", "--stats"]) == 0
    text = capsys.readouterr().out
    assert "path=fx" in text and "conv" in text


def test_catalog_list_and_failures(data_dir, capsys) -> None:
    assert main(["catalog", "--list"]) == 0
    names = capsys.readouterr().out.split()
    assert len(names) > 1300 and "torchvision:alexnet" in names and "timm:resnet50" in names
    assert main(["failures", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"failures", "n_ok", "pending", "damaged"}


def test_missing_encoder_exit_1(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ARCHI2VEC_DATA", str(tmp_path / "empty"))
    assert main(["embed", "alexnet"]) == 1
    assert "archi2vec train" in capsys.readouterr().err


def test_cli_embed_workers(data_dir, capsys) -> None:
    args = ["embed", "resnet10t", "torchvision:alexnet", "--format", "json", "--no-cache"]
    assert main([*args, "--workers", "2"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    serial = json.loads(capsys.readouterr().out)
    assert list(parallel) == list(serial)
    for n in serial:
        np.testing.assert_array_equal(parallel[n], serial[n])
    with pytest.raises(SystemExit):
        main([*args, "--workers", "0"])


@pytest.mark.parametrize(("argv", "message"), [
    (["catalog", "--limit", "-1"], "--limit: expected a positive integer, got '-1'"),  # names[:-1]: the catalog
    (["catalog", "--limit", "0"], "--limit: expected a positive integer"),
    (["catalog", "--timeout", "0"], "--timeout: expected a positive integer"),
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),  # was a traceback from the scheduler
    (["train", "--dim", "0"], "--dim: expected a positive integer"),  # wrote vectors of width 0
    (["train", "--lr", "-1"], "--lr: expected a positive number"),
])
def test_bad_options_are_refused_before_any_work(argv, message, capsys) -> None:
    """Found by a probe: `catalog --limit -1` started the whole catalog (about 24 minutes)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_export_without_an_encoder_is_bad_input(tmp_path, capsys) -> None:
    assert main(["export", "--out", str(tmp_path / "nothing_here")]) == 2
    assert "no encoder.pt there; run `archi2vec train --out" in capsys.readouterr().err
