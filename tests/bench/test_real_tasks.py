"""bench/real_tasks.py: the Unicode emoji list, the splits and a task build, on small stand-ins for the packages."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from fennec.tasks import read_task

EMOJI_TEST = """\
# group: Animals & Nature
# subgroup: animal-mammal
1F98A                                                  ; fully-qualified     # 🦊 E3.0 fox
1F408 200D 2B1B                                        ; fully-qualified     # 🐈‍⬛ E13.0 black cat
263A                                                   ; unqualified         # ☺ E0.6 smiling face
# subgroup: animal-bird
1F426                                                  ; fully-qualified     # 🐦 E0.6 bird
# group: People & Body
# subgroup: hand-fingers-open
1F44B                                                  ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FB                                            ; fully-qualified     # 👋🏻 E1.0 waving hand: light skin tone
"""


def test_emoji_list_keeps_fully_qualified_ones_without_skin_tones(bench_script) -> None:
    rt = bench_script("real_tasks")
    emoji = rt.parse_emoji_test(EMOJI_TEST)
    assert [(e.name, e.group, e.subgroup) for e in emoji] == [
        ("fox", "Animals & Nature", "animal-mammal"), ("black cat", "Animals & Nature", "animal-mammal"),
        ("bird", "Animals & Nature", "animal-bird"), ("waving hand", "People & Body", "hand-fingers-open")]
    assert emoji[1].text == "\U0001F408\u200D\u2B1B"


def test_splits_hold_out_a_quarter_and_at_least_one(bench_script) -> None:
    rt = bench_script("real_tasks")
    rng = np.random.default_rng(0)
    assert list(rt.split_items(1, rng)) == ["train"]
    assert sorted(rt.split_items(2, rng)) == ["test", "train"]
    assert (rt.split_items(12, rng) == "test").sum() == 3


def test_an_emoji_task_keeps_every_drawing_of_an_emoji_in_one_split(tmp_path: Path, bench_script) -> None:
    rt = bench_script("real_tasks")
    # letters stand in for emoji: the same drawing code, a font every machine has
    emoji = [rt.Emoji(c, "g", "vowels" if c in "AEIOU" else "others", c) for c in "ABCDEFGHIJKLMNOPQRSTU"]
    spec = rt.TaskSpec("letters", "emoji", "target", {"vowels": ("vowels",), "others": ("others",)}, draws=3)
    font = ImageFont.load_default(size=60)
    info = rt.build(spec, tmp_path, emoji, font)
    assert (info["n_train"] + info["n_test"], info["classes"]) == (21 * 3, ["others", "vowels"])
    with open(tmp_path / "letters" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    split_of: dict[str, set[str]] = {}
    for r in rows:
        split_of.setdefault(r["path"].rsplit("_", 1)[0], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())  # a test letter was never trained on
    with Image.open(tmp_path / "letters" / rows[0]["path"]) as img:
        assert img.size == (rt.SIZE, rt.SIZE)
    task = read_task(str(tmp_path / "letters" / "manifest.csv"))
    assert task.n_classes == 2 and set(task.split_names) == {"test", "train"}
    # a finished task is not built again
    stamp = (tmp_path / "letters" / "manifest.csv").stat().st_mtime_ns
    rt.build(spec, tmp_path, emoji, font)
    assert (tmp_path / "letters" / "manifest.csv").stat().st_mtime_ns == stamp


def test_an_icon_task_takes_each_icon_name_once_and_no_symbolic_ones(tmp_path: Path, bench_script) -> None:
    rt = bench_script("real_tasks")
    theme = tmp_path / "icons" / "demo"
    for ctx, names in {"apps": ["editor", "browser", "mail-symbolic"], "devices": ["disk", "editor"]}.items():
        for size in (16, 48):
            d = theme / str(size) / ctx
            d.mkdir(parents=True, exist_ok=True)
            for i, n in enumerate(names):
                Image.new("RGBA", (size, size), (40 * i, 100, 200, 255)).save(d / f"{n}.png")
    found = rt.icon_files(theme, ["apps", "devices"])
    assert [p.stem for p in found["apps"]] == ["browser", "editor"]
    assert all("48" in p.parts for p in found["apps"])  # the largest file of a name
    spec = rt.TaskSpec("demo", "icons", "target", {"apps": ("apps",), "devices": ("devices",)}, themes=("demo",))
    info = rt.build(spec, tmp_path / "out", icons=tmp_path / "icons")
    # "editor" is in both contexts of the theme: it is kept once, in the first
    assert info["classes"] == ["apps", "devices"] and info["n_train"] + info["n_test"] == 3


def _faces(rt):
    """matplotlib's own typefaces: DejaVu (Sans, Serif, Mono, each in several weights), STIX, Computer Modern."""
    import matplotlib

    return rt.typefaces(Path(matplotlib.get_data_path()) / "fonts" / "ttf")


def test_typefaces_group_a_family_s_weights_and_know_their_characters(bench_script) -> None:
    rt = bench_script("real_tasks")
    faces = {f.path.name: f for f in _faces(rt)}
    assert faces["DejaVuSans-Bold.ttf"].family == faces["DejaVuSans.ttf"].family == "DejaVu Sans"
    assert faces["DejaVuSerif.ttf"].family != "DejaVu Sans"
    assert {"7", "Ж", "Ω"} <= faces["DejaVuSans.ttf"].chars
    assert "Ж" not in faces["cmr10.ttf"].chars


def test_one_design_under_two_names_is_one_design_and_lookalike_letters_are_found(bench_script) -> None:
    rt = bench_script("real_tasks")
    faces = {f.path.name: f for f in _faces(rt)}
    sans, serif = faces["DejaVuSans.ttf"], faces["DejaVuSerif.ttf"]
    clone = rt.Typeface(sans.path, "Some Other Name", sans.chars)  # a font that copies DejaVu Sans's digits
    assert rt.designs([sans, serif, clone, faces["DejaVuSans-Bold.ttf"]], "0123") == [0, 1, 0, 0]
    # Armenian Se is drawn as a Latin U; the other letters are not alike
    se, feh = "\u054d", "\u0556"  # Armenian Se and Feh
    assert rt.lookalikes({"latin": ("U", "G"), "armenian": (se, feh)}, [sans]) == {"U", se}


def test_a_digit_task_holds_out_whole_designs(tmp_path: Path, bench_script) -> None:
    rt = bench_script("real_tasks")
    faces = _faces(rt)
    spec = rt.TaskSpec("digits", "glyphs", "target", {d: (d,) for d in "0123"}, split_by="typeface")
    info = rt.build(spec, tmp_path, faces=faces)
    with open(tmp_path / "digits" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    able = [f for f in faces if set("0123") <= f.chars]
    assert info["n_train"] + info["n_test"] == len(rows) == 4 * len(able)  # every able typeface draws every digit
    assert info["n_train"] and info["n_test"]
    # the rows do not name their typeface: redraw the split from the designs, as the builder does
    design = rt.designs(faces, "0123")
    held = rt.split_items(max(design) + 1, np.random.default_rng(0)) == "test"
    expected = sorted("test" if held[d] else "train" for f, d in zip(faces, design, strict=True) if f in able)
    assert sorted(r["split"] for r in rows if r["label"] == "0") == expected
    # and a design is one family or more, never part of one
    by_family: dict[str, set[int]] = {}
    for f, d in zip(faces, design, strict=True):
        by_family.setdefault(f.family, set()).add(d)
    assert all(len(ds) == 1 for ds in by_family.values())
    with Image.open(tmp_path / "digits" / rows[0]["path"]) as img:
        assert img.size == (rt.SIZE, rt.SIZE) and img.mode == "RGB"


def test_a_script_task_holds_out_whole_letters_of_both_cases_and_caps_each_class(tmp_path: Path, bench_script) -> None:
    rt = bench_script("real_tasks")
    faces = _faces(rt)
    classes = {"latin": tuple("DdFfGgJjRrQq"), "cyrillic": tuple("БбЖжЗзЦцЧчШш")}
    spec = rt.TaskSpec("scripts", "glyphs", "target", classes, per_class=30)
    rt.build(spec, tmp_path, faces=faces)
    with open(tmp_path / "scripts" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["label"]: sum(x["label"] == r["label"] for x in rows) for r in rows} == {"latin": 30, "cyrillic": 30}
    split_of: dict[str, set[str]] = {}
    for r in rows:
        letter = chr(int(r["path"].rsplit("_", 1)[1].removesuffix(".png"), 16)).lower()
        split_of.setdefault(letter, set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())  # a test letter, in either case, was never trained on
    assert {r["split"] for r in rows} == {"test", "train"}
    for r in rows:
        with Image.open(tmp_path / "scripts" / r["path"]) as img:
            assert np.asarray(img).std() > 5  # ink on a background, not a blank image


def test_an_unknown_only_name_is_refused_with_its_close_matches(tmp_path: Path, bench_script, monkeypatch,
                                                                 capsys) -> None:
    from types import SimpleNamespace

    import pytest

    from tests.bench.script_errors import one_line_error

    rt = bench_script("real_tasks")
    listing = tmp_path / "emoji-test.txt"
    listing.write_text(EMOJI_TEST, encoding="utf-8")
    monkeypatch.setattr(rt, "EMOJI_TEST", listing)
    monkeypatch.setattr(rt, "EMOJI_FONT", listing)  # only looked for: nothing is drawn
    monkeypatch.setattr(rt, "specs", lambda emoji: [SimpleNamespace(name=n) for n in ("emoji_faces", "icons_apps")])
    monkeypatch.setattr(rt, "build", lambda *a, **k: pytest.fail("a task was built"))
    root = tmp_path / "tasks"
    assert rt.main(["--root", str(root), "--only", "emoji_face"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'emoji_face'; did you mean emoji_faces" in err and one_line_error(err, "real_tasks"), err
    assert not (root / "tasks.json").exists()
