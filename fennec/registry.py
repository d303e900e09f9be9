"""A small name -> factory registry, shared by scorers, model sources, task readers, encoders and methods.

Modelled on timm's decorator registry: components register themselves with ``@REGISTRY.register("name")``
and are created by name (:meth:`Registry.create`). An unknown name raises :class:`UnknownNameError` listing
the close matches; an unknown hyper-parameter raises :class:`~fennec.validation.FennecInputError` listing the
accepted ones. A registry may name optional *plugin* modules that register more entries: they are imported
the first time a name is missing (or the full list is asked for), so a lower layer never imports them eagerly.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from fennec.validation import FennecInputError

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """Raised when a registry is asked for a name it does not hold.

    It is both a ``KeyError`` (a lookup failed) and a ``ValueError`` (bad user input), so the CLI turns it
    into a one-line message with exit code 2.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def close_matches(name: object, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``known`` close to ``name``, best first, compared case-insensitively.

    Case is ignored because ``PARC`` or ``LogME`` (the papers' spellings) should lead to ``parc`` and
    ``logme``; the names come back spelled as registered.
    """
    by_lower: dict[str, list[str]] = {}
    for k in known:
        by_lower.setdefault(k.lower(), []).append(k)
    lowered = difflib.get_close_matches(str(name).lower(), list(by_lower), n=n, cutoff=0.5)
    return [k for low in lowered for k in sorted(by_lower[low])][:n]


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    """``unknown KIND 'name'; did you mean ...? (known: ...)``: the one wording of every unknown-name error."""
    known = list(known)
    close = close_matches(name, known)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = sorted(known)
    more = f", ... ({len(shown) - 20} more)" if len(shown) > 20 else ""
    listed = ", ".join(shown[:20]) if shown else "none"
    return f"unknown {kind} {name!r}{hint} (known: {listed}{more})"


def hyper_parameters(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword hyper-parameters ``factory`` (a class or function) accepts, in signature order; None when it
    takes ``**kwargs`` (it then checks the names itself) or has no inspectable signature."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins and C extensions have no signature
        return None
    names: list[str] = []
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.append(p.name)
    return names


def check_param_names(owner: str, given: Iterable[str], accepted: Sequence[str]) -> None:
    """Refuse a hyper-parameter name ``owner`` does not accept, with the close matches.

    Args:
        owner: What takes the hyper-parameters, for the message (e.g. ``scorer 'parc'``).
        given: The names passed.
        accepted: The names ``owner`` accepts.

    Raises:
        FennecInputError: ``OWNER: unknown hyper-parameter 'x'; did you mean ...? (known: ...)``.
    """
    for key in given:
        if key not in accepted:
            raise FennecInputError(f"{owner}: {unknown_name_message('hyper-parameter', key, accepted)}")


class Registry(Generic[T]):
    """Maps names to factories of one kind of component.

    Args:
        kind: What the registry holds, used in error messages (e.g. ``"scorer"``).
        plugins: Modules that register more entries when imported (e.g. ``"fennec.space.methods"``). They are
            imported once, the first time a name is missing or all names are listed; a module that is not
            installed is skipped, one that fails to import is named in the unknown-name message.
    """

    def __init__(self, kind: str, plugins: Sequence[str] = ()) -> None:
        self.kind = kind
        self.plugins = tuple(plugins)
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False
        self._plugin_errors: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; a second registration of a name is an error."""

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return deco

    def load_plugins(self) -> None:
        """Import the plugin modules (once); failures are remembered for the unknown-name message."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True  # set first: a plugin importing this registry must not recurse
        for module in self.plugins:
            try:
                if importlib.util.find_spec(module) is None:
                    continue
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name is not None and f"{module}.".startswith(f"{exc.name}."):  # not installed (or a parent)
                    continue
                self._plugin_errors[module] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a broken optional plugin must not take the built-in entries down with it
                self._plugin_errors[module] = f"{type(exc).__name__}: {exc}"

    def get(self, name: str) -> T:
        """Return the entry registered as ``name``.

        Raises:
            UnknownNameError: with the close matches, if ``name`` is unknown.
        """
        if isinstance(name, str):
            if name in self._entries:
                return self._entries[name]
            self.load_plugins()
            if name in self._entries:
                return self._entries[name]
        raise UnknownNameError(self.unknown_message(name))

    def create(self, name: str, /, **params: Any) -> Any:
        """Call the factory registered as ``name`` with the hyper-parameters ``params``.

        Names are checked against the factory's signature first, so a misspelt one gets the close matches
        (and a ``TypeError`` raised inside the factory is never mistaken for a bad name).

        Raises:
            UnknownNameError: with the close matches, if ``name`` is unknown.
            FennecInputError: if the factory does not accept one of ``params``.
        """
        factory: Any = self.get(name)
        accepted = hyper_parameters(factory)
        if accepted is not None:
            check_param_names(f"{self.kind} {name!r}", params, accepted)
        return factory(**params)

    def unknown_message(self, name: object) -> str:
        """The unknown-name message for ``name`` (with a note on any plugin that failed to import)."""
        message = unknown_name_message(self.kind, name, list(self._entries))
        for module, error in self._plugin_errors.items():
            message += f"; {module} did not load ({error})"
        return message

    def names(self) -> list[str]:
        """All registered names, sorted (the plugins' included)."""
        self.load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name in self._entries:
            return True
        if isinstance(name, str):
            self.load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
