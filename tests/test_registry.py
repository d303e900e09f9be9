"""fennec.registry: close matches, hyper-parameter names, plugins imported on demand; the messages of every
registry (scorers, methods, task readers)."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import pytest

from fennec.evaluation.methods import METHODS
from fennec.registry import Registry, UnknownNameError, check_param_names, close_matches, unknown_name_message
from fennec.scores import SCORERS
from fennec.tasks.readers import READERS
from fennec.validation import FennecInputError

REGISTRIES = {"scorer": SCORERS, "method": METHODS, "task reader": READERS}


@pytest.mark.parametrize("registry", list(REGISTRIES.values()), ids=list(REGISTRIES))
def test_close_matches_ignore_case_and_keep_the_registered_spelling(registry: Registry) -> None:
    for name in registry.names():
        with pytest.raises(UnknownNameError, match=rf"did you mean {name}\b") as exc:
            registry.get(name.upper() if name != name.upper() else name.lower())
        assert str(exc.value).startswith(f"unknown {registry.kind} ")
        assert "\n" not in str(exc.value)


@pytest.mark.parametrize(("wrong", "right"), [("PARC", "parc"), ("LogME", "logme"), ("H-Score", "hscore"),
                                              ("NLEEP", "nleep")])
def test_paper_spellings_of_scorers_suggest_the_registered_name(wrong: str, right: str) -> None:
    with pytest.raises(UnknownNameError, match=rf"^unknown scorer '{wrong}'; did you mean {right}"):
        SCORERS.get(wrong)


def test_close_matches_keep_distinct_names_that_differ_only_in_case() -> None:
    assert close_matches("abc", ["ABC", "abc", "xyz"]) == ["ABC", "abc"]
    assert close_matches("zzz", ["abc"]) == []


def test_unknown_name_message_with_nothing_known_and_non_string_names() -> None:
    assert unknown_name_message("column", "x", []) == "unknown column 'x' (known: none)"
    assert unknown_name_message("scorer", None, ["parc"]) == "unknown scorer None (known: parc)"


@pytest.mark.parametrize("name", [None, 3, ["parc"]])
def test_a_name_that_is_not_a_string_is_an_unknown_name(name: object) -> None:
    with pytest.raises(UnknownNameError, match=r"^unknown scorer"):
        SCORERS.get(name)  # type: ignore[arg-type]


def test_check_param_names() -> None:
    check_param_names("scorer 'knn'", ["k"], ["k", "metric"])
    with pytest.raises(FennecInputError, match=r"^scorer 'knn': unknown hyper-parameter 'metrc'; did you mean metric"):
        check_param_names("scorer 'knn'", ["k", "metrc"], ["k", "metric"])


def test_create_checks_names_before_calling_and_lets_inner_type_errors_through() -> None:
    reg: Registry = Registry("widget")

    @reg.register("w")
    class Widget:
        def __init__(self, size: int = 1) -> None:
            self.size = size + "x"  # type: ignore[operator]  # a bug inside the factory, not a bad name

    @reg.register("any")
    class Open:
        def __init__(self, **params: object) -> None:
            self.params = params

    with pytest.raises(FennecInputError, match=r"^widget 'w': unknown hyper-parameter 'sise'; did you mean size"):
        reg.create("w", sise=2)
    with pytest.raises(TypeError, match="unsupported operand"):
        reg.create("w", size=2)
    assert reg.create("any", whatever=1).params == {"whatever": 1}  # **kwargs: the factory checks its names


def _plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, body: str) -> None:
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_plugins_are_imported_once_on_the_first_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg: Registry = Registry("gadget", plugins=("fennec_test_plugin_ok", "fennec_test_plugin_not_installed"))
    reg.register("base")(int)
    host = types.ModuleType("fennec_test_plugin_host")
    host.REG = reg  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fennec_test_plugin_host", host)
    _plugin(tmp_path, monkeypatch, "fennec_test_plugin_ok", """
        from fennec_test_plugin_host import REG
        REG.register("extra")(object)
    """)
    assert reg.get("base") is int and "fennec_test_plugin_ok" not in sys.modules  # a hit imports nothing
    assert reg.get("extra") is object and "fennec_test_plugin_ok" in sys.modules
    del sys.modules["fennec_test_plugin_ok"]  # a second import would register "extra" again and fail
    with pytest.raises(UnknownNameError, match=r"^unknown gadget 'extr'; did you mean extra\? \(known: base, extra\)$"):
        reg.get("extr")  # no second import, and a plugin that is not installed is skipped without a word
    assert reg.names() == ["base", "extra"]


def test_a_broken_plugin_is_named_and_the_rest_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _plugin(tmp_path, monkeypatch, "fennec_test_plugin_broken", "import no_such_dependency_of_fennec_tests\n")
    reg: Registry = Registry("gadget", plugins=("fennec_test_plugin_broken",))
    reg.register("base")(int)
    assert reg.names() == ["base"]
    with pytest.raises(UnknownNameError, match=r"^unknown gadget 'extra' \(known: base\); fennec_test_plugin_broken "
                       r"did not load \(ModuleNotFoundError: No module named 'no_such_dependency_of_fennec_tests'\)$"):
        reg.get("extra")
    assert "extra" not in reg and reg.get("base") is int
