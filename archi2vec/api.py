"""Public entry points: ``embed``, ``load_embeddings``, ``load_encoder``, ``train_and_export``.

Lookup order of :func:`embed`, cheapest first: the shipped precomputed embeddings (``data/archi2vec/
embeddings.npz``), the on-disk embedding cache, then graph (cached) + encoder, whose result is cached.

The shipped files are checked when read: a damaged or foreign ``encoder.pt`` or ``embeddings.npz`` is one
:class:`~fennec.validation.FennecInputError` naming the file and how to replace it, never a library's traceback
and never NaN vectors.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archi2vec import cache
from archi2vec.catalog import get_graphs, scan
from archi2vec.encoder import Archi2VecEncoder
from archi2vec.names import canonical_name, name_list
from fennec.io import NpzError, atomic_open, load_npz, write_json, write_npz
from fennec.validation import (
    FennecInputError,
    FennecInputWarning,
    check_fraction,
    check_output_file,
    check_path_option,
)

ENCODER_FILE = "encoder.pt"
EMBEDDINGS_FILE = "embeddings.npz"
FAILURES_FILE = "failures.json"
DATA_ENV = "ARCHI2VEC_DATA"


def data_dir() -> Path:
    """Directory of the shipped artefacts (``$ARCHI2VEC_DATA`` or ``<repo>/data/archi2vec``)."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[1] / "data" / "archi2vec"


def _first_line(exc: BaseException) -> str:
    # the first sentence: torch follows it with a paragraph of advice that would break the one-line message
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0].split('. ')[0]}"[:200]


def _scan_graphs() -> tuple[dict[str, Any], list[str], list[Any]]:
    """(cache status, names, graphs) of every readable cached graph; damaged files are left out with a warning,
    since they are not the user's to mend by hand (``archi2vec catalog`` extracts them again)."""
    status, found = scan(keep_graphs=True)
    if status["damaged"]:
        first = next(iter(status["damaged"].values()))
        warnings.warn(f"{len(status['damaged'])} cache entries are damaged and left out (first: {first}); run "
                      "`archi2vec catalog` to extract them again", cache.DamagedCacheWarning, stacklevel=3)
    return status, status["ok"], [found[n] for n in status["ok"]]


def _out_dir(out_dir: str | os.PathLike[str] | None, option: str) -> tuple[Path, str]:
    """(folder, how to name it in messages): the option when it was given, else the data folder's source."""
    path = check_path_option(out_dir, option, what="a folder", left_out="the data folder")
    if path is not None:
        return path, option
    return data_dir(), f"${DATA_ENV}" if os.environ.get(DATA_ENV) else "data folder"


def _existing(path: Path, what: str, option: str | None = None) -> Path:
    """``path`` when it is a file. A missing file is the user's mistake when their ``option`` named its folder
    (FennecInputError), an install without its data otherwise (FileNotFoundError)."""
    if path.is_file():
        return path
    if path.exists():
        raise FennecInputError(f"{what} {str(path)!r}: not a file; move it away and run `archi2vec train` to write "
                               f"{path.name} there")
    if option is not None:
        raise FennecInputError(f"{option} {str(path.parent)!r}: no {path.name} there; run `archi2vec train --out "
                               f"{path.parent}` first")
    raise FileNotFoundError(f"archi2vec {what} {str(path)!r} not found; run `archi2vec train` to make them")


def _damaged_file(path: Path, what: str, why: str, remake: str) -> FennecInputError:
    """One line: which shipped-style file is unusable, why, and how to replace it."""
    return FennecInputError(f"{what} {str(path)!r}: {why}; replace it with a good copy (the repository ships one "
                            f"in data/archi2vec) or {remake}")


@lru_cache(maxsize=4)
def _load_encoder_cached(path: str, mtime: float) -> tuple[Archi2VecEncoder, str]:
    p = Path(path)
    remake = f"write a new one with `archi2vec train --out {p.parent}`"
    try:
        raw = p.read_bytes()  # read once: the weights and their hash (the embedding cache's key)
    except OSError as exc:
        raise FennecInputError(f"encoder weights {path!r}: cannot be read ({exc.strerror or exc})") from None
    try:
        ckpt = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file raises an open set of types (RuntimeError, UnpicklingError, ...)
        raise _damaged_file(p, "encoder weights", f"not a torch checkpoint ({_first_line(exc)})", remake) from None
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("config"), dict)
            and isinstance(ckpt.get("state_dict"), dict)):
        raise _damaged_file(p, "encoder weights", "not an archi2vec encoder checkpoint (no config and state_dict "
                            "in it)", remake)
    try:
        enc = Archi2VecEncoder(**ckpt["config"])
        enc.load_state_dict(ckpt["state_dict"])
    except Exception as exc:  # a foreign config (TypeError) or weights of other shapes or names (RuntimeError)
        raise _damaged_file(p, "encoder weights", f"weights that do not fit the encoder ({_first_line(exc)})",
                            remake) from None
    if not all(torch.isfinite(t).all() for t in enc.state_dict().values() if t.is_floating_point()):
        raise _damaged_file(p, "encoder weights", "weights that are not finite (from a training run that "
                            "diverged)", remake)
    enc.eval()
    return enc, hashlib.sha256(raw).hexdigest()[:12]


def _encoder_and_tag(path: Path, option: str | None = None) -> tuple[Archi2VecEncoder, str]:
    p = _existing(path, "encoder weights", option)
    return _load_encoder_cached(str(p), p.stat().st_mtime)


def load_encoder(path: str | os.PathLike[str] | None = None) -> Archi2VecEncoder:
    """The trained encoder (eval mode; call ``.train()`` to fine-tune it end to end).

    Args:
        path: A checkpoint written by :func:`save_encoder`; default ``data/archi2vec/encoder.pt``.

    Raises:
        FileNotFoundError: no such file.
        FennecInputError: the file is not an encoder checkpoint (damaged, foreign, NaN weights).
    """
    return _encoder_and_tag(Path(path) if path is not None else data_dir() / ENCODER_FILE)[0]


def save_encoder(path: str | os.PathLike[str], encoder: Archi2VecEncoder, info: dict[str, Any] | None = None) -> None:
    """Write ``{config, state_dict, info}`` atomically."""
    with atomic_open(path, "wb") as fh:
        torch.save({"config": encoder.config(), "state_dict": encoder.state_dict(),
                    "info": json.loads(json.dumps(info or {}))}, fh)


@lru_cache(maxsize=4)
def _load_npz(path: str, mtime: float) -> tuple[list[str], np.ndarray, dict[str, int]]:
    p = Path(path)
    remake = (f"re-embed the cached graphs with `archi2vec export --out {p.parent}`, or embed without it "
              "(--no-precomputed)")
    try:
        z = load_npz(p)
    except NpzError as exc:
        raise _damaged_file(p, "embeddings", str(exc), remake) from None
    except OSError as exc:
        raise FennecInputError(f"embeddings {path!r}: cannot be read ({exc.strerror or exc})") from None
    names, vectors = z.get("names"), z.get("vectors")
    if names is None or vectors is None:
        raise _damaged_file(p, "embeddings", "no names and vectors arrays in it", remake)
    if names.ndim != 1 or names.dtype.kind != "U" or vectors.ndim != 2 or vectors.dtype.kind != "f" \
            or len(names) != len(vectors):
        raise _damaged_file(p, "embeddings", f"names of shape {names.shape} and vectors of shape {vectors.shape}, "
                            "expected N strings and (N, d) floats", remake)
    if not np.isfinite(vectors).all():
        raise _damaged_file(p, "embeddings", "vectors that are not finite", remake)
    name_list_ = [str(n) for n in names]
    vectors = vectors.astype(np.float32)
    vectors.setflags(write=False)
    return name_list_, vectors, {n: i for i, n in enumerate(name_list_)}


def _embeddings(path: Path) -> tuple[list[str], np.ndarray, dict[str, int]]:
    return _load_npz(str(path), path.stat().st_mtime)


def load_embeddings(path: str | os.PathLike[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Precomputed embeddings of the catalog: (canonical names, (N, d) float32 vectors).

    Raises:
        FileNotFoundError: no such file.
        FennecInputError: the file is not such embeddings (damaged, foreign, NaN).
    """
    p = _existing(Path(path) if path is not None else data_dir() / EMBEDDINGS_FILE, "embeddings")
    names, vectors, _ = _embeddings(p)
    return list(names), vectors.copy()


def embed(names: Sequence[str], *, encoder: Archi2VecEncoder | None = None, use_precomputed: bool = True,
          use_cache: bool = True, workers: int = 1) -> np.ndarray:
    """Embed architectures by name.

    Args:
        names: Architecture names: ``resnet50``, ``timm:resnet50.a1_in1k``, ``torchvision:alexnet``, ``googlenet``
            (one string is one name). Surrounding spaces are ignored; a name given twice gets its vector twice.
        encoder: Encoder to use; default the shipped one (then shipped embeddings are used when present).
        use_precomputed: Read the shipped embeddings when the default encoder is used.
        use_cache: Read / write the graph and embedding caches. A damaged cache entry is recomputed and
            overwritten (with a warning naming the file).
        workers: Processes extracting the graphs that are not cached (one torch thread each, at most one per core
            is useful). The first start in a process costs several seconds (a fork server imports torch and timm;
            about 7 s on a 2-core machine), so more than one pays from a few dozen architectures on. Scripts
            calling this with ``workers > 1`` need the usual ``if __name__ == "__main__":`` guard (the workers are
            started by a fork server).

    Returns:
        (len(names), d) float32.

    Raises:
        UnknownNameError: for a name that is neither a timm nor a torchvision architecture (close matches listed).
        FennecInputError: for a damaged ``encoder.pt`` or ``embeddings.npz``, or ``$ARCHI2VEC_CACHE`` naming a
            file.
    """
    canon = [canonical_name(n) for n in name_list(names)]
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
        _, vectors, shipped = _embeddings(emb_file)
        if vectors.shape[1] != encoder.dim:  # written by another encoder than the one beside it
            raise _damaged_file(emb_file, "embeddings", f"vectors of width {vectors.shape[1]}, but {ENCODER_FILE} "
                                f"beside it makes {encoder.dim}", f"re-embed with `archi2vec export --out "
                                f"{emb_file.parent}`, or embed without it (--no-precomputed)")
    missing: list[int] = []
    for i, c in enumerate(canon):
        if c in shipped:
            out[i] = vectors[shipped[c]]
            continue
        if use_cache:
            try:
                out[i] = cache.load_embedding(cache.embedding_path(tag, c), encoder.dim)
                continue
            except FileNotFoundError:
                pass
            except cache.DamagedCacheError as exc:  # recomputed below and overwritten
                cache.warn_damaged(exc)
        missing.append(i)
    if missing:
        todo = sorted({canon[i] for i in missing})
        graphs = get_graphs(todo, use_cache=use_cache, workers=workers)
        vecs = encoder.embed_graphs(graphs).numpy().astype(np.float32)
        by_name = dict(zip(todo, vecs, strict=True))
        if use_cache:
            for c, v in by_name.items():
                if np.isfinite(v).all():  # a reader would refuse it anyway
                    cache.write_entry(cache.embedding_path(tag, c), lambda p, v=v: cache.save_embedding(p, v))
        for i in missing:
            out[i] = by_name[canon[i]]
    return out


def cached_graphs() -> tuple[list[str], list[Any]]:
    """(names, graphs) of every architecture with a readable cached graph (damaged files are left out)."""
    _, names, graphs = _scan_graphs()
    return names, graphs


def _check_outputs(out: Path, option: str, files: Sequence[str]) -> None:
    """Each output file can be written: said before any work, not after it (a file in the way of the folder, a
    directory in the way of a file, a folder that takes no new entry)."""
    for f in files:
        check_output_file(out / f, option)


def _check_coverage(out: Path, option: str, names: Sequence[str], allow_fewer: bool) -> None:
    """Refuse to write an ``embeddings.npz`` that would drop architectures the file in ``out`` holds (the local
    cache often holds fewer graphs than the shipped file was made from), unless ``allow_fewer``."""
    if not names:
        raise FennecInputError(f"no cached graphs in {str(cache.graph_dir())!r} (${cache.ENV}); run `archi2vec "
                               "catalog` first to extract them")
    target = out / EMBEDDINGS_FILE
    if allow_fewer or not target.exists():
        return
    try:
        held, _, _ = _embeddings(target)
    except FennecInputError as exc:  # nothing readable to keep: the new file replaces it
        warnings.warn(f"{exc}; it is overwritten", FennecInputWarning, stacklevel=3)
        return
    dropped = sorted(set(held) - set(names))
    if dropped:
        raise FennecInputError(
            f"{option} {str(out)!r}: {EMBEDDINGS_FILE} holds {len(held)} architectures but only {len(names)} graphs "
            f"are cached, so {len(dropped)} of them (e.g. {dropped[0]}) would be dropped; run `archi2vec catalog` "
            f"first to extract the rest into {str(cache.graph_dir())!r}, or pass --allow-fewer (allow_fewer=True) "
            "to write the smaller file")


def _write_embeddings(out: Path, enc: Archi2VecEncoder, status: dict[str, Any], names: list[str],
                      graphs: list[Any]) -> dict[str, Any]:
    vectors = enc.embed_graphs(graphs).numpy().astype(np.float32)
    if not np.isfinite(vectors).all():  # never write what every reader refuses
        raise RuntimeError(f"the encoder gave vectors that are not finite; {EMBEDDINGS_FILE} was not written")
    write_npz(out / EMBEDDINGS_FILE, names=np.array(names), vectors=vectors)
    write_json(out / FAILURES_FILE, {"failures": status["failures"], "pending": status["pending"],
                                     "n_ok": len(status["ok"])})
    return {"n_embedded": len(names), "n_failed": len(status["failures"]), "n_pending": len(status["pending"])}


def export_embeddings(out_dir: str | os.PathLike[str] | None = None, *, encoder: Archi2VecEncoder | None = None,
                      names: list[str] | None = None, graphs: list[Any] | None = None, allow_fewer: bool = False,
                      option: str = "out_dir") -> dict[str, Any]:
    """Embed every cached graph with ``encoder`` (default: ``encoder.pt`` in ``out_dir``) and write
    ``embeddings.npz`` and ``failures.json`` (failures with reasons, architectures not yet extracted) to
    ``out_dir``.

    Args:
        out_dir: Folder to write (default ``$ARCHI2VEC_DATA`` or ``data/archi2vec``).
        encoder: Encoder to use instead of the one in ``out_dir``.
        names, graphs: Architectures to embed instead of every cached graph (both or neither).
        allow_fewer: Write ``embeddings.npz`` even when it would drop architectures the file there holds (by
            default that is refused: a partial local cache would silently shrink the shipped file).
        option: How to name ``out_dir`` in messages (the CLI passes ``--out``).

    Raises:
        FennecInputError: an unwritable output, no encoder in an ``out_dir`` that was given, a damaged encoder,
            no cached graph, or a smaller file without ``allow_fewer``; all before anything is written.
        FileNotFoundError: no encoder in the default data folder.
    """
    out, name = _out_dir(out_dir, option)
    _check_outputs(out, name, (EMBEDDINGS_FILE, FAILURES_FILE))
    if encoder is None:
        encoder = _encoder_and_tag(out / ENCODER_FILE, option if out_dir is not None else None)[0]
    if names is None or graphs is None:
        status, names, graphs = _scan_graphs()
    else:
        status = scan()[0]  # for failures.json
    _check_coverage(out, name, names, allow_fewer)
    return _write_embeddings(out, encoder, status, list(names), list(graphs))


def train_and_export(out_dir: str | os.PathLike[str] | None = None, *, test_fraction: float = 0.2,
                     log: Callable[[str], None] | None = print, allow_fewer: bool = False, option: str = "out_dir",
                     **train_kwargs: Any) -> dict[str, Any]:
    """Train the encoder on the cached catalog graphs outside the held-out split, then write ``encoder.pt``,
    ``embeddings.npz`` (every cached graph, held-out ones included) and ``failures.json`` to ``out_dir``.

    Args:
        out_dir: Folder to write (default ``$ARCHI2VEC_DATA`` or ``data/archi2vec``).
        test_fraction: Share of the architectures held out of training (by a hash of the name).
        log: Progress sink, or None.
        allow_fewer: Write ``embeddings.npz`` even when it would drop architectures the file there holds.
        option: How to name ``out_dir`` in messages (the CLI passes ``--out``).
        **train_kwargs: Passed to :func:`archi2vec.train.train_encoder`.

    Raises:
        FennecInputError: bad training options, an unwritable output, no cached graphs (or too few), or a smaller
            ``embeddings.npz`` without ``allow_fewer``; all before training.
        TrainingDivergedError: the loss stopped being finite; nothing is written.
    """
    from archi2vec.train import check_options, split_names, train_encoder

    out, name = _out_dir(out_dir, option)
    check_fraction(test_fraction, "test_fraction", high=0.9)
    bound = inspect.signature(train_encoder).bind((), log=log, **train_kwargs)  # TypeError for unknown options
    bound.apply_defaults()
    check_options(bound.arguments)  # bad values are said before the graphs are read and the model trained
    _check_outputs(out, name, (ENCODER_FILE, EMBEDDINGS_FILE, FAILURES_FILE))
    t0 = time.time()
    status, names, graphs = _scan_graphs()
    _check_coverage(out, name, names, allow_fewer)
    train_names, test_names = split_names(names, test_fraction)
    tr = set(train_names)
    train_graphs = [g for n, g in zip(names, graphs, strict=True) if n in tr]
    if len(train_graphs) < 2:  # a batch needs two graphs for the contrastive loss: nothing would be learnt
        raise FennecInputError(f"only {len(train_graphs)} of the {len(names)} cached graphs are outside the held-out "
                               f"split and training needs at least 2; run `archi2vec catalog` first to extract more")
    if log is not None:
        log(f"training on {len(train_graphs)} graphs ({len(test_names)} held out) loaded in {time.time() - t0:.1f} s")
    enc, info = train_encoder(train_graphs, log=log, **train_kwargs)
    info["test_fraction"] = test_fraction
    info["n_train"] = len(train_names)
    info["n_held_out"] = len(test_names)
    info["train_names_sha"] = hashlib.sha256("\n".join(train_names).encode()).hexdigest()[:12]
    save_encoder(out / ENCODER_FILE, enc, info)
    _write_embeddings(out, enc, status, names, graphs)
    return {"n_train": len(train_names), "n_held_out": len(test_names), "n_embedded": len(names),
            "seconds": round(time.time() - t0, 1), "epochs_run": info["epochs_run"]}
