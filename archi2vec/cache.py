"""On-disk cache of graphs and embeddings.

Layout (root: ``$ARCHI2VEC_CACHE``, default ``~/.cache/fennec/archi2vec``)::

    graphs-timm<timm version>-a2v<archi2vec version>/<source>__<arch>.npz        a graph
    graphs-timm<timm version>-a2v<archi2vec version>/<source>__<arch>.fail.json  why extraction failed
    emb-timm<timm version>-a2v<archi2vec version>-<weights hash>/<source>__<arch>.npy

so a new timm, a new archi2vec (op vocabulary) or new encoder weights never read stale entries. Every write is
atomic (:mod:`fennec.io`), so an interrupted catalog run leaves only complete files and resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from fennec.io import atomic_open, write_json, write_npz

GRAPH_META_KEYS = ("trace_path", "n_params", "flops", "depth", "input_size", "name", "family", "fx_error")


def cache_root() -> Path:
    """Root of the archi2vec cache (``$ARCHI2VEC_CACHE`` or ``~/.cache/fennec/archi2vec``)."""
    env = os.environ.get("ARCHI2VEC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fennec" / "archi2vec"


@lru_cache(maxsize=1)
def _versions() -> str:
    import timm

    from archi2vec import __version__

    return f"timm{timm.__version__}-a2v{__version__}"


def graph_dir() -> Path:
    return cache_root() / f"graphs-{_versions()}"


def embedding_dir(weights_tag: str) -> Path:
    return cache_root() / f"emb-{_versions()}-{weights_tag}"


def _file_stem(canonical: str) -> str:
    return canonical.replace(":", "__").replace("/", "_")


def graph_path(canonical: str) -> Path:
    return graph_dir() / f"{_file_stem(canonical)}.npz"


def failure_path(canonical: str) -> Path:
    return graph_dir() / f"{_file_stem(canonical)}.fail.json"


def embedding_path(weights_tag: str, canonical: str) -> Path:
    return embedding_dir(weights_tag) / f"{_file_stem(canonical)}.npy"


def save_graph(path: str | os.PathLike[str], data: Data) -> None:
    """Write a graph as ``.npz`` (x float32, edge_index int32, meta as a JSON string), atomically."""
    meta = {k: getattr(data, k, None) for k in GRAPH_META_KEYS}
    for k in ("n_params", "flops"):
        meta[k] = None if meta[k] is None or not np.isfinite(meta[k]) else float(meta[k])
    write_npz(path, x=data.x.numpy().astype(np.float32), edge_index=data.edge_index.numpy().astype(np.int32),
              meta=np.array(json.dumps(meta)))


def load_graph(path: str | os.PathLike[str]) -> Data:
    """Read a graph written by :func:`save_graph`."""
    with np.load(path, allow_pickle=False) as z:
        x = torch.from_numpy(z["x"].astype(np.float32))
        edge_index = torch.from_numpy(z["edge_index"].astype(np.int64))
        meta: dict[str, Any] = json.loads(str(z["meta"]))
    data = Data(x=x, edge_index=edge_index)
    data.num_nodes = int(x.shape[0])
    for k, v in meta.items():
        if k in ("n_params", "flops") and v is None:
            v = float("nan")
        setattr(data, k, v)
    return data


def save_failure(canonical: str, reason: str, seconds: float) -> None:
    write_json(failure_path(canonical), {"name": canonical, "reason": reason, "seconds": round(seconds, 3)})


def load_failure(canonical: str) -> dict[str, Any] | None:
    p = failure_path(canonical)
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def save_embedding(path: Path, vector: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, np.asarray(vector, dtype=np.float32))
