"""The space reads tasks' image statistics when its training tasks carry them (planted image world)."""

from __future__ import annotations

import dataclasses
import json

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


def test_text_alone_does_not_make_a_task_nearer_than_tasks_that_look_alike(image_world):
    # every task shares one text; only regime 0 and regime 2 tasks have image statistics
    records, models, tasks = image_world
    named = {k: dataclasses.replace(v, class_names=("leaf", "stem", "root"),
                                    image_parts=v.image_parts if not k.startswith("look1") else {})
             for k, v in tasks.items()}
    space = _fit((records, models, named), n_members=1)
    query = named["look0_0"]
    near = space.nearest_tasks(space.task_vectors([query])[0], k=3, image_row=space.image_rows([query])[0])
    assert [t[:5] for t, _ in near] == ["look0"] * 3, near
    # a text-only query is compared on text, where all tasks are alike
    bare = dataclasses.replace(query, image_parts={})
    near = space.nearest_tasks(space.task_vectors([bare])[0], k=3, image_row=space.image_rows([bare])[0])
    assert len(near) == 3 and all(abs(sim - 1.0) < 1e-5 for _, sim in near), near


def test_nearest_tasks_survive_save_and_load(image_space, image_world, tmp_path):
    _, _, tasks = image_world
    loaded = load_space(save_space(image_space, tmp_path / "space"))
    card = tasks[HELD[1]]
    for space in (image_space, loaded):
        assert space.nearest_tasks(space.task_vectors([card])[0], image_row=space.image_rows([card])[0])
    a = image_space.nearest_tasks(image_space.task_vectors([card])[0], image_row=image_space.image_rows([card])[0])
    b = loaded.nearest_tasks(loaded.task_vectors([card])[0], image_row=loaded.image_rows([card])[0])
    assert [t for t, _ in a] == [t for t, _ in b]


def test_warm_start_copies_image_weights_only_when_they_read_the_same_columns(image_space, image_world):
    import torch

    from fennec.space.columns import TEXT_COLUMNS, same_image_columns
    from fennec.space.net import TransferNet
    from fennec.space.warm_start import copy_member

    again = _fit(image_world)  # the same training tasks: the same PCA, the same columns
    fewer = _fit(image_world, held=(*HELD, "look0_1"))  # another PCA basis
    old_net = image_space.nets_[0]
    for space, copies_images in ((again, True), (fewer, False)):
        torch.manual_seed(0)
        net = TransferNet(n_models=len(space.free_ids_), n_benchmarks=1, model_in=old_net.model_proj.in_features,
                          task_in=old_net.task_proj.in_features, text_dim=old_net.text_dim, dim=old_net.free.shape[1])
        before = net.task_proj.weight.detach().clone()
        same = same_image_columns(space.image_basis_, image_space.image_basis_)
        assert same is copies_images
        copy_member(net, old_net, free_ids=space.free_ids_, benchmarks=space.benchmarks_,
                    old_free_ids=image_space.free_ids_, old_benchmarks=image_space.benchmarks_,
                    same_image_columns=same)
        w, w_old = net.task_proj.weight.detach(), old_net.task_proj.weight.detach()
        assert torch.equal(w[:, :TEXT_COLUMNS], w_old[:, :TEXT_COLUMNS])
        assert torch.equal(w[:, TEXT_COLUMNS:], (w_old if copies_images else before)[:, TEXT_COLUMNS:])


@pytest.mark.parametrize(("part", "match"), [(np.full(40, np.nan, np.float32), "NaN or inf"),
                                              (np.ones(6, np.float32), "longer than the 8 geometry")])
def test_bad_training_statistics_are_one_line_errors(image_world, part, match):
    records, models, tasks = image_world
    tasks = {k: dataclasses.replace(v, image_parts={IMAGE_PROXY: part}) for k, v in tasks.items()}
    with pytest.raises(FennecInputError, match=match):
        _fit((records, models, tasks))


@pytest.mark.parametrize("bad", [{"image_components": 0}, {"min_image_tasks": -1}, {"image_components": 2.5}])
def test_image_hyper_parameters_are_checked(image_world, bad):
    with pytest.raises(FennecInputError):
        _fit(image_world, **bad)


def test_lodo_on_a_store_of_image_tasks_reads_the_held_out_task_images(image_world, tmp_path):
    # the harness hides each target's records and scores it from its card, image statistics included
    from fennec.evaluation import evaluate
    from fennec.records import RecordStore
    from fennec.space.methods import SpaceMethod
    from fennec.space.planted import write_world_store

    write_world_store(tmp_path / "s.sqlite", image_world)
    store = RecordStore(tmp_path / "s.sqlite")
    quick = {"epochs": 60, "val_fraction": 0.0, "n_members": 1}
    try:
        reports = {images: evaluate("planted_images", lambda images=images: SpaceMethod(images=images, **quick),
                                    "lodo", store=store) for images in ("auto", "off")}
    finally:
        store.close()
    first = {k: sum(m["rel1"] == 1.0 for m in reports[k]["per_dataset"].values()) for k in reports}
    # the held-out task's specialist comes first on (nearly) every target with images, on none without them
    assert len(reports["auto"]["per_dataset"]) == 12 and first["auto"] >= 10 and first["off"] == 0, first
    assert reports["auto"]["mean"]["weighted_tau"] > reports["off"]["mean"]["weighted_tau"] + 0.5


def test_ranking_reads_each_task_card_once(image_space, image_world, monkeypatch):
    """recommend and rank_batch get the folded vectors and the image rows from one reading of the cards: the
    image statistics go through the space's PCA once per call, and the rows are those of image_rows."""
    from fennec.space.recommend import rank_batch, recommend

    _, _, tasks = image_world
    cards = [tasks[name] for name in HELD]
    _, rows = image_space.read_tasks(cards)
    np.testing.assert_array_equal(rows, image_space.image_rows(cards))  # image_rows reads no text: another path
    calls: list[int] = []
    real = TransferSpace._image_y

    def counted(self, images):
        calls.append(len(images))
        return real(self, images)

    monkeypatch.setattr(TransferSpace, "_image_y", counted)
    single = recommend(image_space, cards[0], top_k=3)
    assert calls == [1]
    batch = rank_batch(image_space, cards, top_k=3)
    assert calls == [1, 3]
    assert batch[0] == single


@pytest.mark.parametrize("statistics_on_disk", [False, True])
def test_recommend_builds_one_proxy_for_the_statistics_and_the_names(image_space, tmp_path, run_cli, make_folder,
                                                                     fake_proxy, statistics_on_disk):
    """A task without class names, on a space that reads image statistics, needs the space's proxy twice: for
    the statistics and for names. From the statistics' pass the names need no pass of their own; with the
    statistics already on disk (an earlier `tasks add-images` or run) they do, and it runs on the encoder the
    statistics were read with: one proxy built in the process either way."""
    from fennec.tasks import describe_images, read_task

    space_dir = save_space(image_space, tmp_path / "space")
    folder = make_folder(tmp_path / "numbered", {"0": (220, 30, 30), "1": (30, 200, 40), "2": (30, 40, 220)},
                         per_class=3)
    built = fake_proxy(dim=16)  # the planted proxy's width: its statistics are (2 * 16 + 8,), as the space reads
    if statistics_on_disk:
        describe_images(read_task(str(folder)), IMAGE_PROXY)
    code, out, err = run_cli("recommend", folder, "--space", space_dir, "--proxy", IMAGE_PROXY, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["image_statistics"] == {"proxy": IMAGE_PROXY}
    assert result["images"]["proxy"] == IMAGE_PROXY
    assert result["images"]["class_labels"] == ["tabby", "espresso", "daisy"]
    assert [p.name for p in built] == [IMAGE_PROXY]
    assert built[0].passes == ([("encode", 9), ("classify", 9)] if statistics_on_disk
                               else [("embed_and_classify", 9)])
