"""Models named by the user (``timm:NAME``, ``open_clip:ARCH:TAG``, ``local:PATH``) as model metadata for the
towers: an architecture for archi2vec and a pre-training text, read from the id's pre-trained tag when the user
gives none."""

from __future__ import annotations

from dataclasses import dataclass

from fennec.validation import FennecInputError, check_model_id

# timm / open_clip pre-trained tags -> what the weights were trained on (the words the text encoder reads)
_TAG_WORDS = (
    ("in22k_ft_in1k", "supervised on ImageNet-21k, fine-tuned on ImageNet-1k"),
    ("in21k_ft_in1k", "supervised on ImageNet-21k, fine-tuned on ImageNet-1k"),
    ("in12k_ft_in1k", "supervised on ImageNet-12k, fine-tuned on ImageNet-1k"),
    ("in22k", "supervised on ImageNet-21k (21k object categories)"),
    ("in21k", "supervised on ImageNet-21k (21k object categories)"),
    ("in12k", "supervised on ImageNet-12k"),
    ("laion", "CLIP image-text contrastive pre-training on LAION web images"),
    ("openai", "CLIP image-text contrastive pre-training on web images"),
    ("dino", "self-supervised DINO on ImageNet"),
    ("mae", "self-supervised masked autoencoder on ImageNet"),
    ("in1k", "supervised on ImageNet-1k (1000 object categories)"),
)


@dataclass(frozen=True)
class ZooModel:
    """Metadata of a model given by id: ``id``, ``architecture`` (timm or ``torchvision:`` name), ``pretraining``."""

    id: str
    architecture: str | None
    pretraining: str | None


def pretraining_from_tag(tag: str) -> str | None:
    """Describe the pre-training data from a timm/open_clip tag (``a1_in1k``, ``laion2b_s34b_b79k``), or None."""
    tag = tag.lower()
    for key, words in _TAG_WORDS:
        if key in tag:
            return words
    return None


def model_from_id(model_id: str, pretraining: str | None = None) -> ZooModel:
    """Metadata for a ``source:id`` model id.

    Raises:
        FennecInputError: for a malformed id or an unknown source.
    """
    source, rest = check_model_id(model_id, "model")
    if source == "timm":
        arch, _, tag = rest.partition(".")
        words = pretraining or pretraining_from_tag(tag) or "supervised on ImageNet-1k (timm default weights)"
        return ZooModel(model_id, arch, words)
    if source == "open_clip":
        arch, _, tag = rest.partition(":")
        return ZooModel(model_id, None, pretraining or pretraining_from_tag(tag) or
                        f"CLIP image-text contrastive pre-training ({tag or 'unknown data'})")
    if source == "torchvision":
        return ZooModel(model_id, model_id, pretraining or "supervised on ImageNet-1k (1000 object categories)")
    if source == "local":
        return ZooModel(model_id, None, pretraining)
    raise FennecInputError(f"model: unknown source {source!r} in {model_id!r}; expected timm:, open_clip:, "
                           "torchvision: or local:")
