"""What a task's images show, in words: the proxy's classifier names a probe set, and the names become task text.

The transfer space is trained on historical tasks known by text alone (class names and a one-line description;
the published records come without images), so image statistics of a new task have no learned weights to go
through. The proxy's ImageNet head bridges the gap: it names what the probe images look like, and those names
are text the space already reads. A folder whose classes are placeholders (``0``, ``1``, ... or ``class_3``)
thereby gets class names ("tiger cat", "espresso") and, without a description, one ("Photos of tiger cat,
espresso, ..."), which also feeds the source affinity (a model pre-trained on birds for images the proxy calls
birds). ``recommend`` and ``rank-batch`` do this only for tasks without class names: with real names, a
description is not shown to help on the shared benchmarks (``bench/task_text.py``). It is zero-shot
labelling with a supervised classifier's label set (with an open_clip proxy, CLIP's zero-shot classifier over
the same labels; Radford et al., ICML 2021).

Labels are computed once per proxy and sampled files and cached on disk (``$FENNEC_CACHE``/visual).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fennec.encoders.base import first_synonym, resolve_proxy_id
from fennec.io import atomic_open
from fennec.records.cards import TaskCard
from fennec.tasks.cache import cache_dir, cache_key, file_stamp, writing_cache
from fennec.tasks.descriptor import ProbeOutputs
from fennec.tasks.images import ImageLoadError
from fennec.tasks.proxies import shared_proxy
from fennec.tasks.sampler import ProbeSet, sample_probe_set
from fennec.tasks.task import Task
from fennec.validation import FennecInputError

VERSION = "fennec-visual-v2"
# A sample is enough to say what a task shows, and each image costs a proxy forward pass; a task whose class names
# are placeholders needs every class in the sample, so it gets at least one image per class.
VISUAL_PROBE_SIZE = 100
TOP_LABELS = 5


@dataclass(frozen=True)
class VisualLabels:
    """The proxy's names for a task's images.

    Attributes:
        class_labels: (C,) the label with the highest mean probability over each class's probe images ("" for a
            class the probe set has no image of: more classes than probe images, or none in the sampled split).
        top_labels: Up to :data:`TOP_LABELS` (label, probability) pairs of the whole task, best first; the
            probability is averaged over classes first, so a large class does not speak for the others.
        proxy: Id of the proxy that named them.
        n_images: Probe images that were labelled.
    """

    class_labels: tuple[str, ...]
    top_labels: tuple[tuple[str, float], ...]
    proxy: str
    n_images: int

    def description(self) -> str:
        """One line in the style of the historical task cards: ``"Photos of tiger cat, espresso and cup."``."""
        names = [name for name, _ in self.top_labels]
        if not names:
            return ""
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"Photos of {listed}."

    def class_names(self) -> tuple[str, ...]:
        """Names for a task whose own are placeholders: the distinct per-class labels; when the classes all got
        one label, the distinct task-level labels (what the images show, if not what tells the classes apart);
        () with fewer than two (a single name is not a task)."""
        per_class = tuple(dict.fromkeys(label for label in self.class_labels if label))
        overall = tuple(dict.fromkeys(label for label, _ in self.top_labels))
        return per_class if len(per_class) >= 2 else overall if len(overall) >= 2 else ()

    def to_dict(self) -> dict[str, Any]:
        return {"class_labels": list(self.class_labels), "top_labels": [[n, p] for n, p in self.top_labels],
                "proxy": self.proxy, "n_images": self.n_images}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VisualLabels:
        return cls(class_labels=tuple(str(x) for x in d["class_labels"]),
                   top_labels=tuple((str(n), float(p)) for n, p in d["top_labels"]), proxy=str(d["proxy"]),
                   n_images=int(d["n_images"]))


def summarize_labels(probs: np.ndarray, labels: np.ndarray, n_classes: int, label_names: list[str], proxy: str,
                     top: int = TOP_LABELS) -> VisualLabels:
    """Per-class and task-level labels from per-image label probabilities.

    Args:
        probs: (n, L) label probabilities of the probe images.
        labels: (n,) task class of each image, values in [0, n_classes).
        n_classes: C.
        label_names: (L,) readable label names.
        proxy: Proxy id, recorded in the result.
        top: Task-level labels to keep.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[1] != len(label_names) or len(probs) != len(labels):
        raise ValueError(f"probs {probs.shape} do not match {len(labels)} labels and {len(label_names)} names")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    sums = np.zeros((n_classes, probs.shape[1]))
    np.add.at(sums, labels, probs)
    seen = counts > 0
    per_class = sums[seen] / counts[seen, None]
    class_labels = [""] * n_classes
    for c, row in zip(np.flatnonzero(seen), per_class, strict=True):
        class_labels[int(c)] = first_synonym(label_names[int(np.argmax(row))])
    task_level = per_class.mean(axis=0) if len(per_class) else np.zeros(probs.shape[1])
    best: list[tuple[str, float]] = []
    for i in np.argsort(-task_level, kind="stable"):
        name = first_synonym(label_names[int(i)])
        if task_level[i] <= 0 or len(best) >= top:
            break
        if name not in {n for n, _ in best}:  # different labels can share a first synonym
            best.append((name, round(float(task_level[i]), 4)))
    return VisualLabels(tuple(class_labels), tuple(best), proxy, len(labels))


def _proxy_stamp(proxy_id: str) -> list[Any]:
    """The proxy id plus, for a weights file given by path (``timm:NAME:/path``), that file's size and time."""
    tail = proxy_id.rsplit(":", 1)[-1]
    return [proxy_id, *(file_stamp(tail) if os.sep in tail else ())]  # a missing file stamps as (path, -1, -1)


def label_task_images(task: Task, proxy: str | None = None, *, max_images: int | None = None, seed: int = 0,
                      use_cache: bool = True, cache: str | Path | None = None,
                      seen: ProbeOutputs | None = None) -> VisualLabels:
    """Name what a task's images show with the proxy's classifier (cached on disk).

    Args:
        task: A task with images (an image folder or a manifest).
        proxy: Image encoder id with a classifier head (default :data:`fennec.encoders.DEFAULT_PROXY`, the
            offline ImageNet EfficientNet-Lite0).
        max_images: Probe-set size (class-balanced, seeded); default :data:`VISUAL_PROBE_SIZE`, or one image
            per class when the class names are placeholders and there are more classes than that.
        seed: Probe-set seed.
        use_cache: Read and write the on-disk cache.
        cache: Cache directory (default ``$FENNEC_CACHE``/visual or ``~/.cache/fennec/visual``).
        seen: What the same proxy made of a larger probe set of the task with the same seed
            (:func:`fennec.tasks.describe_images` with ``classify=True``): the labels are read from it, the same
            values as from a pass of their own, without running the proxy again. Ignored when it is another
            proxy's or lacks an image of this probe set.

    Raises:
        FennecInputError: the task has no images, or the proxy cannot name images.
    """
    if task.kind != "images":
        raise FennecInputError(f"task {task.source or task.name}: has no images ({task.kind}); only an image folder "
                               "or a manifest can be labelled by the proxy")
    proxy_id = resolve_proxy_id(proxy)
    if max_images is None:
        max_images = VISUAL_PROBE_SIZE if task.named_classes else max(VISUAL_PROBE_SIZE, task.n_classes)
    probe = sample_probe_set(task, max_images=max_images, seed=seed)
    assert task.paths is not None and task.labels is not None
    # The key holds what decides the labels: the proxy and the sampled files (with their classes), so a warm run
    # stats a few hundred files instead of hashing the whole folder, and new class names or a new description
    # do not re-run the proxy. Replacement images for unreadable files come from the same class's reserve.
    files = [(*file_stamp(task.paths[i]), int(task.labels[i])) for i in probe.indices.tolist()]
    key = cache_key(VERSION, _proxy_stamp(proxy_id), task.n_classes, files, seed)
    path = (Path(cache) if cache is not None else cache_dir("visual")) / f"{key}.json"
    if use_cache and path.is_file():
        try:
            return VisualLabels.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged entry is recomputed and overwritten
    out = _labels_from_outputs(seen, probe, proxy_id) if seen is not None and seen.proxy == proxy_id else None
    if out is None:
        enc = shared_proxy(proxy_id)  # the instance the image statistics use: one load of the weights
        names = enc.label_names if hasattr(enc, "classify_images") else None
        if not names:
            raise FennecInputError(f"proxy {proxy_id}: has no classifier head with known label names, so it cannot "
                                   "name images; use an ImageNet-trained timm proxy (e.g. timm:tf_efficientnet_lite0) "
                                   "or pass --no-images")
        loaded: list[int] = []
        probs = enc.classify_images(probe.iter_images(min_size=512, loaded=loaded))
        out = summarize_labels(probs, task.labels[np.asarray(loaded, dtype=np.int64)], task.n_classes, names,
                               proxy_id)
    if use_cache:
        with writing_cache(path), atomic_open(path, "w") as fh:
            json.dump(out.to_dict(), fh)
    return out


class _NotSeenError(Exception):
    """An example the shared proxy pass did not try (raised inside the replay of a probe set)."""


def _labels_from_outputs(seen: ProbeOutputs, probe: ProbeSet, proxy_id: str) -> VisualLabels | None:
    """The labels of ``probe`` from another pass of the proxy, or None when that pass did not try some image.

    The probe set is walked as a pass of its own would walk it (:meth:`ProbeSet.iter_loaded`): the same images
    in the same order, the same unreadable files replaced by the same ones of their class, with each image's
    probabilities taken from ``seen`` instead of a forward pass, so :func:`summarize_labels` gets the same input.
    A larger probe set with the same seed draws each class's images in the same seeded order, so it tried every
    image this one would; the None is for anything else (a probe set of more images than that pass).
    """
    def load(i: int) -> int:
        if i in seen.rows:
            return seen.rows[i]
        if i in seen.failed:
            raise ImageLoadError(seen.failed[i])
        raise _NotSeenError(i)

    loaded: list[int] = []
    try:
        rows = list(probe.iter_loaded(load, loaded=loaded, warn=False))  # the pass warned about its skipped files
    except _NotSeenError:
        return None
    task = probe.task
    assert task.labels is not None
    return summarize_labels(seen.probs[np.asarray(rows, dtype=np.int64)],
                            task.labels[np.asarray(loaded, dtype=np.int64)], task.n_classes, list(seen.label_names),
                            proxy_id)


def text_card(task: Task, visual: VisualLabels | None = None) -> TaskCard:
    """The task as the space reads it: a text card, with the proxy's names filling in what the task lacks.

    Placeholder class names (``task.named_classes`` False) are replaced by the per-class labels (repeated
    labels kept once: the names part is a mean over distinct names). When the classes' images all get one
    label, the task-level labels stand in (what the images show, if not what tells the classes apart), and
    with fewer than two of those no names are given (a single name is not a task). A missing description
    becomes :meth:`VisualLabels.description`. Names and a description the user gave always win.
    """
    names: tuple[str, ...] = tuple(task.class_names) if task.named_classes else ()
    description = task.description or ""
    if visual is not None:
        names = names or visual.class_names()
        description = description or visual.description()
    return TaskCard(name=task.name, n_classes=task.n_classes, n_images=task.n_examples, class_names=names,
                    description=description)
