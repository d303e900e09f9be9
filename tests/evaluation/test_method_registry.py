"""The method registry: hyper-parameter names checked like the scorers', close matches, and the transfer space's
methods found without importing :mod:`fennec.space.methods` first (which ``fennec.evaluation`` never imports)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fennec.evaluation import METHODS, create_method
from fennec.evaluation.methods import RandomMethod
from fennec.records.cards import TaskCard
from fennec.records.record import ModelInfo
from fennec.registry import UnknownNameError
from fennec.validation import FennecInputError

BASELINES = ["imagenet", "params", "prior", "random"]


@pytest.mark.parametrize("name", BASELINES)
def test_unknown_hyper_parameter_is_an_input_error_like_create_scorer(name: str) -> None:
    with pytest.raises(FennecInputError, match=rf"^method '{name}': unknown hyper-parameter 'foo'") as exc:
        create_method(name, foo=1)
    assert "\n" not in str(exc.value)


def test_method_without_hyper_parameters_says_none_are_known() -> None:
    with pytest.raises(FennecInputError, match=r"^method 'prior': unknown hyper-parameter 'foo' \(known: none\)$"):
        create_method("prior", foo=1)


def test_misspelt_hyper_parameter_suggests_the_right_one() -> None:
    with pytest.raises(FennecInputError, match=r"unknown hyper-parameter 'n_draw'; did you mean n_draws\?"):
        create_method("random", n_draw=3)
    assert create_method("random", n_draws=3).n_draws == 3


@pytest.mark.parametrize("name", BASELINES)
def test_method_names_match_case_insensitively(name: str) -> None:
    with pytest.raises(UnknownNameError, match=rf"^unknown method '{name.upper()}'; did you mean {name}\b"):
        create_method(name.upper())


@pytest.mark.parametrize("n_draws", [0, -1, 2.5, "10", None])
def test_random_method_checks_n_draws_at_use(n_draws: object) -> None:
    method = RandomMethod(n_draws=n_draws)  # type: ignore[arg-type]
    task = TaskCard(name="cifar10")
    with pytest.raises(FennecInputError, match=r"^n_draws: expected a positive integer"):
        method.score(task, [ModelInfo(id="m", name="m", architecture="resnet50", pretraining="")])


def _fresh_python(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def test_evaluation_and_scores_do_not_import_the_space() -> None:
    # Lower layers stay light: the space (and torch) load only when one of its methods is asked for.
    _fresh_python("""
        import sys
        import fennec.evaluation, fennec.registry, fennec.scores
        loaded = [m for m in ("fennec.space", "torch") if m in sys.modules]
        assert not loaded, loaded
    """)


def test_space_methods_are_found_without_importing_them_first() -> None:
    _fresh_python("""
        import sys
        from fennec.evaluation import METHODS, create_method
        from fennec.registry import UnknownNameError
        assert "fennec.space.methods" not in sys.modules
        method = create_method("fennec")
        assert type(method).__module__ == "fennec.space.methods", type(method)
        assert {"fennec", "fennec-nmf", "prior"} <= set(METHODS.names())
        try:
            create_method("Fennec-NMF")
        except UnknownNameError as exc:
            assert "did you mean fennec-nmf" in str(exc), exc
        else:
            raise AssertionError("a wrong case is not a name")
    """)


def test_listing_the_methods_includes_the_space() -> None:
    assert {"fennec", "fennec-nmf", *BASELINES} <= set(METHODS.names())
    assert "fennec" in METHODS
