"""Unusual but plausible inputs reach every scorer as one-line FennecInputErrors naming the argument, or are
accepted (torch tensors, also ones that require grad)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fennec.scores import create_scorer, get_scorer_class, list_scorers
from fennec.validation import FennecInputError
from tests.scores.toy import scorer_inputs as _inputs
from tests.scores.toy import toy_task as _task

ALL = list_scorers()


@pytest.mark.parametrize("name", ALL)
def test_torch_tensors_that_require_grad_are_detached(name: str) -> None:
    task = _task()
    expected = create_scorer(name).score(**_inputs(name, task))
    as_tensors = {k: torch.tensor(v, requires_grad=k != "labels") for k, v in _inputs(name, task).items()}
    assert create_scorer(name).score(**as_tensors) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert all(t.requires_grad for k, t in as_tensors.items() if k != "labels")  # the caller's tensors untouched


def test_low_precision_torch_features_are_read() -> None:
    task = _task()
    feats = torch.tensor(task["features"], dtype=torch.bfloat16, requires_grad=True)
    value = create_scorer("logme").score(features=feats, labels=task["labels"])
    expected = create_scorer("logme").score(features=feats.detach().float().numpy(), labels=task["labels"])
    assert value == expected


@pytest.mark.parametrize(("name", "arg"), [(n, a) for n in ALL for a in sorted(get_scorer_class(n).requires)])
def test_ragged_rows_are_an_input_error_naming_the_argument(name: str, arg: str) -> None:
    inputs = _inputs(name, _task())
    rows = [list(r) for r in np.asarray(inputs[arg])]
    rows[-1] = rows[-1][:-1]
    with pytest.raises(FennecInputError, match=rf"^{arg}: rows of different lengths .* give every example the same"
                       ) as exc:
        create_scorer(name).score(**dict(inputs, **{arg: rows}))
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("name", ALL)
def test_labels_with_none_name_labels(name: str) -> None:
    inputs = _inputs(name, _task())
    labels = np.array(["a", "b", "c"] * 10, dtype=object)  # toy_task: 10 per class
    labels[[0, 4]] = None
    with pytest.raises(FennecInputError, match=r"^labels: 2 of 30 labels are None; every example needs a class"):
        create_scorer(name).score(**dict(inputs, labels=labels))


@pytest.mark.parametrize("name", ALL)
def test_labels_mixing_ints_and_strings_name_labels(name: str) -> None:
    inputs = _inputs(name, _task())
    labels = np.array([1, "1", 2] * 10, dtype=object)  # toy_task: 10 per class
    with pytest.raises(FennecInputError, match=r"^labels: mixes values of types int, str .* convert every label"):
        create_scorer(name).score(**dict(inputs, labels=labels))


def test_unsortable_labels_of_one_type_name_labels() -> None:
    task = _task()
    labels = np.empty(task["labels"].shape[0], dtype=object)
    labels[:] = [{"c": int(v)} for v in task["labels"]]
    with pytest.raises(FennecInputError, match=r"^labels: holds values of type dict"):
        create_scorer("logme").score(features=task["features"], labels=labels)


def test_ragged_labels_name_labels() -> None:
    task = _task()
    labels = [[0], [1, 2]] * (task["labels"].shape[0] // 2)
    with pytest.raises(FennecInputError, match=r"^labels: expected one label per example"):
        create_scorer("logme").score(features=task["features"], labels=labels)


def test_mixed_int_types_are_one_type_of_label() -> None:
    task = _task()
    labels = np.array([int(v) if i % 2 else np.int64(v) for i, v in enumerate(task["labels"])], dtype=object)
    assert create_scorer("logme").score(features=task["features"], labels=labels) == \
        create_scorer("logme").score(features=task["features"], labels=task["labels"])
