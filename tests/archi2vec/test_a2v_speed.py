"""Extraction speed-ups change no graph: skipped weight init on meta, memoised meta kernels, the fast tracer, and
parallel extraction in worker processes."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from archi2vec import cache, graph, trace_fx, trace_hooks
from archi2vec import meta as a2v_meta  # a test below has a local `meta` tensor
from archi2vec.catalog import build_catalog, catalog_status, get_graphs
from fennec.registry import UnknownNameError

SMALL = ("resnet18", "vit_tiny_patch16_224", "efficientnet_b0", "convnext_atto")


def _same_graph(a, b) -> None:
    assert torch.equal(a.x, b.x)
    assert torch.equal(a.edge_index, b.edge_index)
    for k in ("n_params", "flops", "depth", "trace_path", "input_size", "name", "family", "fx_error"):
        assert getattr(a, k) == getattr(b, k), k


def test_shortcuts_leave_graphs_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [graph.graph_from_timm(n) for n in SMALL]
    # the reference: weights initialised on meta, every meta kernel run, torch.fx's own parameter lookup and
    # disassembly
    monkeypatch.setattr(a2v_meta, "_SkipMetaInit", contextlib.nullcontext)  # looked up by build_on_meta
    monkeypatch.setattr(trace_hooks, "_MetaMemo", contextlib.nullcontext)  # looked up by _count_flops
    monkeypatch.setattr(trace_fx._Tracer, "getattr", torch.fx.Tracer.getattr)
    monkeypatch.setattr(trace_fx._Tracer, "trace", torch.fx.Tracer.trace)
    for name, g in zip(SMALL, fast, strict=True):
        _same_graph(g, graph.graph_from_timm(name))


def test_skip_init_only_touches_meta_tensors() -> None:
    cpu = torch.zeros(3)
    meta = torch.empty(2, 5, device="meta")
    with a2v_meta._SkipMetaInit():
        assert cpu.fill_(2.0) is cpu
        assert meta.normal_() is meta and nn.init.uniform_(meta) is meta
        assert nn.init.trunc_normal_(meta, std=0.02) is meta
        t = torch.empty(4, device="meta")
        assert t.add_(1) is t and t.shape == (4,)  # skipped: the target itself comes back, unchanged
    assert torch.equal(cpu, torch.full((3,), 2.0))  # real tensors are initialised as usual
    assert meta.shape == (2, 5) and meta.device.type == "meta"


def test_meta_memo_replays_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.empty(2, 8, 6, device="meta").transpose(1, 2)  # non-contiguous: strides must be replayed too
    w = torch.empty(8, device="meta")
    ref = torch.nn.functional.layer_norm(x, (8,), w, w)
    trace_fx.clear_caches()
    misses: list[object] = []  # _out_spec runs only when the kernel ran, i.e. on a memo miss
    out_spec = a2v_meta._out_spec
    monkeypatch.setattr(a2v_meta, "_out_spec", lambda out, inputs: misses.append(out) or out_spec(out, inputs))
    with a2v_meta._MetaMemo():
        outs = [torch.nn.functional.layer_norm(x, (8,), w, w)]
        n_first = len(misses)
        outs += [torch.nn.functional.layer_norm(x, (8,), w, w) for _ in range(2)]
        assert n_first > 0 and len(misses) == n_first  # the repeats were replayed, no kernel ran
        y = torch.nn.functional.gelu(x)
        y.add_(1.0)  # in-place: never memoised, returns its input
    assert all(o.shape == ref.shape and o.stride() == ref.stride() and o.dtype == ref.dtype for o in outs)
    assert outs[1] is not outs[2]  # fresh tensors, as the kernel would return
    assert y.shape == x.shape


@pytest.fixture
def tiny_names() -> list[str]:
    return ["timm:resnet10t", "torchvision:alexnet", "timm:mobilenetv3_small_050", "timm:convnext_atto"]


def test_parallel_catalog_matches_serial(tiny_names, small_graphs, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    logs: list[str] = []
    s = build_catalog(tiny_names, workers=2, log=logs.append)
    assert s["done"] == 4 and s["failed"] == 0
    serial = {g.name: g for g in small_graphs}
    for n in tiny_names:
        _same_graph(cache.load_graph(cache.graph_path(n)), serial[n])
    assert sum("nodes=" in line for line in logs) == 4
    # resumable: a second run skips everything
    again = build_catalog(tiny_names, workers=2, log=logs.append)
    assert again["done"] == 0 and again["skipped"] == 4
    st = catalog_status(tiny_names)
    assert sorted(st["ok"]) == sorted(tiny_names)


def test_parallel_get_graphs(tiny_names, small_graphs, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    names = ["resnet10t", "torchvision:alexnet", "timm:resnet10t.gluon_in1k"]  # a duplicate under two spellings
    got = get_graphs(names, workers=2)
    serial = {g.name: g for g in small_graphs}
    _same_graph(got[0], serial["timm:resnet10t"])
    _same_graph(got[1], serial["torchvision:alexnet"])
    _same_graph(got[2], serial["timm:resnet10t"])
    assert cache.graph_path("timm:resnet10t").exists() and cache.graph_path("torchvision:alexnet").exists()
    with pytest.raises(UnknownNameError):  # names are checked before any process starts
        get_graphs(["timm:no_such_arch", "resnet10t"], workers=2)


def test_parallel_get_graphs_reports_every_failure(small_graphs, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    ok = small_graphs[0]

    def fake_extract_many(names, *, workers=1, timeout=None):
        for n in names:
            yield (n, ok, "", 0.1) if n == ok.name else (n, None, "TraceError: boom", 0.1)

    monkeypatch.setattr("archi2vec.catalog.extract_many", fake_extract_many)
    with pytest.raises(graph.GraphExtractionError, match=r"2 of 3 graphs failed: .*alexnet \(TraceError: boom\)"):
        get_graphs([ok.name, "alexnet", "resnet18"], workers=2)
    assert cache.graph_path(ok.name).exists()  # the graphs that worked are cached all the same


def test_workers_replaced_after_every_task(tiny_names, small_graphs) -> None:
    # A worker exits right after returning its result: results must not depend on the sender being alive (torch
    # tensors would be passed as shared-memory handles fetched from the sender, and the pool would hang).
    from archi2vec.catalog import extract_many

    serial = {g.name: g for g in small_graphs}
    got = {n: g for n, g, _, _ in extract_many(tiny_names, workers=2, max_tasks_per_worker=1)}
    assert sorted(got) == sorted(tiny_names)
    for n in tiny_names:
        _same_graph(got[n], serial[n])
