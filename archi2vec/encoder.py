"""The archi2vec GNN: an architecture graph -> a d-dimensional vector.

A direction-aware GIN (Xu et al., "How Powerful are Graph Neural Networks?", ICLR 2019): every layer runs one
GIN convolution along the data flow and one against it and sums them, so a node sees both what feeds it and what
it feeds. The readout concatenates, for the input features and for every layer's node states (jumping knowledge,
Xu et al., ICML 2018), mean, max and log-sum pooling, plus the log node count; an MLP maps that to the
embedding. Log-sum pooling (log(1 + sum over nodes)) carries extensive quantities such as op counts, which drive
parameter and FLOP counts and which mean / max pooling lose. Sum aggregation, the pooling operators and node-wise
MLPs make the vector invariant to the order of the nodes.

The module is a plain :class:`torch.nn.Module`; it can be fine-tuned end to end inside a larger model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINConv, global_add_pool, global_max_pool, global_mean_pool

from archi2vec.ops import NUM_FEATURES


def _mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o))


def _pool(h: torch.Tensor, batch: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Mean, max and log-sum pooling of non-negative node states (N, c) -> 3 x (B, c)."""
    return [global_mean_pool(h, batch, size), global_max_pool(h, batch, size),
            torch.log1p(global_add_pool(h, batch, size))]


class Archi2VecEncoder(nn.Module):
    """Graph encoder producing one ``dim``-dimensional vector per architecture graph.

    Args:
        dim: Size of the embedding.
        hidden: Width of the node states.
        num_layers: Message-passing layers.
        in_features: Node feature size (``archi2vec.ops.NUM_FEATURES``).
    """

    def __init__(self, dim: int = 64, hidden: int = 32, num_layers: int = 2,
                 in_features: int = NUM_FEATURES) -> None:
        super().__init__()
        self.dim = dim
        self.hidden = hidden
        self.num_layers = num_layers
        self.in_features = in_features
        self.inp = nn.Linear(in_features, hidden)
        self.fwd = nn.ModuleList([GINConv(_mlp(hidden, hidden, hidden), train_eps=True) for _ in range(num_layers)])
        self.bwd = nn.ModuleList([GINConv(_mlp(hidden, hidden, hidden), train_eps=True) for _ in range(num_layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(num_layers)])
        readout = 3 * in_features + num_layers * 3 * hidden + 1
        self.head = _mlp(readout, 2 * hidden, dim)

    def config(self) -> dict[str, int]:
        """Constructor arguments, to rebuild the module from saved weights."""
        return {"dim": self.dim, "hidden": self.hidden, "num_layers": self.num_layers,
                "in_features": self.in_features}

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        """Embed a batch of graphs.

        Args:
            x: Node features, (N, in_features).
            edge_index: Data-flow edges (2, E), source -> target.
            batch: Graph index of every node, (N,); None for a single graph.

        Returns:
            (B, dim) embeddings.
        """
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        size = int(batch.max()) + 1 if batch.numel() else 1
        rev = edge_index.flip(0)
        pooled = _pool(x.clamp(min=0), batch, size)  # node features are >= 0 except the expansion ratio
        h = torch.relu(self.inp(x))
        for fwd, bwd, norm in zip(self.fwd, self.bwd, self.norms, strict=True):
            h = h + torch.relu(norm(fwd(h, edge_index) + bwd(h, rev)))  # residual keeps deep stacks stable; h >= 0
            pooled += _pool(h, batch, size)
        counts = torch.bincount(batch, minlength=size).to(x.dtype).clamp(min=1)
        pooled.append(torch.log(counts).unsqueeze(1) / math.log(1000.0))
        return self.head(torch.cat(pooled, dim=1))

    def embed_graphs(self, graphs: Sequence[Data], batch_size: int = 64) -> torch.Tensor:
        """Embed a list of graphs in eval mode without gradients; returns (len(graphs), dim) float32."""
        was_training = self.training
        self.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(graphs), batch_size):
                chunk = [Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes)
                         for g in graphs[i:i + batch_size]]
                b = Batch.from_data_list(chunk)
                out.append(self(b.x, b.edge_index, b.batch))
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, self.dim)
