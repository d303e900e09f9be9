"""Task readers: one registry, four formats, all returning a :class:`~fennec.tasks.task.Task`.

=============  ===========================================================================================
reader         input
=============  ===========================================================================================
imagefolder    a directory with a folder per class (images found recursively); when every sub-folder is a
               split name (``train``, ``val``/``valid``/``validation``, ``test``), the class folders inside
               them are read and each image keeps its split
manifest       a ``.csv``/``.tsv`` or ``.parquet`` table with columns ``path,label[,split]``; relative paths are
               relative to the manifest's folder; listed files that do not exist are skipped and reported
npz            a ``.npz`` with ``features`` (N, D) and ``labels`` (N,) (ints or strings), optional
               ``class_names`` (C,) and ``splits`` (N,)
names          class names alone: a text file (one per line, ``#`` comments) or a comma list ``cat,dog,bird``
=============  ===========================================================================================

:func:`read_task` picks the reader from the spec; ``classes`` (a comma list or a file) names the classes of a task
whose labels are integers, or renames them in label order.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from fennec.io import NpzError, load_npz
from fennec.registry import Registry
from fennec.tasks.images import IMAGE_SUFFIXES, is_image_file
from fennec.tasks.task import Task
from fennec.validation import FennecInputError, FennecInputWarning, read_csv_text

ReaderFn = Callable[..., Task]
READERS: Registry[ReaderFn] = Registry("task reader")

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "dev": "val", "test": "test", "testing": "test"}
MANIFEST_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
NAMES_SUFFIXES = (".txt", ".names", ".lst", ".list")
PATH_COLUMNS = ("path", "filepath", "file", "filename", "image", "image_path")
LABEL_COLUMNS = ("label", "class", "class_name", "target", "category")
SPLIT_COLUMNS = ("split", "subset", "fold")


def parse_class_names(classes: str | list[str] | tuple[str, ...]) -> list[str]:
    """Class names from a list, a file (one per line with ``#`` comments, or a JSON list) or a comma-separated
    string."""
    if isinstance(classes, list | tuple):
        names = [str(c).strip() for c in classes]
    elif not isinstance(classes, str | os.PathLike):
        raise FennecInputError(f"classes: expected a file, a comma list \"a,b,c\" or a list of names, got "
                               f"{type(classes).__name__} {classes!r}")
    elif os.path.isdir(classes):  # one class named like the folder, before
        raise FennecInputError(f"classes: {str(classes)!r} is a folder; give a file (one name per line, or a JSON "
                               "list) or the names as a comma list \"a,b,c\" (an image folder is a TASK)")
    elif os.path.isfile(classes):
        try:
            text = Path(classes).read_text(encoding="utf-8-sig")  # a byte-order mark is not part of a name
        except (OSError, UnicodeDecodeError) as exc:
            raise FennecInputError(f"classes: cannot read {classes!r} as UTF-8 text ({exc})") from None
        if "\x00" in text:  # UTF-16 without its byte-order mark reads as UTF-8 with a NUL beside every letter
            raise FennecInputError(f"classes: {str(classes)!r} holds NUL characters (UTF-16 text?); save it as UTF-8")
        names = _json_class_names(text, classes) if text.lstrip().startswith(("[", "{")) else None
        if names is None:  # a list whose first name starts with a bracket ("[unknown]") is a list, not broken JSON
            names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    elif "," not in classes and _looks_like_path(classes):
        # "classes.txt" or "lists/pets" is a file that is missing, not one class of that name
        raise FennecInputError(f"classes: no file {classes!r}; give an existing file (one name per line, or a JSON "
                               "list) or the names themselves as a comma list \"a,b,c\"")
    else:
        names = [c.strip() for c in str(classes).split(",")]
    names = [n for n in names if n]
    if not names:
        raise FennecInputError(f"classes: no class names in {classes!r}; give a comma list or a file with one "
                               "name per line")
    return names




def _looks_like_path(text: str) -> bool:
    """True for a string that names a file rather than a class: a folder separator or a list file's suffix."""
    return "/" in text or os.sep in text or Path(text).suffix.lower() in (".txt", ".json", ".csv", ".lst", ".names")


def _json_class_names(text: str, source: str) -> list[str] | None:
    """Class names from a file holding a JSON list of strings (or numbers); None for text that is not JSON in a
    file not named ``.json`` (a plain list whose first name starts with a bracket), read then as lines."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if not str(source).lower().endswith(".json"):
            return None
        raise FennecInputError(f"classes: {source!r} is not a valid JSON list ({exc})") from None
    if not isinstance(value, list) or not all(isinstance(x, str | int | float) for x in value):
        raise FennecInputError(f"classes: {source!r} holds JSON that is not a flat list of class names; expected "
                               "[\"name\", ...]")
    return [str(x).strip() for x in value]


_WORDNET_ID = re.compile(r"n\d{8}")
_PLACEHOLDER = re.compile(rf"(?:class|cls|label|category|cat|c)?[ _\-]?\d+|{_WORDNET_ID.pattern}", re.IGNORECASE)


def placeholder_names(names: list[str]) -> bool:
    """True when class names are placeholders that carry no meaning for a text encoder: numbers (``0``, ``1``),
    numbered labels (``class_3``, ``label-12``) or WordNet ids (``n01440764``)."""
    return bool(names) and all(_PLACEHOLDER.fullmatch(str(n).strip()) for n in names)




def wordnet_names(names: list[str]) -> list[str] | None:
    """Readable names for WordNet ids (``n01440764`` -> ``tench``), the folder names of ImageNet-style datasets,
    from timm's ImageNet synset list (21k synsets, offline); None unless every name is a known id.

    Each id gets the first synonym of its description; ids whose first synonyms collide (two "crane" synsets)
    get their whole description, and the id itself where that collides too.
    """
    if not names or not all(_WORDNET_ID.fullmatch(str(n).strip()) for n in names):
        return None
    from timm.data import ImageNetInfo

    from fennec.encoders.base import first_synonym

    info = ImageNetInfo("imagenet-22k")
    try:
        full = [info.label_name_to_description(str(n).strip()) for n in names]
    except (KeyError, ValueError, IndexError):
        return None
    short = [first_synonym(d) for d in full]
    out = [s if short.count(s) == 1 else d for s, d in zip(short, full, strict=True)]
    return [o if out.count(o) == 1 else f"{o} ({n})" for o, n in zip(out, names, strict=True)]


def _rename(task_names: list[str], classes: str | list[str] | None, where: str) -> tuple[list[str], bool]:
    if classes is None:
        readable = wordnet_names(task_names)
        return (readable, True) if readable is not None else (task_names, False)
    names = parse_class_names(classes)
    if len(names) != len(task_names):
        raise FennecInputError(f"classes: {len(names)} name(s) given but task {where} has {len(task_names)} "
                               "classes; give one name per class in label order")
    if not placeholder_names(task_names) and list(names) != list(task_names):
        # --classes is meant for numbered labels: over real names it is more likely a slip than a choice
        shown = ", ".join(f"{a} -> {b}" for a, b in list(zip(task_names, names, strict=True))[:3])
        warnings.warn(f"task {where}: classes replace its own class names ({shown}{', ...' if len(names) > 3 else ''}"
                      ", in sorted label order); leave classes out to keep them", FennecInputWarning, stacklevel=3)
    return names, True


def _split_name(value: object) -> str:
    """A split value, lower-cased, with its aliases (``validation``, ``dev`` ...) mapped to ``train/val/test``."""
    low = str(value).lower()
    return SPLIT_ALIASES.get(low, low)


def _warn_odd_splits(splits: Iterable[str], spec: str) -> None:
    """Warn about split values that are none of train/val/test (after aliases): fine-tuning skips their rows."""
    odd = sorted(set(splits) - {"train", "val", "test"})
    if odd:
        warnings.warn(f"task {spec}: split value(s) {', '.join(map(repr, odd))} are none of train, val, test "
                      f"(or {', '.join(a for a in SPLIT_ALIASES if a not in ('train', 'val', 'test'))}); fine-tuning "
                      "does not use those rows", FennecInputWarning, stacklevel=3)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


@READERS.register("names")
def read_names(spec: str, classes: str | list[str] | None = None, *, name: str | None = None,
               description: str | None = None) -> Task:
    """A text-only task from a class-name file or a comma list; the spec is the names, so ``classes`` must not
    also be given (which of the two would be meant?)."""
    if classes is not None and (not isinstance(classes, str) or classes.strip()):
        raise FennecInputError(f"task {_short(spec)}: is class names already, and classes were given too; give "
                               "the names once, as the task or as its classes (--classes, a manifest's classes "
                               "column)")
    names = parse_class_names(spec)
    if name is None:
        # a comma list is named by its classes, so that several text-only tasks stay apart in a batch
        name = Path(spec).stem if os.path.isfile(spec) else _short(",".join(names))
    readable = wordnet_names(names)  # n01440764 -> tench, as for an image folder's class folders
    if readable is not None:
        names = readable
    elif placeholder_names(names):
        # the names are all a text-only task has: a ranking from "0, 1, 2" reads nothing about the task
        warnings.warn(f"task {_short(spec)}: class names {', '.join(names[:3])}{', ...' if len(names) > 3 else ''} "
                      "are placeholders that say nothing about the task; give the real class names",
                      FennecInputWarning, stacklevel=3)
    return Task(name=name, class_names=tuple(names), kind="names", description=description, source=spec)


def _detect_splits(root: Path) -> dict[str, Path] | None:
    subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    splits = [d for d in subdirs if d.name.lower() in SPLIT_ALIASES]
    if splits and len(splits) < len(subdirs) and any(any(x.is_dir() for x in d.iterdir()) for d in splits):
        # train/<cls>, test/<cls> beside unlabeled/: read as classes, which is rarely what was meant; say so
        others = sorted(d.name for d in subdirs if d not in splits)
        warnings.warn(f"task {root}: {', '.join(sorted(d.name for d in splits))} look like splits, but "
                      f"{', '.join(others[:3])} {'is' if len(others) == 1 else 'are'} none; every folder is read as "
                      "a class (move the others out to read the splits)", FennecInputWarning, stacklevel=3)
    if not subdirs or len(splits) < len(subdirs):
        return None
    if not any(any(x.is_dir() for x in d.iterdir()) for d in subdirs):
        return None  # e.g. folders called 'train' and 'test' that hold images directly: those are classes
    return {SPLIT_ALIASES[d.name.lower()]: d for d in sorted(subdirs)}


def _class_files(class_dir: Path, odd: list[Path]) -> list[Path]:
    """The image files under ``class_dir``; names with an image suffix that are no regular file (a broken link,
    a pipe, which blocks whoever opens it) go to ``odd`` instead."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(class_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if is_image_file(f):
                path = Path(dirpath) / f
                (out if path.is_file() else odd).append(path)
    return out


@READERS.register("imagefolder")
def read_imagefolder(spec: str, classes: str | list[str] | None = None, *, name: str | None = None,
                     description: str | None = None) -> Task:
    """An image folder: ``root/<class>/*.jpg`` or ``root/<split>/<class>/*.jpg``."""
    root = Path(spec)
    if not root.is_dir():
        raise FennecInputError(f"task {spec}: not a directory; give a folder with one sub-folder per class")
    splits = _detect_splits(root)
    layout = splits if splits is not None else {"": root}
    class_dirs: dict[str, list[tuple[str, Path]]] = {}
    for split, sdir in layout.items():
        for d in sorted(sdir.iterdir()):
            if d.is_dir() and not d.name.startswith("."):
                class_dirs.setdefault(d.name, []).append((split, d))
    if not class_dirs:
        loose = [f for f in root.iterdir() if f.is_file() and is_image_file(f)]
        hint = " (found images directly in it: move them into one folder per class)" if loose else ""
        raise FennecInputError(f"task {spec}: no class folders found{hint}; expected {spec}/<class>/<image>")
    folder_names = _sorted_labels(set(class_dirs))  # 0, 1, 2, 10 as a manifest orders them, so --classes maps alike
    paths: list[Path] = []
    labels: list[int] = []
    split_of: list[str] = []
    odd: list[Path] = []
    for c, cname in enumerate(folder_names):
        for split, d in class_dirs[cname]:
            files = _class_files(d, odd)
            paths.extend(files)
            labels.extend([c] * len(files))
            split_of.extend([split] * len(files))
    if odd:
        warnings.warn(f"task {spec}: skipped {len(odd)} name(s) with an image suffix that are no regular file "
                      f"(a broken link or a pipe), e.g. {str(odd[0])!r}", FennecInputWarning, stacklevel=2)
    if not paths:
        kinds = ", ".join(sorted({s.lstrip(".") for s in IMAGE_SUFFIXES}))
        raise FennecInputError(f"task {spec}: {len(folder_names)} class folder(s) but no image files in them; "
                               f"expected {spec}/<class>/<image> with one of the suffixes {kinds}")
    names, renamed = _rename(folder_names, classes, spec)
    return Task(name=name or root.resolve().name, class_names=tuple(names), kind="images", paths=tuple(paths),
                labels=np.asarray(labels, dtype=np.int64),
                splits=np.asarray(split_of, dtype=object) if splits is not None else None,
                description=description, source=spec, named_classes=renamed or not placeholder_names(folder_names))


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise FennecInputError(f"task {path}: reading Parquet needs pyarrow (`pip install pyarrow`); or save the "
                                   "manifest as CSV") from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own error types
            raise FennecInputError(f"task {path}: cannot read Parquet ({str(exc).splitlines()[0]})") from None
        data = table.to_pydict()
        cols = [c.strip().lower() for c in table.column_names]
        _check_unique_columns(path, cols)
        rows = [{c: ("" if v is None else str(v)) for c, v in zip(cols, values, strict=True)}
                for values in zip(*data.values(), strict=True)]
        return cols, rows
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    text = read_csv_text(path, f"task {path}")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        cols = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
        _check_unique_columns(path, cols)
        rows = []
        for row in reader:
            if None in row:  # DictReader files a row's extra fields under the key None
                raise FennecInputError(f"task {path}: line {reader.line_num} has {len(cols) + len(row[None])} "
                                       f"fields, the header {len(cols)} ({', '.join(cols)}); quote a field that "
                                       "holds the delimiter")
            rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
    except csv.Error as exc:
        raise FennecInputError(f"task {path}: cannot read the manifest ({exc})") from None
    return cols, rows


def _check_unique_columns(path: Path, cols: list[str]) -> None:
    """A column named twice (``label,label``; ``Path`` and ``path``) is an error: a reader keeps one of them and
    drops the other without a word."""
    twice = sorted({c for c in cols if c and cols.count(c) > 1})
    if twice:
        raise FennecInputError(f"task {path}: the header names column(s) {', '.join(twice)} more than once "
                               "(case is ignored); keep one of each")


def _integral_labels(values: list[str]) -> list[str]:
    """Labels written as integral floats (``0.0``, ``1.0``: pandas writes integer labels so once a column held a
    missing value) as the integers they are, so ``1`` and ``1.0`` are one class, as the .npz reader reads them."""
    def as_int(v: str) -> str:
        try:
            x = float(v)
        except ValueError:
            return v
        return str(int(x)) if x.is_integer() and re.fullmatch(r"[+-]?\d+\.0*", v) else v

    return [as_int(v) for v in values]


def _sorted_labels(values: set[str]) -> list[str]:
    """Label values in numeric order when they are all numbers, else alphabetically: the class order of every
    reader (folder names, a manifest's labels, an npz's string labels), which ``--classes`` names in turn."""
    try:
        return sorted(values, key=lambda v: (float(v), v))  # ties ('1', '1.0') broken by the text
    except ValueError:
        return sorted(values)


@READERS.register("manifest")
def read_manifest(spec: str, classes: str | list[str] | None = None, *, name: str | None = None,
                  description: str | None = None) -> Task:
    """A CSV/TSV/Parquet manifest with columns ``path,label[,split]`` (paths relative to the manifest)."""
    path = Path(spec)
    if not path.is_file():
        raise FennecInputError(f"task {spec}: manifest file does not exist; check the path")
    cols, rows = _read_table(path)  # column names lower-cased
    pcol = next((c for c in PATH_COLUMNS if c in cols), None)
    lcol = next((c for c in LABEL_COLUMNS if c in cols), None)
    scol = next((c for c in SPLIT_COLUMNS if c in cols), None)
    if pcol is None or lcol is None:
        # a list of tasks (rank-batch's --manifest) given as a task is a likely slip: say where it goes
        batch = " (a list of tasks with a 'task' column goes to `fennec rank-batch --manifest`)" if "task" in cols \
            else ""
        raise FennecInputError(f"task {spec}: manifest needs a header with columns 'path,label[,split]', found "
                               f"{', '.join(cols) or 'no header'}{batch}")
    if not rows:
        raise FennecInputError(f"task {spec}: manifest has no rows; the task is empty")
    base = path.parent
    kept_paths: list[Path] = []
    kept_labels: list[str] = []
    kept_splits: list[str] = []
    skipped: list[tuple[str, str]] = []
    for row, lab in zip(rows, _integral_labels([row.get(lcol, "") for row in rows]), strict=True):
        row[lcol] = lab
    labelled: dict[Path, tuple[int, str]] = {}
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        p, lab = row.get(pcol, ""), row.get(lcol, "")
        if not p or not lab:
            raise FennecInputError(f"task {spec}: line {i} has an empty {'path' if not p else 'label'}; every row "
                                   "needs a path and a label")
        full = Path(p) if os.path.isabs(p) else base / p
        # one file under two spellings (a/../a/x.jpg, a link to it) is one image: compare where they lead
        first = labelled.setdefault(Path(os.path.realpath(full)), (i, lab))
        if first[1] != lab:  # one image, two classes: a single-label task cannot hold both
            raise FennecInputError(f"task {spec}: line {i} labels {p} {lab!r}, line {first[0]} {first[1]!r}; an image "
                                   "belongs to one class")
        if full.is_dir():
            skipped.append((str(full), "a folder, not an image file"))
            continue
        if not full.is_file():
            skipped.append((str(full), "file not found"))
            continue
        kept_paths.append(full)
        kept_labels.append(lab)
        if scol is not None:
            kept_splits.append(_split_name(row.get(scol, "")) or "train")
    if skipped:
        warnings.warn(f"task {spec}: skipped {len(skipped)} listed path(s) that are no image file, e.g. "
                      f"{skipped[0][0]} ({skipped[0][1]})", FennecInputWarning, stacklevel=2)
    _warn_odd_splits(kept_splits, spec)
    # Classes come from every listed row, so a class whose files are all missing is an error, not silently gone.
    values = _sorted_labels({row.get(lcol, "") for row in rows})
    index = {v: k for k, v in enumerate(values)}
    names, renamed = _rename(values, classes, spec)
    return Task(name=name or path.stem, class_names=tuple(names), kind="images", paths=tuple(kept_paths),
                labels=np.asarray([index[v] for v in kept_labels], dtype=np.int64),
                splits=np.asarray(kept_splits, dtype=object) if scol is not None else None,
                description=description, source=spec, skipped=skipped,
                named_classes=renamed or not placeholder_names(values))


@READERS.register("npz")
def read_npz(spec: str, classes: str | list[str] | None = None, *, name: str | None = None,
             description: str | None = None) -> Task:
    """Precomputed features: ``features`` (N, D), ``labels`` (N,), optional ``class_names`` and ``splits``."""
    path = Path(spec)
    try:
        arrays = load_npz(path)
    except FileNotFoundError:
        raise FennecInputError(f"task {spec}: file does not exist; check the path") from None
    except NpzError as exc:
        raise FennecInputError(f"task {spec}: cannot read as .npz ({exc}); save with "
                               "numpy.savez(path, features=..., labels=...)") from None
    missing = [k for k in ("features", "labels") if k not in arrays]
    if missing:
        raise FennecInputError(f"task {spec}: .npz lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'}); "
                               "save with numpy.savez(path, features=..., labels=...)")
    feats = arrays["features"]
    if feats.dtype.kind not in "fiu":
        raise FennecInputError(f"task {spec}: features must be numeric, got dtype {feats.dtype}")
    feats = np.asarray(feats, dtype=np.float32)
    raw = np.asarray(arrays["labels"])
    if raw.dtype.kind == "f" and np.isfinite(raw).all() and np.array_equal(raw, np.round(raw)):
        raw = raw.astype(np.int64)  # 0.0, 1.0, ...: integer labels saved as floats (what `fennec score` accepts)
    if raw.ndim != 1:
        raise FennecInputError(f"task {spec}: labels must have shape (N,), got {raw.shape}")
    if feats.ndim == 2 and feats.shape[1] == 0:
        raise FennecInputError(f"task {spec}: features have no columns (shape {feats.shape}); give (N, D) features "
                               "with D >= 1")
    if feats.ndim != 2 or feats.shape[0] != raw.shape[0]:
        raise FennecInputError(f"task {spec}: features must have shape (N, D) with N = {raw.shape[0]} labels, got "
                               f"{feats.shape}")
    stored_names = [str(x) for x in arrays["class_names"].tolist()] if "class_names" in arrays else None
    named = True
    if raw.dtype.kind in "iu":
        if stored_names is not None:
            if raw.size and (raw.min() < 0 or raw.max() >= len(stored_names)):
                raise FennecInputError(f"task {spec}: labels must index class_names (0..{len(stored_names) - 1})")
            labels, names = raw.astype(np.int64), stored_names
        else:
            values, labels = np.unique(raw, return_inverse=True)
            labels = labels.astype(np.int64).reshape(-1)
            names = [f"class_{v}" for v in values.tolist()]
            named = False
    elif raw.dtype.kind in "USO":
        values, inverse = np.unique(raw.astype(str), return_inverse=True)
        names = _sorted_labels(set(values.tolist()))  # the order every reader gives labels (numbers as numbers)
        rank = {v: i for i, v in enumerate(names)}
        position = np.array([rank[v] for v in values.tolist()], dtype=np.int64)
        labels = position[inverse.reshape(-1)]
    else:
        raise FennecInputError(f"task {spec}: labels must be integers or strings, got dtype {raw.dtype}")
    named = named and not placeholder_names(names)
    names, renamed = _rename(names, classes, spec)
    splits = None
    keys = [k for k in ("splits", "split") if k in arrays]
    if len(keys) == 2:  # the second silently won
        raise FennecInputError(f"task {spec}: holds both 'splits' and 'split'; keep one array of split names")
    if keys:
        splits = np.asarray([_split_name(s) for s in arrays[keys[0]].tolist()], dtype=object)
        if splits.shape != (labels.shape[0],):
            raise FennecInputError(f"task {spec}: {keys[0]!r} has {splits.size} values for {labels.shape[0]} "
                                   "examples; give one split name per example")
        _warn_odd_splits(splits.tolist(), spec)  # as a manifest's split column is
    return Task(name=name or path.stem, class_names=tuple(names), kind="features", labels=labels, features=feats,
                splits=splits, description=description, source=spec, named_classes=named or renamed)


def detect_reader(spec: str) -> str:
    """The reader name for ``spec`` (see the module docstring)."""
    p = Path(spec)
    if p.is_dir():
        return "imagefolder"
    low = spec.lower()
    if p.is_file():
        if low.endswith(MANIFEST_SUFFIXES):
            return "manifest"
        if low.endswith(".npz"):
            return "npz"
        if low.endswith(NAMES_SUFFIXES):
            return "names"
        raise FennecInputError(f"task {spec}: unknown file type; expected a manifest (.csv, .tsv, .parquet), "
                               "features (.npz) or class names (.txt)")
    # "/data/photos,v2/" is a folder that is missing, not two classes; "T-shirt/top,Trouser" is class names
    rooted = spec.startswith(("/", "./", "../", "~")) or spec.endswith(("/", os.sep))
    if "," in spec and not rooted and not low.endswith((*MANIFEST_SUFFIXES, ".npz", *NAMES_SUFFIXES)):
        return "names"
    raise FennecInputError(f"task {spec}: no such file or directory; expected an image folder, a manifest (.csv, "
                           ".parquet), features (.npz), a class-name file (.txt) or a comma list of class names")


def read_task(spec: str | os.PathLike[str], classes: str | list[str] | None = None, *, reader: str | None = None,
              name: str | None = None, description: str | None = None) -> Task:
    """Read a task from an image folder, a manifest, an ``.npz`` of features or class names.

    Args:
        spec: Path or comma list (see the module docstring).
        classes: Class names (comma list, file or list) for integer labels, in label order; for a text-only spec
            it is ignored.
        reader: Force a reader (``imagefolder``, ``manifest``, ``npz``, ``names``) instead of detecting it.
        name: Task name (default: folder or file stem).
        description: Free text describing the task (goes into the descriptor's text part).

    Raises:
        FennecInputError: unreadable or empty task, a single class, a class without examples.
    """
    if not isinstance(spec, str | os.PathLike) or not str(spec).strip():
        raise FennecInputError(f"task: expected a path or a comma list of class names, got {spec!r}")
    spec = str(spec).strip()
    fn = READERS.get(reader or detect_reader(spec))
    return fn(spec, classes, name=name, description=description)
