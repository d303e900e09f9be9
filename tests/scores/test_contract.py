"""Contract tests run on every registered scorer: registry, invariances, planted answers, determinism,
validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fennec.registry import UnknownNameError
from fennec.scores import INPUTS, Scorer, ScoreUndefinedError, create_scorer, get_scorer_class, list_scorers
from fennec.validation import FennecInputError, FennecInputWarning
from tests.scores.toy import scorer_inputs as _inputs

ALL = list_scorers()
N_PER, C, D, CS = 30, 4, 10, 12


def _task(seed: int = 0, informative: bool = True) -> dict[str, np.ndarray]:
    """A small task: well separated class clusters (or pure noise), matching probs and grads."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(C), N_PER)
    rng.shuffle(labels)
    n = labels.shape[0]
    noise = rng.normal(size=(n, D))
    if informative:
        means = rng.normal(size=(C, D)) * 3.0
        features = means[labels] + noise
        # Each target class maps to its own source classes: an informative source model.
        logits = rng.normal(size=(n, CS)) * 0.3
        logits[np.arange(n), labels * 3 + rng.integers(0, 3, n)] += 4.0
    else:
        features = noise
        logits = rng.normal(size=(n, CS)) * 0.3
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return {"features": features, "labels": labels, "probs": probs, "grads": features * 0.5 + 1.0}


def test_registry_has_the_thirteen_names() -> None:
    assert sorted(["parc", "logme", "leep", "nleep", "nce", "hscore", "reg_hscore", "gbc", "transrate",
                          "sfda", "lfc", "lgc", "knn"]) == ALL


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="did you mean parc"):
        create_scorer("parx")


def test_bad_hyper_parameter_name_is_an_input_error() -> None:
    with pytest.raises(FennecInputError, match="n_dim"):
        create_scorer("parc", n_dim=3)


@pytest.mark.parametrize("name", ALL)
def test_contract_attributes_and_params(name: str) -> None:
    scorer = create_scorer(name)
    assert isinstance(scorer, Scorer)
    assert scorer.name == name
    assert scorer.requires and scorer.requires <= set(INPUTS)
    params = scorer.get_params()
    rebuilt = create_scorer(name, **params)
    assert rebuilt.get_params() == params
    assert name in repr(scorer) or type(scorer).__name__ in repr(scorer)


def test_hyper_parameters_are_stored_under_their_names() -> None:
    scorer = create_scorer("gbc", gaussian_type="diagonal", n_dims=8)
    assert scorer.gaussian_type == "diagonal" and scorer.n_dims == 8
    assert scorer.get_params() == {"gaussian_type": "diagonal", "n_dims": 8}


@pytest.mark.parametrize("name", ALL)
def test_planted_answer_beats_noise(name: str) -> None:
    scorer = create_scorer(name)
    good = scorer.score(**_inputs(name, _task(1, informative=True)))
    bad = scorer.score(**_inputs(name, _task(1, informative=False)))
    assert np.isfinite(good) and np.isfinite(bad)
    assert good > bad, (name, good, bad)


@pytest.mark.parametrize("name", [n for n in ALL if n != "nleep"])
def test_invariant_to_sample_order(name: str) -> None:
    task = _task(2)
    perm = np.random.default_rng(5).permutation(task["labels"].shape[0])
    shuffled = {k: v[perm] for k, v in task.items()}
    scorer = create_scorer(name)
    a = scorer.score(**_inputs(name, task))
    b = scorer.score(**_inputs(name, shuffled))
    assert b == pytest.approx(a, rel=1e-7, abs=1e-10)


def test_nleep_sample_order_only_moves_the_mixture_initialisation() -> None:
    # NLEEP's k-means initialisation picks examples by index, so order matters only through the seed.
    task = _task(2)
    perm = np.random.default_rng(5).permutation(task["labels"].shape[0])
    scorer = create_scorer("nleep")
    a = scorer.score(features=task["features"], labels=task["labels"])
    b = scorer.score(features=task["features"][perm], labels=task["labels"][perm])
    assert abs(a - b) < 0.1


@pytest.mark.parametrize("name", ALL)
def test_invariant_to_relabeling_classes(name: str) -> None:
    task = _task(3)
    relabel = np.array([2, 0, 3, 1])
    renamed = dict(task, labels=relabel[task["labels"]] * 10 + 7)  # other ids, other order, not 0..C-1
    scorer = create_scorer(name)
    a = scorer.score(**_inputs(name, task))
    b = scorer.score(**_inputs(name, renamed))
    assert b == pytest.approx(a, rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_string_labels_work(name: str) -> None:
    task = _task(4)
    names = np.array(["cat", "dog", "emu", "fox"])[task["labels"]]
    scorer = create_scorer(name)
    assert scorer.score(**dict(_inputs(name, task), labels=names)) == pytest.approx(
        scorer.score(**_inputs(name, task)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_deterministic(name: str) -> None:
    task = _task(6)
    a = create_scorer(name).score(**_inputs(name, task))
    b = create_scorer(name).score(**_inputs(name, task))
    assert a == b


def test_nleep_seed_is_a_hyper_parameter() -> None:
    task = _task(7, informative=False)
    values = {create_scorer("nleep", random_state=s).score(features=task["features"], labels=task["labels"])
              for s in range(4)}
    assert len(values) > 1  # the mixture depends on its seed; the default seed makes it reproducible


# --------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", [n for n in ALL if "features" in get_scorer_class(n).requires])
def test_features_must_be_2d(name: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^features: expected a 2-D array"):
        create_scorer(name).score(features=task["features"][:, 0], labels=task["labels"])


@pytest.mark.parametrize("name", [n for n in ALL if "features" in get_scorer_class(n).requires])
def test_features_must_be_finite(name: str) -> None:
    task = _task(0)
    feats = task["features"].copy()
    feats[3, 2] = np.nan
    with pytest.raises(FennecInputError, match=r"^features: 1 row\(s\) contain NaN"):
        create_scorer(name).score(features=feats, labels=task["labels"])


@pytest.mark.parametrize("name", [n for n in ALL if "features" in get_scorer_class(n).requires])
def test_features_too_large_for_float64_arithmetic_are_a_clear_error(name: str) -> None:
    """Finite but huge features once made some scores raise deep inside numpy and others return nan."""
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^features: values as large as .*e\+160 .* divide the features"):
        create_scorer(name).score(features=task["features"] * 1e160, labels=task["labels"])


@pytest.mark.parametrize("name", ALL)
def test_lengths_must_match(name: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^labels: length 119 does not match"):
        create_scorer(name).score(**dict(_inputs(name, task), labels=task["labels"][:-1]))


@pytest.mark.parametrize("name", ALL)
def test_needs_two_classes(name: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^labels: found 1 class"):
        create_scorer(name).score(**dict(_inputs(name, task), labels=np.zeros(task["labels"].shape[0])))


@pytest.mark.parametrize("name", ALL)
def test_one_example_per_class_is_an_error(name: str) -> None:
    # Every score would be a constant here (H-score the rank of the features, kNN 0): a clear error instead.
    task = _task(0)
    labels = np.arange(task["labels"].shape[0])
    # gbc and sfda need two examples of every class, which their own check says first
    match = (r"^labels: class\(es\) \[0, 1, 2, 3, 4\] have fewer than 2" if name in ("gbc", "sfda") else
             r"^labels: each of the 120 classes has a single example")
    with pytest.raises(ScoreUndefinedError, match=match):  # well-formed labels, no score: undefined
        create_scorer(name).score(**dict(_inputs(name, task), labels=labels))


@pytest.mark.parametrize("name", ["gbc", "sfda"])
def test_class_with_one_example_is_an_error_where_variances_are_needed(name: str) -> None:
    task = _task(0)
    labels = task["labels"].copy()
    labels[0] = 99
    # Undefined for this scorer only (logme takes these labels): not a malformed input.
    with pytest.raises(ScoreUndefinedError, match=r"^labels: class\(es\) \[99\] have fewer than 2"):
        create_scorer(name).score(features=task["features"], labels=labels)


@pytest.mark.parametrize(("name", "params", "change", "match"), [
    ("lfc", {}, {"features": np.ones((120, D))}, r"^features: the kernel is constant"),
    ("lgc", {}, {"grads": np.zeros((120, D))}, r"^grads: the kernel is constant"),
    ("parc", {}, {"features": np.ones((120, D))}, r"^features: some rows are constant"),
    ("knn", {"k": 120}, {}, r"^k: 120 neighbours asked for"),
])
def test_valid_inputs_a_scorer_has_no_value_on_are_score_undefined(name: str, params: dict, change: dict,
                                                                  match: str) -> None:
    """ScoreUndefinedError (a FennecInputError) marks well-formed inputs on which this one scorer is undefined:
    `fennec score --method all` reports it and runs the rest, where a malformed input stops the command."""
    inputs = dict(_inputs(name, _task(0)), **change)
    with pytest.raises(ScoreUndefinedError, match=match):
        create_scorer(name, **params).score(**inputs)
    assert issubclass(ScoreUndefinedError, FennecInputError)


def _malformed_variants(name: str) -> dict[str, dict[str, np.ndarray]]:
    """Inputs of scorer ``name`` broken in one way each (what the CLI probe fed ``--method all``)."""
    inputs = _inputs(name, _task(0))
    labels = inputs["labels"]
    cases = {"labels short": dict(inputs, labels=labels[:-1]), "one class": dict(inputs, labels=labels * 0)}
    for key in sorted(get_scorer_class(name).requires):
        arr = inputs[key]
        nan = arr.copy()
        nan[3, 0] = np.nan
        cases[f"{key} NaN"] = dict(inputs, **{key: nan})
        cases[f"{key} 1-D"] = dict(inputs, **{key: arr[:, 0]})
        cases[f"{key} rows"] = dict(inputs, **{key: arr[:-1]})
    if "probs" in get_scorer_class(name).requires:
        cases["probs are logits"] = dict(inputs, probs=np.log(inputs["probs"]))
        cases["probs unnormalised"] = dict(inputs, probs=inputs["probs"] * 3.0)
    return cases


@pytest.mark.parametrize("name", ALL)
def test_malformed_inputs_are_input_errors_not_undefined_scores(name: str) -> None:
    for case, inputs in _malformed_variants(name).items():
        with pytest.raises(FennecInputError) as info:
            create_scorer(name).score(**inputs)
        assert not isinstance(info.value, ScoreUndefinedError), (case, str(info.value))


def test_class_with_one_example_is_allowed_where_defined() -> None:
    task = _task(0)
    labels = task["labels"].copy()
    labels[0] = 99
    assert np.isfinite(create_scorer("logme").score(features=task["features"], labels=labels))


@pytest.mark.parametrize("name", ["leep", "nce"])
def test_probs_must_sum_to_one(name: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^probs: rows must sum to 1"):
        create_scorer(name).score(probs=task["probs"] * 2.0, labels=task["labels"])


@pytest.mark.parametrize("name", ["leep", "nce"])
def test_probs_are_required(name: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^probs: required by scorer"):
        create_scorer(name).score(features=task["features"], labels=task["labels"])


def test_grads_are_required_and_extra_dims_are_flattened() -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=r"^grads: required by scorer 'lgc'"):
        create_scorer("lgc").score(features=task["features"], labels=task["labels"])
    g3 = task["grads"].reshape(-1, 2, D // 2)
    scorer = create_scorer("lgc")
    assert scorer.score(grads=g3, labels=task["labels"]) == scorer.score(grads=task["grads"], labels=task["labels"])


def test_labels_are_required() -> None:
    with pytest.raises(FennecInputError, match=r"^labels: required"):
        create_scorer("logme").score(features=np.eye(3))


@pytest.mark.parametrize("name", ["hscore", "logme", "sfda", "gbc", "parc"])
def test_fewer_examples_than_dims_warns_but_scores(name: str) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 6)
    feats = rng.normal(size=(18, 40)) + np.eye(3, 40)[labels] * 4
    with pytest.warns(FennecInputWarning, match="N=18 < D=40"):
        value = create_scorer(name).score(features=feats, labels=labels)
    assert np.isfinite(value)


@pytest.mark.parametrize("name", ["lfc", "knn", "transrate", "reg_hscore"])
def test_no_warning_where_n_lt_d_does_not_matter(name: str) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 6)
    feats = rng.normal(size=(18, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FennecInputWarning)
        assert np.isfinite(create_scorer(name).score(features=feats, labels=labels))


@pytest.mark.parametrize(("name", "params", "arg"), [
    ("parc", {"n_dims": 0}, "n_dims"),
    ("gbc", {"gaussian_type": "full"}, "gaussian_type"),
    ("knn", {"k": -1}, "k"),
    ("nleep", {"variance": 1.5}, "variance"),
    ("transrate", {"rate_scale": "other"}, "rate_scale"),
])
def test_bad_hyper_parameter_values_name_the_parameter(name: str, params: dict, arg: str) -> None:
    task = _task(0)
    with pytest.raises(FennecInputError, match=rf"^{arg}: expected"):
        create_scorer(name, **params).score(features=task["features"], labels=task["labels"])
