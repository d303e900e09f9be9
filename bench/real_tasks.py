"""Build image-classification tasks from real images that Debian packages install, offline.

    python bench/real_tasks.py --root DIR [--only NAME ...] [--list]

No dataset can be downloaded here, but Debian ships artwork: Google's Noto Color Emoji (fonts-noto-color-emoji,
with the Unicode emoji groups of unicode-data) and the Papirus, Breeze and Adwaita icon themes
(papirus-icon-theme, breeze-icon-theme, adwaita-icon-theme; SVGs rasterised by rsvg-convert of librsvg2-bin).
Each task is a folder ``DIR/NAME/`` of PNGs and a manifest ``DIR/NAME/manifest.csv`` (``path,label,split``) that
``read_task`` reads; ``DIR/tasks.json`` lists them with their role:

- ``source`` tasks are what a zoo is pre-trained on here (``fennec finetune --save-to``);
- ``target`` tasks are the benchmark: every zoo model fine-tuned on each gives the ground truth.

Sources and targets never share an image: the emoji targets are other Unicode groups than the emoji source, and
the icon targets other themes than the icon source. An emoji is drawn several times (scale, position, rotation,
background colour) and all its drawings fall in one split, so a test image is always an emoji never trained on.
Builds are deterministic (seeded) and resumable (a finished task is skipped).

Install the packages with ``apt-get install fonts-noto-color-emoji unicode-data papirus-icon-theme
breeze-icon-theme librsvg2-bin``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fennec.io import write_json

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
ICONS = Path("/usr/share/icons")
SIZE = 96  # side of every image written
SKIN_TONES = {0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF}


@dataclass(frozen=True)
class Emoji:
    text: str
    group: str
    subgroup: str
    name: str


@dataclass(frozen=True)
class TaskSpec:
    """A task to build: ``classes`` maps a label to what it gathers (emoji subgroups, or icon contexts)."""

    name: str
    family: str  # "emoji" or "icons"
    role: str  # "source" or "target"
    classes: dict[str, tuple[str, ...]]
    themes: tuple[str, ...] = ()  # icon themes searched, in order
    per_class: int = 0  # most items per class (icons); 0: all
    draws: int = 6  # drawings per emoji
    description: str = ""
    meta: dict[str, str] = field(default_factory=dict)


def parse_emoji_test(text: str) -> list[Emoji]:
    """Fully-qualified emoji of Unicode's ``emoji-test.txt``, without skin-tone variants (near-copies of their
    base emoji), with their group and subgroup."""
    out, group, subgroup = [], "", ""
    for line in text.splitlines():
        if line.startswith("# group:"):
            group = line.partition(":")[2].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.partition(":")[2].strip()
        elif "; fully-qualified" in line:
            codes = [int(c, 16) for c in line.partition(";")[0].split()]
            if SKIN_TONES & set(codes):
                continue
            name = line.partition("#")[2].split(maxsplit=2)[-1].strip()
            out.append(Emoji("".join(map(chr, codes)), group, subgroup, name))
    return out


def draw_emoji(emoji: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator) -> Image.Image | None:
    """One drawing of an emoji: scaled to 55-95% of the side, rotated up to 15 degrees, placed at random on a
    random light background; None when the font has no glyph for it (an empty drawing)."""
    canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((8, 8), emoji, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    side = int(SIZE * rng.uniform(0.55, 0.95))
    glyph = glyph.resize((side, max(1, round(side * glyph.height / glyph.width))), Image.BICUBIC)
    glyph = glyph.rotate(float(rng.uniform(-15, 15)), resample=Image.BICUBIC, expand=True)
    glyph.thumbnail((SIZE, SIZE))
    bg = tuple(int(v) for v in rng.integers(170, 256, 3))
    out = Image.new("RGB", (SIZE, SIZE), bg)
    x = int(rng.integers(0, SIZE - glyph.width + 1))
    y = int(rng.integers(0, SIZE - glyph.height + 1))
    out.paste(glyph, (x, y), glyph)
    return out


def split_items(n_items: int, rng: np.random.Generator, test_share: float = 0.25) -> np.ndarray:
    """Per item of one class, "train" or "test": a seeded ``test_share`` (at least one, when there are two or
    more items) is held out."""
    k = max(1, round(test_share * n_items)) if n_items >= 2 else 0
    splits = np.array(["train"] * n_items, dtype=object)
    splits[rng.permutation(n_items)[:k]] = "test"
    return splits


def icon_files(theme: Path, contexts: Iterable[str]) -> dict[str, list[Path]]:
    """Icon files of a theme by context: every ``*.svg``/``*.png`` under a directory named after the context (any
    size), one file per icon name (the largest), symbolic icons left out (one-colour pictograms)."""
    found: dict[str, dict[str, Path]] = {c: {} for c in contexts}
    for path in sorted(theme.rglob("*")):
        if path.suffix not in (".svg", ".png") or "symbolic" in path.name or "symbolic" in path.parts:
            continue
        ctx = next((p for p in path.parts[len(theme.parts):-1] if p in found), None)
        if ctx is None or not path.exists():  # a dangling symlink
            continue
        key = path.stem
        old = found[ctx].get(key)
        if old is None or path.stat().st_size > old.stat().st_size:
            found[ctx][key] = path
    return {c: [v[k] for k in sorted(v)] for c, v in found.items()}


def rasterise(src: Path, dst: Path) -> bool:
    """An icon as a SIZE x SIZE PNG (SVGs through rsvg-convert); False when it cannot be drawn."""
    if src.suffix == ".png":
        try:
            with Image.open(src) as img:
                img.convert("RGBA").resize((SIZE, SIZE), Image.BICUBIC).save(dst)
            return True
        except OSError:
            return False
    res = subprocess.run(["rsvg-convert", "-w", str(SIZE), "-h", str(SIZE), "-o", str(dst), str(src)],
                         capture_output=True, check=False)
    return res.returncode == 0 and dst.is_file() and dst.stat().st_size > 0


def _subgroups(emoji: list[Emoji], groups: set[str], min_size: int) -> dict[str, tuple[str, ...]]:
    counts: dict[str, int] = {}
    for e in emoji:
        if e.group in groups:
            counts[e.subgroup] = counts.get(e.subgroup, 0) + 1
    return {s: (s,) for s in sorted(counts) if counts[s] >= min_size}


def specs(emoji: list[Emoji]) -> list[TaskSpec]:
    """The tasks: one emoji source, three emoji targets, one icon source, one icon target (Adwaita's icons are
    one-colour symbolic ones nowadays, and the other installed themes are variants of these two)."""
    source_groups = {"Smileys & Emotion", "People & Body", "Activities", "Objects", "Symbols"}
    ctx = ("apps", "devices", "mimetypes", "places")  # Papirus's categories is a link to its apps
    return [
        TaskSpec("emoji_source", "emoji", "source", _subgroups(emoji, source_groups, 7), draws=4,
                 description="emoji of people, faces, activities, objects and symbols by Unicode subgroup"),
        TaskSpec("emoji_animals", "emoji", "target",
                 {c: (c,) for c in ("animal-mammal", "animal-bird", "animal-marine", "animal-bug", "animal-reptile",
                                    "plant-flower", "plant-other")},
                 description="emoji of animals and plants"),
        TaskSpec("emoji_food", "emoji", "target",
                 {c: (c,) for c in ("food-fruit", "food-vegetable", "food-prepared", "food-asian", "food-sweet",
                                    "drink")},
                 description="emoji of food and drink"),
        TaskSpec("emoji_travel", "emoji", "target",
                 {c: (c,) for c in ("transport-ground", "transport-water", "transport-air", "place-building",
                                    "sky & weather", "time")},
                 description="emoji of transport, places, sky and time"),
        TaskSpec("icons_source", "icons", "source", {c: (c,) for c in ctx}, themes=("Papirus/64x64",),
                 per_class=300, description="Papirus desktop icons by context"),
        TaskSpec("icons_breeze", "icons", "target",
                 {c: (c,) for c in ("actions", "apps", "devices", "emblems", "mimetypes", "places", "status")},
                 themes=("breeze",), per_class=80, description="Breeze desktop icons by context"),
    ]


def build_emoji(spec: TaskSpec, emoji: list[Emoji], font: ImageFont.FreeTypeFont, out: Path,
                seed: int = 0) -> list[tuple[str, str, str]]:
    """Draw a task's emoji; returns its manifest rows (relative path, label, split)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, subgroups in spec.classes.items():
        members = [e for e in emoji if e.subgroup in subgroups]
        splits = split_items(len(members), rng)
        (out / label).mkdir(parents=True, exist_ok=True)
        for i, (e, split) in enumerate(zip(members, splits, strict=True)):
            for d in range(spec.draws):
                img = draw_emoji(e.text, font, rng)
                if img is None:
                    break  # the font lacks it: no drawing of it at all
                rel = f"{label}/{i:03d}_{d}.png"
                img.save(out / rel)
                rows.append((rel, label, str(split)))
    return rows


def build_icons(spec: TaskSpec, out: Path, icons: Path = ICONS, seed: int = 0) -> list[tuple[str, str, str]]:
    """Rasterise a task's icons; returns its manifest rows."""
    rng = np.random.default_rng(seed)
    files: dict[str, list[Path]] = {label: [] for label in spec.classes}
    seen: set[str] = set()
    for theme in spec.themes:
        by_ctx = icon_files(icons / theme, {c for cs in spec.classes.values() for c in cs})
        for label, contexts in spec.classes.items():
            for c in contexts:
                for f in by_ctx.get(c, []):
                    if f.stem not in seen:  # one icon name once, whatever its context or theme
                        seen.add(f.stem)
                        files[label].append(f)
    rows = []
    for label, paths in files.items():
        if spec.per_class and len(paths) > spec.per_class:
            paths = [paths[i] for i in sorted(rng.choice(len(paths), spec.per_class, replace=False))]
        (out / label).mkdir(parents=True, exist_ok=True)
        drawn = [(p, out / label / f"{i:03d}.png") for i, p in enumerate(paths)]
        drawn = [(p, d) for p, d in drawn if rasterise(p, d)]
        for (_, dst), split in zip(drawn, split_items(len(drawn), rng), strict=True):
            rows.append((str(dst.relative_to(out)), label, str(split)))
    return rows


def build(spec: TaskSpec, root: Path, emoji: list[Emoji] | None = None, font: ImageFont.FreeTypeFont | None = None,
          icons: Path = ICONS) -> dict[str, object]:
    """Build one task under ``root/NAME`` (a finished one, with its manifest, is left as it is)."""
    out = root / spec.name
    manifest = out / "manifest.csv"
    if not manifest.is_file():
        if out.exists():
            shutil.rmtree(out)  # an interrupted build: start the task again
        tmp = root / f".{spec.name}.partial"
        if tmp.exists():
            shutil.rmtree(tmp)
        if spec.family == "emoji":
            assert emoji is not None and font is not None
            rows = build_emoji(spec, emoji, font, tmp)
        else:
            rows = build_icons(spec, tmp, icons)
        with open(tmp / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "label", "split"])
            w.writerows(rows)
        tmp.rename(out)  # the task appears whole or not at all
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "test")}
    return {"name": spec.name, "role": spec.role, "family": spec.family, "description": spec.description,
            "classes": sorted({r["label"] for r in rows}), "n_train": counts["train"], "n_test": counts["test"],
            "manifest": str(manifest)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, type=Path, help="where the task folders go")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME", help="build only these tasks")
    ap.add_argument("--list", action="store_true", help="list the tasks and their classes, build nothing")
    args = ap.parse_args(argv)
    missing = [str(p) for p in (EMOJI_FONT, EMOJI_TEST) if not p.is_file()]
    if shutil.which("rsvg-convert") is None:
        missing.append("rsvg-convert")
    if missing:
        print(f"real_tasks: missing {', '.join(missing)}; apt-get install fonts-noto-color-emoji unicode-data "
              "papirus-icon-theme breeze-icon-theme librsvg2-bin", file=sys.stderr)
        return 2
    emoji = parse_emoji_test(EMOJI_TEST.read_text(encoding="utf-8"))
    every = specs(emoji)
    todo = [s for s in every if args.only is None or s.name in args.only]
    if args.list:
        for s in todo:
            print(f"{s.name:15s} {s.role:6s} {len(s.classes)} classes: {', '.join(s.classes)}")
        return 0
    font = ImageFont.truetype(str(EMOJI_FONT), 109)  # the one size this bitmap font has
    args.root.mkdir(parents=True, exist_ok=True)
    index = []
    for s in todo:
        info = build(s, args.root, emoji, font)
        print(f"{s.name:15s} {s.role:6s} {len(info['classes'])} classes, {info['n_train']} train / "
              f"{info['n_test']} test images", flush=True)
        index.append(info)
    path = args.root / "tasks.json"
    old = json.loads(path.read_text()) if path.is_file() else []
    names = {s.name for s in every}  # a task no longer specified leaves the index
    merged = {t["name"]: t for t in old if t["name"] in names} | {t["name"]: t for t in index}
    write_json(path, sorted(merged.values(), key=lambda t: t["name"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
