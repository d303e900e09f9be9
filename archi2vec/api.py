"""Public entry points: ``embed``, ``load_embeddings``, ``load_encoder``, ``train_and_export``.

Lookup order of :func:`embed`, cheapest first: the shipped precomputed embeddings (``data/archi2vec/
embeddings.npz``), the on-disk embedding cache, then graph (cached) + encoder, whose result is cached.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archi2vec import cache
from archi2vec.catalog import catalog_status, get_graphs
from archi2vec.encoder import Archi2VecEncoder
from archi2vec.names import canonical_name
from fennec.io import atomic_open, write_json, write_npz

ENCODER_FILE = "encoder.pt"
EMBEDDINGS_FILE = "embeddings.npz"
FAILURES_FILE = "failures.json"


def data_dir() -> Path:
    """Directory of the shipped artefacts (``$ARCHI2VEC_DATA`` or ``<repo>/data/archi2vec``)."""
    env = os.environ.get("ARCHI2VEC_DATA")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[1] / "data" / "archi2vec"


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"archi2vec {what} {str(path)!r} not found; run `archi2vec train` to make them")
    return path


@lru_cache(maxsize=4)
def _load_encoder_cached(path: str, mtime: float) -> tuple[Archi2VecEncoder, str]:
    raw = Path(path).read_bytes()  # read once: the weights and their hash (the embedding cache's key)
    ckpt = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    enc = Archi2VecEncoder(**ckpt["config"])
    enc.load_state_dict(ckpt["state_dict"])
    enc.eval()
    return enc, hashlib.sha256(raw).hexdigest()[:12]


def _encoder_and_tag(path: Path) -> tuple[Archi2VecEncoder, str]:
    p = _existing(path, "encoder weights")
    return _load_encoder_cached(str(p), p.stat().st_mtime)


def load_encoder(path: str | os.PathLike[str] | None = None) -> Archi2VecEncoder:
    """The trained encoder (eval mode; call ``.train()`` to fine-tune it end to end).

    Args:
        path: A checkpoint written by :func:`save_encoder`; default ``data/archi2vec/encoder.pt``.
    """
    return _encoder_and_tag(Path(path) if path is not None else data_dir() / ENCODER_FILE)[0]


def save_encoder(path: str | os.PathLike[str], encoder: Archi2VecEncoder, info: dict[str, Any] | None = None) -> None:
    """Write ``{config, state_dict, info}`` atomically."""
    with atomic_open(path, "wb") as fh:
        torch.save({"config": encoder.config(), "state_dict": encoder.state_dict(),
                    "info": json.loads(json.dumps(info or {}))}, fh)


@lru_cache(maxsize=4)
def _load_npz(path: str, mtime: float) -> tuple[list[str], np.ndarray, dict[str, int]]:
    with np.load(path, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        vectors = z["vectors"].astype(np.float32)
    vectors.setflags(write=False)
    return names, vectors, {n: i for i, n in enumerate(names)}


def load_embeddings(path: str | os.PathLike[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Precomputed embeddings of the catalog: (canonical names, (N, d) float32 vectors)."""
    p = _existing(Path(path) if path is not None else data_dir() / EMBEDDINGS_FILE, "embeddings")
    names, vectors, _ = _load_npz(str(p), p.stat().st_mtime)
    return list(names), vectors.copy()


def embed(names: Sequence[str], *, encoder: Archi2VecEncoder | None = None, use_precomputed: bool = True,
          use_cache: bool = True, workers: int = 1) -> np.ndarray:
    """Embed architectures by name.

    Args:
        names: Architecture names: ``resnet50``, ``timm:resnet50.a1_in1k``, ``torchvision:alexnet``, ``googlenet``.
        encoder: Encoder to use; default the shipped one (then shipped embeddings are used when present).
        use_precomputed: Read the shipped embeddings when the default encoder is used.
        use_cache: Read / write the graph and embedding caches.
        workers: Processes extracting the graphs that are not cached (one torch thread each, at most one per core
            is useful). The first start in a process costs several seconds (a fork server imports torch and timm;
            about 7 s on a 2-core machine), so more than one pays from a few dozen architectures on. Scripts
            calling this with ``workers > 1`` need the usual ``if __name__ == "__main__":`` guard (the workers are
            started by a fork server).

    Returns:
        (len(names), d) float32.

    Raises:
        UnknownNameError: for a name that is neither a timm nor a torchvision architecture (close matches listed).
    """
    if isinstance(names, str):
        names = [names]
    canon = [canonical_name(n) for n in names]
    default = encoder is None
    if default:
        encoder, tag = _encoder_and_tag(data_dir() / ENCODER_FILE)
    else:
        tag = "custom"
        use_cache = False  # no stable key for an arbitrary encoder
    out = np.zeros((len(canon), encoder.dim), dtype=np.float32)
    shipped: dict[str, int] = {}
    vectors = np.zeros((0, encoder.dim), dtype=np.float32)
    emb_file = data_dir() / EMBEDDINGS_FILE
    if default and use_precomputed and emb_file.exists():
        _, vectors, shipped = _load_npz(str(emb_file), emb_file.stat().st_mtime)
    missing: list[int] = []
    for i, c in enumerate(canon):
        if c in shipped:
            out[i] = vectors[shipped[c]]
            continue
        p = cache.embedding_path(tag, c)
        if use_cache and p.exists():
            out[i] = np.load(p)
            continue
        missing.append(i)
    if missing:
        todo = sorted({canon[i] for i in missing})
        graphs = get_graphs(todo, use_cache=use_cache, workers=workers)
        vecs = encoder.embed_graphs(graphs).numpy().astype(np.float32)
        by_name = dict(zip(todo, vecs, strict=True))
        if use_cache:
            for c, v in by_name.items():
                cache.save_embedding(cache.embedding_path(tag, c), v)
        for i in missing:
            out[i] = by_name[canon[i]]
    return out


def _load_cached(names: Sequence[str]) -> list[Any]:
    return [cache.load_graph(cache.graph_path(n)) for n in names]


def cached_graphs() -> tuple[list[str], list[Any]]:
    """(names, graphs) of every architecture with a cached graph."""
    ok = catalog_status()["ok"]
    return ok, _load_cached(ok)


def export_embeddings(out_dir: str | os.PathLike[str] | None = None, *, encoder: Archi2VecEncoder | None = None,
                      names: list[str] | None = None, graphs: list[Any] | None = None) -> dict[str, Any]:
    """Embed every cached graph with ``encoder`` (default: the shipped one) and write ``embeddings.npz`` and
    ``failures.json`` (failures with reasons, architectures not yet extracted) to ``out_dir``."""
    out = Path(out_dir) if out_dir is not None else data_dir()
    enc = encoder if encoder is not None else load_encoder(out / ENCODER_FILE)
    status = catalog_status()  # one scan of the cache: the graphs to embed (by default) and the failures file
    if names is None or graphs is None:
        names = status["ok"]
        graphs = _load_cached(names)
    vectors = enc.embed_graphs(graphs).numpy().astype(np.float32)
    write_npz(out / EMBEDDINGS_FILE, names=np.array(names), vectors=vectors)
    write_json(out / FAILURES_FILE, {"failures": status["failures"], "pending": status["pending"],
                                     "n_ok": len(status["ok"])})
    return {"n_embedded": len(names), "n_failed": len(status["failures"]), "n_pending": len(status["pending"])}


def train_and_export(out_dir: str | os.PathLike[str] | None = None, *, test_fraction: float = 0.2,
                     log: Callable[[str], None] | None = print, **train_kwargs: Any) -> dict[str, Any]:
    """Train the encoder on the cached catalog graphs outside the held-out split, then write ``encoder.pt``,
    ``embeddings.npz`` (every cached graph, held-out ones included) and ``failures.json`` to ``out_dir``."""
    from archi2vec.train import split_names, train_encoder

    out = Path(out_dir) if out_dir is not None else data_dir()
    t0 = time.time()
    names, graphs = cached_graphs()
    train_names, test_names = split_names(names, test_fraction)
    tr = set(train_names)
    train_graphs = [g for n, g in zip(names, graphs, strict=True) if n in tr]
    if log is not None:
        log(f"training on {len(train_graphs)} graphs ({len(test_names)} held out) loaded in {time.time() - t0:.1f} s")
    enc, info = train_encoder(train_graphs, log=log, **train_kwargs)
    info["test_fraction"] = test_fraction
    info["n_train"] = len(train_names)
    info["n_held_out"] = len(test_names)
    info["train_names_sha"] = hashlib.sha256("\n".join(train_names).encode()).hexdigest()[:12]
    save_encoder(out / ENCODER_FILE, enc, info)
    export_embeddings(out, encoder=enc, names=names, graphs=graphs)
    return {"n_train": len(train_names), "n_held_out": len(test_names), "n_embedded": len(names),
            "seconds": round(time.time() - t0, 1), "epochs_run": info["epochs_run"]}
