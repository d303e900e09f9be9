"""Hyper-parameters of every registered scorer: checked at use with the parameter's name, scikit-learn's
get_params / set_params / clone, and the close matches of a misspelt name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.base

from fennec.scores import create_scorer, list_scorers
from fennec.validation import FennecInputError
from tests.scores.toy import scorer_inputs as _inputs
from tests.scores.toy import toy_task as _task

ALL = list_scorers()


def _bad_values(default: object) -> list[object]:
    """Values no hyper-parameter with this default accepts."""
    if isinstance(default, bool):
        return ["yes", 2]
    if isinstance(default, float):
        return [math.nan, math.inf, -1.0, "1e-3", None]
    if isinstance(default, int):
        return [-1, 1.5, "3", True]
    if isinstance(default, str):
        return ["no-such-choice", 3, None]
    return []


_CASES = [(name, param, bad) for name in ALL for param, default in create_scorer(name).get_params().items()
          for bad in _bad_values(default)]


@pytest.mark.parametrize(("name", "param", "bad"), _CASES, ids=[f"{n}-{p}-{b!r}" for n, p, b in _CASES])
def test_every_bad_hyper_parameter_value_is_refused_naming_it(name: str, param: str, bad: object) -> None:
    # NaN compares false everywhere: unchecked, it once made hscore return 0 and logme ignore its tolerance.
    scorer = create_scorer(name, **{param: bad})
    with pytest.raises(FennecInputError, match=rf"^{param}: expected"):
        scorer.score(**_inputs(name, _task()))


def test_every_scorer_with_hyper_parameters_is_covered() -> None:
    assert {n for n, _, _ in _CASES} == {n for n in ALL if create_scorer(n).get_params()}


@pytest.mark.parametrize("rcond", [0.0, 1e-15, 0.5])
def test_hscore_accepts_a_cut_off_in_zero_one(rcond: float) -> None:
    assert math.isfinite(create_scorer("hscore", rcond=rcond).score(**_inputs("hscore", _task())))


@pytest.mark.parametrize("rcond", [1.0, 2.0])
def test_hscore_cut_off_of_one_or_more_is_refused(rcond: float) -> None:
    with pytest.raises(FennecInputError, match=r"^rcond: expected a number in \[0, 1\)"):
        create_scorer("hscore", rcond=rcond).score(**_inputs("hscore", _task()))


@pytest.mark.filterwarnings("ignore:features. N=30 < D=50")
def test_hscore_rank_deficient_value_with_nan_cut_off_is_not_silently_zero() -> None:
    task = _task(d=50)  # N = 30 < D: the pseudo-inverse path, where rcond is used
    assert create_scorer("hscore").score(**_inputs("hscore", task)) == pytest.approx(2.0)
    with pytest.raises(FennecInputError, match=r"^rcond:"):
        create_scorer("hscore", rcond=float("nan")).score(**_inputs("hscore", task))


def test_logme_tolerance_zero_runs_every_iteration() -> None:
    task = _task()
    assert math.isfinite(create_scorer("logme", tol=0.0).score(**_inputs("logme", task)))


def test_knn_more_neighbours_than_other_examples_is_an_error_naming_k_and_n() -> None:
    task = _task()  # N = 30
    with pytest.raises(FennecInputError, match=r"^k: 1000 neighbours .* N=30 .* give k <= 29"):
        create_scorer("knn", k=1000).score(**_inputs("knn", task))
    assert 0.0 <= create_scorer("knn", k=29).score(**_inputs("knn", task)) <= 1.0


@pytest.mark.parametrize("seed", [0, 2**32 - 1, np.int64(7)])
def test_nleep_accepts_every_seed_numpy_accepts(seed: int) -> None:
    assert math.isfinite(create_scorer("nleep", random_state=seed).score(**_inputs("nleep", _task())))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0])
def test_nleep_seed_out_of_range_names_random_state(seed: object) -> None:
    with pytest.raises(FennecInputError, match=r"^random_state: expected an integer in \[0, 4294967295\]"):
        create_scorer("nleep", random_state=seed).score(**_inputs("nleep", _task()))


# ------------------------------------------------------------------------------------ scikit-learn conventions


@pytest.mark.parametrize("name", ALL)
def test_clone_round_trip(name: str) -> None:
    scorer = create_scorer(name)
    twin = sklearn.base.clone(scorer)
    assert type(twin) is type(scorer) and twin is not scorer
    assert twin.get_params(deep=True) == scorer.get_params(deep=False) == scorer.get_params()
    task = _task()
    assert twin.score(**_inputs(name, task)) == scorer.score(**_inputs(name, task))


@pytest.mark.parametrize("name", [n for n in ALL if create_scorer(n).get_params()])
def test_set_params_round_trip(name: str) -> None:
    scorer = create_scorer(name)
    params = scorer.get_params()
    assert scorer.set_params(**params) is scorer
    assert scorer.get_params() == params


def test_set_params_changes_the_score_and_clone_keeps_it() -> None:
    task = _task()
    scorer = create_scorer("knn").set_params(k=5)
    assert scorer.k == 5
    assert scorer.score(**_inputs("knn", task)) == create_scorer("knn", k=5).score(**_inputs("knn", task))
    assert sklearn.base.clone(scorer).get_params() == {"k": 5, "metric": "l2"}


def test_set_params_value_is_checked_at_score_with_its_name() -> None:
    scorer = create_scorer("logme").set_params(tol=-1.0)
    with pytest.raises(FennecInputError, match=r"^tol: expected a number >= 0, got -1.0"):
        scorer.score(**_inputs("logme", _task()))


@pytest.mark.parametrize("name", ALL)
def test_set_params_unknown_name_lists_close_matches_and_sets_nothing(name: str) -> None:
    scorer = create_scorer(name)
    before = scorer.get_params()
    with pytest.raises(FennecInputError, match=rf"^scorer '{name}': unknown hyper-parameter 'bogus'") as exc:
        scorer.set_params(bogus=1)
    assert "\n" not in str(exc.value)
    assert scorer.get_params() == before and not hasattr(scorer, "bogus")


def test_set_params_misspelt_name_suggests_the_right_one() -> None:
    with pytest.raises(FennecInputError, match=r"unknown hyper-parameter 'n_dim'; did you mean n_dims\?"):
        create_scorer("parc").set_params(n_dim=8)


@pytest.mark.parametrize(("name", "wrong", "right"), [("parc", "n_dim", "n_dims"), ("knn", "K", "k"),
                                                      ("nleep", "seed", None), ("logme", "TOL", "tol")])
def test_create_scorer_misspelt_hyper_parameter(name: str, wrong: str, right: str | None) -> None:
    with pytest.raises(FennecInputError, match=rf"^scorer '{name}': unknown hyper-parameter '{wrong}'") as exc:
        create_scorer(name, **{wrong: 1})
    if right is not None:
        assert f"did you mean {right}?" in str(exc.value)
    assert "known: " in str(exc.value)


def test_create_scorer_without_hyper_parameters_says_so() -> None:
    with pytest.raises(FennecInputError, match=r"^scorer 'leep': unknown hyper-parameter 'x' \(known: none\)"):
        create_scorer("leep", x=1)
