"""Hand-crafted architecture features, the baseline the GNN has to beat.

Per graph: log counts of every op type, log node / edge counts, depth, and width statistics (log channels of the
convolution / linear nodes: mean, std, min, max), kernel and stride statistics, the depthwise / grouped fractions
and the spatial resolution range. No parameter or FLOP counts (those are regression targets).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch_geometric.data import Data

from archi2vec.ops import ATTRS, N_OPS, OPS, WEIGHTED_OPS

_A = {a: N_OPS + i for i, a in enumerate(ATTRS)}
_WEIGHTED = [OPS.index(o) for o in sorted(WEIGHTED_OPS)]

FEATURE_NAMES: tuple[str, ...] = (
    *(f"log_count_{o}" for o in OPS),
    "log_nodes", "log_edges", "log_depth",
    "cout_mean", "cout_std", "cout_min", "cout_max",
    "kernel_mean", "kernel_max", "strided_count", "depthwise_frac", "grouped_frac",
    "spatial_max", "spatial_min",
)


def handcrafted_features(g: Data) -> np.ndarray:
    """(len(FEATURE_NAMES),) float64 features of one graph."""
    x = g.x.numpy() if hasattr(g.x, "numpy") else np.asarray(g.x)
    counts = x[:, :N_OPS].sum(axis=0)
    weighted = x[:, _WEIGHTED].sum(axis=1) > 0
    w = x[weighted] if weighted.any() else x[:1]
    cout = w[:, _A["log_cout"]] * 12.0
    kernel = 2.0 ** (w[:, _A["kernel"]] * 3.0)
    spatial = x[:, _A["log_spatial"]] * 16.0
    spatial = spatial[spatial > 0] if (spatial > 0).any() else np.zeros(1)
    feats = [
        *np.log1p(counts),
        np.log1p(x.shape[0]), np.log1p(g.edge_index.shape[1]), np.log1p(float(getattr(g, "depth", 0) or 0)),
        cout.mean(), cout.std(), cout.min(), cout.max(),
        kernel.mean(), kernel.max(), np.log1p((w[:, _A["stride"]] > 0).sum()),
        w[:, _A["depthwise"]].mean(), w[:, _A["grouped"]].mean(),
        spatial.max(), spatial.min(),
    ]
    return np.asarray(feats, dtype=np.float64)


def handcrafted_matrix(graphs: Sequence[Data]) -> np.ndarray:
    """(N, len(FEATURE_NAMES)) float64."""
    return np.stack([handcrafted_features(g) for g in graphs])
