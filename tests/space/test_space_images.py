"""The space reads tasks' image statistics when its training tasks carry them (planted image world)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fennec.space import TransferSpace
from fennec.space.planted import IMAGE_PROXY, make_image_world, make_world
from fennec.space.store import load_space, save_space
from fennec.validation import FennecInputError

FAST = {"n_members": 2, "cv_repeats": 1}
HELD = ("look0_0", "look1_0", "look2_0")  # one task of each visual regime


@pytest.fixture(scope="module")
def image_world():
    return make_image_world()


def _fit(world, held=HELD, **params):
    records, models, tasks = world
    train = [r for r in records if r.dataset not in held]
    return TransferSpace(**{**FAST, **params}).fit(train, models, {k: v for k, v in tasks.items() if k not in held})


@pytest.fixture(scope="module")
def image_space(image_world):
    return _fit(image_world)


def test_held_out_tasks_get_their_regime_specialist_first(image_space, image_world):
    _, models, tasks = image_world
    ids = sorted(models)
    assert image_space.image_proxy == IMAGE_PROXY
    assert image_space.train_info_["image_tasks"] == 9
    for name in HELD:
        scores = image_space.score(tasks[name], ids)
        assert ids[int(np.argmax(scores))] == f"test:regime{name[4]}", (name, dict(zip(ids, scores, strict=True)))


def test_nearest_tasks_of_an_image_task_share_its_regime(image_space, image_world):
    _, _, tasks = image_world
    for name in HELD:
        tvec = image_space.task_vectors([tasks[name]])[0]
        near = image_space.nearest_tasks(tvec, k=3, image_row=image_space.image_rows([tasks[name]])[0])
        assert [t[:5] for t, _ in near] == [name[:5]] * 3, near
    # without its image statistics the task has no text either: near nothing
    assert image_space.nearest_tasks(image_space.task_vectors([tasks[HELD[0]]])[0]) == []


def test_without_images_the_held_out_tasks_are_indistinguishable(image_world):
    # the control: the same world read as text only has nothing that tells the regimes apart
    _, models, tasks = image_world
    space = _fit(image_world, images="off")
    assert space.image_proxy is None
    ids = sorted(models)
    first = space.score(tasks[HELD[0]], ids)
    for name in HELD[1:]:
        np.testing.assert_allclose(space.score(tasks[name], ids), first, atol=1e-6)


def test_a_task_without_image_statistics_is_scored_from_the_rest(image_space, image_world):
    _, models, tasks = image_world
    bare = dataclasses.replace(tasks[HELD[0]], image_parts={})
    other = dataclasses.replace(tasks[HELD[0]], image_parts={"test:another-proxy": np.ones(40, np.float32)})
    ids = sorted(models)
    np.testing.assert_allclose(image_space.score(bare, ids), image_space.score(other, ids), atol=1e-6)
    assert not np.allclose(image_space.score(bare, ids), image_space.score(tasks[HELD[0]], ids))


def test_image_space_round_trips_through_save_and_load(image_space, image_world, tmp_path):
    _, models, tasks = image_world
    loaded = load_space(save_space(image_space, tmp_path / "space"))
    assert loaded.image_proxy == IMAGE_PROXY
    ids = sorted(models)
    for name in HELD:
        np.testing.assert_allclose(loaded.score(tasks[name], ids), image_space.score(tasks[name], ids), atol=1e-5)


def test_text_only_space_has_no_image_columns_and_ignores_image_parts(world):
    records, models, tasks = world
    space = TransferSpace(epochs=20, val_fraction=0.0, n_members=1).fit(records, models, tasks)
    assert space.image_proxy is None and space.train_info_["image_tasks"] == 0
    assert space.nets_[0].task_proj.in_features == 2 * 384 + 4
    card = dataclasses.replace(tasks["birds"], image_parts={IMAGE_PROXY: np.ones(40, np.float32)})
    np.testing.assert_array_equal(space.score(card), space.score(tasks["birds"]))


def test_too_few_tasks_with_image_statistics_are_not_read(image_world):
    records, models, tasks = image_world
    keep = {"look0_1", "look1_1"}
    tasks = {k: (v if k in keep else dataclasses.replace(v, image_parts={})) for k, v in tasks.items()}
    space = _fit((records, models, tasks), min_image_tasks=3)
    assert space.image_proxy is None


def test_image_statistics_of_another_shape_are_a_clear_error(image_space, image_world):
    _, models, tasks = image_world
    card = dataclasses.replace(tasks[HELD[0]], image_parts={IMAGE_PROXY: np.ones(12, np.float32)})
    with pytest.raises(FennecInputError, match="expected 40 finite values"):
        image_space.score(card, sorted(models))


def test_mixed_shapes_across_training_tasks_are_a_clear_error(image_world):
    records, models, tasks = image_world
    tasks = dict(tasks, look0_1=dataclasses.replace(tasks["look0_1"], image_parts={IMAGE_PROXY: np.ones(12)}))
    with pytest.raises(FennecInputError, match="differ in shape"):
        _fit((records, models, tasks))


def test_images_option_is_checked():
    records, models, tasks = make_world()
    with pytest.raises(FennecInputError, match="images: expected one of auto, off"):
        TransferSpace(images="yes").fit(records, models, tasks)
