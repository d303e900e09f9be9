"""Models named by the user (``timm:NAME``, ``open_clip:ARCH:TAG``, ``local:PATH``) as model metadata for the
towers: an architecture for archi2vec and a pre-training text, read from the id's pre-trained tag when the user
gives none.

Also what ``fennec zoo add`` / ``zoo remove`` need around a space: one spelling per model (a ``local:`` id holds
its file's absolute path), the inter-process lock that serialises writers of one space directory
(:func:`locked_space`), and the removal of models that were added with ``zoo add`` (:func:`remove_added_models`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fennec.io import exclusive_lock
from fennec.records.aliases import id_metadata, timm_close_names, timm_knows, timm_tag_problem
from fennec.registry import unknown_name_message
from fennec.validation import FennecInputError, check_model_id, check_text_option, split_timm_id


@dataclass(frozen=True)
class ZooModel:
    """Metadata of a model given by id: ``id``, ``architecture`` (timm or ``torchvision:`` name), ``pretraining``;
    ``added`` for a model the user put in a space (``fennec zoo add``), which a retrained space keeps."""

    id: str
    architecture: str | None
    pretraining: str | None
    added: bool = False


def check_id_characters(model_id: str) -> None:
    """Refuse a model id holding a comma or a control character (tab, newline, ...).

    ``--candidates`` splits its values on commas, so such a model could never be named there; a tab or a newline
    breaks ``fennec zoo list``'s one-line, tab-separated rows.

    Raises:
        FennecInputError: naming the id (escaped, so the message stays one line) and the character.
    """
    bad = next((c for c in model_id if c == "," or not c.isprintable()), None)
    if bad is not None:
        what = "a comma" if bad == "," else f"the control character {bad!r}"
        raise FennecInputError(f"model {model_id!r}: holds {what}, which no model id may hold (--candidates splits "
                               "on commas; zoo list writes one tab-separated line per model); rename the file or "
                               "folder so its path has none")


def _absolute(path: str) -> str:
    """``path`` (``~`` expanded) made absolute and normalised, links resolved: the one spelling of a file, so
    ``ck/good.pt``, ``./ck/good.pt`` and ``/abs/ck//good.pt`` are one model, and a relative id does not mean
    another file when read from another directory."""
    return os.path.realpath(Path(path).expanduser())


def _is_open_clip_file_tag(arch: str, tag: str) -> bool:
    """True when the TAG of ``open_clip:ARCH:TAG`` names a weights file rather than one of open_clip's
    pre-trained tags: not a tag of ARCH, and a path (a folder in it, a weights suffix, or a file that is there).
    A tag wins over a file of the same name in the working directory, as in
    :mod:`fennec.encoders.open_clip_encoder`; anything else is a mistyped tag."""
    import open_clip

    from fennec.encoders.timm_models import WEIGHT_SUFFIXES

    if not tag or tag in open_clip.list_pretrained_tags_by_model(arch):
        return False
    return os.sep in tag or tag.endswith(WEIGHT_SUFFIXES) or Path(tag).expanduser().exists()


def canonical_model_id(model_id: str) -> str:
    """The one spelling of a model id: a ``local:PATH`` checkpoint, an ``open_clip:ARCH:FILE`` or a
    ``timm:NAME:FILE`` weights file with the file's absolute path (:func:`_absolute`); other ids as given.

    Cheap (no file is read), and the file need not exist, so a model whose file was deleted can still be named
    (``fennec zoo remove``).

    Raises:
        FennecInputError: an id not of the form ``source:id``.
    """
    source, rest = check_model_id(model_id, "model")
    if source == "local":
        return f"local:{_absolute(rest)}"
    if source == "timm":
        name, weights = split_timm_id(rest)
        return f"timm:{name}:{_absolute(weights)}" if weights else model_id
    if source == "open_clip":
        arch, _, tag = rest.partition(":")
        if tag:
            try:
                is_file = _is_open_clip_file_tag(arch, tag)
            except ImportError:  # without open_clip the id cannot be checked either; model_from_id says so
                is_file = False
            if is_file:
                return f"open_clip:{arch}:{_absolute(tag)}"
    return model_id


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


#: First bytes of the weights files open_clip and torch read: a zip archive (torch.save since torch 1.6) or a
#: pickle of protocol 2 to 5 (the legacy torch.save format). A safetensors file is checked by its header instead.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _weights_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a weights file (missing, a folder, empty, text, or some other format), or None.

    Reads the first 16 bytes only: a text file or a typo'd path gave a cold-start vector whose pre-training text
    claimed weights that cannot be loaded.
    """
    if not path.exists():
        return "does not exist; check the path"
    if not path.is_file():
        return "is not a file; give the weights file itself"
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if head.startswith(_ZIP_MAGIC) or head[:2] in _PICKLE_PROTOCOLS:
        return None
    if len(head) >= 9:  # safetensors: a little-endian u64 header length, then the JSON header
        size = int.from_bytes(head[:8], "little")
        if head[8:9] == b"{" and 0 < size < path.stat().st_size:
            return None
    what = "is empty" if not head else "is not a torch checkpoint (zip or pickle) or a safetensors file"
    return f"{what}; give the weights file open_clip saved (.pt, .bin or .safetensors)"


def _check_open_clip_model(model_id: str, rest: str) -> None:
    """An ``open_clip:ARCH:TAG`` id must name a model config open_clip ships and one of its pre-trained tags or a
    weights file (open_clip takes either). A bare ``ARCH`` names no weights, and the encoders and zoo runners
    require ``ARCH:TAG``: it is refused with the tags there are."""
    import open_clip

    arch, _, tag = rest.partition(":")
    archs = open_clip.list_models()
    if arch not in archs:
        raise FennecInputError(f"model {model_id!r}: " + unknown_name_message("open_clip model", arch, archs))
    tags = open_clip.list_pretrained_tags_by_model(arch)
    listed = ", ".join(tags) or "(none: give a weights file)"
    if not tag:
        raise FennecInputError(f"model {model_id!r}: names no pre-trained weights; give open_clip:{arch}:TAG with "
                               f"TAG one of {listed}, or open_clip:{arch}:/path/to/weights.bin")
    if tag in tags:
        return
    if not _is_open_clip_file_tag(arch, tag):
        raise FennecInputError(f"model {model_id!r}: open_clip has no pre-trained tag {tag!r} for {arch!r}; "
                               f"expected one of {listed} or a weights file")
    path = Path(tag).expanduser()
    if (problem := _weights_file_problem(path)) is not None:
        raise FennecInputError(f"model {model_id!r}: weights file {str(path)!r} {problem}")


def check_pretraining(text: str | None, name: str = "pretraining") -> str | None:
    """A pre-training text, stripped; None when left out (the id's tag or checkpoint says it). An empty or blank
    text is refused: ``--pretraining ""`` fell back to the tag's text while ``"   "`` was stored as blank.

    Raises:
        FennecInputError: for an empty or blank text.
    """
    return check_text_option(text, name, what="what the weights were pre-trained on (e.g. 'supervised on "
                             "ImageNet-1k')", left_out="the text the id's tag or checkpoint gives")


def model_from_id(model_id: str, pretraining: str | None = None) -> ZooModel:
    """Metadata for a ``source:id`` model id the space has not seen, for its cold-start vector.

    The returned ``id`` is the id's one spelling (:func:`canonical_model_id`: a ``local:`` checkpoint's absolute
    path). A ``local:PATH`` checkpoint (:mod:`fennec.zoo.checkpoints`) says its own architecture and pre-training
    text; ``pretraining`` overrides what the id or the checkpoint says.

    Raises:
        FennecInputError: for a malformed id, an id holding a comma or a control character, a source that cannot
            give a cold-start vector, a name its source does not know (a typo would otherwise rank as an average
            model), an open_clip id without weights, a weights file that is none, or a blank ``pretraining``.
    """
    source, rest = check_model_id(model_id, "model")
    check_id_characters(model_id)
    pretraining = check_pretraining(pretraining)
    if source not in ("timm", "open_clip", "torchvision", "local"):
        raise FennecInputError(f"model {model_id!r}: not in the space, and a {source}: id cannot get a cold-start "
                               "vector; a model new to the space is timm:, open_clip:, torchvision: or local: "
                               "(`fennec zoo list` lists the space's models)")
    if source == "local":
        from fennec.zoo.checkpoints import read_checkpoint_info

        info = read_checkpoint_info(model_id)
        canonical = canonical_model_id(model_id)
        check_id_characters(canonical)  # a link may lead to a path holding one
        return ZooModel(canonical, info.architecture, pretraining or info.pretraining)
    if source == "open_clip":
        _check_open_clip_model(model_id, rest)  # before canonical_model_id, which asks open_clip for the tags
    canonical = canonical_model_id(model_id)
    check_id_characters(canonical)
    arch, words = id_metadata(source, canonical.partition(":")[2], pretraining)
    if source == "timm":
        _check_timm_model(model_id, arch, split_timm_id(rest)[0])
    elif source == "torchvision":
        _check_torchvision_model(model_id, rest)
    return ZooModel(canonical, arch, words)


# ---------------------------------------------------------------------------------------------------------------
# Writers of a space directory: one at a time.


@contextlib.contextmanager
def locked_space(space_dir: str | os.PathLike[str], name: str = "--space") -> Iterator[Path]:
    """Hold the space's inter-process lock for the block (:func:`fennec.io.exclusive_lock`): a command that loads,
    changes and saves a space inside it cannot lose another's change (two ``zoo add`` at once both said "added",
    and the space held one of the models).

    Raises:
        FennecInputError: when the lock file cannot be made beside the space (a read-only folder).
    """
    with exclusive_lock(space_dir, name, "the space") as path:
        yield Path(path)


# ---------------------------------------------------------------------------------------------------------------
# Removing models added by mistake.


def find_model(space: Any, model_id: str) -> str | None:
    """The id under which ``space`` holds ``model_id`` (as given, else its one spelling), or None."""
    known = space.model_positions()
    if model_id in known:
        return model_id
    canonical = canonical_model_id(model_id)
    return canonical if canonical in known else None


def removal_problem(space: Any, model_id: str) -> str | None:
    """Why ``model_id`` (as the space holds it) cannot be removed, or None: only a model added with ``zoo add``
    can; a model with records, or one its records store brought, is part of the trained space."""
    info = space.model_info_.get(model_id) or {}
    # spaces saved before the flag: a model without records there was one zoo add gave (as train reads them)
    if info.get("added", not space.has_records(model_id)):
        return None
    why = "has records" if space.has_records(model_id) else "came with the records store the space was trained on"
    return (f"{why}: it is part of the trained space, not added with zoo add; to drop it, retrain the space on a "
            "store without it (`fennec train --out DIR`)")


def remove_added_models(space: Any, model_ids: Sequence[str]) -> list[str]:
    """Take models added with ``zoo add`` out of a loaded space (its vectors, protocol offsets, history rows and
    metadata; the FAISS index is rebuilt from the vectors when the space is saved); returns the ids removed.

    Args:
        space: A loaded :class:`~fennec.space.space.TransferSpace`.
        model_ids: Ids as the space holds them (:func:`find_model`).

    Raises:
        FennecInputError: for an id the space does not hold, or one :func:`removal_problem` refuses; nothing is
            changed then.
    """
    pos = space.model_positions()
    for m in model_ids:
        if m in pos and (problem := removal_problem(space, m)) is not None:
            raise FennecInputError(f"model {m!r}: {problem}")
    return space.remove_models(model_ids)  # an id the space does not hold is refused there
