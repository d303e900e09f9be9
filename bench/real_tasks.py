"""Build image-classification tasks from real images that Debian packages install, offline.

    python bench/real_tasks.py --root DIR [--only NAME ...] [--list]

No dataset can be downloaded here, but Debian ships artwork: Google's Noto Color Emoji (fonts-noto-color-emoji,
with the Unicode emoji groups of unicode-data), icon themes (Papirus, Breeze, Oxygen, elementary-xfce, Faenza;
SVGs rasterised by rsvg-convert of librsvg2-bin) and typefaces (Noto, DejaVu, URW base 35, FreeFont, Liberation).
Each task is a folder ``DIR/NAME/`` of PNGs and a manifest ``DIR/NAME/manifest.csv`` (``path,label,split``) that
``read_task`` reads; ``DIR/tasks.json`` lists them with their role:

- ``source`` tasks are what a zoo is pre-trained on here (``fennec finetune --save-to``);
- ``target`` tasks are the benchmark: every zoo model fine-tuned on each gives the ground truth.

Sources and targets never share an image: the emoji targets are other Unicode groups than the emoji source, the
icon targets other themes than the icon source, and the glyph targets (digits by typeface, letters by writing
system) are printed text, which the emoji source has only as a few keycap and letter symbols (0️⃣, 🔤). An emoji
is drawn several times (scale, position, rotation, background colour) and all its drawings fall in one split, so a
test image is always an emoji never trained on; likewise a test digit is drawn in a design never trained on (a
family, with every family drawing the digits alike: :func:`designs`), and a test letter is a letter never trained
on in either case.
Builds are deterministic (seeded) and resumable (a finished task is skipped).

Install the packages with ``apt-get install`` and :data:`PACKAGES`.
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

PACKAGES = ("fonts-noto-color-emoji unicode-data papirus-icon-theme breeze-icon-theme oxygen-icon-theme "
            "elementary-xfce-icon-theme faenza-icon-theme fonts-noto-core fonts-dejavu-core fonts-urw-base35 "
            "fonts-freefont-ttf fonts-liberation librsvg2-bin")
FONTS = Path("/usr/share/fonts")
EMOJI_FONT = FONTS / "truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
ICONS = Path("/usr/share/icons")
SIZE = 96  # side of every image written
GLYPH_PT = 56  # size glyphs are drawn at before place() scales them
SAME_DESIGN = 0.9  # intersection over union of two drawings' ink (24 x 24) from which they are one design
# Faces whose code points draw other pictures than the characters (URW's dingbats, the Symbol encoding's Greek on
# Latin letters) or a few symbols of the same design as another face's (Noto's Math and Symbols).
NOT_TEXT = ("D050000L", "Standard Symbols", "Symbol", "Math", "Dingbat")
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
    family: str  # "emoji", "icons" or "glyphs"
    role: str  # "source" or "target"
    classes: dict[str, tuple[str, ...]]  # glyphs: a label's characters
    themes: tuple[str, ...] = ()  # icon themes searched, in order
    per_class: int = 0  # most items per class (icons; glyphs: (character, typeface) pairs); 0: all
    split_by: str = "character"  # glyphs: what a test image never shares with training ("character", "typeface")
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


def render(text: str, font: ImageFont.FreeTypeFont, fill: tuple[int, int, int] | None = None) -> Image.Image | None:
    """Text drawn on a transparent canvas and cropped to its ink (RGBA); None when nothing is drawn. Without
    ``fill``, the font's own colours (a colour emoji font)."""
    if fill is None:
        canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((8, 8), text, font=font, embedded_color=True)
    else:  # room for a script's tall ascenders and deep descenders (Nastaliq) at GLYPH_PT
        canvas = Image.new("RGBA", (4 * GLYPH_PT, 4 * GLYPH_PT), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((GLYPH_PT, GLYPH_PT), text, font=font, fill=(*fill, 255))
    box = canvas.getbbox()
    return None if box is None else canvas.crop(box)


def place(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A SIZE x SIZE drawing of a cropped RGBA glyph: scaled to 55-95% of the side, rotated up to 15 degrees,
    placed at random on a random light background."""
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


def draw_emoji(emoji: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator) -> Image.Image | None:
    """One drawing of an emoji (:func:`place`); None when the font has no glyph for it (an empty drawing)."""
    glyph = render(emoji, font)
    return None if glyph is None else place(glyph, rng)


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


@dataclass(frozen=True)
class Typeface:
    path: Path
    family: str  # the typographic family: a family's weights and styles are one typeface in the splits
    chars: frozenset[str]


def typefaces(root: Path = FONTS) -> list[Typeface]:
    """The TrueType/OpenType text fonts under ``root`` (the colour emoji font and the :data:`NOT_TEXT` faces left
    out) with their family and the characters they map; a font fontTools cannot read is skipped."""
    from fontTools.ttLib import TTFont

    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in (".ttf", ".otf") or path.resolve() == EMOJI_FONT.resolve():
            continue
        try:
            with TTFont(path, fontNumber=0, lazy=True) as font:
                cmap = font.getBestCmap() or {}
                family = font["name"].getDebugName(16) or font["name"].getDebugName(1) or path.stem
        except Exception:  # a damaged font file (struct, table or cmap errors alike) is left out
            continue
        if not any(word in family for word in NOT_TEXT):
            out.append(Typeface(path, family, frozenset(map(chr, cmap))))
    return out


def ink(text: str, face: Typeface, side: int = 24) -> np.ndarray | None:
    """(side, side) bool: where a face's drawing of ``text`` has ink, centred in a square and scaled to it as
    :func:`place` scales it (None: no ink)."""
    try:
        glyph = render(text, ImageFont.truetype(str(face.path), GLYPH_PT), (0, 0, 0))
    except OSError:
        return None
    if glyph is None:
        return None
    big = max(glyph.size)
    square = Image.new("L", (big, big), 0)
    square.paste(glyph.getchannel("A"), ((big - glyph.width) // 2, (big - glyph.height) // 2))
    return np.asarray(square.resize((side, side), Image.BILINEAR)) > 127


def alike(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of inked pixels, (...,) for ink masks (..., side, side)."""
    inter = (a & b).sum((-1, -2))
    return inter / np.maximum((a | b).sum((-1, -2)), 1)


def designs(faces: list[Typeface], chars: str) -> list[int]:
    """A design number per face: faces of one family are one design, and so are faces whose drawings of every
    character of ``chars`` overlap (mean :func:`alike` >= :data:`SAME_DESIGN`), transitively. Fonts copy digits
    from a sibling (Noto's script families share Noto Sans's or Noto Serif's) and clones keep a design under
    another name (FreeMono is URW's Nimbus Mono): the family name alone would put one design in both splits."""
    # A face that lacks a character draws FreeType's .notdef box for it, so such faces can join each other here.
    # Leaving them out of the comparison would not change how the faces that draw every character are grouped
    # (checked on this machine's 149 digit faces), but it would change the number of designs the split draws
    # from, and so the glyphs_digits split its records were measured on: it waits for that task's next rebuild.
    masks = [[ink(c, f) for c in chars] for f in faces]
    parent = list(range(len(faces)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, f in enumerate(faces):
        parent[root(i)] = root(first.setdefault(f.family, i))
    drawn = [i for i, m in enumerate(masks) if all(x is not None for x in m)]
    stack = np.stack([np.stack(masks[i]) for i in drawn]) if drawn else np.zeros((0, len(chars), 24, 24), bool)
    for a, i in enumerate(drawn):
        same = alike(stack[a][None], stack[a + 1 :]).mean(1) >= SAME_DESIGN
        for j in np.nonzero(same)[0]:
            parent[root(drawn[a + 1 + j])] = root(i)
    roots = [root(i) for i in range(len(faces))]
    number = {r: n for n, r in enumerate(sorted(set(roots)))}
    return [number[r] for r in roots]


def lookalikes(classes: dict[str, tuple[str, ...]], faces: list[Typeface]) -> set[str]:
    """Characters that some face draws like a character of another class (:func:`alike` >=
    :data:`SAME_DESIGN`; Armenian Ս and Latin U): pictures both classes would claim."""
    out: set[str] = set()
    for face in faces:
        keys = [(label, c) for label, chars in classes.items() for c in chars if c in face.chars]
        masks = [ink(c, face) for _, c in keys]
        keep = [i for i, m in enumerate(masks) if m is not None]
        if len({keys[i][0] for i in keep}) < 2:
            continue
        stack = np.stack([masks[i] for i in keep])
        same = alike(stack[:, None], stack[None]) >= SAME_DESIGN
        label = np.array([keys[i][0] for i in keep])
        a, b = np.nonzero(same & (label[:, None] != label[None]))
        out |= {keys[keep[i]][1] for i in (*a, *b)}
    return out


def build_glyphs(spec: TaskSpec, faces: list[Typeface], out: Path, seed: int = 0) -> list[tuple[str, str, str]]:
    """Draw a task's characters in every typeface that has all of a class's characters (dark ink, :func:`place`);
    ``spec.per_class`` (character, typeface) pairs per class at most; returns the manifest rows.

    The split holds out whole designs (``split_by="typeface"``: :func:`designs` of every character of the task)
    or whole letters, both cases of a letter together (``"character"``, where the :func:`lookalikes` of other
    classes are left out first)."""
    rng = np.random.default_rng(seed)
    classes = spec.classes
    if spec.split_by == "character":
        several = [f for f in faces if sum(bool(set(cs) & f.chars) for cs in classes.values()) > 1]
        twins = lookalikes(classes, several)
        classes = {label: tuple(c for c in chars if c not in twins) for label, chars in classes.items()}
    if spec.split_by == "typeface":
        design = designs(faces, "".join(sorted({c for cs in spec.classes.values() for c in cs})))
        held_design = split_items(max(design, default=-1) + 1, rng) == "test"
        test_face = {f.path: bool(held_design[d]) for f, d in zip(faces, design, strict=True)}
    rows = []
    for label, chars in classes.items():
        able = [f for f in faces if set(chars) <= f.chars]
        pairs = [(c, f) for c in chars for f in able]
        if spec.per_class and len(pairs) > spec.per_class:
            pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), spec.per_class, replace=False))]
        letters = sorted({c.lower() for c in chars})
        test_letter = dict(zip(letters, split_items(len(letters), rng) == "test", strict=True))
        (out / label).mkdir(parents=True, exist_ok=True)
        for i, (c, face) in enumerate(pairs):
            try:
                glyph = render(c, ImageFont.truetype(str(face.path), GLYPH_PT),
                               tuple(int(v) for v in rng.integers(0, 90, 3)))
            except OSError:  # a font FreeType cannot open at this size
                continue
            if glyph is None:
                continue
            held = test_face[face.path] if spec.split_by == "typeface" else test_letter[c.lower()]
            rel = f"{label}/{i:04d}_{ord(c):04x}.png"  # the code point: what the tests check the split against
            place(glyph, rng).save(out / rel)
            rows.append((rel, label, "test" if held else "train"))
    return rows


def _subgroups(emoji: list[Emoji], groups: set[str], min_size: int) -> dict[str, tuple[str, ...]]:
    counts: dict[str, int] = {}
    for e in emoji:
        if e.group in groups:
            counts[e.subgroup] = counts.get(e.subgroup, 0) + 1
    return {s: (s,) for s in sorted(counts) if counts[s] >= min_size}


# Letters that look alike in two writing systems (Latin A, Greek Alpha, Cyrillic A) are left out of the scripts task,
# those listed here and those any face draws alike (lookalikes).
SCRIPTS = {
    "latin": "DFGJLNQRSUVWZbdfghijklmnqrstuvwz",
    "greek": "ΔΘΛΞΣΨΩαβγδεζηθλξπσφψω",
    "cyrillic": "БДЖЗИЙЛЦЧШЩЪЫЬЭЮЯбвгджзийлмнтцчшщъыьэюя",
    "armenian": "ԱԲԳԴԵԶԷԸԹԺԻԼԽԾԿՀՁՂՃՄՅՆՇՈՉՊՋՌՍՎՏՐՑՒՓՔՕՖ",
    "georgian": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "arabic": "بتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "devanagari": "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह",
    "thai": "กขคฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
}
ICON_TARGET = {c: (c,) for c in ("actions", "apps", "devices", "mimetypes", "places", "status")}


def specs(emoji: list[Emoji]) -> list[TaskSpec]:
    """The tasks: one emoji source, three emoji targets, one icon source, four icon targets (Adwaita's icons are
    one-colour symbolic ones nowadays), two glyph targets."""
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
        TaskSpec("icons_oxygen", "icons", "target", ICON_TARGET, themes=("oxygen/base",), per_class=80,
                 description="Oxygen desktop icons by context"),
        TaskSpec("icons_elementary", "icons", "target", ICON_TARGET | {"mimetypes": ("mimes",)},
                 themes=("elementary-xfce",), per_class=80, description="elementary desktop icons by context"),
        TaskSpec("icons_faenza", "icons", "target", ICON_TARGET, themes=("Faenza",), per_class=80,
                 description="Faenza desktop icons by context"),
        TaskSpec("glyphs_digits", "glyphs", "target", {str(d): (str(d),) for d in range(10)}, per_class=100,
                 split_by="typeface", description="the digits 0 to 9 printed in many typefaces"),
        TaskSpec("glyphs_scripts", "glyphs", "target", {k: tuple(v) for k, v in SCRIPTS.items()}, per_class=96,
                 description="letters of nine writing systems"),
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
          icons: Path = ICONS, faces: list[Typeface] | None = None) -> dict[str, object]:
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
        elif spec.family == "glyphs":
            assert faces is not None
            rows = build_glyphs(spec, faces, tmp)
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


def _missing(what: list[str]) -> int:
    more = f" (and {len(what) - 4} more)" if len(what) > 4 else ""
    print(f"real_tasks: missing {', '.join(what[:4])}{more}; apt-get install {PACKAGES}", file=sys.stderr)
    return 2


def _missing_faces(spec: TaskSpec, faces: list[Typeface]) -> str | None:
    """What a glyph task lacks: classes with fewer than two typefaces (a split needs two), or, split by design, a
    task drawn by fewer than two families."""
    able = {label: [f for f in faces if set(chars) <= f.chars] for label, chars in spec.classes.items()}
    short = [label for label, fs in able.items() if len(fs) < 2]
    if spec.split_by == "typeface" and len({f.family for fs in able.values() for f in fs}) < 2:
        short = list(able)
    return f"typefaces for {spec.name} ({', '.join(short)}: two or more each)" if short else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, type=Path, help="where the task folders go")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME", help="build only these tasks")
    ap.add_argument("--list", action="store_true", help="list the tasks and their classes, build nothing")
    args = ap.parse_args(argv)
    missing = [str(p) for p in (EMOJI_FONT, EMOJI_TEST) if not p.is_file()]
    if missing:
        return _missing(missing)
    emoji = parse_emoji_test(EMOJI_TEST.read_text(encoding="utf-8"))
    every = specs(emoji)
    for name in args.only or ():  # a typo built nothing and wrote an empty tasks.json, exit 0
        if name not in {s.name for s in every}:
            from fennec.registry import unknown_name_message

            print(f"real_tasks: error: --only: {unknown_name_message('task', name, [s.name for s in every])}",
                  file=sys.stderr)
            return 2
    todo = [s for s in every if args.only is None or s.name in args.only]
    if args.list:
        for s in todo:
            print(f"{s.name:16s} {s.role:6s} {len(s.classes)} classes: {', '.join(s.classes)}")
        return 0
    missing = [str(ICONS / t) for s in todo for t in s.themes if not (ICONS / t).is_dir()]
    if any(s.family == "icons" for s in todo) and shutil.which("rsvg-convert") is None:
        missing.append("rsvg-convert")
    faces = []
    if any(s.family == "glyphs" for s in todo):
        try:
            faces = typefaces()
        except ImportError:  # fontTools comes with matplotlib, a dependency of fennec
            return _missing(["fontTools (pip install fonttools)"])
        missing += [m for s in todo if s.family == "glyphs" and (m := _missing_faces(s, faces)) is not None]
    if missing:
        return _missing(missing)
    font = ImageFont.truetype(str(EMOJI_FONT), 109)  # the one size this bitmap font has
    args.root.mkdir(parents=True, exist_ok=True)
    index = []
    for s in todo:
        info = build(s, args.root, emoji, font, faces=faces)
        print(f"{s.name:16s} {s.role:6s} {len(info['classes'])} classes, {info['n_train']} train / "
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
