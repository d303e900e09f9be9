"""Models named by the user (``timm:NAME``, ``open_clip:ARCH:TAG``, ``local:PATH``) as model metadata for the
towers: an architecture for archi2vec and a pre-training text, read from the id's pre-trained tag when the user
gives none."""

from __future__ import annotations

from dataclasses import dataclass

from fennec.records.aliases import id_metadata, timm_close_names, timm_knows
from fennec.validation import FennecInputError, check_model_id


@dataclass(frozen=True)
class ZooModel:
    """Metadata of a model given by id: ``id``, ``architecture`` (timm or ``torchvision:`` name), ``pretraining``;
    ``added`` for a model the user put in a space (``fennec zoo add``), which a retrained space keeps."""

    id: str
    architecture: str | None
    pretraining: str | None
    added: bool = False


def _check_timm_architecture(model_id: str, arch: str) -> None:
    """A ``timm:`` id must name an architecture timm can build: a typo would otherwise rank as an average model."""
    if not timm_knows(arch):
        raise FennecInputError(f"model {model_id!r}: timm has no architecture {arch!r}{timm_close_names(arch)} "
                               "(timm.list_models() lists them; a model of your own is local:PATH)")


def model_from_id(model_id: str, pretraining: str | None = None) -> ZooModel:
    """Metadata for a ``source:id`` model id.

    Raises:
        FennecInputError: for a malformed id or an unknown source.
    """
    source, rest = check_model_id(model_id, "model")
    if source not in ("timm", "open_clip", "torchvision", "local"):
        raise FennecInputError(f"model: unknown source {source!r} in {model_id!r}; expected timm:, open_clip:, "
                               "torchvision: or local:")
    arch, words = id_metadata(source, rest, pretraining)
    if source == "timm":
        _check_timm_architecture(model_id, arch)
    return ZooModel(model_id, arch, words)
