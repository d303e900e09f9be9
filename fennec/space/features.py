"""Input features of the two towers: what a model and a task look like before the space maps them.

Model side: the archi2vec embedding of its architecture (64 dims; zeros plus a flag when the architecture can't be
embedded) and the text embedding of its pre-training data and method. Task side: the text part of the task
descriptor (mean class-name embedding and description embedding, :func:`fennec.tasks.descriptor.text_part`), its
size (log classes, log images) and, for tasks whose card carries them, the image part of the descriptor (what a
proxy saw of a probe set of its images). The historical tasks of the published records are text-only cards, so a
space trained on them reads text alone; a store whose tasks were described from their images (``fennec tasks
add-images``) trains a space that reads both (:class:`~fennec.space.space.TransferSpace`, ``images``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fennec.io import atomic_open

_TEXT_PARTS: dict[tuple, np.ndarray] = {}
TEXT_DIM = 384  # the offline MiniLM sentence model; the open_clip text tower is projected to it by the tower


@lru_cache(maxsize=2)
def _text_encoder(name: str | None) -> object:
    from fennec.encoders import create_text_encoder

    return create_text_encoder(name)


def _disk_cached(parts: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Text embeddings are cached on disk (``$FENNEC_CACHE/space-text``): evaluation folds and retraining embed
    the same few thousand class names again and again, and the encoder is the slow part."""
    from fennec.tasks.cache import cache_dir, cache_key, writing_cache

    path = cache_dir("space-text") / f"{cache_key(*parts)}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # a damaged entry is recomputed
    arr = np.asarray(compute(), dtype=np.float32)
    with writing_cache(path), atomic_open(path, "wb") as fh:
        np.save(fh, arr)
    return arr


@lru_cache(maxsize=8192)
def _encode_one(text: str, name: str | None) -> np.ndarray:
    return _disk_cached(("text", name, text), lambda: _text_encoder(name).encode([text])[0])


def encode_texts(texts: Sequence[str], text_encoder: str | None = None) -> np.ndarray:
    """L2-normalized text embeddings (len(texts), TEXT_DIM); empty strings give zero rows. Memoized per text."""
    out = np.zeros((len(texts), TEXT_DIM), np.float32)
    for i, t in enumerate(texts):
        if t and t.strip():
            out[i] = _encode_one(t.strip(), text_encoder)
    return out


@dataclass(frozen=True)
class TaskFeatures:
    """Task-tower inputs for T tasks.

    Attributes:
        names: (T, TEXT_DIM) mean class-name embedding (zeros when the classes are unnamed).
        description: (T, TEXT_DIM) description embedding (zeros when there is none).
        meta: (T, 4) has_names, has_description, log1p(#classes) / 7, log1p(#images) / 14.
        images: (T,) mappings proxy id -> image part of the task's descriptor (2 * di + 8,), what a proxy saw of
            its images (:func:`fennec.tasks.descriptor.image_part`); empty for text-only tasks. The space picks
            the proxy it was trained with.
    """

    names: np.ndarray
    description: np.ndarray
    meta: np.ndarray
    images: tuple[Mapping[str, np.ndarray], ...]


def task_features(cards: Sequence[object], text_encoder: str | None = None) -> TaskFeatures:
    """Featurize task cards (objects with ``name``, ``class_names``, ``description``, ``n_classes``, ``n_images``).

    Both :class:`fennec.records.cards.TaskCard` and :class:`fennec.tasks.task.Task` fit.

    Raises:
        FennecInputError: something else (a string of class names, a list): read as a task without any text, it
            got the same vector as every other such task.
    """
    from fennec.tasks import task_from_class_names
    from fennec.tasks.descriptor import MAX_NAMES
    from fennec.validation import FennecInputError

    for card in cards:
        if not (hasattr(card, "name") and hasattr(card, "class_names")):
            shown = repr(card) if len(repr(card)) <= 40 else repr(card)[:37] + "..."
            raise FennecInputError(f"task: expected a Task or a TaskCard, got {type(card).__name__} {shown}; make "
                                   "one with fennec.tasks.task_from_class_names(name, names) or read_task(path)")
    enc = _text_encoder(text_encoder)
    names = np.zeros((len(cards), TEXT_DIM), np.float32)
    desc = np.zeros((len(cards), TEXT_DIM), np.float32)
    meta = np.zeros((len(cards), 4), np.float32)
    images = tuple(dict(getattr(card, "image_parts", None) or {}) for card in cards)
    for i, card in enumerate(cards):
        # unnamed classes (integer labels of a feature file) carry no text
        classes = list(getattr(card, "class_names", None) or []) if getattr(card, "named_classes", True) else []
        description = getattr(card, "description", None) or ""
        n_classes = _card_size(card, "n_classes") or len(getattr(card, "class_names", None) or ())
        n_images = _card_size(card, "n_images") or _card_size(card, "n_examples") or 0
        if classes:
            task = task_from_class_names(str(card.name), classes, description=description or None)
            # Evaluation featurizes the same cards for every fold: embed each card once per process.
            key = (task.name, tuple(classes), description, text_encoder)
            if key not in _TEXT_PARTS:
                # MAX_NAMES in the disk key: how a long class list is sampled decides the part
                _TEXT_PARTS[key] = _disk_cached(("card", *key, MAX_NAMES),
                                                lambda task=task: _text_part_or_zeros(task, enc))
            names[i], desc[i] = _TEXT_PARTS[key][:TEXT_DIM], _TEXT_PARTS[key][TEXT_DIM:]
        elif description:
            desc[i] = encode_texts([description], text_encoder)[0]
        meta[i] = [float(bool(classes)), float(bool(description)), math.log1p(float(n_classes)) / 7.0,
                   math.log1p(float(n_images)) / 14.0]
    return TaskFeatures(names, desc, meta, images)


def _card_size(card: object, field: str) -> int:
    """A card's count (``n_classes``, ``n_images``) as a non-negative integer (None and 0: unknown).

    Raises:
        FennecInputError: NaN, a negative or fractional count, or not a number, naming the card and field.
    """
    value = getattr(card, field, None)
    if value is None:
        return 0
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or value != int(value):
        from fennec.validation import FennecInputError

        raise FennecInputError(f"task {getattr(card, 'name', '?')!r}: {field} expected a non-negative integer "
                               f"(0 when unknown), got {value!r}; fix the card")
    return int(value)


def _text_part_or_zeros(task: object, enc: object) -> np.ndarray:
    from fennec.tasks.descriptor import text_part

    part = text_part(task, enc)
    return np.zeros(2 * TEXT_DIM, np.float32) if part is None else part


@dataclass(frozen=True)
class ModelFeatures:
    """Model-tower inputs for M models.

    Attributes:
        arch: (M, A) archi2vec embedding of the architecture (zeros when it can't be embedded).
        size: (M, 2) log10(parameters) / 8 and log10(FLOPs) / 10 of the architecture at its default
            input size (zeros when unknown).
        pretraining: (M, TEXT_DIM) text embedding of the pre-training data and method.
        flags: (M, 2) has_arch, has_pretraining.
    """

    arch: np.ndarray
    size: np.ndarray
    pretraining: np.ndarray
    flags: np.ndarray


ARCH_DIM = 64


def arch_embeddings(architectures: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """archi2vec vectors (M, ARCH_DIM), a has-vector flag (M,) and size features (M, 2) for architecture names.

    The size features are log10(parameters) / 8 and log10(FLOPs) / 10 from the architecture's graph, built at
    its default input size (timm's pre-trained configuration: 299 px for Inception v3, 384 px for a ``*_384`` ViT):
    capacity is the single most telling property of an architecture for its fine-tuned accuracy, and giving it
    directly spares the tower from recovering it from the embedding. Unknown architectures get zeros.
    """
    out = np.zeros((len(architectures), ARCH_DIM), np.float32)
    ok = np.zeros(len(architectures), np.float32)
    size = np.zeros((len(architectures), 2), np.float32)
    failed: dict[str, str] = {}
    for i, a in enumerate(architectures):
        found = _arch_vector(a) if a else None
        if isinstance(found, str):
            failed[a] = found
        elif found is not None:
            vec, sz = found
            out[i, : min(ARCH_DIM, vec.shape[0])] = vec[:ARCH_DIM]
            ok[i] = 1.0
            size[i] = sz
    _warn_unembedded(failed)
    return out, ok, size


_WARNED: set[str] = set()  # architectures already reported in this process (folds featurize the same zoo again)


def _warn_unembedded(failed: dict[str, str]) -> None:
    """One warning for the architectures archi2vec could not embed that were not reported yet in this process:
    a zoo with several of them (the shipped records have four transformers-only VAN models) gets one line, not
    one per model and per evaluation fold."""
    new = {a: why for a, why in failed.items() if a not in _WARNED}
    if not new:
        return
    _WARNED.update(new)
    names = sorted(new)
    if len(names) == 1:
        warnings.warn(f"archi2vec could not embed {names[0]!r} ({new[names[0]]}); its model gets no architecture "
                      "vector", stacklevel=4)
        return
    shown = ", ".join(repr(a) for a in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    warnings.warn(f"archi2vec could not embed {len(names)} architectures ({shown}; first: {new[names[0]]}); their "
                  "models get no architecture vector", stacklevel=4)


@lru_cache(maxsize=4096)
def _arch_vector(name: str) -> tuple[np.ndarray, np.ndarray] | str | None:
    """(unit archi2vec vector, size features) of an architecture; the reason as a string when archi2vec cannot
    embed it; None for a zero vector."""
    try:
        import archi2vec

        vec = archi2vec.embed([name])[0]
        graph = archi2vec.get_graph(archi2vec.canonical_name(name))
    except Exception as exc:  # any architecture that cannot be embedded degrades to "no vector"
        return f"{type(exc).__name__}: {exc}"
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        return None
    params, flops = float(getattr(graph, "n_params", 0) or 0), float(getattr(graph, "flops", 0) or 0)
    size = np.array([math.log10(params) / 8 if params > 0 else 0.0,
                     math.log10(flops) / 10 if flops > 0 and math.isfinite(flops) else 0.0], np.float32)
    return (vec / norm).astype(np.float32), size


def model_features(models: Sequence[object], text_encoder: str | None = None) -> ModelFeatures:
    """Featurize models (objects with ``architecture`` and ``pretraining`` attributes, e.g. ModelInfo)."""
    # a name, whatever a space saved before checkpoints were checked holds (an architecture 5 broke training)
    arch, has_arch, size = arch_embeddings([str(a) if (a := getattr(m, "architecture", None)) else None
                                            for m in models])
    texts = [getattr(m, "pretraining", None) or "" for m in models]
    pre = encode_texts(texts, text_encoder)
    flags = np.stack([has_arch, np.array([float(bool(t)) for t in texts], np.float32)], axis=1)
    return ModelFeatures(arch, size, pre, flags)
