"""Task cards: a dataset described by text (class names, size, one-line description) for when its images are
not at hand. The shipped cards are JSON files in ``data/tasks/<name>.json``.

Card file keys: ``name``, ``aliases`` (other spellings), ``n_classes``, ``n_images``, ``class_names``,
``classes_complete`` (false when ``class_names`` is a partial list), ``description``, ``task_type``
(``classification``, ``multilabel``, ``regression``), ``notes``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fennec.records.aliases import data_dir, normalize_name
from fennec.validation import FennecInputError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TaskCard:
    """A task described by text.

    Attributes:
        name: Canonical task name (``pets``).
        n_classes: Number of classes (0 when unknown or a regression task).
        n_images: Number of images in the dataset (0 when unknown).
        class_names: Class names, in the dataset's usual order.
        description: One line saying what the images show and what is predicted.
        classes_complete: False when ``class_names`` lists only part of the classes.
        aliases: Other spellings of the name used by benchmarks (``oxford_pets``).
        task_type: ``classification``, ``multilabel`` or ``regression``.
        notes: Free text (provenance, caveats).
        image_parts: What a proxy saw of the task's images, by proxy id: the image part of its descriptor,
            ``[mean (di), std (di), geometry (8)]`` of a probe set (:func:`fennec.tasks.descriptor.image_part`),
            float32 of shape (2 * di + 8,). Empty for tasks known by text only (the published records).
    """

    name: str
    n_classes: int = 0
    n_images: int = 0
    class_names: tuple[str, ...] = ()
    description: str = ""
    classes_complete: bool = True
    aliases: tuple[str, ...] = ()
    task_type: str = "classification"
    notes: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    image_parts: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def text(self) -> str:
        """The card as one paragraph (for text encoders)."""
        classes = ", ".join(self.class_names)
        more = "" if self.classes_complete else ", ..."
        return f"{self.name}: {self.description} Classes ({self.n_classes}): {classes}{more}."

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": list(self.aliases), "n_classes": self.n_classes,
                "n_images": self.n_images, "class_names": list(self.class_names),
                "classes_complete": self.classes_complete, "description": self.description,
                "task_type": self.task_type, "notes": self.notes}

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "card") -> TaskCard:
        try:
            name = normalize_name(str(obj["name"]))
        except KeyError:
            raise FennecInputError(f"{where}: task card has no 'name'") from None
        class_names = tuple(str(c) for c in obj.get("class_names", []))
        n_classes = int(obj.get("n_classes") or len(class_names))
        complete = bool(obj.get("classes_complete", len(class_names) == n_classes))
        return cls(name=name, n_classes=n_classes, n_images=int(obj.get("n_images") or 0),
                   class_names=class_names, description=str(obj.get("description", "")),
                   classes_complete=complete,
                   aliases=tuple(normalize_name(a) for a in obj.get("aliases", [])),
                   task_type=str(obj.get("task_type", "classification")), notes=str(obj.get("notes", "")))


def shipped_card_paths() -> list[Path]:
    """Paths of the shipped card files, sorted."""
    return sorted((data_dir() / "tasks").glob("*.json"))


def load_card(path: Path) -> TaskCard:
    """Read one card file."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FennecInputError(f"task card {str(path)!r}: cannot read JSON ({exc})") from None
    return TaskCard.from_json(obj, str(path))


def shipped_cards() -> Iterator[TaskCard]:
    """All shipped task cards."""
    for p in shipped_card_paths():
        yield load_card(p)


def parse_classes(spec: str) -> list[str]:
    """Class names from ``--classes`` (see :func:`fennec.tasks.readers.parse_class_names`), at least 2, unique."""
    from fennec.tasks.readers import parse_class_names

    names = parse_class_names(spec)
    if len(names) < 2:
        raise FennecInputError(f"--classes {spec!r}: expected a file with one class name per line or "
                               "a comma-separated list of at least 2 names")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:3]
        raise FennecInputError(f"--classes {spec!r}: duplicate class names {dup}")
    return names
