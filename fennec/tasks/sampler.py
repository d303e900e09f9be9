"""A seeded, class-balanced probe set: the few hundred images a proxy (or a zoo model) looks at.

Classes are filled round-robin in a seeded random order: every class gets ``max_images // C`` images when it has
that many, small classes give all they have and their share goes to the others. An image that cannot be read is
replaced by the next unused image of the same class, so unreadable files cost neither balance nor size; they are
counted and reported.

``max_images`` is a hard cap, never raised to fit the classes: it is the cost (proxy or zoo forward passes) the
caller chose. Below the number of classes C, the probe set holds one image of each of ``max_images`` classes (the
seeded class order picks which) and leaves the others out; below 2 * C some classes have one image. Readers
whose statistics need more say so: the task descriptor's class geometry warns about what it could not measure
(:func:`fennec.tasks.descriptor.undefined_geometry`), and the proxy's image names ask for one image per class
themselves (:func:`fennec.tasks.visual.label_task_images`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from fennec.tasks.cache import cache_key, file_stamp
from fennec.tasks.images import LoadReport, TaskImageError, load_image
from fennec.tasks.task import Task
from fennec.validation import FennecInputError, check_positive_int

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_PROBE_SIZE = 500
T = TypeVar("T")


def balanced_sample(labels: np.ndarray, max_items: int = DEFAULT_PROBE_SIZE, seed: int = 0,
                    n_classes: int | None = None) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Pick up to ``max_items`` positions with classes as balanced as their sizes allow.

    Args:
        labels: int array of shape (N,), values in [0, C).
        max_items: Most positions to return.
        seed: Seed of the shuffles (same seed, same labels -> same sample).
        n_classes: C (default ``labels.max() + 1``).

    Returns:
        (chosen positions int64 sorted ascending, per-class reserve of unchosen positions in the seeded order).
    """
    max_items = int(check_positive_int(max_items, "max_items") or DEFAULT_PROBE_SIZE)
    labels = np.asarray(labels, dtype=np.int64)
    C = int(n_classes if n_classes is not None else (labels.max() + 1 if labels.size else 0))
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(C)]
    class_order = rng.permutation(C)  # who gets the remainder in the last round
    rank_of_class = np.empty(C, dtype=np.int64)
    rank_of_class[class_order] = np.arange(C)
    # Round r takes the r-th image of every class that still has one, classes in the seeded order.
    keys = [(r, int(rank_of_class[c]), int(i)) for c in range(C) for r, i in enumerate(per_class[c])]
    keys.sort()
    chosen = [i for _, _, i in keys[:max_items]]
    chosen_set = set(chosen)
    reserve = {c: [int(i) for i in per_class[c] if int(i) not in chosen_set] for c in range(C)}
    return np.sort(np.asarray(chosen, dtype=np.int64)), reserve


def default_split(task: Task) -> str | None:
    """The split a probe set is drawn from: ``train`` when the task has one, else all examples."""
    return "train" if task.splits is not None and "train" in task.split_names else None


@dataclass
class ProbeSet:
    """A class-balanced sample of a task's examples.

    Attributes:
        task: The task.
        indices: Chosen example indices into the task, int64 of shape (n,).
        reserve: Per-class unchosen indices, used to replace unreadable images.
        seed: The sampling seed.
        split: The split sampled from (None: all examples).
        report: Filled while images are loaded.
    """

    task: Task
    indices: np.ndarray
    reserve: dict[int, list[int]]
    seed: int
    split: str | None
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def labels(self) -> np.ndarray:
        assert self.task.labels is not None
        return self.task.labels[self.indices]

    def key(self) -> str:
        """Identifies the sample for cache keys, with the size and modification time of its files: the task's
        fingerprint reads each file's size and first 64 KiB only, so an image edited further in (a bottom-up
        BMP's top rows) would be served stale; the files' paths are left out, so a moved dataset keeps its
        entries."""
        return f"n={len(self.indices)},seed={self.seed},split={self.split},files={self._files_digest}"

    @cached_property
    def _files_digest(self) -> str:
        """A digest of (size, mtime_ns) of the sampled files, stat-ed once per probe set ("" for features)."""
        if self.task.paths is None:
            return ""
        stamps = [file_stamp(self.task.paths[i])[1:] for i in self.indices.tolist()]
        return cache_key(stamps)

    def iter_images(self, *, min_size: int | None = None,
                    loaded: list[int] | None = None) -> Iterator[Image.Image]:
        """The probe images as RGB PIL images, loaded lazily, unreadable ones replaced from the same class.

        Args:
            min_size: Passed to :func:`~fennec.tasks.images.load_image` (JPEG draft decoding).
            loaded: If given, the task index of every yielded image is appended (same order).

        Raises:
            FennecInputError: for a task without image files (at once), and after the last image, if some class
                ended up with no readable image.
        """
        task = self.task
        if task.kind != "images" or task.paths is None or task.labels is None:
            raise FennecInputError(f"task {task.source or task.name}: has no images ({task.kind}); image encoders "
                                   "and zoo models need an image folder or a manifest")
        paths = task.paths
        # the generator itself, not a wrapper around it: the warning about skipped files names the frame that
        # consumes the images, so the passes of one run over the same files report them once
        return self.iter_loaded(lambda i: load_image(paths[i], min_size=min_size), loaded=loaded)

    def iter_loaded(self, load: Callable[[int], T], *, loaded: list[int] | None = None,
                    warn: bool = True) -> Iterator[T]:
        """Yield ``load(i)`` for the probe's examples ``i``, in :meth:`iter_images` order: an example whose
        ``load`` raises OSError is recorded in ``report`` and replaced by the next unused one of its class.

        :meth:`iter_images` loads image files with it; a reader that already has what a proxy made of the images
        (:class:`fennec.tasks.descriptor.ProbeOutputs`) replays the same choice of examples over those outputs.

        Args:
            load: Task example index -> item; raises OSError (e.g. ImageLoadError) for an unusable example.
            loaded: If given, the task index of every yielded item is appended (same order).
            warn: Warn about the skipped examples after the last one (False for a replay of a pass that did).

        Raises:
            FennecInputError: after the last item, if some class ended up with no usable example.
        """
        task = self.task
        assert task.labels is not None  # sample_probe_set only samples tasks with examples
        reserve = {c: list(v) for c, v in self.reserve.items()}
        got = np.zeros(task.n_classes, dtype=np.int64)
        for idx in self.indices.tolist():
            candidate: int | None = idx
            while candidate is not None:
                try:
                    item = load(candidate)
                except OSError as exc:
                    where = task.paths[candidate] if task.paths is not None else f"example {candidate}"
                    self.report.failures.append((str(where), str(exc)))
                    pool = reserve.get(int(task.labels[candidate]), [])
                    candidate = pool.pop(0) if pool else None
                    continue
                self.report.n_ok += 1
                got[task.labels[candidate]] += 1
                if loaded is not None:
                    loaded.append(candidate)
                yield item
                candidate = None
        if warn:
            self.report.warn()
        # A class whose every probe image (and reserve) failed cannot be described.
        sampled = np.unique(task.labels[self.indices])
        dead = [task.class_names[c] for c in sampled if got[c] == 0]
        if dead:
            raise TaskImageError(f"task {task.source or task.name}: no readable image in class(es) {dead[:5]}; "
                                   "fix or remove those files")


def sample_probe_set(task: Task, max_images: int = DEFAULT_PROBE_SIZE, seed: int = 0,
                     split: str | None = "auto") -> ProbeSet:
    """Draw a seeded, class-balanced probe set from a task with images (or features).

    Args:
        task: The task.
        max_images: Most examples in the probe set (500 by default), a hard cap: with fewer than the number of
            classes, some classes are not in the probe set (see the module docstring).
        seed: Sampling seed.
        split: ``"auto"`` (the ``train`` split when present, else everything), a split name, or None (everything).
    """
    if task.labels is None or task.n_examples == 0:
        raise FennecInputError(f"task {task.source or task.name}: has no examples to sample (text-only task)")
    if split == "auto":
        split = default_split(task)
    pool = task.indices(split)
    if split is not None and task.splits is not None and pool.size == 0:
        raise FennecInputError(f"task {task.source or task.name}: split {split!r} is empty; known splits: "
                               f"{', '.join(task.split_names)}")
    pos, reserve_pos = balanced_sample(task.labels[pool], max_images, seed, n_classes=task.n_classes)
    reserve = {c: [int(pool[p]) for p in v] for c, v in reserve_pos.items()}
    return ProbeSet(task=task, indices=pool[pos].astype(np.int64), reserve=reserve, seed=seed, split=split)
