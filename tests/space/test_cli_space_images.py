"""A space trained on tasks described from their images, end to end and in-process: `tasks add-images`, `train`,
`recommend` and `rank-batch` on real image folders with the offline proxy.

The world: six historical tasks of colour photos, three in warm colours and three in cool ones, all with the
same class names (so their text says nothing); a warm-colour specialist is best on the warm tasks, a cool one on
the cool tasks. A new folder is only told apart by what the proxy sees in its images.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fennec.cli import main
from fennec.records.cards import TaskCard
from fennec.records.record import ModelInfo
from fennec.space.planted import planted_records, write_world_store

PROXY = "timm:tf_efficientnet_lite0"  # the offline wheel proxy
CLASSES = ("shade a", "shade b", "shade c")
WARM = [((230, 40, 30), (240, 120, 20), (250, 200, 40)), ((200, 30, 60), (230, 90, 40), (220, 160, 20)),
        ((250, 70, 70), (210, 110, 10), (240, 180, 90))]
COOL = [((30, 60, 230), (20, 160, 200), (90, 40, 210)), ((40, 120, 220), (30, 200, 180), (60, 60, 160)),
        ((70, 90, 250), (10, 140, 160), (120, 80, 230))]
NEW_WARM = ((245, 60, 45), (225, 140, 30), (235, 95, 65))
NEW_COOL = ((45, 80, 215), (25, 175, 195), (100, 70, 225))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, make_folder) -> dict[str, Path]:
    """A store of the six tasks with their image statistics (added with `fennec tasks add-images --manifest`) and
    a space trained on it with `fennec train`."""
    root = tmp_path_factory.mktemp("image_space")

    def folder(path: Path, colours: tuple[tuple[int, int, int], ...]) -> Path:
        return make_folder(path, dict(zip(CLASSES, colours, strict=True)), per_class=3, size=48)

    looks = {f"warm{i}": c for i, c in enumerate(WARM)} | {f"cool{i}": c for i, c in enumerate(COOL)}
    models = {m: ModelInfo(id=m, name=m[5:], architecture="", pretraining=f"pre-trained on {text}")
              for m, text in (("test:warm", "photos at sunset"), ("test:cool", "underwater photos"),
                              ("test:generic", "everyday photos"))}
    tasks = {t: TaskCard(name=t, n_classes=3, n_images=9, class_names=CLASSES) for t in looks}
    records = planted_records({t: f"test:{t[:4]}" for t in looks}, models, "test:generic", "colours",
                              np.random.default_rng(0))
    store_path = root / "records.sqlite"
    write_world_store(store_path, (records, models, tasks))
    manifest = root / "tasks.csv"
    manifest.write_text("task,path\n" + "".join(f"{t},{folder(root / 'tasks' / t, c)}\n" for t, c in looks.items()))
    assert main(["tasks", "add-images", "--manifest", str(manifest), "--proxy", PROXY, "--store", str(store_path)]) == 0
    space = root / "space"
    assert main(["train", "--store", str(store_path), "--out", str(space), "--no-warm-start"]) == 0
    return {"root": root, "store": store_path, "space": space,
            "new_warm": folder(root / "new" / "warm", NEW_WARM), "new_cool": folder(root / "new" / "cool", NEW_COOL)}


def test_the_space_reads_image_statistics_with_the_proxy_of_its_tasks(world):
    manifest = json.loads((world["space"] / "manifest.json").read_text())
    assert manifest["train"]["image_proxy"] == PROXY
    assert manifest["train"]["image_tasks"] == 6


@pytest.mark.parametrize(("task", "best"), [("new_warm", "test:warm"), ("new_cool", "test:cool")])
def test_recommend_puts_the_specialist_of_what_the_images_show_first(world, run_cli, task, best):
    code, out, err = run_cli("recommend", world[task], "--space", world["space"], "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["ranking"][0]["model"] == best, result["ranking"]
    assert result["image_statistics"] == {"proxy": PROXY}
    # the explanation looks at the images too: the texts of all six tasks are the same
    assert result["nearest_tasks"][0]["task"].startswith(best[5:]), result["nearest_tasks"]


def test_no_images_ranks_both_folders_alike(world, run_cli):
    # the control: without their images the two new folders are the same text task
    rankings = []
    for task in ("new_warm", "new_cool"):
        code, out, err = run_cli("recommend", world[task], "--space", world["space"], "--format", "json",
                                 "--no-images")
        assert code == 0, err
        result = json.loads(out)
        assert result["image_statistics"] is None
        rankings.append([(r["model"], r["score"]) for r in result["ranking"]])
    assert rankings[0] == rankings[1]


def test_rank_batch_reads_the_images_of_every_task(world, run_cli):
    code, out, err = run_cli("rank-batch", world["new_warm"], world["new_cool"], "--space", world["space"],
                             "--format", "json")
    assert code == 0, err
    results = json.loads(out)
    assert [r["ranking"][0]["model"] for r in results] == ["test:warm", "test:cool"]
    assert all(r["image_statistics"] == {"proxy": PROXY} for r in results)


def test_table_output_says_which_proxy_read_the_images(world, run_cli):
    code, out, err = run_cli("recommend", world["new_warm"], "--space", world["space"])
    assert code == 0, err
    assert f"image statistics read with {PROXY}" in out


def test_a_text_only_task_is_ranked_by_an_image_space_without_statistics(world, run_cli):
    code, out, err = run_cli("recommend", "--classes", ",".join(CLASSES), "--space", world["space"],
                             "--format", "json")
    assert code == 0, err
    assert json.loads(out)["image_statistics"] is None


@pytest.mark.parametrize(("images", "says"), [("off", "reads text only (--images off), though 6 task(s)"),
                                              ("auto", f"reads image statistics from {PROXY} (6 of 6 training")])
def test_train_says_what_the_space_reads(world, run_cli, tmp_path, images, says):
    code, _, err = run_cli("train", "--store", world["store"], "--out", tmp_path / "space", "--images", images,
                           "--epochs", "20")
    assert code == 0, err
    assert says in err
    manifest = json.loads((tmp_path / "space" / "manifest.json").read_text())
    assert manifest["train"]["image_proxy"] == (None if images == "off" else PROXY)


@pytest.mark.parametrize("command", ["recommend", "rank-batch"])
def test_the_class_names_of_an_image_task_are_embedded_once(world, run_cli, make_folder, tmp_path, monkeypatch,
                                                            command):
    """The space embeds a task's class names itself; reading the task's image statistics computes only the image
    part of its descriptor, not a text part that would be thrown away."""
    import fennec.space.features as features
    import fennec.tasks.descriptor as descriptor

    names = ("ember", "saffron", "rust")
    folder = make_folder(tmp_path / "embers", dict(zip(names, NEW_WARM, strict=True)), per_class=3, size=48)
    embedded: list[tuple[str, ...]] = []
    real = descriptor.text_part

    def counted(task, text_encoder):
        embedded.append(tuple(task.class_names))
        return real(task, text_encoder)

    monkeypatch.setattr(descriptor, "text_part", counted)
    monkeypatch.setattr(features, "_TEXT_PARTS", {})  # what this process embedded before is embedded again
    code, out, err = run_cli(command, folder, "--space", world["space"], "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    result = result[0] if command == "rank-batch" else result
    assert result["image_statistics"] == {"proxy": PROXY}
    assert [sorted(e) for e in embedded] == [sorted(names)]


@pytest.mark.parametrize("command", ["recommend", "rank-batch"])
def test_a_task_without_class_names_goes_through_the_proxy_once(world, run_cli, make_folder, tmp_path, monkeypatch,
                                                                command):
    """Placeholder class names on a space that reads image statistics: the space's proxy, which is also the one
    that names the images, reads each probe image once for both, and the names are those of a pass of their own."""
    import fennec.encoders.timm_proxy as timm_proxy
    from fennec.tasks import label_task_images, read_task

    folder = make_folder(tmp_path / "numbered", dict(zip(("0", "1", "2"), NEW_WARM, strict=True)), per_class=3,
                         size=48)
    passes: list[int] = []
    real = timm_proxy.run_model

    def counted(model, transform, images, **kwargs):
        images = list(images)
        passes.append(len(images))
        return real(model, transform, images, **kwargs)

    monkeypatch.setattr(timm_proxy, "run_model", counted)
    code, out, err = run_cli(command, folder, "--space", world["space"], "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    result = result[0] if command == "rank-batch" else result
    assert passes == [9]  # the nine images, once
    assert result["image_statistics"] == {"proxy": PROXY}
    own = label_task_images(read_task(str(folder)), PROXY, use_cache=False)
    assert result["images"]["class_labels"] == list(own.class_labels)
    assert result["images"]["top_labels"] == [[n, p] for n, p in own.top_labels]
