"""archi2vec: architecture graphs and a GNN encoder that embeds a network from its architecture alone.

Public API::

    import archi2vec
    data = archi2vec.graph_from_timm("resnet50")           # torch_geometric Data, data.trace_path == "fx"
    vecs = archi2vec.embed(["timm:resnet50.a1_in1k", "torchvision:alexnet"])   # (2, 64) float32
    names, vectors = archi2vec.load_embeddings()            # the whole catalog, precomputed
    enc = archi2vec.load_encoder()                          # Archi2VecEncoder (torch.nn.Module), trainable
"""

__version__ = "0.1.0"

import warnings

with warnings.catch_warnings():
    # Importing torch_geometric scripts a few of its helpers with torch.jit.script, which this torch deprecates
    # with a FutureWarning; it would be printed by every command that embeds an architecture and says nothing
    # about the user's input, so the import is done here, once, without it.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    import torch_geometric.nn  # noqa: F401

from archi2vec.api import embed, load_embeddings, load_encoder, save_encoder, train_and_export
from archi2vec.catalog import build_catalog, catalog_status, get_graph
from archi2vec.encoder import Archi2VecEncoder
from archi2vec.graph import GraphExtractionError, graph_from_module, graph_from_timm, graph_from_torchvision
from archi2vec.names import canonical_name, catalog_names
from archi2vec.ops import NUM_FEATURES, OPS

__all__ = [
    "NUM_FEATURES",
    "OPS",
    "Archi2VecEncoder",
    "GraphExtractionError",
    "__version__",
    "build_catalog",
    "canonical_name",
    "catalog_names",
    "catalog_status",
    "embed",
    "get_graph",
    "graph_from_module",
    "graph_from_timm",
    "graph_from_torchvision",
    "load_embeddings",
    "load_encoder",
    "save_encoder",
    "train_and_export",
]
