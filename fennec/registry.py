"""A small name -> factory registry, shared by scorers, model sources, task readers and encoders.

Modelled on timm's decorator registry: components register themselves with ``@REGISTRY.register("name")``
and are created by name. An unknown name raises :class:`UnknownNameError` listing the close matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """Raised when a registry is asked for a name it does not hold.

    It is both a ``KeyError`` (a lookup failed) and a ``ValueError`` (bad user input), so the CLI turns it
    into a one-line message with exit code 2.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def unknown_name_message(kind: str, name: str, known: list[str] | tuple[str, ...]) -> str:
    """``unknown KIND 'name'; did you mean ...? (known: ...)``: the one wording of every unknown-name error."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = sorted(known)
    more = f", ... ({len(shown) - 20} more)" if len(shown) > 20 else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(shown[:20])}{more})"


class Registry(Generic[T]):
    """Maps names to factories of one kind of component.

    Args:
        kind: What the registry holds, used in error messages (e.g. ``"scorer"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; a second registration of a name is an error."""

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the entry registered as ``name``.

        Raises:
            UnknownNameError: with the close matches, if ``name`` is unknown.
        """
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        return unknown_name_message(self.kind, name, list(self._entries))

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
