"""Saving and loading a fitted :class:`~fennec.space.space.TransferSpace` as a directory, atomically.

Layout: ``manifest.json`` (versions, records hash, sizes, training summary), ``config.json`` (hyper-parameters),
``space.npz`` (model ids and folded vectors, protocol offsets, historical task vectors, results history, text
PCA), ``tower.pt`` (the towers' weights, to featurize new tasks and cold-start models), ``meta.json`` (task cards
and model metadata) and ``index.faiss``. The directory is written beside its destination and renamed over it,
so a reader never sees half a space.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from fennec.io import current_umask, write_json
from fennec.space.columns import ImageBasis
from fennec.space.index import ModelIndex
from fennec.space.net import TransferNet
from fennec.space.space import TransferSpace
from fennec.validation import FennecInputError, check_can_write_in, check_output_parent, write_refused

FORMAT = "fennec-space-v4"
#: What :func:`save_space` writes in a space directory (and all it may hold: the directory is replaced whole).
SPACE_FILES = frozenset({"config.json", "index.faiss", "manifest.json", "meta.json", "space.npz", "tower.pt"})


def default_space_dir() -> Path:
    """The shipped default space: ``data/space`` (env ``FENNEC_SPACE`` overrides)."""
    from fennec.records.aliases import data_dir

    env = os.environ.get("FENNEC_SPACE")
    return Path(env) if env else data_dir() / "space"


def _versions() -> dict[str, str]:
    import faiss
    import timm

    import fennec

    return {"fennec": fennec.__version__, "torch": torch.__version__, "timm": timm.__version__,
            "faiss": faiss.__version__, "numpy": np.__version__}


def check_space_dir(out_dir: str | os.PathLike[str], name: str = "--out", *, create: bool = False,
                    try_write: bool = True) -> Path:
    """``out_dir`` as a place to write a space: new, empty, or holding a space (which is replaced), in a folder
    that exists or can be made; anything else (an empty path, a file, a folder of other things, a parent that is
    a file) is refused, since writing a space replaces the whole directory.

    Args:
        out_dir: The space directory to write.
        name: The option that gave it (``--out`` of train, ``--space`` of zoo add).
        create: Make the folder it goes in (else nothing is created).
        try_write: Make and remove a trial entry there (:func:`~fennec.validation.check_can_write_in`); False for
            a writer whose own temporary folder, made next, is that trial.

    Raises:
        FennecInputError: naming the path and what to do instead.
    """
    out = check_output_parent(out_dir, name, create=create)  # before minutes of training, not after
    if out.is_symlink():
        # the space goes where the link points: replacing the link itself left its target stale and a dangling
        # link to the old space behind
        out = Path(os.path.realpath(out))
    if try_write:  # /proc, a read-only mount or a full disk refuse what permission bits allow
        check_can_write_in(out, name)
    if not out.exists():
        return out
    if not out.is_dir():
        raise FennecInputError(f"{name} {str(out)!r}: is a file, not a space directory; give a new directory")
    if os.path.ismount(out):  # a volume: the new space is renamed over the directory, which a mount point refuses
        raise FennecInputError(f"{name} {str(out)!r}: is a mount point, which cannot be replaced by a new space "
                               f"directory; give a folder inside it, e.g. {str(out / 'space')!r}")
    entries = sorted(e.name for e in out.iterdir())
    if not entries:
        return out
    manifest = out / "manifest.json"
    if not manifest.is_file():
        raise FennecInputError(f"{name} {str(out)!r}: holds files but no trained space (no fennec manifest.json); "
                               "writing a space replaces the whole directory, so give a new or empty one")
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise FennecInputError(f"{name} {str(out)!r}: its manifest.json cannot be read ({' '.join(str(exc).split())})"
                               "; if the folder is a damaged fennec space, delete it and rerun, else give a new or "
                               "empty directory") from None
    if not (isinstance(info, dict) and str(info.get("format", "")).startswith("fennec-space")):
        raise FennecInputError(f"{name} {str(out)!r}: its manifest.json is not a fennec space's; writing a space "
                               "replaces the whole directory, so give a new or empty one")
    others = [e for e in entries if e not in SPACE_FILES]
    if others:  # a space folder used as a workspace: the records store trained from was deleted with it
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise FennecInputError(f"{name} {str(out)!r}: holds a space and other files ({shown}), which writing the new "
                               "space would delete (it replaces the whole directory); move them out, or give "
                               "another directory")
    return out


def save_space(space: TransferSpace, out_dir: str | os.PathLike[str], name: str = "--out") -> Path:
    """Write ``space`` to ``out_dir`` atomically (replacing a previous space there); returns the path.

    Args:
        space: A fitted space.
        out_dir: The space directory.
        name: The option that gave ``out_dir``, for error messages.

    Raises:
        FennecInputError: when ``out_dir`` is a file or a directory that holds something else, or its folder
            cannot be made (:func:`check_space_dir`).
    """
    space._check_fitted()
    out = check_space_dir(out_dir, name, create=True, try_write=False)  # the temporary folder next is the trial
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise write_refused(name, out, out.parent, exc) from None
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes a 0700 directory
        np.savez(tmp / "space.npz", model_ids=np.array(space.model_ids_), model_vectors=space.model_vectors_,
                 bench_offset=space.bench_offset_, benchmarks=np.array(space.benchmarks_, dtype=str),
                 task_names=np.array(space.task_names_), task_vectors=space.task_vectors_, history=space.history_,
                 free_ids=np.array(space.free_ids_), text_mean=space.text_mean_,
                 text_components=space.text_components_, size_scale=space.size_scale_,
                 meta_scale=space.meta_scale_, learned_scale=np.float64(space.learned_scale_),
                 interaction_scale=np.float64(space.interaction_scale_),
                 use_description=np.bool_(space.use_description_),
                 benchmark_alias=np.array(json.dumps(space.benchmark_alias_, sort_keys=True)),
                 **_bench_scale_arrays(space),
                 **_image_arrays(space))
        net = space.nets_[0]
        torch.save({"state_dicts": [n.state_dict() for n in space.nets_],
                    "shape": {"n_models": net.free.shape[0], "n_benchmarks": net.bench_bias.shape[1],
                              "model_in": net.model_proj.in_features, "task_in": net.task_proj.in_features,
                              "text_dim": net.text_dim, "dim": net.free.shape[1]}}, tmp / "tower.pt")
        write_json(tmp / "config.json", space.get_params())
        write_json(tmp / "meta.json", {"tasks": space.task_cards_, "models": space.model_info_})
        ModelIndex(space.model_vectors_).save(str(tmp / "index.faiss"))
        write_json(tmp / "manifest.json", {
            "format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": _versions(), "records_hash": space.records_hash_, "n_models": len(space.model_ids_),
            "n_tasks": len(space.task_names_), "vector_dim": int(space.model_vectors_.shape[1]),
            "train": space.train_info_})
        old = None
        try:
            if out.exists():
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                os.replace(out, old)
            os.replace(tmp, out)
        except OSError as exc:  # the checks above cannot foresee every file system (a busy or locked directory)
            if old is not None and not out.exists():
                os.replace(old, out)  # the previous space back where it was
            raise FennecInputError(f"{name} {str(out)!r}: cannot be replaced by the new space ({exc.strerror or exc})"
                                   "; give another directory") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _image_arrays(space: TransferSpace) -> dict[str, np.ndarray]:
    """The image-statistics state of a space that reads tasks' images (none for a text-only space, whose file
    stays as it was before spaces could read images)."""
    if space.image_proxy is None:
        return {}
    basis = space.image_basis_
    return {"image_proxy": np.array(basis.proxy), "image_mean": basis.mean, "image_components": basis.components,
            "image_geometry": basis.geometry, "task_image_rows": space.task_image_rows_}


def _bench_scale_arrays(space: TransferSpace) -> dict[str, np.ndarray]:
    """The benchmarks scored with learned scales of their own (``benchmark_scales``): names, (B, 2) scales and
    (B, M, D) folded model vectors; nothing for a space without any, whose file stays as before the option."""
    names = sorted(space.bench_scales_)
    if not names:
        return {}
    return {"bench_scale_names": np.array(names, dtype=str),
            "bench_scales": np.array([space.bench_scales_[b] for b in names], dtype=np.float64),
            "bench_vectors": np.stack([space.bench_vectors_[b] for b in names])}


def load_space(path: str | os.PathLike[str] | None = None, name: str = "--space") -> TransferSpace:
    """Load a space written by :func:`save_space` (default: the shipped one).

    Args:
        path: The space directory; None for the shipped one.
        name: The option that gave ``path``, for error messages (``--out`` when train warm-starts from it).

    Raises:
        FennecInputError: a missing, damaged or inconsistent space, naming the file and the fix.
    """
    p = Path(path) if path is not None else default_space_dir()
    manifest = p / "manifest.json"
    if not manifest.is_file():
        what = ("does not exist" if not p.exists() else "is a file, not a space directory" if not p.is_dir()
                else "holds no trained space (manifest.json missing)")
        raise FennecInputError(f"{name}: {str(p)!r} {what}; train one with `python train.py --out DIR`")
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise FennecInputError(f"{name}: {str(manifest)!r} is not readable JSON ({exc}); retrain the space") from None
    if not isinstance(info, dict):
        raise FennecInputError(f"{name}: {str(manifest)!r} holds a JSON {type(info).__name__}, not a fennec space "
                               "manifest; retrain the space with `python train.py --out DIR --no-warm-start`")
    if info.get("format") != FORMAT:
        found = info.get("format")
        newer = isinstance(found, str) and found.startswith("fennec-space-v") and _format_number(found) > \
            _format_number(FORMAT)
        fix = ("it was written by a newer fennec: upgrade fennec" if newer else
               "retrain it with this version (`python train.py --out DIR --no-warm-start`)")
        raise FennecInputError(f"{name}: {str(p)!r} has format {found!r}, expected {FORMAT!r}; {fix}")
    try:
        space = _read(p, info)
        _check_consistent(space, info)
    except SpaceMismatchError as exc:
        raise FennecInputError(f"{name}: {str(p)!r}: {exc}; retrain the space with `python train.py --out DIR "
                               "--no-warm-start`") from None
    except FennecInputError as exc:  # a config.json value out of range
        raise FennecInputError(f"{name}: {str(p / 'config.json')!r}: {exc}; retrain the space with `python "
                               "train.py --out DIR --no-warm-start`") from None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError, zipfile.BadZipFile,
            pickle.UnpicklingError) as exc:
        # one line: torch's state-dict errors span several
        detail = " ".join(str(exc).split())
        raise FennecInputError(f"{name}: {str(p)!r} is damaged ({type(exc).__name__}: {detail}); retrain it with "
                               "`python train.py --out DIR --no-warm-start`") from None
    space.path_ = p
    return space


def _format_number(fmt: str) -> int:
    """4 for ``fennec-space-v4``; -1 for a format that has no number."""
    tail = fmt.rpartition("-v")[2]
    return int(tail) if tail.isdigit() else -1


class SpaceMismatchError(ValueError):
    """Files of a space directory that do not belong together (copied from different spaces, or edited)."""


def _check_consistent(space: TransferSpace, info: dict) -> None:
    """Refuse a space whose files disagree: each loads on its own, but a tower, a model list or a config from
    another space would rank with the wrong numbers and say nothing.

    Raises:
        SpaceMismatchError: naming the two files and what they say.
        FennecInputError: a hyper-parameter of config.json out of its range.
    """
    space._check_params()
    for name, arr in (("model vectors", space.model_vectors_), ("task vectors", space.task_vectors_),
                      *((f"{b} vectors", v) for b, v in space.bench_vectors_.items())):
        if not np.isfinite(arr).all():
            raise ValueError(f"space.npz holds NaN or inf in {int((~np.isfinite(arr)).any(axis=-1).sum())} of its "
                             f"{name}")
    n_models, width = space.model_vectors_.shape
    net = space.nets_[0]
    pairs = [
        ("space.npz model ids", len(space.model_ids_), "space.npz model vectors", n_models),
        ("manifest.json n_models", info.get("n_models"), "space.npz models", n_models),
        ("manifest.json vector_dim", info.get("vector_dim"), "space.npz vector width", width),
        ("space.npz task vectors", space.task_vectors_.shape, "tasks x vector width",
         (len(space.task_names_), width)),
        ("space.npz history", space.history_.shape, "models x tasks", (n_models, len(space.task_names_))),
        ("space.npz protocol offsets", space.bench_offset_.shape, "models x benchmarks",
         (n_models, len(space.benchmarks_))),
        ("meta.json models", sorted(space.model_info_), "space.npz models", sorted(space.model_ids_)),
        ("config.json n_members", space.n_members, "tower.pt members", len(space.nets_)),
        ("config.json dim", space.dim, "tower.pt dim", int(net.free.shape[1])),
        ("tower.pt models", int(net.free.shape[0]), "space.npz models with records", len(space.free_ids_)),
        ("tower.pt benchmarks", int(net.bench_bias.shape[1]), "space.npz benchmarks", len(space.benchmarks_)),
    ]
    pairs += [(f"space.npz {b} vectors", v.shape, "space.npz model vectors", space.model_vectors_.shape)
              for b, v in space.bench_vectors_.items()]
    for name_a, a, name_b, b in pairs:
        if a != b:
            shown = (lambda v: f"{len(v)} ids") if isinstance(a, list) else repr
            raise SpaceMismatchError(f"{name_a} ({shown(a)}) does not match {name_b} ({shown(b)}): its files do not "
                                "belong together (edited, or copied from different spaces)")
    missing = [t for t in space.task_names_ if t not in space.task_cards_]
    if missing:
        raise SpaceMismatchError(f"meta.json has no card for the space's task(s) {missing[:3]}: its files do not "
                                 "belong together (edited, or copied from different spaces)")


def _read(p: Path, info: dict) -> TransferSpace:
    """The fitted state of a space directory (errors propagate; :func:`load_space` words them)."""
    # a config written before an option was trained without it: before cold_head, its nets hold the head fitted
    # the earlier way; before standardization, on z-scores; before benchmark_scales, with one scale for all
    config = {"cold_head": "ridge", "standardization": "z", "benchmark_scales": False,
              **json.loads((p / "config.json").read_text())}
    space = TransferSpace(**config)
    with np.load(p / "space.npz", allow_pickle=False) as z:
        space.model_ids_ = z["model_ids"].tolist()
        space.model_vectors_ = z["model_vectors"]
        space.bench_offset_ = z["bench_offset"]
        space.benchmarks_ = z["benchmarks"].tolist()
        space.task_names_ = z["task_names"].tolist()
        space.task_vectors_ = z["task_vectors"]
        space.history_ = z["history"]
        space.free_ids_ = z["free_ids"].tolist()
        space.text_mean_ = z["text_mean"]
        space.text_components_ = z["text_components"]
        space.size_scale_ = z["size_scale"]
        space.meta_scale_ = z["meta_scale"]
        space.learned_scale_ = float(z["learned_scale"])
        # spaces saved before the two scales were chosen apart used one for both
        space.interaction_scale_ = float(z["interaction_scale"]) if "interaction_scale" in z else space.learned_scale_
        space.use_description_ = bool(z["use_description"]) if "use_description" in z else True
        space.benchmark_alias_ = json.loads(str(z["benchmark_alias"])) if "benchmark_alias" in z else {}
        # benchmarks with learned scales of their own (benchmark_scales); none in spaces saved before the option
        names = z["bench_scale_names"].tolist() if "bench_scale_names" in z else []
        space.bench_scales_ = {b: tuple(float(v) for v in z["bench_scales"][i]) for i, b in enumerate(names)}
        space.bench_vectors_ = {b: z["bench_vectors"][i] for i, b in enumerate(names)}
        # a space that reads tasks' images; spaces without the keys (all before them) read text only
        space.image_basis_ = None
        if "image_proxy" in z:
            space.image_basis_ = ImageBasis(str(z["image_proxy"]), z["image_mean"], z["image_components"],
                                            z["image_geometry"])
            space.task_image_rows_ = z["task_image_rows"]
    tower = torch.load(p / "tower.pt", map_location="cpu", weights_only=True)
    nets = []
    for state in tower["state_dicts"]:
        net = TransferNet(**tower["shape"])
        net.load_state_dict(state)
        nets.append(net.eval())
    space.nets_ = nets
    meta = json.loads((p / "meta.json").read_text())
    space.task_cards_ = meta["tasks"]
    space.model_info_ = meta["models"]
    space.records_hash_ = info["records_hash"]
    space.train_info_ = info.get("train", {})
    return space


def load_index(space: TransferSpace) -> ModelIndex:
    """The space's FAISS index: the saved one when it matches the space's models, else rebuilt."""
    path = getattr(space, "path_", None)
    if path is not None and (Path(path) / "index.faiss").is_file():
        try:
            index = ModelIndex.load(str(Path(path) / "index.faiss"))
        except (FennecInputError, RuntimeError):  # an older fennec's (IVF) or a damaged file: rebuilt below
            index = None
        # the saved index is only a cache of the space's vectors: used when it holds exactly them
        if index is not None and index.vectors.shape == space.model_vectors_.shape and np.array_equal(
                index.vectors, space.model_vectors_.astype(np.float32, copy=False)):
            return index
    return ModelIndex(space.model_vectors_)
