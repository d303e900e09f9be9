"""`fennec embed-task`, `fennec score-zoo` and `fennec tasks add-images` in-process: outputs, and exit code 2 with
one line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fennec.cli import main
from fennec.tasks import load_descriptor, read_task

PROXY = "timm:tf_efficientnet_lite0"


def test_embed_task_image_folder(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.npz"
    assert main(["embed-task", str(folder), "--proxy", PROXY, "--max-images", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 classes, 12 examples" in text and "probe 6 images" in text and str(out) in text
    d = load_descriptor(out)
    assert d.parts["image"] is not None and d.parts["text"] is not None and d.proxy == PROXY


def test_embed_task_text_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "names.npz"
    assert main(["embed-task", "cat,dog,parrot", "--proxy", PROXY, "--description", "pets", "--out", str(out)]) == 0
    d = load_descriptor(out)
    assert d.parts["image"] is None and d.vector.shape == (2 * 384 + 2 * 1280 + 14,)
    assert np.linalg.norm(d.block("text.description")) == pytest.approx(1.0, abs=1e-5)
    assert "image -" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["embed-task", "/no/such/dir"], "no such file or directory"),
    (["embed-task", "cat"], "no such file or directory"),
    (["embed-task", "cat,cat"], "duplicate class name"),
    (["embed-task", "cat,dog", "--proxy", "timm:resnet5000"], "unknown timm model"),
    (["embed-task", "cat,dog", "--proxy", "vgg"], "source:id"),
    (["embed-task", "cat,dog", "--text-encoder", "sentence:nope"], "unknown encoder"),
    (["embed-task", "cat,dog", "--out", "x.txt"], "should end with .npz"),
    (["embed-task", "cat,dog", "--max-images", "0"], "positive integer"),
    (["score-zoo", "--models", "timm:test_convnext", "--task", "cat,dog", "--method", "logme"], "needs images"),
    (["score-zoo", "--models", "timm:test_convnext", "--task", "/nope", "--method", "logme"], "no such file"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_embed_task_single_class_folder(tmp_path: Path, make_folder, capsys: pytest.CaptureFixture[str]) -> None:
    one = make_folder(tmp_path / "one", {"red": (200, 0, 0)})
    assert main(["embed-task", str(one)]) == 2
    err = capsys.readouterr().err
    assert "only one class" in err and err.count("\n") == 1


def test_score_zoo_cli(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv"
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")  # found only when the model is built: a failure of that model alone
    argv = ["score-zoo", "--models", "timm:test_convnext", f"timm:test_convnext:{junk}", "--task", str(folder),
            "--method", "logme", "--method", "parc", "--out", str(out), "--allow-random", "--no-progress"]
    with pytest.warns(UserWarning):
        assert main(argv) == 1  # one model failed: reported, the other one scored
    err = capsys.readouterr().err
    assert f"timm:test_convnext:{junk}: skipped" in err and "2 new record(s)" in err and "1 failure(s)" in err
    assert out.read_text().startswith("benchmark,model,dataset,metric,value,source")
    assert main(["score-zoo", "--models", "timm:test_convnext", "--task", str(folder), "--method", "logme",
                 "--out", str(out), "--allow-random", "--no-progress"]) == 0
    assert "1 already present" in capsys.readouterr().err
    assert main(["score-zoo", "--models", "timm:test_convnext", "--task", str(folder), "--method", "logem"]) == 2
    assert "did you mean logme" in capsys.readouterr().err


def test_tasks_add_images_stores_the_image_part(folder: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from fennec.records import RecordStore

    store = tmp_path / "s.sqlite"
    RecordStore(store, seed=False).close()
    assert main(["tasks", "add", "colors", "--classes", "red,green,blue", "--alias", "rgb", "--store",
                 str(store)]) == 0
    argv = ["tasks", "add-images", "rgb", str(folder), "--proxy", PROXY, "--max-images", "6", "--store", str(store)]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out == f"task colors: image statistics from {PROXY} (6 probe images, 2568 dims) stored in {store}"
    with RecordStore(store) as s:
        vec = s.task_card("colors").image_parts[PROXY]
        assert vec.shape == (2 * 1280 + 8,) and vec.dtype == np.float32 and np.isfinite(vec).all()
        row = s.conn.execute("SELECT n_probe, fingerprint FROM task_images").fetchone()
        assert row[0] == 6 and row[1] == read_task(folder).fingerprint
    assert main([*argv[:-4], "--max-images", "12", "--store", str(store)]) == 0  # replaces
    with RecordStore(store) as s:
        assert s.conn.execute("SELECT COUNT(*), MAX(n_probe) FROM task_images").fetchone() == (1, 12)
    capsys.readouterr()

    assert main(["tasks", "show", "colors", "--store", str(store)]) == 0
    assert f"image statistics: {PROXY} (12 probe images, 2568 dims)" in capsys.readouterr().out
    assert main(["tasks", "show", "colors", "--format", "json", "--store", str(store)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["image_statistics"][PROXY]["dim"] == 2568 and shown["image_statistics"][PROXY]["n_probe"] == 12


def test_tasks_add_images_from_a_manifest(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fennec.records import RecordStore

    manifest = folder / "manifest.csv"
    rows = [f"{p.relative_to(folder)},{p.parent.name}" for p in sorted(folder.glob("*/*.png"))]
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    store = tmp_path / "s.sqlite"
    # three colour classes are not the 37 breeds of pets: stored, with a warning
    with pytest.warns(UserWarning, match="3 classes, but task 'pets' has 37"):
        assert main(["tasks", "add-images", "pets", str(manifest), "--proxy", PROXY, "--max-images", "6",
                     "--store", str(store)]) == 0
    assert "task pets: image statistics" in capsys.readouterr().out
    with RecordStore(store) as s:
        assert s.task_images()["pets"][PROXY].shape == (2568,)
    assert main(["tasks", "show", "oxford_pets", "--store", str(store)]) == 0
    assert f"image statistics: {PROXY} (6 probe images" in capsys.readouterr().out


def test_tasks_show_without_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    assert main(["records", "init", "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["tasks", "show", "pets", "--store", str(store)]) == 0
    assert "image statistics: -" in capsys.readouterr().out
    assert main(["tasks", "show", "pets", "--format", "json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out)["image_statistics"] == {}


@pytest.mark.parametrize("bad_path, message", [
    ("classes.txt", "must be an image folder or a manifest"),
    ("notes.dat", "must be an image folder or a manifest"),
    ("missing_dir", "no such file or directory"),
    ("cat,dog", "no such file or directory"),
])
def test_tasks_add_images_bad_path_exits_2(bad_path: str, message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "notes.dat").write_text("hello\n")
    store = tmp_path / "s.sqlite"
    path = bad_path if "," in bad_path else str(tmp_path / bad_path)
    assert main(["tasks", "add-images", "pets", path, "--proxy", PROXY, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert message in err and "PATH" in err and err.count("\n") == 1 and "Traceback" not in err


def test_tasks_add_images_unknown_task_exits_2(folder: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    assert main(["tasks", "add-images", "no_such_task", str(folder), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "'no_such_task': not in the store" in err and "fennec tasks add" in err and err.count("\n") == 1
    assert main(["tasks", "add-images", "petz", str(folder), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "did you mean pets" in err and "fennec tasks add" in err and err.count("\n") == 1
    assert main(["tasks", "add-images", "pets", str(folder), "--max-images", "0", "--store", str(store)]) == 2
    assert "--max-images: expected a positive integer" in capsys.readouterr().err


def test_tasks_add_images_from_a_manifest_of_tasks(make_folder, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from fennec.records import RecordStore

    store = tmp_path / "s.sqlite"
    RecordStore(store, seed=False).close()
    for name in ("warm", "cool"):
        assert main(["tasks", "add", name, "--classes", "a,b", "--store", str(store)]) == 0
    warm = make_folder(tmp_path / "warm", {"a": (230, 40, 30), "b": (240, 160, 20)}, per_class=2)
    cool = make_folder(tmp_path / "cool", {"a": (30, 60, 230), "b": (20, 160, 200)}, per_class=2)
    manifest = tmp_path / "tasks.csv"
    manifest.write_text(f"task,path\nwarm,{warm}\ncool,{cool}\n")
    capsys.readouterr()
    assert main(["tasks", "add-images", "--manifest", str(manifest), "--proxy", PROXY, "--store", str(store)]) == 0
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == ["task warm", "task cool"]
    with RecordStore(store) as s:
        images = s.task_images()
    assert set(images) == {"warm", "cool"} and not np.allclose(images["warm"][PROXY], images["cool"][PROXY])


def test_tasks_add_images_reads_a_manifests_relative_paths_from_its_folder(
        make_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """As rank-batch and path,label manifests do: a relative path is the manifest's folder's, whatever the
    current directory; one that exists only from the current directory is still read from there."""
    from fennec.records import RecordStore

    store = tmp_path / "s.sqlite"
    RecordStore(store, seed=False).close()
    for name in ("warm", "cool"):
        assert main(["tasks", "add", name, "--classes", "a,b", "--store", str(store)]) == 0
    make_folder(tmp_path / "data" / "warm", {"a": (230, 40, 30), "b": (240, 160, 20)}, per_class=2)
    elsewhere = tmp_path / "elsewhere"
    make_folder(elsewhere / "cool", {"a": (30, 60, 230), "b": (20, 160, 200)}, per_class=2)
    manifest = tmp_path / "data" / "tasks.csv"
    manifest.write_text("task,path\nwarm,warm\ncool,cool\n")
    monkeypatch.chdir(elsewhere)  # warm is next to the manifest, cool only here
    capsys.readouterr()
    assert main(["tasks", "add-images", "--manifest", str(manifest), "--proxy", PROXY, "--store", str(store)]) == 0
    with RecordStore(store) as s:
        assert set(s.task_images()) == {"warm", "cool"}


@pytest.mark.parametrize(("rows", "argv", "message"), [
    ("task,path\nwarm,{warm}\nnope,{warm}\n", [], "line 3: task 'nope': not in the store"),
    ("task,path\nwarm,{tmp}/missing\n", [], "line 2: PATH"),
    ("task,folder\nwarm,{warm}\n", [], "needs the column(s) path"),
    ("task,path,notes\nwarm,{warm},x\n", [], "unknown column 'notes'"),
    ("task,path\n", [], "no rows"),
    ("task,path\nwarm,{warm}\n", ["warm"], "not both"),
    # the same task twice was computed twice, the last row kept without a word (a probe)
    ("task,path\nwarm,{warm}\nwarm,{warm}\n", [], "line 3: task 'warm' again (first at 2); a task has one set of "
                                                   "image statistics per proxy: keep one row for it"),
])
def test_tasks_add_images_manifest_errors_before_any_image_is_read(make_folder, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str], rows: str,
                                                                   argv: list[str], message: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import fennec.tasks
    from fennec.records import RecordStore

    store = tmp_path / "s.sqlite"
    RecordStore(store, seed=False).close()
    assert main(["tasks", "add", "warm", "--classes", "a,b", "--store", str(store)]) == 0
    warm = make_folder(tmp_path / "warm", {"a": (230, 40, 30), "b": (240, 160, 20)}, per_class=2)
    manifest = tmp_path / "tasks.csv"
    manifest.write_text(rows.format(warm=warm, tmp=tmp_path))
    monkeypatch.setattr(fennec.tasks, "describe_images", lambda *a, **k: pytest.fail("images read before the check"))
    capsys.readouterr()
    assert main(["tasks", "add-images", *argv, "--manifest", str(manifest), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
