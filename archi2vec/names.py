"""Architecture names: ``timm:resnet50``, ``resnet50.a1_in1k``, ``torchvision:alexnet``, ``googlenet``.

Canonical form is ``<source>:<architecture>`` with the pretrained tag dropped (the graph does not depend on it).
A bare name is looked up in timm first, then in torchvision.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache

from fennec.registry import UnknownNameError
from fennec.validation import FennecInputError

SOURCES = ("timm", "torchvision")


@lru_cache(maxsize=1)
def timm_architectures() -> tuple[str, ...]:
    import timm

    return tuple(sorted(timm.list_models()))


@lru_cache(maxsize=1)
def torchvision_architectures() -> tuple[str, ...]:
    """torchvision's image classification architectures (``alexnet``, ``googlenet``, ``vgg16``...)."""
    import torchvision.models

    return tuple(sorted(torchvision.models.list_models(module=torchvision.models)))


@lru_cache(maxsize=1)
def _known() -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(timm_architectures()), frozenset(torchvision_architectures())


def catalog_names() -> list[str]:
    """Canonical names of every architecture archi2vec knows (timm's catalog, then torchvision's)."""
    return [f"timm:{n}" for n in timm_architectures()] + [f"torchvision:{n}" for n in torchvision_architectures()]


def name_list(names: object, what: str = "names") -> list[str]:
    """``names`` as a list: a single string is one name, not a sequence of one-letter names.

    Args:
        names: One name or an iterable of names (each checked later by :func:`canonical_name`).
        what: The argument, for the message.

    Raises:
        FennecInputError: when ``names`` is neither a string nor an iterable.
    """
    if isinstance(names, str):
        return [names]
    if isinstance(names, bytes) or not isinstance(names, Iterable):
        raise FennecInputError(f"{what}: expected an architecture name or a list of names such as "
                               f"['timm:resnet50', 'torchvision:alexnet'], got {names!r}")
    return list(names)


def canonical_name(name: str) -> str:
    """``resnet50.a1_in1k`` -> ``timm:resnet50``; ``alexnet`` -> ``torchvision:alexnet``.

    Raises:
        UnknownNameError: one line with the close matches, for a name neither timm nor torchvision defines.
    """
    if not isinstance(name, str) or not name.strip():
        raise UnknownNameError(f"architecture name: expected a non-empty string such as 'timm:resnet50', "
                               f"got {name!r}")
    raw = name.strip()
    timm_set, tv_set = _known()
    source, sep, rest = raw.partition(":")
    if sep and source in SOURCES:
        arch = rest.split(".", 1)[0] if source == "timm" else rest
        if (source == "timm" and arch in timm_set) or (source == "torchvision" and arch in tv_set):
            return f"{source}:{arch}"
    elif not sep:
        arch = raw.split(".", 1)[0]
        if arch in timm_set:
            return f"timm:{arch}"
        if raw in tv_set:
            return f"torchvision:{raw}"
    raise UnknownNameError(unknown_message(raw))


def unknown_message(name: str) -> str:
    """One line: the unknown name and up to five close matches."""
    query = name.split(":", 1)[1] if ":" in name and name.split(":", 1)[0] in SOURCES else name
    query = query.split(".", 1)[0]
    pool = sorted(set(timm_architectures()) | set(torchvision_architectures()))
    close = difflib.get_close_matches(query, pool, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run `archi2vec catalog --list` to see the names"
    return (f"unknown architecture {name!r}: not a timm or torchvision classification architecture{hint}")
