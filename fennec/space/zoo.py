"""Models named by the user (``timm:NAME``, ``open_clip:ARCH:TAG``, ``local:PATH``) as model metadata for the
towers: an architecture for archi2vec and a pre-training text, read from the id's pre-trained tag when the user
gives none."""

from __future__ import annotations

from dataclasses import dataclass

from fennec.records.aliases import id_metadata, timm_close_names, timm_knows, timm_tag_problem
from fennec.registry import unknown_name_message
from fennec.validation import FennecInputError, check_model_id, split_timm_id


@dataclass(frozen=True)
class ZooModel:
    """Metadata of a model given by id: ``id``, ``architecture`` (timm or ``torchvision:`` name), ``pretraining``;
    ``added`` for a model the user put in a space (``fennec zoo add``), which a retrained space keeps."""

    id: str
    architecture: str | None
    pretraining: str | None
    added: bool = False


def _check_timm_model(model_id: str, arch: str, name: str) -> None:
    """A ``timm:`` id must name an architecture timm can build (a typo would otherwise rank as an average model)
    and, with a tag, weights timm has (a mistyped tag would be read as the default pre-training)."""
    if not timm_knows(arch):
        raise FennecInputError(f"model {model_id!r}: timm has no architecture {arch!r}{timm_close_names(arch)} "
                               "(timm.list_models() lists them; a model of your own is local:PATH)")
    if (problem := timm_tag_problem(name)) is not None:
        raise FennecInputError(f"model {model_id!r}: {problem}")


def _check_torchvision_model(model_id: str, name: str) -> None:
    """A ``torchvision:`` id must name a classification model torchvision can build."""
    import torchvision

    known = torchvision.models.list_models(module=torchvision.models)
    if name not in known:
        raise FennecInputError(f"model {model_id!r}: "
                               + unknown_name_message("torchvision classification model", name, known))


def _check_open_clip_model(model_id: str, rest: str) -> None:
    """An ``open_clip:ARCH[:TAG]`` id must name a model config open_clip ships and, with a tag, one of its
    pre-trained tags or a weights file (open_clip takes either)."""
    from pathlib import Path

    import open_clip

    arch, _, tag = rest.partition(":")
    archs = open_clip.list_models()
    if arch not in archs:
        raise FennecInputError(f"model {model_id!r}: " + unknown_name_message("open_clip model", arch, archs))
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if tag and tag not in tags and not Path(tag).expanduser().is_file():
        raise FennecInputError(f"model {model_id!r}: open_clip has no pre-trained tag {tag!r} for {arch!r}; "
                               f"expected one of {', '.join(tags) or '(none)'} or a weights file")


def model_from_id(model_id: str, pretraining: str | None = None) -> ZooModel:
    """Metadata for a ``source:id`` model id the space has not seen, for its cold-start vector.

    A ``local:PATH`` checkpoint (:mod:`fennec.zoo.checkpoints`) says its own architecture and pre-training text;
    ``pretraining`` overrides what the id or the checkpoint says.

    Raises:
        FennecInputError: for a malformed id, a source that cannot give a cold-start vector, or a name its source
            does not know (a typo would otherwise rank as an average model).
    """
    source, rest = check_model_id(model_id, "model")
    if source not in ("timm", "open_clip", "torchvision", "local"):
        raise FennecInputError(f"model {model_id!r}: not in the space, and a {source}: id cannot get a cold-start "
                               "vector; a model new to the space is timm:, open_clip:, torchvision: or local: "
                               "(`fennec zoo list` lists the space's models)")
    if source == "local":
        from fennec.zoo.checkpoints import read_checkpoint_info

        info = read_checkpoint_info(model_id)
        return ZooModel(model_id, info.architecture, pretraining or info.pretraining)
    arch, words = id_metadata(source, rest, pretraining)
    if source == "timm":
        _check_timm_model(model_id, arch, split_timm_id(rest)[0])
    elif source == "torchvision":
        _check_torchvision_model(model_id, rest)
    else:
        _check_open_clip_model(model_id, rest)
    return ZooModel(model_id, arch, words)
