"""Encoder: shapes, node-order invariance, batching, determinism of training, end-to-end gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from archi2vec.baseline import FEATURE_NAMES, handcrafted_matrix
from archi2vec.encoder import Archi2VecEncoder
from archi2vec.ops import NUM_FEATURES
from archi2vec.train import split_names, train_encoder


def _permute(g: Data, perm: torch.Tensor) -> Data:
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    # new node i is old node perm[i]; an edge (a, b) becomes (inv[a], inv[b])
    return Data(x=g.x[perm], edge_index=inv[g.edge_index], num_nodes=g.num_nodes)


@pytest.mark.parametrize("dim", [64, 16])
def test_output_shape(resnet18_graph, dim: int) -> None:
    torch.manual_seed(0)
    enc = Archi2VecEncoder(dim=dim)
    out = enc.embed_graphs([resnet18_graph, resnet18_graph])
    assert out.shape == (2, dim) and out.dtype == torch.float32
    assert torch.allclose(out[0], out[1])


def test_node_order_invariance(small_graphs) -> None:
    torch.manual_seed(0)
    enc = Archi2VecEncoder().eval()
    gen = torch.Generator().manual_seed(1)
    for g in small_graphs:
        perm = torch.randperm(g.num_nodes, generator=gen)
        with torch.no_grad():
            a = enc(g.x, g.edge_index)
            b = enc(*(lambda p: (p.x, p.edge_index))(_permute(g, perm)))
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (g.name, (a - b).abs().max())


def test_batched_equals_single(small_graphs) -> None:
    torch.manual_seed(0)
    enc = Archi2VecEncoder().eval()
    batched = enc.embed_graphs(small_graphs, batch_size=4)
    with torch.no_grad():
        single = torch.cat([enc(g.x, g.edge_index) for g in small_graphs])
    assert torch.allclose(batched, single, atol=1e-5)


def test_direction_matters() -> None:
    # a chain conv -> relu -> linear and its reverse get different vectors: the encoder sees data flow direction
    torch.manual_seed(0)
    x = torch.eye(3, NUM_FEATURES)
    enc = Archi2VecEncoder().eval()
    with torch.no_grad():
        a = enc(x, torch.tensor([[0, 1], [1, 2]]))
        b = enc(x, torch.tensor([[1, 2], [0, 1]]))
    assert not torch.allclose(a, b)


def test_gradients_reach_every_parameter(small_graphs) -> None:
    torch.manual_seed(0)
    enc = Archi2VecEncoder(dim=8)
    b = Batch.from_data_list([Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes) for g in small_graphs[:2]])
    enc(b.x, b.edge_index, b.batch).pow(2).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_training_is_deterministic_and_learns(small_graphs) -> None:
    kw = {"dim": 8, "hidden": 16, "num_layers": 2, "epochs": 6, "batch_size": 3, "seed": 3, "log": None}
    enc1, info1 = train_encoder(small_graphs, **kw)
    enc2, info2 = train_encoder(small_graphs, **kw)
    for (k, a), (_, b) in zip(enc1.state_dict().items(), enc2.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    def strip(h):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in h]

    assert strip(info1["history"]) == strip(info2["history"])
    assert info1["families"] == sorted({g.family for g in small_graphs})
    assert info1["history"][-1]["loss"] < info1["history"][0]["loss"]


def test_split_is_stable_and_disjoint() -> None:
    names = [f"timm:arch{i}" for i in range(500)]
    tr, te = split_names(names)
    assert not set(tr) & set(te) and len(tr) + len(te) == 500
    assert 60 < len(te) < 140
    assert split_names(names) == (tr, te)


def test_handcrafted_features(small_graphs) -> None:
    m = handcrafted_matrix(small_graphs)
    assert m.shape == (len(small_graphs), len(FEATURE_NAMES))
    assert np.isfinite(m).all()
