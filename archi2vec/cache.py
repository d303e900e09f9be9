"""On-disk cache of graphs and embeddings.

Layout (root: ``$ARCHI2VEC_CACHE``, default ``~/.cache/fennec/archi2vec``)::

    graphs-timm<timm version>-a2v<archi2vec version>/<source>__<arch>.npz        a graph
    graphs-timm<timm version>-a2v<archi2vec version>/<source>__<arch>.fail.json  why extraction failed
    emb-timm<timm version>-a2v<archi2vec version>-<weights hash>/<source>__<arch>.npy

so a new timm, a new archi2vec (op vocabulary) or new encoder weights never read stale entries. Every write is
atomic (:mod:`fennec.io`), so an interrupted catalog run leaves only complete files and resumes where it stopped.

Every read checks what it reads: a file that is not what it should be (truncated, junk, an array of the wrong
shape, NaN) raises :class:`DamagedCacheError`, and the callers treat the entry as missing (it is recomputed and
overwritten) with a :class:`DamagedCacheWarning` naming the file: a cache is only ever a shortcut, so a bad entry
must cost time, never a traceback or a wrong answer.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from archi2vec.ops import NUM_FEATURES
from fennec.io import NpzError, atomic_open, load_npz, write_json, write_npz
from fennec.validation import FennecInputError

GRAPH_META_KEYS = ("trace_path", "n_params", "flops", "depth", "input_size", "name", "family", "fx_error")
ENV = "ARCHI2VEC_CACHE"


class DamagedCacheError(ValueError):
    """A cache file that cannot be read as the entry it should hold; the message names the file and why."""


class CacheWarning(UserWarning):
    """The cache could not be used as usual; the work goes on without it."""


class DamagedCacheWarning(CacheWarning):
    """A damaged cache entry was ignored (and will be overwritten when it is recomputed)."""


def cache_root() -> Path:
    """Root of the archi2vec cache (``$ARCHI2VEC_CACHE`` or ``~/.cache/fennec/archi2vec``); not created here.

    Raises:
        FennecInputError: ``$ARCHI2VEC_CACHE`` names a file: said before any work whose result the cache could not
            keep (every write under it would fail).
    """
    env = os.environ.get(ENV)
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "fennec" / "archi2vec"
    if root.exists() and not root.is_dir():
        raise FennecInputError(f"${ENV} {str(root)!r}: is a file, not a folder; point {ENV} at a folder (or unset "
                               "it for ~/.cache/fennec/archi2vec)")
    return root


@lru_cache(maxsize=1)
def _versions() -> str:
    import timm

    from archi2vec import __version__

    return f"timm{timm.__version__}-a2v{__version__}"


def graph_dir() -> Path:
    """Folder of the graph entries of this timm and archi2vec version."""
    return cache_root() / f"graphs-{_versions()}"


def embedding_dir(weights_tag: str) -> Path:
    """Folder of the embeddings made by the encoder weights whose hash is ``weights_tag``."""
    return cache_root() / f"emb-{_versions()}-{weights_tag}"


def _file_stem(canonical: str) -> str:
    return canonical.replace(":", "__").replace("/", "_")


def graph_path(canonical: str) -> Path:
    """Where the graph of a canonical name is cached."""
    return graph_dir() / f"{_file_stem(canonical)}.npz"


def failure_path(canonical: str) -> Path:
    """Where the failed extraction of a canonical name is recorded."""
    return graph_dir() / f"{_file_stem(canonical)}.fail.json"


def embedding_path(weights_tag: str, canonical: str) -> Path:
    """Where the embedding of a canonical name by the weights ``weights_tag`` is cached."""
    return embedding_dir(weights_tag) / f"{_file_stem(canonical)}.npy"


def check_writable() -> Path:
    """Check, before any work, that the graph cache folder can be made and takes new files.

    Returns:
        The graph folder.

    Raises:
        FennecInputError: naming ``$ARCHI2VEC_CACHE``, the folder and the system's reason.
    """
    from fennec.validation import check_can_write_in, check_output_parent

    folder = graph_dir()
    probe = folder / "entry"  # the checks look at the folder a file named like this would go in
    check_output_parent(probe, f"${ENV}")
    check_can_write_in(probe, f"${ENV}")
    return folder


def damaged(path: str | os.PathLike[str], why: str) -> DamagedCacheError:
    """The one wording of a damaged entry."""
    return DamagedCacheError(f"damaged cache file {str(path)!r} ({why})")


def warn_damaged(exc: DamagedCacheError, *, stacklevel: int = 3) -> None:
    """Warn that a damaged entry is ignored and will be recomputed."""
    warnings.warn(f"{exc}; ignored, it is recomputed and overwritten", DamagedCacheWarning, stacklevel=stacklevel)


def write_entry(path: Path, write: Callable[[Path], None]) -> None:
    """Write a cache entry with ``write(path)``; a cache that cannot take it is warned about once per folder and
    the run goes on (:func:`fennec.tasks.cache.writing_cache`, which fennec's own caches use)."""
    from fennec.tasks.cache import writing_cache

    with writing_cache(path, env=ENV, category=CacheWarning):
        write(path)


def save_graph(path: str | os.PathLike[str], data: Data) -> None:
    """Write a graph as ``.npz`` (x float32, edge_index int32, meta as a JSON string), atomically."""
    meta = {k: getattr(data, k, None) for k in GRAPH_META_KEYS}
    for k in ("n_params", "flops"):
        meta[k] = None if meta[k] is None or not np.isfinite(meta[k]) else float(meta[k])
    write_npz(path, x=data.x.numpy().astype(np.float32), edge_index=data.edge_index.numpy().astype(np.int32),
              meta=np.array(json.dumps(meta)))


def _graph_arrays(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The checked arrays and metadata of a graph file, or DamagedCacheError saying what is wrong."""
    try:
        z = load_npz(path)  # never unpickles; a junk, empty or truncated file is an NpzError
    except NpzError as exc:
        raise damaged(path, f"not a graph archive: {exc}") from None
    missing = [k for k in ("x", "edge_index", "meta") if k not in z]
    if missing:
        raise damaged(path, f"no {', '.join(missing)} array in it")
    x, ei, meta_arr = z["x"], z["edge_index"], z["meta"]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != NUM_FEATURES or x.dtype.kind != "f":
        raise damaged(path, f"node features of shape {x.shape} and type {x.dtype}, expected (N, {NUM_FEATURES}) "
                            "floats")
    if not np.isfinite(x).all():
        raise damaged(path, "node features that are not finite")
    if ei.ndim != 2 or ei.shape[0] != 2 or ei.dtype.kind not in "iu":
        raise damaged(path, f"edges of shape {ei.shape} and type {ei.dtype}, expected (2, E) integers")
    if ei.size and (ei.min() < 0 or ei.max() >= x.shape[0]):
        raise damaged(path, f"edges that point outside the {x.shape[0]} nodes")
    try:
        meta = json.loads(str(meta_arr)) if meta_arr.ndim == 0 else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise damaged(path, "its metadata is not a JSON object")
    for k in ("n_params", "flops"):
        v = meta.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
            raise damaged(path, f"metadata {k}={v!r}, expected a number or null")
    depth = meta.get("depth")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)):
        raise damaged(path, f"metadata depth={depth!r}, expected an integer")
    return x, ei, meta


def load_graph(path: str | os.PathLike[str]) -> Data:
    """Read a graph written by :func:`save_graph`.

    Raises:
        FileNotFoundError: no such file.
        DamagedCacheError: the file is not such a graph (truncated, junk, wrong shapes, not finite).
    """
    x, ei, meta = _graph_arrays(path)
    data = Data(x=torch.from_numpy(x.astype(np.float32)), edge_index=torch.from_numpy(ei.astype(np.int64)))
    data.num_nodes = int(x.shape[0])
    for k, v in meta.items():
        if k in ("n_params", "flops") and v is None:
            v = float("nan")
        setattr(data, k, v)
    return data


def cached_graph(canonical: str) -> Data | None:
    """The cached graph of a canonical name; None when there is none or it is damaged (with a warning)."""
    try:
        return load_graph(graph_path(canonical))
    except FileNotFoundError:
        return None
    except DamagedCacheError as exc:
        warn_damaged(exc)
        return None


def save_failure(canonical: str, reason: str, seconds: float) -> None:
    """Record why the extraction of ``canonical`` failed."""
    write_json(failure_path(canonical), {"name": canonical, "reason": reason, "seconds": round(seconds, 3)})


def load_failure(canonical: str) -> dict[str, Any] | None:
    """The recorded failure of ``canonical`` (``name``, ``reason``, ``seconds``), None when there is none.

    Raises:
        DamagedCacheError: the record is not a JSON object with a string ``reason``.
    """
    p = failure_path(canonical)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(p, f"cannot be read: {exc}") from None
    try:
        record = json.loads(text)
    except ValueError:
        raise damaged(p, "not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("reason"), str):
        raise damaged(p, "no failure reason in it") from None
    return record


def save_embedding(path: Path, vector: np.ndarray) -> None:
    """Write one embedding as ``.npy``, atomically."""
    with atomic_open(path, "wb") as fh:
        np.save(fh, np.asarray(vector, dtype=np.float32))


def load_embedding(path: str | os.PathLike[str], dim: int) -> np.ndarray:
    """A cached embedding: (dim,) float32, finite.

    Raises:
        FileNotFoundError: no such file.
        DamagedCacheError: the file is not such a vector (junk, empty, truncated, another shape, NaN).
    """
    try:
        vec = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:  # numpy reads junk as a pickle (refused) or runs out of bytes
        line = (str(exc).splitlines() or [""])[0]
        raise damaged(path, "not a .npy array" + ("" if "pickle" in line else f": {line}")) from None
    if isinstance(vec, np.lib.npyio.NpzFile):  # an .npz archive under the .npy name
        vec.close()
        raise damaged(path, "an .npz archive, expected one .npy array")
    if not isinstance(vec, np.ndarray) or vec.shape != (dim,) or vec.dtype.kind != "f":
        raise damaged(path, f"an array of shape {getattr(vec, 'shape', None)}, expected ({dim},) floats")
    if not np.isfinite(vec).all():
        raise damaged(path, "values that are not finite")
    return vec.astype(np.float32)
