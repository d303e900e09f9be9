"""What fine-tuning trains and measures on: a task's split, its images decoded once, and their augmentation.

Images are decoded once per (task, examples, preprocessing) with timm's own eval transform (resize with the model's
interpolation, its crop mode and crop_pct) and kept as one uint8 tensor; a sweep whose models share a preprocessing
decodes a task once (:func:`decoded`). Augmentation then works on those tensors.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import numpy as np

from fennec.tasks.images import TaskImageError
from fennec.tasks.sampler import balanced_sample
from fennec.tasks.task import Task
from fennec.validation import FennecInputError

TEST_SHARE = 0.2  # held out of a task without splits
MAX_DECODED_BYTES = 8 * 2**30  # beyond this a task's decoded images would crowd out training; --max-train caps it


def task_split(task: Task, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) of a task: its own ``train`` and ``test`` (else ``val``) splits, or a
    seeded class-stratified split holding out :data:`TEST_SHARE` of each class of 3 or more examples (every class
    keeps at least one training example).

    Raises:
        FennecInputError: a task without labelled examples, with splits but no train or test split, or with no
            class big enough to hold examples out.
    """
    where = task.source or task.name
    if task.labels is None or task.n_examples == 0:
        raise FennecInputError(f"task {where}: has no labelled examples to fine-tune on")
    if task.splits is not None:
        names = task.split_names
        test = "test" if "test" in names else "val" if "val" in names else None
        if "train" not in names or test is None:
            raise FennecInputError(f"task {where}: splits {names}; fine-tuning needs a 'train' split and a 'test' "
                                   "(or 'val') split; give the manifest a split column with both")
        train_idx = task.indices("train")
        seen = np.unique(task.labels[train_idx])
        if seen.size < 2:  # a classifier cannot be fitted, and a fine-tuned head learns one answer
            raise FennecInputError(f"task {where}: the train split holds {seen.size} class(es) "
                                   f"({', '.join(task.class_names[i] for i in seen) or 'none'}); fine-tuning needs "
                                   "examples of 2 or more classes in it")
        return train_idx, task.indices(test)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(task.n_classes):
        idx = rng.permutation(np.flatnonzero(task.labels == c))
        k = round(TEST_SHARE * idx.size) if idx.size >= 3 else 0
        test.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    if not test:
        raise FennecInputError(f"task {where}: too few examples to hold out a test set; give at least 3 images per "
                               "class or a manifest with train/test splits")
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def capped(task: Task, idx: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """A class-balanced subset of ``idx`` of at most ``cap`` examples (all of them without a cap)."""
    if cap is None or idx.size <= cap:
        return idx
    assert task.labels is not None
    pos, _ = balanced_sample(task.labels[idx], cap, seed, n_classes=task.n_classes)
    return idx[pos]


def eval_config(cfg: dict[str, Any], size: int) -> dict[str, Any]:
    """The parts of a timm data config that decide the decoded pixels, at input side ``size``."""
    return {"input_size": (3, size, size), "interpolation": cfg.get("interpolation", "bicubic"),
            "crop_pct": cfg.get("crop_pct") or 0.875, "crop_mode": cfg.get("crop_mode", "center")}


_DECODED: OrderedDict[str, Any] = OrderedDict()  # the last few decodings (a sweep's models share them)


def decoded(task: Task, idx: np.ndarray, cfg: dict[str, Any], size: int) -> Any:
    """uint8 tensor (n, 3, size, size) of the examples ``idx``, preprocessed by timm's eval transform as the
    model's data config says (normalisation left to the caller), decoded once per process for the same task,
    examples and preprocessing.

    Raises:
        TaskImageError: the decoded images would take more than :data:`MAX_DECODED_BYTES` (cap them with
            ``max_train``/``max_test``), or an image cannot be read (named).
    """
    import torch
    from timm.data import create_transform

    from fennec.tasks.images import load_image

    assert task.paths is not None
    need = len(idx) * 3 * size * size
    if need > MAX_DECODED_BYTES:
        raise TaskImageError(f"task {task.source or task.name}: {len(idx)} images at {size} px take "
                               f"{need / 2**30:.1f} GiB decoded, more than {MAX_DECODED_BYTES / 2**30:.0f}; cap them "
                               "with --max-train/--max-test or lower --image-size")
    ecfg = eval_config(cfg, size)
    key = json.dumps([task.fingerprint, ecfg, np.asarray(idx).tolist()])
    if key in _DECODED:
        _DECODED.move_to_end(key)
        return _DECODED[key]
    # timm's transform with an identity normalisation: the model's resize, crop mode and interpolation exactly
    transform = create_transform(**ecfg, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), is_training=False)
    out = torch.empty((len(idx), 3, size, size), dtype=torch.uint8)
    for j, i in enumerate(np.asarray(idx).tolist()):
        try:
            img = load_image(task.paths[i], min_size=2 * size)
        except OSError as exc:
            raise TaskImageError(f"task {task.source or task.name}: {exc}; fix or remove that image") from None
        out[j] = (transform(img) * 255.0).round().clamp(0, 255).to(torch.uint8)
    _DECODED[key] = out
    while len(_DECODED) > 4:
        _DECODED.popitem(last=False)
    return out


def augment(xb: Any, gen: Any) -> Any:
    """Random horizontal flips and crops shifted by up to 1/8 of the side (reflect-padded), per example, drawn
    from ``gen``; float32 (n, 3, H, W) in [0, 255] from uint8 (n, 3, H, W)."""
    import torch

    n, _, h, w = xb.shape
    pad = max(1, h // 8)
    flip = torch.rand(n, generator=gen) < 0.5
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    padded = torch.nn.functional.pad(xb.float(), (pad, pad, pad, pad), mode="reflect")
    out = torch.empty((n, xb.shape[1], h, w), dtype=torch.float32)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out
