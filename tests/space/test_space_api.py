"""The space as a library: scikit-learn's conventions (get/set_params, clone, repr, not-fitted errors) and
one-line errors for arguments a probe found taken silently (any object as a task, an empty candidate list,
top_k 0, a metadata string for a new model)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from fennec.space import TransferSpace
from fennec.space.recommend import rank_batch, recommend
from fennec.space.store import save_space
from fennec.space.zoo import ZooModel, model_from_id
from fennec.tasks import task_from_class_names
from fennec.validation import FennecInputError

BIRDS = task_from_class_names("birds", ["sparrow", "eagle", "owl"])


def test_params_round_trip_clone_and_repr() -> None:
    space = TransferSpace(dim=4, epochs=7)
    copy = clone(space)
    assert copy is not space and copy.get_params() == space.get_params()
    assert space.set_params(lr=0.01) is space and space.lr == 0.01
    assert repr(space) == "TransferSpace(dim=4, epochs=7, lr=0.01)"
    assert repr(TransferSpace()) == "TransferSpace()"
    with pytest.raises(FennecInputError, match=r"TransferSpace: unknown hyper-parameter 'epoch'; did you mean epochs"):
        space.set_params(lr=0.5, epoch=3)
    assert space.lr == 0.01  # nothing set when one name is wrong


@pytest.mark.parametrize("use", ["model_vectors", "score", "task_vectors", "nearest_tasks", "add_models", "save"])
def test_an_unfitted_space_says_so(use: str, tmp_path) -> None:
    space = TransferSpace()
    calls = {"model_vectors": lambda: space.model_vectors(), "score": lambda: space.score(BIRDS),
             "task_vectors": lambda: space.task_vectors([BIRDS]), "nearest_tasks": lambda: space.nearest_tasks(
                 np.zeros(3)), "add_models": lambda: space.add_models({}), "save": lambda: save_space(
                 space, tmp_path / "s")}
    with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
        calls[use]()
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("task", ["sparrow,eagle,owl", ["sparrow", "eagle"], None, 42])
def test_anything_but_a_task_is_refused(fitted, task) -> None:
    """Read as a task without text, each got the vector of every other such task (two strings, one vector)."""
    with pytest.raises(FennecInputError, match=r"task: expected a Task or a TaskCard, got .*task_from_class_names"):
        recommend(fitted, task)
    with pytest.raises(FennecInputError, match="expected a Task or a TaskCard"):
        fitted.task_vectors([BIRDS, task])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"candidates": []}, r"candidates: expected a non-empty list of model ids, got \[\]; pass None"),
    ({"candidates": "timm:resnet18"}, r"candidates: expected a non-empty list"),
    ({"top_k": 0}, r"^top_k: expected a positive integer, got 0"),
    ({"top_k": 2.5}, r"^top_k: expected a positive integer, got 2.5"),
    ({"n_nearest": -1}, r"^n_nearest: expected a positive integer, got -1"),
])
def test_recommend_arguments_are_checked(fitted, kwargs, message) -> None:
    with pytest.raises(FennecInputError, match=message):
        recommend(fitted, BIRDS, **kwargs)
    if "top_k" in kwargs:
        with pytest.raises(FennecInputError, match=message):
            rank_batch(fitted, [BIRDS], **kwargs)


def test_nearest_tasks_checks_k_and_the_vector(fitted) -> None:
    vec = fitted.task_vectors([BIRDS])[0]
    assert len(fitted.nearest_tasks(vec, k=2)) == 2
    with pytest.raises(FennecInputError, match=r"^k: expected a positive integer, got -1"):
        fitted.nearest_tasks(vec, k=-1)  # dropped the last task of the list
    with pytest.raises(FennecInputError, match=r"task_vector: expected shape \(\d+,\)"):
        fitted.nearest_tasks(vec[:7])  # answered [] as if nothing were near


@pytest.mark.parametrize(("models", "message"), [
    (["timm:resnet34"], r"models: expected a mapping of model id to metadata, got list"),
    ({"x": model_from_id("timm:resnet34")}, r"^models: expected 'source:id'"),
    ({"timm:resnet34": "supervised on photos of birds"}, r"models\['timm:resnet34'\]: expected metadata with "
                                                         r"architecture and pretraining .*got str"),
    # an AttributeError deep in the featurisation before (a probe)
    ({"timm:resnet34": ZooModel("timm:resnet34", 123, ["a"])}, r"models\['timm:resnet34'\].architecture: expected "
                                                               r"text or None, got int 123"),
    ({"timm:resnet34": ZooModel("timm:resnet34", "resnet34", 5)}, r"\.pretraining: expected text or None, got int"),
])
def test_add_models_refuses_what_it_would_take_wrongly(fitted, models, message) -> None:
    import copy

    space = copy.deepcopy(fitted)
    before = list(space.model_ids_)
    with pytest.raises(FennecInputError, match=message):
        space.add_models(models)
    assert space.model_ids_ == before


def test_candidates_and_tasks_may_be_any_iterable(fitted) -> None:
    """A generator of candidates gave an empty ranking (the emptiness check spent it), and a generator of tasks a
    ValueError from zip (a probe)."""
    ids = ["timm:resnet18", "torchvision:resnet50"]
    as_list = recommend(fitted, BIRDS, candidates=ids)
    assert [r["model"] for r in recommend(fitted, BIRDS, candidates=(m for m in ids))["ranking"]] == \
        [r["model"] for r in as_list["ranking"]]
    assert len(as_list["ranking"]) == 2
    both = rank_batch(fitted, [BIRDS, BIRDS], top_k=3)
    assert rank_batch(fitted, (t for t in [BIRDS, BIRDS]), top_k=3) == both
    with pytest.raises(FennecInputError, match=r"^tasks: expected at least one task to rank, got none"):
        rank_batch(fitted, [])


def _fit_inputs() -> tuple[list, dict, dict]:
    from fennec.space.planted import make_world

    records, models, tasks = make_world()
    return list(records), dict(models), dict(tasks)


@pytest.mark.parametrize(("change", "message"), [
    ({"value": 1e12}, r"record value of 'test:\w+' on '\w+': 1000000000000.0 is implausibly large"),
    ({"value": 150.0}, r"is outside \[0, 100\] for the accuracy-like metric"),
    ({"value": -20.0}, r"is outside \[0, 100\]"),
    ({"value": True}, r"expected a number, got True"),
    ({"value": "abc"}, r"expected a number, got 'abc'"),
    ({"value": None}, r"expected a number, got None"),
    ({"protocol": "bogus"}, r"record protocol: unknown protocol 'bogus'"),
    ({"metric": ""}, r"record metric: expected a non-empty string, got ''"),
    ({"benchmark": None}, r"record benchmark: expected a non-empty string, got None"),
    ({"model": "resnet18"}, r"record model: expected 'source:id'"),
    ({"model": 3}, r"record model: expected a non-empty string, got 3"),
])
def test_fit_checks_each_record_as_the_store_does(change: dict, message: str) -> None:
    import dataclasses

    records, models, tasks = _fit_inputs()
    records[0] = dataclasses.replace(records[0], **change)
    with pytest.raises(FennecInputError, match=message):
        TransferSpace().fit(records, models, tasks)


def test_fit_refuses_two_values_for_one_key_and_bad_containers() -> None:
    import dataclasses

    records, models, tasks = _fit_inputs()
    twin = dataclasses.replace(records[0], value=records[0].value / 2 + 1.0)
    with pytest.raises(FennecInputError, match=r"records: two values .* for \(benchmark, model, dataset, metric\)"):
        TransferSpace().fit([*records, twin], models, tasks)
    TransferSpace(epochs=1, val_fraction=0.0, n_members=1).fit([*records, records[0]], models, tasks)  # same value
    with pytest.raises(FennecInputError, match=r"^record: expected a fennec.records.Record .* got dict"):
        TransferSpace().fit([dataclasses.asdict(r) for r in records], models, tasks)
    with pytest.raises(FennecInputError, match=r"^models: expected a mapping of model id to metadata, got list"):
        TransferSpace().fit(records, list(models), tasks)
    with pytest.raises(FennecInputError, match=r"^models\['test:generic'\]: expected metadata .* got str"):
        TransferSpace().fit(records, {**models, "test:generic": "resnet"}, tasks)
    with pytest.raises(FennecInputError, match=r"^tasks: expected a mapping of task name to TaskCard, got list"):
        TransferSpace().fit(records, models, list(tasks))
    with pytest.raises(FennecInputError, match=r"^init: the TransferSpace given is not fitted"):
        TransferSpace().fit(records, models, tasks, init=TransferSpace())
    with pytest.raises(FennecInputError, match=r"^init: expected a fitted TransferSpace, got str; .*load_space"):
        TransferSpace().fit(records, models, tasks, init="/some/path")


def test_card_sizes_are_checked_where_cards_become_features(fitted: TransferSpace) -> None:
    from fennec.records.cards import TaskCard

    for bad in (float("nan"), -5, 2.5, "ten"):
        card = TaskCard(name="n", n_classes=bad, class_names=("a", "b"))
        with pytest.raises(FennecInputError, match=r"^task 'n': n_classes expected a non-negative integer"):
            fitted.score(card)
    card = TaskCard(name="n", n_images=-1, class_names=("a", "b"))
    with pytest.raises(FennecInputError, match=r"^task 'n': n_images expected a non-negative integer"):
        fitted.score(card)
    assert np.isfinite(fitted.score(TaskCard(name="n", n_classes=2.0, class_names=("a", "b")))).all()


def test_score_and_accuracy_range_refuse_bad_names(fitted: TransferSpace) -> None:
    with pytest.raises(FennecInputError, match=r"^model_ids: expected a list of model ids, got the string"):
        fitted.score(BIRDS, model_ids="test:generic")
    model = fitted.model_ids_[0]
    task = fitted.task_names_[0]
    low, high = fitted.accuracy_range(model, [task])
    assert low <= high
    with pytest.raises(FennecInputError, match=r"^tasks \['nosuch'\]: not among this space's training tasks"):
        fitted.accuracy_range(model, ["nosuch"])
    with pytest.raises(FennecInputError, match=r"nosuch:model"):
        fitted.accuracy_range("nosuch:model", [task])
