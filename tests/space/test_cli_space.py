"""The transfer-space commands end to end, in-process: `train`, `recommend`, `rank-batch`, `zoo`.

A tiny records store is built from the planted world of :mod:`fennec.space.planted` (six domains, one specialist
per domain, one generic model); the space is trained once per module and copied when a test changes it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from fennec.cli import main
from fennec.commands._ranking_output import CSV_COLUMNS
from fennec.space.planted import write_world_store

BIRDS = "sparrow,eagle,owl"
FLOWERS = "rose,tulip,daisy"
N_MODELS = 7  # six specialists and the generic model


def build_store(path: Path, world=None) -> Path:
    """A records store holding the planted world (empty without a world); returns its path."""
    write_world_store(path, world)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, world) -> dict[str, object]:
    """Store and space, trained once for the module with `fennec train`."""
    root = tmp_path_factory.mktemp("cli_space")
    store = build_store(root / "records.sqlite", world)
    space = root / "spaces" / "space"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", "--store", str(store), "--out", str(space), "--epochs", "60"])
    assert code == 0, err.getvalue()
    return {"store": store, "space": space, "stderr": err.getvalue()}


@pytest.fixture()
def space_copy(trained, tmp_path: Path) -> Path:
    """A private copy of the trained space for tests that change it."""
    dst = tmp_path / "space"
    shutil.copytree(trained["space"], dst)
    return dst


def recommend_json(run_cli: Callable[..., tuple[int, str, str]], space: Path, *extra: object) -> dict:
    code, out, err = run_cli("recommend", *extra, "--space", space, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def check_ranking(ranking: list[dict], k: int) -> None:
    assert [r["rank"] for r in ranking] == list(range(1, k + 1))
    scores = [r["score"] for r in ranking]
    assert all(a >= b for a, b in itertools.pairwise(scores)), scores
    assert len({r["model"] for r in ranking}) == k


def write_image_folder(root: Path, classes: list[str], per_class: int = 3) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


# ------------------------------------------------------------------------------------------------ train
def test_train_over_a_space_of_an_older_format_says_it_starts_afresh(trained, tmp_path, run_cli):
    old = tmp_path / "old_space"
    shutil.copytree(trained["space"], old)
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": "fennec-space-v0"}))
    code, _, err = run_cli("train", "--store", trained["store"], "--out", old, "--epochs", "5")
    assert code == 0, err
    assert "not warm-starting" in err and "fennec-space-v0" in err
    assert "(warm start)" not in err
    assert json.loads((old / "manifest.json").read_text())["format"] != "fennec-space-v0"


def test_train_writes_the_space(trained):
    from fennec.records import RecordStore
    from fennec.space.index import ModelIndex
    from fennec.space.training_records import records_hash

    space = trained["space"]
    assert {"manifest.json", "index.faiss", "space.npz", "tower.pt", "config.json", "meta.json"} <= {
        p.name for p in space.iterdir()}
    manifest = json.loads((space / "manifest.json").read_text())
    with RecordStore(trained["store"], seed=False) as store:
        assert manifest["records_hash"] == records_hash(store.records())
    assert manifest["n_models"] == N_MODELS and manifest["n_tasks"] == 6
    assert manifest["versions"]["faiss"] and manifest["versions"]["torch"]
    with np.load(space / "space.npz") as z:
        assert z["model_vectors"].shape == (N_MODELS, manifest["vector_dim"])
    index = ModelIndex.load(str(space / "index.faiss"))
    assert index.size == N_MODELS and not index.filtered
    # first training: nothing to warm-start from, and no temporary directory left beside the space
    assert "warm start" not in trained["stderr"]
    assert "trained on 42 records" in trained["stderr"]
    # the lock file train held is left beside it (removing it could let two writers hold two locks)
    assert sorted(p.name for p in space.parent.iterdir()) == [".space.lock", "space"]


def test_second_train_warm_starts(trained, space_copy, run_cli):
    code, out, err = run_cli("train", "--store", trained["store"], "--out", space_copy, "--epochs", "20")
    assert code == 0 and out == ""
    assert "warm start" in err
    code, _, err = run_cli("train", "--store", trained["store"], "--out", space_copy, "--epochs", "20",
                           "--no-warm-start")
    assert code == 0 and "warm start" not in err
    assert sorted(p.name for p in space_copy.parent.iterdir()) == [".space.lock", "space"]


# ------------------------------------------------------------------------------------------------ recommend
def test_recommend_json_puts_the_bird_specialist_first(trained, run_cli):
    res = recommend_json(run_cli, trained["space"], "--classes", BIRDS)
    assert set(res) >= {"task", "ranking"}
    ranking = res["ranking"]
    check_ranking(ranking, N_MODELS)
    assert {"rank", "model", "score", "accuracy_range", "nearest_tasks", "cold_start"} <= set(ranking[0])
    assert ranking[0]["model"] == "test:birds"
    assert ranking[0]["nearest_tasks"][0] == "birds"
    assert not any(r["cold_start"] for r in ranking)
    lo, hi = ranking[0]["accuracy_range"]
    assert lo <= hi


def test_recommend_scores_are_the_space_scores(trained, run_cli):
    from fennec.space.store import load_space
    from fennec.tasks import read_task

    res = recommend_json(run_cli, trained["space"], "--classes", FLOWERS)
    space = load_space(trained["space"])
    brute = dict(zip(space.model_ids_, space.score(read_task(FLOWERS, reader="names")), strict=True))
    for r in res["ranking"]:
        assert r["score"] == pytest.approx(brute[r["model"]], abs=1e-4)
    assert res["ranking"][0]["model"] == "test:flowers"


def test_recommend_top_k(trained, run_cli):
    res = recommend_json(run_cli, trained["space"], "--classes", BIRDS, "--top-k", 3)
    check_ranking(res["ranking"], 3)
    assert res["ranking"][0]["model"] == "test:birds"


def test_recommend_csv(trained, run_cli):
    code, out, err = run_cli("recommend", "--classes", BIRDS, "--space", trained["space"], "--format", "csv",
                             "--top-k", 4)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(rows) == 4 and [int(r["rank"]) for r in rows] == [1, 2, 3, 4]
    assert rows[0]["model"] == "test:birds"


def test_recommend_table(trained, run_cli):
    code, out, err = run_cli("recommend", "--classes", BIRDS, "--space", trained["space"], "--top-k", 2)
    assert code == 0, err
    assert "test:birds" in out and "nearest historical tasks birds" in out


def test_recommend_candidates_with_a_cold_start_model(trained, run_cli):
    res = recommend_json(run_cli, trained["space"], "--classes", BIRDS, "--candidates", "timm:resnet18",
                         "test:cars,test:birds", "test:birds", "timm:resnet18")  # a comma list counts too
    ranking = res["ranking"]
    check_ranking(ranking, 3)  # a model named twice is ranked once
    by_id = {r["model"]: r for r in ranking}
    assert set(by_id) == {"timm:resnet18", "test:cars", "test:birds"}
    assert by_id["timm:resnet18"]["cold_start"] is True
    assert by_id["timm:resnet18"]["accuracy_range"] is None
    assert by_id["test:birds"]["cold_start"] is False
    assert ranking[0]["model"] == "test:birds"


def test_recommend_named_image_folder_reads_only_class_names(trained, tmp_path, run_cli, monkeypatch):
    """A folder with class names is ranked from them: no proxy is built, no image decoded, with or without
    --no-images."""
    import PIL.Image

    import fennec.encoders
    import fennec.encoders.base
    import fennec.encoders.timm_models
    import fennec.encoders.timm_proxy

    folder = write_image_folder(tmp_path / "backyard", ["sparrow", "owl", "eagle"])

    def forbidden(*args, **kwargs):
        raise AssertionError(f"recommend loaded an image model: {args!r}")

    for mod in (fennec.encoders, fennec.encoders.base):
        monkeypatch.setattr(mod, "create_image_encoder", forbidden)
    for mod in (fennec.encoders.timm_models, fennec.encoders.timm_proxy):
        monkeypatch.setattr(mod, "create_timm_model", forbidden)
    opened: list[object] = []
    real_open = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))

    for flags in ((), ("--no-images",)):
        res = recommend_json(run_cli, trained["space"], folder, *flags)
        assert res["task"] == "backyard"
        check_ranking(res["ranking"], N_MODELS)
        assert res["ranking"][0]["model"] == "test:birds"
        assert opened == [] and res["images"] is None


def fake_labeller(monkeypatch, class_labels: tuple[str, ...], calls: list[str]) -> None:
    """Replace the proxy's labelling with planted labels (the real proxy is tested in tests/tasks)."""
    import fennec.tasks.visual as visual

    def label(task, proxy=None, **kwargs):
        calls.append(task.name)
        top = tuple((name, round(1.0 / len(class_labels), 4)) for name in class_labels)
        return visual.VisualLabels(class_labels, top, proxy or "fake:proxy", task.n_examples)

    monkeypatch.setattr(visual, "label_task_images", label)


def test_recommend_image_folder_with_placeholder_classes_is_seen_through_its_images(trained, tmp_path, run_cli,
                                                                                     monkeypatch):
    """Folders named 0, 1, 2 carry no text; the proxy's names for their images put the bird model first."""
    folder = write_image_folder(tmp_path / "numbered", ["0", "1", "2"])
    calls: list[str] = []
    fake_labeller(monkeypatch, ("sparrow", "owl", "eagle"), calls)
    blind = recommend_json(run_cli, trained["space"], folder, "--no-images")
    assert blind["nearest_tasks"] == [] and blind["images"] is None and calls == []
    res = recommend_json(run_cli, trained["space"], folder)
    assert calls == ["numbered"]
    assert res["ranking"][0]["model"] == "test:birds"
    assert res["images"]["class_labels"] == ["sparrow", "owl", "eagle"]
    assert res["images"]["description"] == "Photos of sparrow, owl and eagle."
    assert res["nearest_tasks"][0]["task"] == "birds"
    code, out, err = run_cli("recommend", folder, "--space", trained["space"])
    assert code == 0, err
    assert "images (9 labelled by fake:proxy): Photos of sparrow, owl and eagle." in out
    code, out, err = run_cli("recommend", folder, "--space", trained["space"], "--no-images")
    assert code == 0, err
    assert "nearest historical tasks none (the task has no class names or description" in out
    assert "images (" not in out


def test_images_the_default_proxy_cannot_label_fall_back_to_the_text(trained, tmp_path, run_cli, monkeypatch):
    import fennec.tasks.visual as visual
    from fennec.validation import FennecInputError

    def broken(task, proxy=None, **kwargs):
        raise FennecInputError(f"task {task.name}: class '1' has no readable image")

    folder = write_image_folder(tmp_path / "numbered", ["0", "1", "2"])
    monkeypatch.setattr(visual, "label_task_images", broken)
    with pytest.warns(UserWarning, match="no readable image; ranking task 'numbered' from its text alone"):
        res = recommend_json(run_cli, trained["space"], folder)
    assert res["images"] is None and res["nearest_tasks"] == []
    check_ranking(res["ranking"], N_MODELS)
    code, _, err = run_cli("recommend", folder, "--space", trained["space"], "--proxy",
                           "timm:tf_efficientnet_lite0")
    assert code == 2 and "no readable image" in err and "Traceback" not in err


def test_a_folder_with_class_names_is_read_from_them_without_the_proxy(trained, tmp_path, run_cli, monkeypatch):
    """Real class names are the task's text; the images are not looked at (a description from them did not
    help on the shared benchmarks, and the proxy costs seconds)."""
    folder = write_image_folder(tmp_path / "garden", ["rose", "tulip", "daisy"])
    calls: list[str] = []
    fake_labeller(monkeypatch, ("sparrow", "owl", "eagle"), calls)
    res = recommend_json(run_cli, trained["space"], folder)
    names_only = recommend_json(run_cli, trained["space"], "--classes", "rose,tulip,daisy")
    assert calls == [] and res["images"] is None
    assert res["ranking"][0]["model"] == "test:flowers"
    assert [r["model"] for r in res["ranking"]] == [r["model"] for r in names_only["ranking"]]
    with pytest.warns(UserWarning, match="--proxy timm:tf_efficientnet_lite0: not used, task 'garden' has class"):
        res = recommend_json(run_cli, trained["space"], folder, "--proxy", "timm:tf_efficientnet_lite0")
    assert calls == [] and res["images"] is None


def test_proxy_and_no_images_exclude_each_other(trained, tmp_path, run_cli):
    folder = write_image_folder(tmp_path / "garden", ["rose", "tulip", "daisy"])
    code, _, err = run_cli("recommend", folder, "--space", trained["space"], "--no-images", "--proxy",
                           "timm:tf_efficientnet_lite0")
    assert code == 2 and "not allowed with argument" in err


def test_recommend_class_file_and_description(trained, tmp_path, run_cli):
    names = tmp_path / "my_flowers.txt"
    names.write_text("# garden\nrose\ntulip\n\ndaisy\nsunflower\n")
    res = recommend_json(run_cli, trained["space"], "--classes", names, "--description", "photos of flowers")
    assert res["ranking"][0]["model"] == "test:flowers"


# ------------------------------------------------------------------------------------------------ rank-batch
def test_rank_batch_two_tasks_matches_recommend(trained, tmp_path, run_cli):
    birds, flowers = tmp_path / "birds_task.txt", tmp_path / "flowers_task.txt"
    birds.write_text(BIRDS.replace(",", "\n"))
    flowers.write_text(FLOWERS.replace(",", "\n"))
    code, out, err = run_cli("rank-batch", birds, flowers, "--space", trained["space"], "--top-k", 3,
                             "--format", "json")
    assert code == 0, err
    results = json.loads(out)
    assert [r["task"] for r in results] == ["birds_task", "flowers_task"]
    for r in results:
        check_ranking(r["ranking"], 3)
    assert results[0]["ranking"][0]["model"] == "test:birds"
    assert results[1]["ranking"][0]["model"] == "test:flowers"
    single = recommend_json(run_cli, trained["space"], "--classes", flowers, "--top-k", 3)
    assert [r["model"] for r in single["ranking"]] == [r["model"] for r in results[1]["ranking"]]
    assert [r["score"] for r in single["ranking"]] == pytest.approx([r["score"] for r in results[1]["ranking"]],
                                                                    abs=1e-5)


def test_rank_batch_manifest_to_file(trained, tmp_path, run_cli, monkeypatch):
    folder = write_image_folder(tmp_path / "garden", ["rose", "tulip", "daisy"], per_class=2)
    calls: list[str] = []
    fake_labeller(monkeypatch, ("daisy", "daisy", "daisy"), calls)  # must not be asked: the folder has names
    manifest = tmp_path / "tasks.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "description"])
        w.writerow([BIRDS, "photos of birds"])
        w.writerow([str(folder), ""])
    out_file = tmp_path / "out" / "ranking.csv"
    out_file.parent.mkdir()
    code, out, err = run_cli("rank-batch", "--manifest", manifest, "--space", trained["space"],
                             "--top-k", 2, "--out", out_file)
    assert code == 0, err
    assert out == "" and "ranked 2 task(s)" in err
    text = out_file.read_text()
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert [(r["task"], r["rank"]) for r in rows] == [(BIRDS, "1"), (BIRDS, "2"), ("garden", "1"),
                                                      ("garden", "2")]
    assert rows[0]["model"] == "test:birds" and rows[2]["model"] == "test:flowers"
    assert [p.name for p in out_file.parent.iterdir()] == ["ranking.csv"]  # atomic: no temporary file left
    assert calls == []


def test_rank_batch_sees_unnamed_image_tasks_through_the_proxy(trained, tmp_path, run_cli, monkeypatch):
    named = write_image_folder(tmp_path / "garden", ["rose", "tulip", "daisy"], per_class=2)
    unnamed = write_image_folder(tmp_path / "numbered", ["0", "1", "2"], per_class=2)
    calls: list[str] = []
    fake_labeller(monkeypatch, ("sparrow", "owl", "eagle"), calls)
    code, out, err = run_cli("rank-batch", BIRDS, named, unnamed, "--space", trained["space"], "--top-k", 2,
                             "--format", "json")
    assert code == 0, err
    results = json.loads(out)
    assert calls == ["numbered"]  # only the image task without class names went through the proxy
    assert [r["images"] is None for r in results] == [True, True, False]
    assert results[2]["ranking"][0]["model"] == "test:birds"
    code, out, err = run_cli("rank-batch", BIRDS, named, unnamed, "--space", trained["space"],
                             "--format", "json", "--no-images")
    assert code == 0, err
    assert [r["images"] for r in json.loads(out)] == [None, None, None] and calls == ["numbered"]


# ------------------------------------------------------------------------------------------------ zoo
def test_zoo_add_list_and_recommend(space_copy, run_cli):
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--pretraining",
                           "supervised pre-training on photos of bird species", "--space", space_copy)
    assert code == 0, err
    assert "timm:resnet18: added (cold start)" in err
    code, out, err = run_cli("zoo", "list", "--space", space_copy)
    assert code == 0, err
    lines = {ln.split("\t")[0]: ln.split("\t") for ln in out.splitlines()}
    assert len(lines) == N_MODELS + 1
    assert lines["timm:resnet18"][1] == "cold start" and lines["test:birds"][1] == "records"
    from fennec.space.index import ModelIndex

    assert ModelIndex.load(str(space_copy / "index.faiss")).size == N_MODELS + 1
    res = recommend_json(run_cli, space_copy, "--classes", BIRDS, "--top-k", N_MODELS + 1)
    check_ranking(res["ranking"], N_MODELS + 1)
    by_id = {r["model"]: r for r in res["ranking"]}
    assert by_id["timm:resnet18"]["cold_start"] is True
    # pre-trained on birds: the new model beats the car and food specialists on a bird task
    assert by_id["timm:resnet18"]["rank"] < min(by_id["test:cars"]["rank"], by_id["test:food"]["rank"])
    # adding it again is a no-op: the space is not rewritten, and a new pre-training text is said to be unused
    stamp = (space_copy / "space.npz").stat().st_mtime_ns
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--pretraining", "cars", "--space", space_copy)
    assert code == 0 and "already in the space (--pretraining not applied" in err
    assert ModelIndex.load(str(space_copy / "index.faiss")).size == N_MODELS + 1
    assert (space_copy / "space.npz").stat().st_mtime_ns == stamp


def test_zoo_add_scores_like_candidates(trained, space_copy, run_cli):
    """The index path (after `zoo add`) and the --candidates path give a new model the same cold-start score."""
    via_candidates = recommend_json(run_cli, trained["space"], "--classes", BIRDS, "--candidates",
                                    "timm:convnext_tiny.fb_in22k", "test:birds")
    code, _, err = run_cli("zoo", "add", "timm:convnext_tiny.fb_in22k", "--space", space_copy)
    assert code == 0, err
    via_index = recommend_json(run_cli, space_copy, "--classes", BIRDS, "--top-k", N_MODELS + 1)
    a = {r["model"]: r["score"] for r in via_candidates["ranking"]}
    b = {r["model"]: r["score"] for r in via_index["ranking"]}
    assert a["timm:convnext_tiny.fb_in22k"] == pytest.approx(b["timm:convnext_tiny.fb_in22k"], abs=1e-4)
    assert a["test:birds"] == pytest.approx(b["test:birds"], abs=1e-4)


# ------------------------------------------------------------------------------------------------ bad inputs
def _bad_cases(trained, tmp: Path) -> dict[str, list[object]]:
    space = trained["space"]
    no_task_column = tmp / "no_task.csv"
    no_task_column.write_text("path,classes\nsomewhere,a\n")
    empty_store = build_store(tmp / "empty.sqlite")
    return {
        "no task and no classes": ["recommend", "--space", space],
        "empty classes": ["recommend", "--classes", "", "--space", space],
        "missing space dir": ["recommend", "--classes", BIRDS, "--space", tmp / "no_such_space"],
        "top-k zero": ["recommend", "--classes", BIRDS, "--space", space, "--top-k", 0],
        "negative top-k": ["recommend", "--classes", BIRDS, "--space", space, "--top-k", -3],
        "nonexistent task path": ["recommend", tmp / "no_such_folder", "--space", space],
        "bad candidate id": ["recommend", "--classes", BIRDS, "--space", space, "--candidates", "notasource"],
        "unknown format": ["recommend", "--classes", BIRDS, "--space", space, "--format", "xml"],
        "rank-batch nothing to rank": ["rank-batch", "--space", space],
        "rank-batch top-k zero": ["rank-batch", BIRDS, "--space", space, "--top-k", 0],
        "manifest without task column": ["rank-batch", "--manifest", no_task_column, "--space", space],
        "manifest missing": ["rank-batch", "--manifest", tmp / "nope.csv", "--space", space],
        "zoo add not a source:id": ["zoo", "add", "notasource", "--space", space],
        "zoo add unknown source": ["zoo", "add", "hub:thing", "--space", space],
        "zoo add timm typo": ["zoo", "add", "timm:resnt50.a1_in1k", "--space", space],
        "candidate timm typo": ["recommend", "--classes", BIRDS, "--space", space, "--candidates", "timm:convnxt_tiny"],
        "candidate torchvision typo": ["recommend", "--classes", BIRDS, "--space", space, "--candidates",
                                       "torchvision:notamodel"],
        "candidate open_clip typo": ["recommend", "--classes", BIRDS, "--space", space, "--candidates",
                                     "open_clip:NotAModel:xyz"],
        "candidate open_clip unknown tag": ["recommend", "--classes", BIRDS, "--space", space, "--candidates",
                                            "open_clip:ViT-B-32:no_such_tag"],
        "candidate local missing file": ["recommend", "--classes", BIRDS, "--space", space, "--candidates",
                                         f"local:{tmp / 'no_such.pt'}"],
        "zoo add a records-only source": ["zoo", "add", "hf:someone/net", "--space", space],
        "zoo list missing space": ["zoo", "list", "--space", tmp / "no_such_space"],
        "train on an empty store": ["train", "--store", empty_store, "--out", tmp / "empty_space"],
        "train epochs zero": ["train", "--store", trained["store"], "--out", tmp / "zero_space", "--epochs", 0],
        "train negative seed": ["train", "--store", trained["store"], "--out", tmp / "zero_space", "--seed", -1],
        "evaluate negative seed": ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--seed", -1,
                                   "--store", trained["store"]],
    }


CASES = ["no task and no classes", "empty classes", "missing space dir", "top-k zero", "negative top-k",
         "nonexistent task path", "bad candidate id", "unknown format", "rank-batch nothing to rank",
         "rank-batch top-k zero",
         "manifest without task column", "manifest missing", "zoo add not a source:id", "zoo add unknown source",
         "zoo add timm typo", "candidate timm typo", "candidate torchvision typo", "candidate open_clip typo",
         "candidate open_clip unknown tag", "candidate local missing file", "zoo add a records-only source",
         "zoo list missing space", "train on an empty store",
         "train epochs zero", "train negative seed", "evaluate negative seed"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(trained, tmp_path, run_cli, case):
    argv = _bad_cases(trained, tmp_path)[case]
    before = sorted(p.name for p in Path(trained["space"]).iterdir())
    code, out, err = run_cli(*argv)
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and err.startswith("fennec")
    # a failed command leaves the trained space as it was and writes no new one
    assert sorted(p.name for p in Path(trained["space"]).iterdir()) == before
    assert not (tmp_path / "empty_space").exists() and not (tmp_path / "zero_space").exists()


@pytest.mark.parametrize("case", ["empty manifest", "space not there", "space is a file", "empty candidates",
                                  "task swallowed by candidates", "empty proxy", "unknown proxy",
                                  "proxy without an image tower"])
def test_bad_input_messages_say_what_is_wrong(trained, tmp_path, run_cli, case):
    """Found by a probe: an empty manifest was told to give a manifest, a missing --space that it held no space."""
    (tmp_path / "empty.csv").write_text("task\n")
    (tmp_path / "afile.csv").write_text("x\n")
    argv, message = {
        "empty manifest": (["rank-batch", "--manifest", tmp_path / "empty.csv", "--space", trained["space"]],
                           r"empty.csv'\)?: holds no tasks"),
        "space not there": (["recommend", "--classes", BIRDS, "--space", tmp_path / "nope"], "nope' does not exist"),
        "space is a file": (["recommend", "--classes", BIRDS, "--space", tmp_path / "afile.csv"],
                            "afile.csv' is a file, not a space directory"),
        # an empty shell variable ranked the whole zoo; a TASK after --candidates was read as a model id
        "empty candidates": (["recommend", "--classes", BIRDS, "--space", trained["space"], "--candidates", ""],
                             r"--candidates: no model id given \(an empty value\)"),
        "empty proxy": (["rank-batch", BIRDS, "--space", trained["space"], "--proxy", ""],
                        r"--proxy: empty encoder id; leave it out for the default"),
        # checked against the registry before the task is read, as embed-task checks it (it was checked for
        # form only, and an unknown source failed when the proxy was built)
        "unknown proxy": (["recommend", tmp_path, "--space", trained["space"], "--proxy", "tim:resnet18"],
                          r"--proxy: unknown encoder 'tim:resnet18'.*timm"),
        "proxy without an image tower": (["rank-batch", BIRDS, "--space", trained["space"], "--proxy",
                                          "sentence:all-MiniLM-L6-v2"], r"--proxy: .* has no image "
                                         "tower"),
        "task swallowed by candidates": (["recommend", "--space", trained["space"], "--candidates",
                                          "timm:resnet18", tmp_path], r"--candidates took '.*' for a model id: put "
                                         "TASK before --candidates"),
    }[case]
    code, _, err = run_cli(*argv)
    assert code == 2 and err.count("\n") == 1
    assert re.search(message, err), err


# ---------------------------------------------------------------------------- once bugs, now regression tests
def test_retraining_keeps_models_added_with_zoo_add(trained, space_copy, run_cli):
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--space", space_copy)
    assert code == 0, err
    code, _, err = run_cli("train", "--store", trained["store"], "--out", space_copy, "--epochs", "5")
    assert code == 0 and "warm start" in err
    code, out, err = run_cli("zoo", "list", "--space", space_copy)
    assert code == 0, err
    assert "timm:resnet18" in {ln.split("\t")[0] for ln in out.splitlines()}


def test_zoo_add_names_each_model_once_and_leaves_models_of_the_space_as_they_are(space_copy, run_cli):
    """A model named twice was added twice in the report; a model the space has (here a test: id, a source zoo
    add cannot read) was an "unknown source" error instead of "already in the space"."""
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "test:birds", "timm:resnet18", "--space", space_copy)
    assert code == 0, err
    assert err.splitlines() == ["timm:resnet18: added (cold start)", "test:birds: already in the space"]
    code, out, _ = run_cli("zoo", "list", "--space", space_copy)
    assert [ln.split("\t")[0] for ln in out.splitlines()].count("timm:resnet18") == 1


def test_a_store_model_without_records_is_not_carried_into_another_stores_space(world, run_cli, tmp_path):
    """Only models added with zoo add survive a retraining on another store: not the old store's models that
    merely had no records."""
    from dataclasses import replace

    records, models, tasks = world
    idle = replace(next(iter(models.values())), id="test:idle")
    first = build_store(tmp_path / "first.sqlite", (records, {**models, idle.id: idle}, tasks))
    space = tmp_path / "space"
    assert run_cli("train", "--store", first, "--out", space, "--epochs", "5")[0] == 0
    code, out, _ = run_cli("zoo", "list", "--space", space)
    assert idle.id in out  # a cold-start model of the first store's space
    second = build_store(tmp_path / "second.sqlite", world)
    assert run_cli("train", "--store", second, "--out", space, "--epochs", "5")[0] == 0
    code, out, _ = run_cli("zoo", "list", "--space", space)
    assert code == 0 and idle.id not in out


def test_retraining_at_another_width_says_it_trained_from_scratch(trained, space_copy, run_cli):
    with pytest.warns(UserWarning, match="not warm-starting"):
        code, _, err = run_cli("train", "--store", trained["store"], "--out", space_copy, "--epochs", "5",
                               "--dim", "4")
    assert code == 0, err
    assert "(warm start)" not in err
    # retrained without --dim, it keeps the width it has and warm-starts (it fell back to 8, from scratch)
    code, _, err = run_cli("train", "--store", trained["store"], "--out", space_copy, "--epochs", "5")
    assert code == 0 and "(warm start)" in err, err
    assert json.loads((space_copy / "config.json").read_text())["dim"] == 4


def test_retraining_on_another_store_does_not_inherit_the_old_zoo(world, space_copy, run_cli, tmp_path):
    """Warm start keeps the models added with zoo add, not the previous store's models with records."""
    records, models, tasks = world
    gone = "test:cars"
    smaller = build_store(tmp_path / "smaller.sqlite", ([r for r in records if r.model != gone],
                                                       {k: v for k, v in models.items() if k != gone}, tasks))
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--space", space_copy)
    assert code == 0, err
    code, _, err = run_cli("train", "--store", smaller, "--out", space_copy, "--epochs", "5")
    assert code == 0 and "warm start" in err
    code, out, err = run_cli("zoo", "list", "--space", space_copy)
    listed = {ln.split("\t")[0] for ln in out.splitlines()}
    assert "timm:resnet18" in listed and gone not in listed


@pytest.mark.parametrize("damage", ["truncated manifest", "missing space.npz", "truncated space.npz",
                                    "truncated tower.pt", "stray key in tower.pt"])
def test_damaged_space_is_a_one_line_error(space_copy, run_cli, damage):
    if damage == "truncated manifest":
        (space_copy / "manifest.json").write_text("{")
    elif damage == "missing space.npz":
        (space_copy / "space.npz").unlink()
    elif damage == "stray key in tower.pt":
        tower = torch.load(space_copy / "tower.pt", weights_only=True)
        tower["state_dicts"][0]["stray.weight"] = torch.zeros(1)
        torch.save(tower, space_copy / "tower.pt")
    else:
        name = damage.split()[1]
        data = (space_copy / name).read_bytes()
        (space_copy / name).write_bytes(data[: len(data) // 2])
    try:
        code, out, err = run_cli("recommend", "--classes", BIRDS, "--space", space_copy)
    except Exception as exc:  # a traceback reaches the user
        pytest.fail(f"recommend raised {type(exc).__name__}: {exc}")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("damage", ["garbage", "another space's index"])
def test_an_index_file_that_does_not_hold_the_spaces_vectors_is_rebuilt(space_copy, run_cli, damage):
    """The saved FAISS index is a cache of the space's vectors: a damaged or stale one is not searched."""
    import faiss

    from fennec.space.store import load_index, load_space

    path = space_copy / "index.faiss"
    space = load_space(space_copy)
    if damage == "garbage":
        path.write_bytes(b"not a faiss index")
    else:
        other = faiss.IndexFlatIP(space.model_vectors_.shape[1])
        other.add(np.flip(space.model_vectors_, axis=0).astype(np.float32))  # same shape, other vectors
        faiss.write_index(other, str(path))
    index = load_index(space)  # kept alive: its vectors are a view of FAISS's memory
    np.testing.assert_array_equal(index.vectors, space.model_vectors_.astype(np.float32))
    code, _, err = run_cli("recommend", "--classes", BIRDS, "--space", space_copy, "--format", "json")
    assert code == 0, err


def test_a_timm_id_timm_does_not_know_names_the_close_ones(trained, run_cli):
    code, _, err = run_cli("zoo", "add", "timm:resnt50.a1_in1k", "--space", trained["space"])
    assert code == 2 and "timm has no architecture 'resnt50'; did you mean resnet50" in err


def test_train_never_replaces_a_file_or_a_folder_that_holds_no_space(trained, tmp_path, run_cli):
    # writing a space replaces its directory: a user's own folder must be refused, before any training
    precious = tmp_path / "my_documents"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me too")
    for out, message in ((precious, "holds files but no trained space"), (a_file, "is a file")):
        code, _, err = run_cli("train", "--store", trained["store"], "--out", out)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert "trained on" not in err  # refused before training
    assert (precious / "notes.txt").read_text() == "keep me" and a_file.read_text() == "keep me too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "my_documents"]
    # an empty folder, or one holding a space, is a place for a space
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("train", "--store", trained["store"], "--out", empty, "--epochs", "5")[0] == 0
    assert run_cli("train", "--store", trained["store"], "--out", empty, "--epochs", "5")[0] == 0
