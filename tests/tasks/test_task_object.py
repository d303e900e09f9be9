"""A Task is frozen (its fingerprint keys every cache) and is made from names as text (a probe: a task changed in
place got its old descriptor back, and None or b"cat" became the class names 'None' and "b'cat'")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fennec.tasks import task_from_class_names
from fennec.validation import FennecInputError


def test_a_task_cannot_be_changed_in_place_but_copied_with_changes() -> None:
    task = task_from_class_names("t", ["sparrow", "eagle", "owl"])
    before = task.fingerprint
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.class_names = ("pizza", "sushi", "ramen")
    changed = dataclasses.replace(task, class_names=("pizza", "sushi", "ramen"))
    assert changed.fingerprint != before and task.fingerprint == before
    with pytest.raises(FennecInputError):
        dataclasses.replace(task, class_names=("x", "x"))  # checked like a new task


@pytest.mark.parametrize(("names", "description", "message"), [
    ([None, "cat"], None, r"class_names: expected names as text, got None \(NoneType\)"),
    (["cat", float("nan")], None, r"got nan \(float\)"),
    ([b"cat", b"dog"], None, r"got b'cat' \(bytes\)"),
    (["cat", True], None, r"got True \(bool\)"),
    (["cat", "dog"], 123, r"description: expected text or None, got int"),
])
def test_names_and_description_must_be_text(names, description, message) -> None:
    with pytest.raises(FennecInputError, match=message):
        task_from_class_names("t", names, description=description)


def test_integer_labels_stay_usable_as_names() -> None:
    assert task_from_class_names("t", [0, np.int64(1)]).class_names == ("0", "1")


def test_class_names_that_read_alike_are_warned_about() -> None:
    """'owl' and 'Owl' (or red_fox and 'red fox') were two classes with nothing said: likely one class in two."""
    import warnings

    import pytest

    from fennec.tasks import task_from_class_names
    from fennec.validation import FennecInputWarning

    with pytest.warns(FennecInputWarning, match=r"class names 'owl' and 'Owl', 'red_fox' and 'Red  Fox' differ only "
                                                r"in case, underscores or spaces"):
        task_from_class_names("t", ["owl", "Owl", "red_fox", "eagle", "Red  Fox"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task_from_class_names("t", ["owl", "eagle", "red fox"])  # nothing alike: no warning
