"""The :class:`Task` every reader returns, and the checks every task passes."""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from fennec.validation import FennecInputError, FennecInputWarning

KINDS = ("images", "features", "names")
# Bytes of each image file that go into the fingerprint (with its path, size and label): enough to notice a changed
# file without reading a 100k-image dataset in full.
_FINGERPRINT_HEAD_BYTES = 65536


@dataclass(eq=False, frozen=True)
class Task:
    """A target task: class names plus either image files, precomputed features, or nothing (text only).

    Frozen: its fingerprint, which keys every cache, is computed once, so a task changed in place would have been
    served the descriptor of what it was; ``dataclasses.replace(task, class_names=...)`` makes a changed copy,
    checked like a new one.

    Attributes:
        name: Short name (folder or file stem, or given).
        class_names: Class names, index ``c`` is label ``c``.
        kind: ``"images"``, ``"features"`` or ``"names"``.
        paths: Image files (kind ``images``), one per example.
        labels: int64 array of shape (N,) with values in [0, C) (kinds ``images`` and ``features``).
        features: float32 array of shape (N, D) (kind ``features``).
        splits: Per-example split names (``train``/``val``/``test``) of shape (N,), or None when not split.
        description: Free text describing the task, used by the text part of the descriptor.
        source: Where the task was read from.
        skipped: (path, reason) of files that were listed but cannot be used (missing, unreadable).
        named_classes: False when the class names are placeholders (``class_0`` ...) that carry no meaning.
    """

    name: str
    class_names: tuple[str, ...]
    kind: str = "names"
    paths: tuple[Path, ...] | None = None
    labels: np.ndarray | None = None
    features: np.ndarray | None = None
    splits: np.ndarray | None = None
    description: str | None = None
    source: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    named_classes: bool = True

    def __post_init__(self) -> None:
        validate_task(self)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_examples(self) -> int:
        """Number of images or feature rows (0 for a text-only task)."""
        return 0 if self.labels is None else int(self.labels.shape[0])

    @property
    def split_names(self) -> list[str]:
        return [] if self.splits is None else sorted(set(self.splits.tolist()))

    def class_counts(self) -> np.ndarray:
        """Examples per class, int64 of shape (C,)."""
        if self.labels is None:
            return np.zeros(self.n_classes, dtype=np.int64)
        return np.bincount(self.labels, minlength=self.n_classes).astype(np.int64)

    def indices(self, split: str | None = None) -> np.ndarray:
        """Example indices of ``split`` (all examples when None or when the task has no splits)."""
        if split is None or self.splits is None:
            return np.arange(self.n_examples)
        return np.flatnonzero(self.splits == split)

    @cached_property
    def fingerprint(self) -> str:
        """A hex digest of the task's content (class names, description, labels, splits and the image files'
        relative paths, sizes and first 64 KiB, or the feature bytes). Equal content gives equal fingerprints
        wherever the task lives on disk."""
        h = hashlib.sha256()

        def put(*parts: object) -> None:
            for p in parts:
                h.update(str(p).encode("utf-8"))
                h.update(b"\x1f")

        put("fennec-task-v1", self.kind, len(self.class_names), *self.class_names, self.description or "")
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        if self.splits is not None:
            put(*self.splits.tolist())
        if self.features is not None:
            arr = np.ascontiguousarray(self.features, dtype=np.float32)
            put(arr.shape)
            h.update(arr.tobytes())
        if self.paths is not None:
            root = common_root(self.paths)
            for p in self.paths:
                put(_relative(p, root))
                try:
                    put(p.stat().st_size)
                    with open(p, "rb") as fh:
                        h.update(hashlib.blake2b(fh.read(_FINGERPRINT_HEAD_BYTES), digest_size=16).digest())
                except OSError as exc:
                    put("unreadable", type(exc).__name__)
        return h.hexdigest()[:32]

    def summary(self) -> str:
        """One line: name, kind, classes, examples, splits."""
        splits = f", splits {'/'.join(self.split_names)}" if self.splits is not None else ""
        skipped = f", {len(self.skipped)} file(s) skipped" if self.skipped else ""
        return (f"task {self.name!r}: {self.kind}, {self.n_classes} classes, {self.n_examples} examples"
                f"{splits}{skipped}")

    def __repr__(self) -> str:
        return f"Task({self.summary()})"


def common_root(paths: tuple[Path, ...] | list[Path]) -> Path:
    """The deepest directory containing every path."""
    if not paths:
        return Path(".")
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths]))
    except ValueError:  # mixed drives / relative and absolute
        return Path(".")


def _relative(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def clean_class_name(name: str) -> str:
    """Human-readable class name: underscores and repeated spaces become single spaces."""
    return " ".join(str(name).replace("_", " ").split())


def _warn_names_read_alike(names: list[str], where: str) -> None:
    """Warn about distinct class names that differ only in case, underscores or spacing (``Owl``/``owl``,
    ``red_fox``/``red fox``): two classes to the task, one name to a reader, and likely one class split in two."""
    seen: dict[str, str] = {}
    alike = []
    for n in names:
        key = clean_class_name(n).casefold()
        if key in seen:
            alike.append((seen[key], n))
        else:
            seen[key] = n
    if alike:
        shown = ", ".join(f"{a!r} and {b!r}" for a, b in alike[:3]) + (" ..." if len(alike) > 3 else "")
        warnings.warn(f"task {where}: class names {shown} differ only in case, underscores or spaces; if each pair "
                      "is one class, merge them", FennecInputWarning, stacklevel=3)


def validate_task(task: Task) -> None:
    """Check a task; raises FennecInputError (one line) for an empty task, a single class, a class without
    examples, duplicate class names or inconsistent arrays."""
    where = task.source or task.name
    if task.kind not in KINDS:
        raise FennecInputError(f"task {where}: kind must be one of {', '.join(KINDS)}, got {task.kind!r}")
    names = list(task.class_names)
    if not names:
        raise FennecInputError(f"task {where}: no classes found; give a folder per class, a manifest with a "
                               "'label' column, labelled features or a list of class names")
    if any(not isinstance(n, str) or not n.strip() for n in names):
        raise FennecInputError(f"task {where}: class names must be non-empty strings")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FennecInputError(f"task {where}: duplicate class name(s) {dupes[:5]}; class names must be unique")
    _warn_names_read_alike(names, where)
    if len(names) < 2:
        raise FennecInputError(f"task {where}: only one class ({names[0]!r}); a task needs at least 2 classes")
    if task.kind == "names":
        return
    if task.labels is None or task.labels.shape[0] == 0:
        raise FennecInputError(f"task {where}: no examples found; the task is empty")
    labels = np.asarray(task.labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise FennecInputError(f"task {where}: labels must be a 1-D integer array")
    if labels.min() < 0 or labels.max() >= len(names):
        raise FennecInputError(f"task {where}: labels must lie in [0, {len(names)}), found {labels.min()}.."
                               f"{labels.max()}")
    counts = np.bincount(labels, minlength=len(names))
    empty = [names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise FennecInputError(f"task {where}: class(es) {empty[:5]} have no examples; add examples or remove the "
                               "class")
    n = labels.shape[0]
    if task.kind == "images" and (task.paths is None or len(task.paths) != n):
        raise FennecInputError(f"task {where}: need one image path per label")
    if task.kind == "features":
        if task.features is None or task.features.ndim != 2 or task.features.shape[0] != n:
            raise FennecInputError(f"task {where}: features must have shape (N, D) with N = {n} labels")
        if not np.isfinite(task.features).all():
            raise FennecInputError(f"task {where}: features contain NaN or inf; drop or impute those rows")
    if task.splits is not None and task.splits.shape[0] != n:
        raise FennecInputError(f"task {where}: need one split per example")


def task_from_class_names(name: str, class_names: list[str] | tuple[str, ...], description: str | None = None) -> Task:
    """A text-only task: class names (and an optional description), no images.

    Args:
        name: Task name.
        class_names: At least two distinct class names.
        description: Optional free text about the task.
    """
    if isinstance(class_names, str):
        raise FennecInputError("class_names: expected a list of names, got one string; split it first")
    odd = [n for n in class_names if not isinstance(n, str | int | np.integer) or isinstance(n, bool)]
    if odd:  # str() would make None, NaN or b"cat" into the names 'None', 'nan' and "b'cat'"
        raise FennecInputError(f"class_names: expected names as text, got {odd[0]!r} ({type(odd[0]).__name__}); "
                               "decode or drop it")
    if description is not None and not isinstance(description, str):
        raise FennecInputError(f"description: expected text or None, got {type(description).__name__}")
    names = tuple(str(n).strip() for n in class_names)
    return Task(name=str(name), class_names=names, kind="names", description=description, source=str(name))
