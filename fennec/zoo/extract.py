"""Zoo feature extraction: run a timm model over a task's probe set, cache the result.

For each (model, weights, task fingerprint, preprocessing, probe set) the penultimate (pre-logits) features and the
source-class probabilities (softmax of the ImageNet head) are computed once, with the model's own preprocessing
(timm's ``resolve_data_config`` + ``create_transform``), under ``torch.inference_mode``, channels-last and batched,
and stored as ``<key>.npz`` plus a ``<key>.json`` sidecar under ``$FENNEC_CACHE/features`` (default
``~/.cache/fennec/features``), both written atomically. These are the inputs of the transferability scorers
(PARC, LogME, LEEP, ...) in :mod:`fennec.scores`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fennec.encoders.timm_models import (
    WeightsInfo,
    create_eval_transform,
    create_timm_model,
    preprocessing_key,
    resolve_timm_weights,
    run_model,
    timm_data_config,
)
from fennec.io import load_npz, write_json, write_npz
from fennec.tasks.cache import cache_dir, cache_key, writing_cache
from fennec.tasks.sampler import DEFAULT_PROBE_SIZE, sample_probe_set
from fennec.tasks.task import Task
from fennec.validation import FennecInputError, check_file, check_model_id, split_timm_id

VERSION = "fennec-extract-v1"


@dataclass
class Extraction:
    """Features of a task's probe set under one zoo model.

    Attributes:
        model: The model id (``timm:NAME``).
        features: float32 of shape (n, D): penultimate (pre-logits) features.
        probs: float32 of shape (n, Cs): source-class probabilities, or None for a model without a classifier.
        labels: int64 of shape (n,): target labels of the probe images.
        indices: int64 of shape (n,): the images' indices in the task.
        weights: Where the weights came from.
        preprocessing: timm's data config used.
        key: The cache key.
        cached: True when read from the cache.
        info: Timing and skipped-file details.
    """

    model: str
    features: np.ndarray
    probs: np.ndarray | None
    labels: np.ndarray
    indices: np.ndarray
    weights: WeightsInfo
    preprocessing: dict[str, Any]
    key: str
    cached: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def _local_key(path: Path) -> str:
    """A checkpoint's cache identity: its path, size and modification time (a retrained file is another key)."""
    st = path.stat()
    return f"local:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def parse_zoo_id(model_id: str) -> tuple[str, str, str | None]:
    """Normalise a zoo model id: ``timm:NAME``, ``timm:NAME:/path/weights`` or a bare timm name.

    Returns:
        (canonical id ``timm:NAME``, timm name, weights file or None).
    """
    if not isinstance(model_id, str) or not model_id.strip():
        raise FennecInputError(f"model: expected 'timm:NAME', got {model_id!r}")
    model_id = model_id.strip()
    if ":" not in model_id:
        model_id = f"timm:{model_id}"
    source, rest = check_model_id(model_id)
    if source != "timm":
        raise FennecInputError(f"model {model_id!r}: zoo extraction runs timm models only (ids 'timm:NAME'); "
                               f"source {source!r} is not supported")
    name, weights = split_timm_id(rest)
    return f"timm:{name}", name, weights


def record_id(model_id: str) -> str:
    """The id a model's records carry: timm ids spelt canonically (a bare name is timm's) with their weights file
    kept, so two files of one architecture are two models; other ids as given."""
    if model_id.startswith("timm:") or ":" not in model_id:
        canonical, _, weights = parse_zoo_id(model_id)
        return f"{canonical}:{weights}" if weights else canonical
    return model_id


def check_zoo_models(models: Sequence[str], name: str = "--models") -> list[str]:
    """The record ids (:func:`record_id`) of zoo model ids, each checked before any model runs, so a typo is bad
    input said once (exit 2) rather than one model's failure at run time: the form ``source:id`` (a bare timm name
    is ``timm:NAME``), a source the runners load (``timm`` or ``local``), an architecture and pre-trained tag timm
    knows, or a readable ``local:`` checkpoint (the checks of :func:`fennec.space.zoo.model_from_id`), and a
    ``timm:NAME:/path`` weights file that exists. Weights not found offline stay a failure of that model.

    Args:
        models: The ids as given.
        name: The option that gave them, for the messages.

    Returns:
        The record ids, each once, in the order given.

    Raises:
        FennecInputError: ``NAME: model ...: why; fix`` for the first bad id.
    """
    from fennec.space.zoo import model_from_id

    if not models:
        raise FennecInputError(f"{name}: give at least one model id such as timm:tf_efficientnet_lite0")
    ids: list[str] = []
    for given in models:
        try:
            model = record_id(given.strip()) if isinstance(given, str) else given
            source, _ = check_model_id(model)  # the form 'source:id' (a non-string refused too)
            if source not in ("timm", "local"):
                raise FennecInputError(f"model {given!r}: a zoo model is timm:NAME, timm:NAME:/path/to/weights.pth "
                                       f"or local:FILE.pt (a model trained here), not a {source}: id")
            model_from_id(model)
            weights = parse_zoo_id(model)[2] if source == "timm" else None
            if weights is not None:
                check_file(Path(weights).expanduser(), f"model {given!r}: weights")
        except FennecInputError as exc:
            raise FennecInputError(f"{name}: {exc}") from None
        if model not in ids:
            ids.append(model)
    return ids


def extract_features(model_id: str, task: Task, *, max_images: int = DEFAULT_PROBE_SIZE, seed: int = 0,
                     batch_size: int = 32, weights: str | None = None, allow_random: bool = False,
                     channels_last: bool = True, use_cache: bool = True,
                     cache: str | Path | None = None) -> Extraction:
    """Penultimate features and source-class probabilities of a timm model on a task's probe set.

    Args:
        model_id: ``timm:NAME`` (``timm:NAME.TAG``), ``timm:NAME:/path/weights.pth``, a bare timm name, or
            ``local:PATH``, a checkpoint trained here (:mod:`fennec.zoo.checkpoints`).
        task: A task with images.
        max_images: Probe-set size (class-balanced, seeded; the same probe set for every model).
        seed: Probe-set seed.
        batch_size: Images per forward pass.
        weights: A local weights file (overrides the id's).
        allow_random: Use seeded random weights when no pretrained weights are found (benchmarks only).
        channels_last: Channels-last memory format.
        use_cache: Read and write the on-disk cache.
        cache: Cache directory (default ``$FENNEC_CACHE/features`` or ``~/.cache/fennec/features``).

    Returns:
        The :class:`Extraction`.

    Raises:
        FennecInputError: a task without images, an unknown model, missing weights (unless ``allow_random``).
    """
    if task.kind != "images":
        raise FennecInputError(f"task {task.source or task.name}: zoo extraction needs images, this task has "
                               f"{task.kind}")
    local = None
    if model_id.strip().startswith("local:"):  # a model trained here (fennec.zoo.checkpoints)
        from fennec.zoo.checkpoints import checkpoint_path, read_checkpoint_info

        local = read_checkpoint_info(model_id)
        path = checkpoint_path(model_id)
        canonical, name = model_id.strip(), local.architecture
        winfo = WeightsInfo("file", str(path), True, _local_key(path))
        cfg = {**timm_data_config(name), "input_size": [3, local.input_size, local.input_size]}
    else:
        canonical, name, id_weights = parse_zoo_id(model_id)
        winfo = resolve_timm_weights(name, weights or id_weights, allow_random=allow_random, model_id=canonical)
        cfg = timm_data_config(name)
    probe = sample_probe_set(task, max_images=max_images, seed=seed)
    key = cache_key(VERSION, name, winfo.key, task.fingerprint, preprocessing_key(cfg), probe.key())
    root = Path(cache) if cache is not None else cache_dir("features")
    npz_path, json_path = root / f"{key}.npz", root / f"{key}.json"
    if use_cache and npz_path.is_file() and json_path.is_file():
        try:
            z = load_npz(npz_path)  # a damaged file raises NpzError, a ValueError
            feats, probs, labels, indices = z["features"], z["probs"], z["labels"], z["indices"]
            side = json.loads(json_path.read_text(encoding="utf-8"))
            return Extraction(canonical, feats, probs if probs.size else None, labels, indices, winfo, cfg, key,
                              cached=True, info=side.get("info", {}))
        except (OSError, ValueError, KeyError):
            pass  # damaged entry: recompute and overwrite

    from fennec.scores.base import softmax  # imported here: fennec.scores loads every scorer (and scipy)

    t0 = time.perf_counter()
    if local is not None:
        from fennec.zoo.checkpoints import load_checkpoint_model

        model, _ = load_checkpoint_model(canonical)
    else:
        model, winfo = create_timm_model(name, model_id=canonical, info=winfo)
    t_load = time.perf_counter() - t0
    transform = create_eval_transform(cfg)
    loaded: list[int] = []
    # JPEG draft decoding down to no less than twice the resize target: big photos decode much faster and the
    # final bicubic resize still works from >= 2x the pixels, so features barely move.
    side_min = 2 * int(np.ceil(max(cfg["input_size"][1:]) / float(cfg.get("crop_pct") or 1.0)))
    t1 = time.perf_counter()
    feats, logits = run_model(model, transform, probe.iter_images(min_size=side_min, loaded=loaded),
                              batch_size=batch_size, logits=True, channels_last=channels_last)
    t_run = time.perf_counter() - t1
    indices = np.asarray(loaded, dtype=np.int64)
    assert task.labels is not None
    labels = task.labels[indices]
    probs = None
    if logits is not None and logits.shape[1] > 0:
        probs = softmax(logits.astype(np.float64)).astype(np.float32)
    info = {"n_images": len(loaded), "n_skipped": probe.report.n_failed,
            "skipped": [p for p, _ in probe.report.failures[:20]], "seconds_load": round(t_load, 3),
            "seconds_forward": round(t_run, 3)}
    ext = Extraction(canonical, feats, probs, labels, indices, winfo, cfg, key, cached=False, info=info)
    if use_cache:
        with writing_cache(npz_path):
            write_npz(npz_path, features=feats, probs=probs if probs is not None else np.zeros((0, 0), np.float32),
                      labels=labels, indices=indices)
            write_json(json_path, {"version": VERSION, "model": canonical, "weights": vars(winfo),
                                   "task": {"name": task.name, "fingerprint": task.fingerprint,
                                            "source": task.source},
                                   "preprocessing": cfg, "probe": probe.key(), "feature_dim": int(feats.shape[1]),
                                   "n_source_classes": 0 if probs is None else int(probs.shape[1]), "info": info})
    return ext
