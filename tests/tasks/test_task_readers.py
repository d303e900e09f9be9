"""Task readers: image folders (with splits), manifests, npz features, class names; errors are one line."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fennec.registry import UnknownNameError
from fennec.tasks import READERS, detect_reader, read_task, task_from_class_names
from fennec.validation import FennecInputError, FennecInputWarning

COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def test_registry_has_the_four_readers() -> None:
    assert READERS.names() == ["imagefolder", "manifest", "names", "npz"]
    with pytest.raises(UnknownNameError, match="manifest"):
        read_task("x,y", reader="manifst")


def test_imagefolder(folder: Path) -> None:
    (folder / "red" / "notes.txt").write_text("not an image")
    (folder / "blue" / "nested").mkdir()
    Image.new("RGB", (5, 5)).save(folder / "blue" / "nested" / "deep.png")
    task = read_task(str(folder))
    assert task.kind == "images" and task.name == "colors"
    assert task.class_names == ("blue", "green", "red")
    assert task.n_examples == 13 and task.class_counts().tolist() == [5, 4, 4]
    assert task.splits is None
    assert all(p.suffix == ".png" for p in task.paths)
    assert task.labels.dtype == np.int64


def test_broken_links_and_pipes_named_like_images_are_skipped_and_said(folder: Path) -> None:
    """A dangling symlink ended in a FileNotFoundError traceback, and a pipe blocked the task's fingerprint (which
    reads the start of every file) forever (a probe)."""
    import os

    (folder / "green" / "linked.png").symlink_to(sorted((folder / "red").glob("*.png"))[0])  # a good link: read
    (folder / "red" / "gone.png").symlink_to(folder / "nowhere.png")
    os.mkfifo(folder / "blue" / "pipe.png")
    with pytest.warns(FennecInputWarning, match=r"skipped 2 name\(s\) with an image suffix that are no regular "
                      r"file \(a broken link or a pipe\), e\.g\. '.*pipe\.png'"):
        task = read_task(str(folder))
    assert task.n_examples == 13 and not any(p.name in ("gone.png", "pipe.png") for p in task.paths)
    assert len(task.fingerprint) == 32  # reads every listed file: no pipe among them


def test_classes_over_real_folder_names_replace_them_with_a_warning(folder: Path, tmp_path: Path,
                                                                     make_folder) -> None:
    """--classes is meant for numbered folders; over real names it renamed them without a word (a probe)."""
    with pytest.warns(FennecInputWarning, match=r"classes replace its own class names \(blue -> x, green -> y, "
                      r"red -> z, in sorted label order\); leave classes out to keep them"):
        task = read_task(str(folder), "x,y,z")
    assert task.class_names == ("x", "y", "z")
    numbered = make_folder(tmp_path / "num", {"0": (1, 2, 3), "1": (4, 5, 6)}, per_class=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_task(str(numbered), "cat,dog").class_names == ("cat", "dog")
        assert read_task(str(folder), "blue,green,red").class_names == ("blue", "green", "red")


def test_a_list_of_tasks_given_as_a_task_says_where_it_goes(tmp_path: Path) -> None:
    (tmp_path / "tasks.csv").write_text('task,description\n"a,b",birds\n')
    with pytest.raises(FennecInputError, match=r"found task, description \(a list of tasks with a 'task' column "
                       r"goes to `fennec rank-batch --manifest`\)"):
        read_task(str(tmp_path / "tasks.csv"))


def test_imagefolder_with_splits(tmp_path: Path, make_folder) -> None:
    root = tmp_path / "ds"
    make_folder(root, COLORS, per_class=3, split="train")
    make_folder(root, {"red": COLORS["red"], "blue": COLORS["blue"]}, per_class=1, split="val")
    make_folder(root, {"green": COLORS["green"]}, per_class=2, split="Test")
    task = read_task(root)
    assert task.class_names == ("blue", "green", "red")
    assert task.split_names == ["test", "train", "val"]
    assert (task.splits == "train").sum() == 9 and (task.splits == "val").sum() == 2
    assert (task.splits == "test").sum() == 2
    assert "splits test/train/val" in task.summary()


def test_numbered_classes_take_the_names_of_classes_in_one_order_whatever_the_reader(tmp_path: Path,
                                                                                      make_folder) -> None:
    """Folders 0, 1, 2, 10 were ordered as text (10 before 2), a manifest of the same images numerically: the same
    --classes named folder 10 'two' and label 10 'ten' (a probe)."""
    folder = make_folder(tmp_path / "numbered", {"0": (200, 0, 0), "1": (0, 200, 0), "2": (0, 0, 200),
                                                 "10": (200, 200, 0)}, per_class=2)
    rows = [(str(p), p.parent.name) for p in sorted(folder.rglob("*.png"))]
    manifest = _write_manifest(tmp_path / "m.csv", rows, header=("path", "label"))
    feats = tmp_path / "f.npz"
    np.savez(feats, features=np.eye(8), labels=np.array([p.parent.name for p in sorted(folder.rglob("*.png"))]))
    named = {}
    for spec in (folder, manifest, feats):
        task = read_task(str(spec), classes="zero,one,two,ten")
        assert task.class_names == ("zero", "one", "two", "ten")
        if task.paths is not None:
            named[spec] = {Path(task.paths[i]).parent.name: task.class_names[task.labels[i]]
                           for i in range(len(task.labels))}
    assert named[folder] == named[manifest] == {"0": "zero", "1": "one", "2": "two", "10": "ten"}
    npz = read_task(str(feats), classes="zero,one,two,ten")
    order = [p.parent.name for p in sorted(folder.rglob("*.png"))]
    assert {order[i]: npz.class_names[npz.labels[i]] for i in range(8)} == named[folder]


def test_folders_named_like_splits_with_images_are_classes(tmp_path: Path, make_color_image) -> None:
    for name in ("train", "test"):
        (tmp_path / "odd" / name).mkdir(parents=True)
        make_color_image((1, 2, 3)).save(tmp_path / "odd" / name / "a.png")
    task = read_task(tmp_path / "odd")
    assert task.class_names == ("test", "train") and task.splits is None


def test_split_folders_beside_another_folder_are_read_as_classes_and_said_so(tmp_path: Path, make_folder) -> None:
    """train/<cls>, test/<cls> and unlabeled/: a task of 3 classes train, test, unlabeled, silently (a probe)."""
    root = tmp_path / "ds"
    make_folder(root, COLORS, per_class=2, split="train")
    make_folder(root, COLORS, per_class=1, split="test")
    make_folder(root / "unlabeled", {"x": COLORS["red"]}, per_class=1)
    with pytest.warns(FennecInputWarning, match="test, train look like splits, but unlabeled is none"):
        task = read_task(root)
    assert task.splits is None and task.class_names == ("test", "train", "unlabeled")


def test_imagefolder_errors(tmp_path: Path, make_folder) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FennecInputError, match="no class folders"):
        read_task(tmp_path / "empty")
    for c in ("a", "b"):  # class folders holding no image (a text file is not one)
        (tmp_path / "noimg" / c).mkdir(parents=True)
        (tmp_path / "noimg" / c / "notes.txt").write_text("hi")
    with pytest.raises(FennecInputError, match=r"2 class folder\(s\) but no image files in them; expected .*png"):
        read_task(tmp_path / "noimg")
    one = make_folder(tmp_path / "one", {"red": COLORS["red"]})
    with pytest.raises(FennecInputError, match="only one class") as exc:
        read_task(one)
    assert "\n" not in str(exc.value)
    two = make_folder(tmp_path / "two", {"red": COLORS["red"], "blue": COLORS["blue"]})
    (two / "green").mkdir()
    with pytest.raises(FennecInputError, match=r"\['green'\] have no examples"):
        read_task(two)
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.new("RGB", (4, 4)).save(loose / "a.png")
    with pytest.raises(FennecInputError, match="one folder per class"):
        read_task(loose)
    with pytest.raises(FennecInputError, match="no such file or directory"):
        read_task(tmp_path / "missing")


def _write_manifest(path: Path, rows: list[tuple], header=("path", "label", "split")) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_manifest_relative_paths_and_missing_files(folder: Path) -> None:
    rows = [(f"colors/{c}/{i}.png", c, "train" if i < 3 else "val") for c in COLORS for i in range(4)]
    rows.append(("colors/red/missing.png", "red", "train"))
    man = _write_manifest(folder.parent / "m.csv", rows)
    with pytest.warns(FennecInputWarning, match="skipped 1 listed path"):
        task = read_task(man)
    assert task.kind == "images" and task.n_examples == 12 and task.class_names == ("blue", "green", "red")
    assert task.split_names == ["train", "val"]
    assert task.skipped and task.skipped[0][1] == "file not found"
    assert all(p.is_file() for p in task.paths)


def test_manifest_numeric_labels_and_renaming(folder: Path) -> None:
    rows = [(f"colors/{c}/{i}.png", str(k)) for k, c in enumerate(COLORS) for i in range(2)]
    man = _write_manifest(folder.parent / "num.csv", rows, header=("path", "label"))
    task = read_task(man)
    assert task.class_names == ("0", "1", "2") and not task.named_classes
    named = read_task(man, classes="red,green,blue")
    assert named.class_names == ("red", "green", "blue") and named.named_classes
    with pytest.raises(FennecInputError, match="2 name"):
        read_task(man, classes="red,green")


def test_manifest_class_whose_files_are_all_missing(folder: Path) -> None:
    rows = [(f"colors/{c}/{i}.png", c) for c in ("red", "green") for i in range(2)] + [("gone/1.png", "violet")]
    man = _write_manifest(folder.parent / "gone.csv", rows, header=("path", "label"))
    with pytest.warns(FennecInputWarning), pytest.raises(FennecInputError, match=r"\['violet'\] have no examples"):
        read_task(man)


def test_manifest_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("file,cls\na.png,x\n")
    with pytest.raises(FennecInputError, match="columns 'path,label"):
        read_task(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("path,label\n")
    with pytest.raises(FennecInputError, match="no rows"):
        read_task(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("path,label\na.png,\n")
    with pytest.raises(FennecInputError, match="line 2"):
        read_task(blank)


def test_manifest_misreadings_found_by_a_probe_are_errors_or_warnings(folder: Path) -> None:
    """A row longer than the header crashed; a column named twice, one image under two labels passed silently;
    1 and 1.0 were two classes; an unknown split value was kept without a word."""
    base = folder.parent
    long_row = base / "long.csv"
    long_row.write_text("path,label\ncolors/red/0.png,red,extra\ncolors/blue/0.png,blue\n")
    with pytest.raises(FennecInputError, match=r"line 2 has 3 fields, the header 2 \(path, label\)"):
        read_task(long_row)
    twice = _write_manifest(base / "twice.csv", [("colors/red/0.png", "red", "blue")],
                            header=("path", "label", "Label"))
    with pytest.raises(FennecInputError, match="names column\\(s\\) label more than once"):
        read_task(twice)
    two_labels = _write_manifest(base / "two.csv", [("colors/red/0.png", "red"), ("colors/red/0.png", "blue"),
                                                   ("colors/blue/0.png", "blue")], header=("path", "label"))
    with pytest.raises(FennecInputError, match=r"line 3 labels colors/red/0\.png 'blue', line 2 'red'"):
        read_task(two_labels)
    spelt_twice = _write_manifest(base / "spelt.csv", [("colors/red/0.png", "red"),
                                                       ("colors/blue/../red/0.png", "blue"),
                                                       ("colors/blue/0.png", "blue")], header=("path", "label"))
    with pytest.raises(FennecInputError, match=r"line 3 labels colors/blue/\.\./red/0\.png 'blue', line 2 'red'"):
        read_task(spelt_twice)  # the same file under another spelling passed
    floats = _write_manifest(base / "floats.csv", [(f"colors/{c}/{i}.png", v) for c, v in (("red", "0.0"),
                             ("green", "1"), ("blue", "1.0")) for i in range(2)], header=("path", "label"))
    task = read_task(floats)
    assert task.class_names == ("0", "1") and task.labels.tolist() == [0, 0, 1, 1, 1, 1]
    odd = _write_manifest(base / "odd.csv", [(f"colors/{c}/{i}.png", c, "holdout" if i else "train")
                                             for c in COLORS for i in range(2)])
    with pytest.warns(FennecInputWarning, match="split value\\(s\\) 'holdout' are none of train, val, test"):
        assert read_task(odd).split_names == ["holdout", "train"]


@pytest.mark.parametrize("damage", ["empty", "truncated", "an .npy", "text"])
def test_a_damaged_npz_task_is_a_one_line_error(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, features=np.ones((4, 2)), labels=np.array([0, 1, 0, 1]))
    bad = tmp_path / "bad.npz"
    if damage == "an .npy":
        with open(bad, "wb") as fh:
            np.save(fh, np.ones((4, 2)))
    else:
        bad.write_bytes({"empty": b"", "truncated": good.read_bytes()[:300], "text": b"junk"}[damage])
    with pytest.raises(FennecInputError, match=r"cannot read as \.npz \((not a zip archive|a damaged archive)") as err:
        read_task(bad)
    assert "\n" not in str(err.value)


def test_parquet_manifest(folder: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    paths = [f"colors/{c}/{i}.png" for c in COLORS for i in range(2)]
    labels = [c for c in COLORS for _ in range(2)]
    pq.write_table(pa.table({"path": paths, "label": labels}), folder.parent / "m.parquet")
    task = read_task(folder.parent / "m.parquet")
    assert task.n_examples == 6 and task.n_classes == 3
    # column names are matched case-blind, as in a CSV manifest
    pq.write_table(pa.table({"Path": paths, "Label": labels}), folder.parent / "upper.parquet")
    upper = read_task(folder.parent / "upper.parquet")
    assert upper.n_examples == 6 and upper.class_names == task.class_names


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    (tmp_path / "m.parquet").write_bytes(b"PAR1")
    with pytest.raises(FennecInputError, match="pip install pyarrow"):
        read_task(tmp_path / "m.parquet")


def test_npz_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(12, 5))
    np.savez(tmp_path / "f.npz", features=feats, labels=np.repeat([3, 7, 9], 4))
    task = read_task(tmp_path / "f.npz")
    assert task.kind == "features" and task.features.dtype == np.float32 and task.features.shape == (12, 5)
    assert task.class_names == ("class_3", "class_7", "class_9") and not task.named_classes
    assert task.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    named = read_task(tmp_path / "f.npz", classes=["cat", "dog", "fox"])
    assert named.class_names == ("cat", "dog", "fox") and named.named_classes
    np.savez(tmp_path / "s.npz", features=feats, labels=np.array(["b", "a", "c"] * 4), splits=np.array(["train"] * 12))
    t2 = read_task(tmp_path / "s.npz")
    assert t2.class_names == ("a", "b", "c") and t2.named_classes and t2.split_names == ["train"]
    np.savez(tmp_path / "n.npz", features=feats, labels=np.repeat([0, 1, 2], 4), class_names=np.array(["x", "y", "z"]))
    assert read_task(tmp_path / "n.npz").class_names == ("x", "y", "z")
    # string labels that are placeholders carry no names either
    np.savez(tmp_path / "p.npz", features=feats, labels=np.array(["label_1", "label_2", "label_3"] * 4))
    assert read_task(tmp_path / "p.npz").named_classes is False


def test_npz_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "nolab.npz", features=np.zeros((4, 2)))
    with pytest.raises(FennecInputError, match="lacks labels"):
        read_task(tmp_path / "nolab.npz")
    np.savez(tmp_path / "shape.npz", features=np.zeros((4, 2)), labels=np.array([0, 1, 0]))
    with pytest.raises(FennecInputError, match=r"shape \(N, D\)"):
        read_task(tmp_path / "shape.npz")
    np.savez(tmp_path / "one.npz", features=np.zeros((4, 2)), labels=np.zeros(4, dtype=int))
    with pytest.raises(FennecInputError, match="only one class"):
        read_task(tmp_path / "one.npz")
    f = np.zeros((4, 2))
    f[0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", features=f, labels=np.array([0, 1, 0, 1]))
    with pytest.raises(FennecInputError, match="NaN"):
        read_task(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(FennecInputError, match="cannot read") as err:
        read_task(tmp_path / "junk.npz")
    assert "allow_pickle" not in str(err.value)  # numpy's hint to load pickles is never ours
    # integer labels saved as floats are integer labels; 0.5 is not a label
    np.savez(tmp_path / "float_labels.npz", features=np.ones((4, 2)), labels=np.array([0.0, 1.0, 0.0, 1.0]))
    assert read_task(tmp_path / "float_labels.npz").labels.tolist() == [0, 1, 0, 1]
    np.savez(tmp_path / "half.npz", features=np.ones((4, 2)), labels=np.array([0.0, 0.5, 0.0, 1.0]))
    with pytest.raises(FennecInputError, match="labels must be integers or strings"):
        read_task(tmp_path / "half.npz")


def test_npz_split_arrays_and_empty_features_found_by_a_probe(tmp_path: Path) -> None:
    """'split' silently overrode 'splits', odd split names passed without the warning a manifest gives, and
    (N, 0) features were accepted."""
    labels = np.array([0, 1, 0, 1])
    np.savez(tmp_path / "both.npz", features=np.ones((4, 2)), labels=labels, splits=np.array(["train"] * 4),
             split=np.array(["test"] * 4))
    with pytest.raises(FennecInputError, match="holds both 'splits' and 'split'; keep one"):
        read_task(tmp_path / "both.npz")
    np.savez(tmp_path / "short.npz", features=np.ones((4, 2)), labels=labels, split=np.array(["train"] * 3))
    with pytest.raises(FennecInputError, match="'split' has 3 values for 4 examples"):
        read_task(tmp_path / "short.npz")
    np.savez(tmp_path / "odd.npz", features=np.ones((4, 2)), labels=labels,
             splits=np.array(["train", "Holdout", "test", "validation"]))
    with pytest.warns(FennecInputWarning, match=r"split value\(s\) 'holdout' are none of train, val, test"):
        task = read_task(tmp_path / "odd.npz")
    assert task.splits.tolist() == ["train", "holdout", "test", "val"]
    np.savez(tmp_path / "nocols.npz", features=np.ones((4, 0)), labels=labels)
    with pytest.raises(FennecInputError, match=r"features have no columns \(shape \(4, 0\)\)"):
        read_task(tmp_path / "nocols.npz")


def test_class_names_from_list_file_and_function(tmp_path: Path) -> None:
    t = read_task("cat, dog ,hamster")
    assert t.kind == "names" and t.class_names == ("cat", "dog", "hamster") and t.n_examples == 0
    f = tmp_path / "birds.txt"
    f.write_text("# birds\nrobin\n\nblue jay\nsparrow\n")
    t2 = read_task(f)
    assert t2.name == "birds" and t2.class_names == ("robin", "blue jay", "sparrow")
    t3 = task_from_class_names("pets", ["cat", "dog"], description="pet photos")
    assert t3.description == "pet photos" and t3.kind == "names"
    with pytest.raises(FennecInputError, match="only one class"):
        task_from_class_names("x", ["cat"])
    with pytest.raises(FennecInputError, match="duplicate"):
        read_task("cat,dog,cat")
    with pytest.raises(FennecInputError, match="one string"):
        task_from_class_names("x", "cat,dog")
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(FennecInputError, match="no class names"):
        read_task(tmp_path / "empty.txt")


def test_class_names_from_json_and_a_missing_file_is_said_missing(tmp_path: Path) -> None:
    from fennec.tasks.readers import parse_class_names

    (tmp_path / "names.json").write_text('["robin", "blue jay", 3]')
    assert parse_class_names(str(tmp_path / "names.json")) == ["robin", "blue jay", "3"]
    for bad in ('{"a": 1}', '[["a", "b"], "c"]'):
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(FennecInputError, match="not a flat list of class names"):
            parse_class_names(str(tmp_path / "bad.json"))
    for missing in (str(tmp_path / "nope.txt"), "classes.txt", "lists/pets"):
        with pytest.raises(FennecInputError, match=f"no file '{missing}'"):
            parse_class_names(missing)
    # names that merely contain a dot or a slash are still names when given as a comma list
    assert parse_class_names("a/c unit,t.v.") == ["a/c unit", "t.v."]


def test_class_name_files_found_misread_by_a_probe(tmp_path: Path) -> None:
    from fennec.tasks.readers import parse_class_names

    # a plain list whose first name starts with a bracket was parsed as broken JSON
    (tmp_path / "names.txt").write_text("[unknown]\nrobin\n{other}\n")
    assert parse_class_names(str(tmp_path / "names.txt")) == ["[unknown]", "robin", "{other}"]
    (tmp_path / "broken.json").write_text('["robin", ')
    with pytest.raises(FennecInputError, match="is not a valid JSON list"):  # a .json file is JSON, or an error
        parse_class_names(str(tmp_path / "broken.json"))
    # a folder was one class named like it; UTF-16 without a byte-order mark gave names full of NUL characters
    with pytest.raises(FennecInputError, match=r"is a folder; give a file .*an image folder is a TASK"):
        parse_class_names(str(tmp_path))
    (tmp_path / "utf16.txt").write_bytes("robin\njay\n".encode("utf-16-le"))
    with pytest.raises(FennecInputError, match=r"holds NUL characters \(UTF-16 text\?\); save it as UTF-8"):
        parse_class_names(str(tmp_path / "utf16.txt"))
    for bad in (None, 5):  # a bare TypeError before
        with pytest.raises(FennecInputError, match=r"^classes: expected a file, a comma list"):
            parse_class_names(bad)


def test_detect_reader(tmp_path: Path, folder: Path) -> None:
    assert detect_reader(str(folder)) == "imagefolder"
    assert detect_reader("a,b") == "names"
    assert detect_reader("T-shirt/top,Trouser,Pullover") == "names"  # Fashion-MNIST's names hold a slash
    for missing in (str(tmp_path / "photos,v2"), "./photos,v2", "photos,v2/"):  # a folder that is not there
        with pytest.raises(FennecInputError, match="no such file or directory"):
            detect_reader(missing)
    with pytest.raises(FennecInputError, match="is class names already, and classes were given too"):
        read_task("cat,dog", classes="x,y")  # --classes was ignored, silently
    assert read_task("cat,dog", classes="").class_names == ("cat", "dog")
    # as for an image folder's class folders: WordNet ids read as names, placeholders said to be such
    assert read_task("n01440764,n02123045").class_names == ("tench", "tabby")
    with pytest.warns(FennecInputWarning, match="class names 0, 1, 2 are placeholders"):
        read_task("0,1,2")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(FennecInputError, match="unknown file type"):
        detect_reader(str(tmp_path / "x.json"))


def test_fingerprint_tracks_content_not_location(tmp_path: Path, make_folder) -> None:
    a = read_task(make_folder(tmp_path / "a" / "ds", COLORS, per_class=2))
    b = read_task(make_folder(tmp_path / "b" / "ds", COLORS, per_class=2))
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 32
    Image.new("RGB", (40, 40), (0, 0, 0)).save(tmp_path / "b" / "ds" / "red" / "0.png")
    assert read_task(tmp_path / "b" / "ds").fingerprint != a.fingerprint
    assert task_from_class_names("t", ["a", "b"]).fingerprint != task_from_class_names("t", ["a", "c"]).fingerprint


def test_wordnet_id_folders_get_readable_names(tmp_path) -> None:
    """ImageNet-style folders (n01440764/...) are named from timm's synset list; colliding names stay apart."""
    from fennec.tasks.readers import wordnet_names

    for wnid in ("n01440764", "n02012849", "n03126707"):
        (tmp_path / "inet" / wnid).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "inet" / wnid / "a.png")
    task = read_task(str(tmp_path / "inet"))
    assert task.class_names == ("tench", "crane (n02012849)", "crane (n03126707)")
    assert task.named_classes is True
    assert wordnet_names(["n01440764", "n99999999"]) is None  # an unknown id: left as a placeholder
    assert wordnet_names(["n01440764", "cat"]) is None
    (tmp_path / "odd" / "n99999999").mkdir(parents=True)
    (tmp_path / "odd" / "n01440764").mkdir(parents=True)
    for d in (tmp_path / "odd").iterdir():
        Image.new("RGB", (8, 8)).save(d / "a.png")
    odd = read_task(str(tmp_path / "odd"))
    assert odd.class_names == ("n01440764", "n99999999") and odd.named_classes is False
