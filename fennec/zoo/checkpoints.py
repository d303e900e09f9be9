"""Models trained here as files: ``local:PATH`` zoo ids.

A zoo pre-trained on this machine (a timm architecture trained on a source task by :mod:`fennec.zoo.finetune`) is
a set of checkpoint files. Each holds what a zoo model id must tell the rest of fennec: the timm architecture (for
archi2vec and to rebuild the network), the pre-training text (for the space's model tower), the input size it was
trained at, the class names of its head, and the weights. ``local:PATH`` names such a file; it is read with
``torch.load(weights_only=True)``, so a checkpoint cannot run code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fennec.io import atomic_open
from fennec.validation import FennecInputError, check_model_id

FORMAT = "fennec-checkpoint-v1"


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says of its model.

    Attributes:
        path: The file.
        architecture: timm architecture name (``resnet10t``).
        pretraining: One line on what it was trained on (the space's pre-training text).
        input_size: Side in pixels it was trained at.
        class_names: Its head's classes, in label order.
    """

    path: str
    architecture: str
    pretraining: str
    input_size: int
    class_names: tuple[str, ...]


def save_checkpoint(path: str | os.PathLike[str], model: Any, architecture: str, pretraining: str, input_size: int,
                    class_names: tuple[str, ...] | list[str]) -> None:
    """Write a model and its description atomically (a stop mid-write leaves the previous file or none)."""
    import torch

    with atomic_open(path, "wb") as fh:
        torch.save({"format": FORMAT, "architecture": architecture, "pretraining": pretraining,
                    "input_size": int(input_size), "class_names": list(class_names),
                    "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, fh)


def checkpoint_path(model_id: str) -> Path:
    """The file of a ``local:PATH`` id.

    Raises:
        FennecInputError: not a ``local:`` id, or no such file.
    """
    source, rest = check_model_id(model_id, "model")
    if source != "local":
        raise FennecInputError(f"model {model_id!r}: expected a local:PATH id of a checkpoint file")
    path = Path(rest).expanduser()
    if not path.is_file():
        raise FennecInputError(f"model {model_id!r}: checkpoint file {str(path)!r} does not exist; check the path")
    return path


def _read(path: Path, model_id: str, mmap: bool = False) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # pickle, zip and truncation errors all mean "not a checkpoint we wrote"
        raise FennecInputError(f"model {model_id!r}: cannot read checkpoint {str(path)!r} ({type(exc).__name__}); "
                               "give a file written by fennec finetune --save-to") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise FennecInputError(f"model {model_id!r}: {str(path)!r} is not a {FORMAT} checkpoint; give a file written "
                               "by fennec finetune --save-to")
    return state


def _info(path: Path, state: dict[str, Any]) -> CheckpointInfo:
    """The description a checkpoint carries, checked: a file edited or written by hand was taken at its word, and
    an architecture that is no string broke every later training of a space it was added to."""
    from fennec.records.aliases import timm_close_names, timm_knows

    def bad(what: str) -> FennecInputError:
        return FennecInputError(f"checkpoint {str(path)!r}: {what}; give a file written by fennec finetune --save-to")

    missing = [k for k in ("architecture", "pretraining", "input_size", "class_names") if k not in state]
    if missing:
        raise bad(f"lacks {', '.join(missing)}")
    arch, pre, size, names = (state[k] for k in ("architecture", "pretraining", "input_size", "class_names"))
    if not isinstance(arch, str) or not arch.strip():
        raise bad(f"architecture {arch!r} is not a timm architecture name")
    if not timm_knows(arch):  # the model could not be built, and would rank as an average model
        raise bad(f"timm has no architecture {arch!r}{timm_close_names(arch)}")
    if not isinstance(pre, str):
        raise bad(f"pretraining {pre!r} is not a text")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise bad(f"input_size {size!r} is not a positive integer")
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise bad("class_names is not a list of names")
    return CheckpointInfo(str(path), arch, pre, size, tuple(names))


def read_checkpoint_info(model_id: str) -> CheckpointInfo:
    """The description of a ``local:PATH`` checkpoint. The file is memory-mapped, so its weights are not read:
    the store and the feature cache ask for the description of every model, often before loading it."""
    path = checkpoint_path(model_id)
    return _info(path, _read(path, model_id, mmap=True))


def load_checkpoint_model(model_id: str) -> tuple[Any, CheckpointInfo]:
    """(the timm model with its trained head, in eval mode; its description) of a ``local:PATH`` checkpoint.

    Raises:
        FennecInputError: a missing or foreign file, an architecture timm does not know, weights that do not fit.
    """
    import timm

    path = checkpoint_path(model_id)
    s = _read(path, model_id)
    info = _info(path, s)
    try:
        model = timm.create_model(info.architecture, pretrained=False, num_classes=len(info.class_names))
    except RuntimeError as exc:
        raise FennecInputError(f"model {model_id!r}: timm cannot build architecture {info.architecture!r} "
                               f"({str(exc).splitlines()[0]})") from None
    try:
        model.load_state_dict(s["state_dict"], strict=True)
    except RuntimeError as exc:
        raise FennecInputError(f"model {model_id!r}: weights do not fit {info.architecture!r} "
                               f"({str(exc).splitlines()[0]})") from None
    return model.eval(), info
