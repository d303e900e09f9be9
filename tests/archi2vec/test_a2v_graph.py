"""Graph extraction: validity, attributes, determinism, the hook fallback, names and the cache."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn

from archi2vec import cache
from archi2vec.graph import graph_from_module, graph_from_timm, graph_from_torchvision
from archi2vec.names import canonical_name
from archi2vec.ops import NUM_FEATURES, OPS, classify_name, op_types_of
from fennec.registry import UnknownNameError


def _check_valid(data) -> None:
    assert data.validate(raise_on_error=True)
    assert data.x.dtype == torch.float32
    assert data.x.shape == (data.num_nodes, NUM_FEATURES)
    assert torch.isfinite(data.x).all()
    assert data.edge_index.min() >= 0 and data.edge_index.max() < data.num_nodes
    # edges follow data flow: from an earlier op to a later one (records are in topological order)
    assert (data.edge_index[0] < data.edge_index[1]).all()
    onehot = data.x[:, :len(OPS)]
    assert torch.equal(onehot.sum(1), torch.ones(data.num_nodes))


def test_resnet18_graph(resnet18_graph) -> None:
    g = resnet18_graph
    _check_valid(g)
    assert g.trace_path == "fx"
    assert g.fx_error == ""
    assert g.family == "resnet"
    assert g.name == "timm:resnet18"
    ops = Counter(op_types_of(g.x))
    assert ops["conv"] == 20  # 17 3x3/7x7 convs + 3 downsample 1x1
    assert ops["batchnorm"] == 20
    assert ops["linear"] == 1
    assert ops["add"] == 8  # one residual add per basic block
    assert ops["input"] == 1 and ops["output"] == 1
    assert g.depth == 18  # weighted layers on the longest path
    assert abs(g.n_params - 11_689_512) < 1
    assert 3.0e9 < g.flops < 4.0e9  # 1.8 GMACs at 224 px


def test_extraction_is_deterministic() -> None:
    a = graph_from_timm("resnet10t")
    b = graph_from_timm("resnet10t")
    assert torch.equal(a.x, b.x)
    assert torch.equal(a.edge_index, b.edge_index)


def test_torchvision_alexnet() -> None:
    g = graph_from_torchvision("alexnet")
    _check_valid(g)
    ops = Counter(op_types_of(g.x))
    assert ops["conv"] == 5 and ops["linear"] == 3 and ops["maxpool"] == 3
    assert g.name == "torchvision:alexnet" and g.family == "alexnet"


class _ShapeBranch(nn.Module):
    """Python control flow on a tensor's shape: torch.fx cannot trace it, meta execution can."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv1(x)))
        if x.shape[-1] > 8:  # data-dependent (shape) branch
            x = x + self.conv2(x)
        return self.fc(torch.flatten(self.pool(x), 1))


def test_fallback_path_for_untraceable_module() -> None:
    with torch.device("meta"):
        model = _ShapeBranch()
    g = graph_from_module(model, (3, 32, 32), name="shape_branch")
    _check_valid(g)
    assert g.trace_path == "hooks"
    assert "TraceError" in g.fx_error or "symbolically traced" in g.fx_error
    ops = op_types_of(g.x)
    assert Counter(ops)["conv"] == 1 and Counter(ops)["conv_dw"] == 1
    assert {"batchnorm", "relu", "add", "adaptive_pool", "reshape", "linear", "output"} <= set(ops)
    # the residual add has two producers: the relu and the depthwise conv
    add = ops.index("add")
    parents = sorted(op_types_of(g.x[g.edge_index[0][g.edge_index[1] == add]]))
    assert parents == ["conv_dw", "relu"]
    assert g.depth == 3
    with torch.device("meta"), pytest.raises(Exception, match="fx"):
        graph_from_module(_ShapeBranch(), (3, 32, 32), force_path="fx")


def test_fx_and_hooks_agree_on_a_traceable_model() -> None:
    fx = graph_from_timm("resnet10t")
    hooks = graph_from_timm("resnet10t", force_path="hooks")
    _check_valid(hooks)
    assert fx.trace_path == "fx" and hooks.trace_path == "hooks"
    assert Counter(op_types_of(fx.x)) == Counter(op_types_of(hooks.x))
    assert fx.depth == hooks.depth
    assert fx.flops == hooks.flops


def test_graph_of_a_cpu_module_runs_real_forward() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GELU(), nn.Flatten(), nn.Identity())
    g = graph_from_module(model, (3, 8, 8))
    _check_valid(g)
    assert op_types_of(g.x) == ["input", "conv", "gelu", "reshape", "output"]  # Identity is bypassed


@pytest.mark.parametrize(("name", "expected"), [
    ("resnet50", "timm:resnet50"),
    ("timm:resnet50.a1_in1k", "timm:resnet50"),
    ("resnet50.a1_in1k", "timm:resnet50"),
    ("torchvision:alexnet", "torchvision:alexnet"),
    ("googlenet", "torchvision:googlenet"),
])
def test_canonical_names(name: str, expected: str) -> None:
    assert canonical_name(name) == expected


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownNameError) as exc:
        canonical_name("resnt50")
    msg = str(exc.value)
    assert "resnet50" in msg and "\n" not in msg
    with pytest.raises(UnknownNameError):
        canonical_name("torchvision:resnet999")


def test_classify_name() -> None:
    assert classify_name("__iadd__") == "add"
    assert classify_name("relu_") == "relu"
    assert classify_name("scaled_dot_product_attention") == "attention"
    assert classify_name("getitem") == "index"
    assert classify_name("definitely_not_an_op") == "other"


def test_cache_roundtrip(resnet18_graph, tmp_path) -> None:
    p = tmp_path / "g.npz"
    cache.save_graph(p, resnet18_graph)
    back = cache.load_graph(p)
    assert torch.equal(back.x, resnet18_graph.x)
    assert torch.equal(back.edge_index, resnet18_graph.edge_index)
    for k in ("trace_path", "family", "name", "depth", "n_params", "flops", "input_size"):
        assert getattr(back, k) == getattr(resnet18_graph, k)
    back.validate(raise_on_error=True)


def test_get_graph_cache_hit_is_fast(monkeypatch, tmp_path) -> None:
    import time

    from archi2vec.catalog import get_graph

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    g1 = get_graph("timm:resnet10t")
    assert cache.graph_path("timm:resnet10t").exists()
    t = time.perf_counter()
    g2 = get_graph("resnet10t.gluon_in1k")
    assert time.perf_counter() - t < 0.2
    assert torch.equal(g1.x, g2.x)


def test_catalog_is_resumable(monkeypatch, tmp_path) -> None:
    from archi2vec.catalog import build_catalog, catalog_status

    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path))
    names = ["torchvision:alexnet", "timm:resnet10t"]
    logs: list[str] = []
    s1 = build_catalog(names, log=logs.append)
    assert s1["done"] == 2 and s1["failed"] == 0
    s2 = build_catalog(names, log=logs.append)
    assert s2["done"] == 0 and s2["skipped"] == 2
    st = catalog_status(names)
    assert sorted(st["ok"]) == sorted(names) and not st["failures"] and not st["pending"]


def test_composite_timm_leaves_are_expanded() -> None:
    # timm registers whole blocks (NormFreeBlock) as fx leaves; their inside must still become nodes
    g = graph_from_timm("nf_regnet_b0")
    _check_valid(g)
    ops = Counter(op_types_of(g.x))
    assert g.trace_path == "fx"
    assert ops["conv"] + ops["conv_group"] > 50
    assert ops["norm_other"] == 0  # no block is mistaken for a normalization layer


@pytest.mark.slow
def test_random_sample_of_the_catalog_extracts() -> None:
    import random

    from archi2vec.catalog import extract
    from archi2vec.names import catalog_names

    names = random.Random(7).sample(catalog_names(), 25)
    ok = 0
    for n in names:
        try:
            g = extract(n)
        except Exception:
            continue
        _check_valid(g)
        ok += 1
    assert ok >= 24  # >= 95% coverage on a random sample
