"""The scoring runner: score zoo models on a task with transferability estimators, write tidy records.

For each model the probe-set features and source probabilities come from :func:`fennec.zoo.extract.extract_features`
(cached), then every requested scorer of :mod:`fennec.scores` runs on them. Results are records in the tidy format
of ``fennec records ingest`` (:data:`COLUMNS`: the record, its protocol, and the model's architecture and
pre-training text where its id does not tell them) written to a CSV (rewritten atomically after every model) and/or
inserted into a :class:`fennec.records.RecordStore`, both read the same way, so ingesting the CSV stores what
``store`` stores. A model that fails at run time (missing weights, a broken file, a scorer error) is reported and
skipped unless ``fail_fast``; bad input (a malformed or unknown model id, an empty benchmark, a class the scorers
cannot use) is refused before any model runs. Pairs already present in the output are not recomputed, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fennec.io import atomic_open, exclusive_lock
from fennec.tasks.images import TaskImageError
from fennec.tasks.sampler import DEFAULT_PROBE_SIZE, sample_probe_set
from fennec.tasks.task import Task
from fennec.validation import FennecInputError, check_text_option, read_csv_text
from fennec.zoo.extract import check_zoo_models, extract_features

#: The columns a runner writes: a record in ingest's tidy format with its protocol, and the model's architecture
#: and pre-training text where its id does not tell them (blank: the id says it), so that `fennec records ingest`
#: of the CSV stores the same records and model metadata as ``--store`` does.
COLUMNS = ("benchmark", "model", "dataset", "metric", "value", "source", "protocol", "architecture", "pretraining")
#: The columns an existing CSV needs to be resumed (files written before the protocol was a column lack the rest).
REQUIRED_COLUMNS = COLUMNS[:6]
DEFAULT_BENCHMARK = "fennec_score_zoo"
#: The pre-training text of a model run from seeded random weights (``allow_random``).
RANDOM_PRETRAINING = "random init (no pretrained weights)"


@dataclass
class RunResult:
    """What a run did.

    Attributes:
        records: New records (dicts with :data:`COLUMNS`).
        skipped: (model, metric) pairs already present (resume).
        failures: (model, metric or "extract", one-line message).
        out: The CSV written, if any.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    out: Path | None = None


def read_records_table(path: str | os.PathLike[str]) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a tidy records CSV a runner resumes: every column kept (``([], [])`` when the file does
    not exist or is empty), so rewriting it loses nothing.

    Raises:
        FennecInputError: a file that cannot be read, lacks a column of :data:`REQUIRED_COLUMNS`, names a column
            twice, or has a row longer than its header (a rewrite could not keep those whole).
    """
    p = Path(path)
    if not p.exists():
        return [], []
    text = read_csv_text(p, "--out")  # UTF-8 (a byte-order mark dropped), one-line errors
    if not text.strip():
        return [], []  # an empty file holds nothing to keep
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise FennecInputError(f"--out {str(p)!r}: existing file lacks column(s) {', '.join(missing)}; give a "
                                   "new file or a records CSV with columns "
                                   f"{','.join(REQUIRED_COLUMNS)}")
        if len(set(header)) != len(header):  # a dict row keeps one of the two: a rewrite would drop the other
            twice = sorted({c for c in header if header.count(c) > 1})
            raise FennecInputError(f"--out {str(p)!r}: column(s) {twice} appear twice in the header; rename one "
                                   "or give another --out")
        rows = []
        for row in reader:
            if None in row:  # DictReader's key of the fields beyond the header
                raise FennecInputError(f"--out {str(p)!r}: line {reader.line_num} has more fields than the "
                                       f"header's {len(header)}; fix that line or give another --out")
            rows.append({k: "" if v is None else v for k, v in row.items()})  # a short row: blanks
    except csv.Error as exc:
        raise FennecInputError(f"--out {str(p)!r}: cannot read the existing file ({exc})") from None
    return header, rows


def read_records_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a tidy records CSV (empty list when the file does not exist); see :func:`read_records_table`."""
    return read_records_table(path)[1]


def write_records_csv(path: str | os.PathLike[str], rows: list[dict[str, Any]], columns: Sequence[str] = ()) -> None:
    """Write records atomically, keeping every column: ``columns`` (the existing file's header) first, then the
    missing ones of :data:`COLUMNS`, then any other key of a row; a row without a column gets a blank.

    A value read from the file is written as it was read; a new (numeric) value as its shortest exact repr, so it
    reads back equal.

    The file is read again and rewritten under its lock (:func:`fennec.io.exclusive_lock`): rows another run
    wrote since this one read it are kept (two ``finetune --out`` on one file each rewrote it with their own rows,
    and one run's records were lost); a record both hold, (benchmark, model, dataset, metric), is this run's.
    """
    with exclusive_lock(path, "--out", "the records file"):
        disk_columns, disk_rows = read_records_table(path)
        mine = {_row_key(r) for r in rows}
        rows = [*(r for r in disk_rows if _row_key(r) not in mine), *rows]
        fields = list(dict.fromkeys([*disk_columns, *columns, *COLUMNS, *(k for r in rows for k in r)]))
        with atomic_open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields, restval="")
            w.writeheader()
            for row in rows:
                w.writerow({k: (repr(float(v)) if k == "value" and not isinstance(v, str) else v)
                            for k, v in row.items()})


def _row_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row.get(k, "")) for k in ("benchmark", "model", "dataset", "metric"))


def one_line(exc: BaseException) -> str:
    """A failure as one line for a report: an input error's own message, else its type and first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, FennecInputError) else text


_SCORE_TOOL = "fennec score-zoo: "
#: The protocol of score-zoo's records (a transferability score, not an accuracy the space learns from).
SCORE_PROTOCOL = "score"


def same_settings(tool: str, source: str, settings: str, where: str, *, legacy: bool = False) -> None:
    """Refuse to skip a pair whose stored record was measured under other settings than ``settings``.

    A record's ``source`` reads ``"<tool><settings> | <what was measured>"``; a rerun that would skip the pair as
    done must have the same settings (hyper-parameters and the task's content fingerprint), else the record of
    another task that happens to share the dataset name would stand for this one.

    Args:
        tool: The source's prefix (``"fennec finetune: "``).
        source: The stored record's source.
        settings: The settings of this run.
        where: What the error names (benchmark, model, dataset).
        legacy: Accept a source of the tool written before it recorded its settings (no `` | ``): it cannot be
            checked, and refusing it would make an earlier run impossible to resume.

    Raises:
        FennecInputError: other settings, or a record another tool wrote.
    """
    if not source.startswith(tool):
        raise FennecInputError(f"{where}: already holds a record not written by {tool.rstrip(': ')}; give another "
                               "--benchmark")
    body = source[len(tool):]
    if " | " not in body and legacy:
        return
    stored = body.split(" | ")[0]
    if stored != settings:
        raise FennecInputError(f"{where}: already holds settings ({stored}), not these ({settings}); give another "
                               "--benchmark (or --dataset) for another setting or task, or the same settings to "
                               "resume")


def _check_methods(methods: list[str]) -> list[str]:
    from fennec.scores import get_scorer_class

    if not methods:
        raise FennecInputError("--method: give at least one scorer, e.g. --method parc --method logme")
    out = []
    for m in methods:
        cls = get_scorer_class(m)  # UnknownNameError with close matches
        if "grads" in cls.requires:
            raise FennecInputError(f"--method {m}: needs per-example gradients; score-zoo provides features and "
                                   "source probabilities only")
        if m not in out:
            out.append(m)
    return out


def class_problem(labels: np.ndarray, class_names: Sequence[str], method: str) -> str | None:
    """Why scorer ``method`` cannot score probe images of these labels, naming the classes (the scorer's own check
    sees labels re-indexed to 0..C-1 and would name those indices); None when it can.

    Args:
        labels: The task's labels of the probe images (indices into ``class_names``).
        class_names: The task's class names.
        method: A scorer name of :mod:`fennec.scores`.
    """
    from fennec.scores import get_scorer_class

    present, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
    if len(present) < 2:
        return f"the probe set holds {len(present)} class(es), and scoring needs two or more; raise --max-images"
    if counts.max() < 2:  # the rule of Scorer.score: one image per class tells nothing of how a class gathers
        return (f"each of the {len(present)} classes in the probe set has a single image, and no score can tell how "
                "a class's images gather; raise --max-images or add images")
    need = get_scorer_class(method).min_per_class
    small = [str(class_names[c]) for c in present[counts < need]]
    if small:
        return (f"{method} needs {need} images of every class, and class(es) {small[:5]} have fewer in the probe "
                "set; add images of those classes (or raise --max-images if it left some out) or drop them")
    return None


def open_store(store: str | os.PathLike[str]) -> Any:
    """The records store a runner writes to."""
    try:
        from fennec.records import RecordStore
    except ImportError:
        raise FennecInputError("--store: the records store (fennec.records) is not available in this install; "
                               "write a CSV with --out instead") from None
    return RecordStore(store)


def task_in_store(db: Any, dataset: str, task: Task) -> str:
    """The store's task a run's records go under (the canonical name of ``dataset``), given a card made from
    ``task`` when the store has none (its class names and size: a bare row told a space nothing of it).

    Raises:
        FennecInputError: when the store's card of that name is another dataset's (another class count): a
            folder named ``cars`` of three colour classes was recorded as Stanford Cars, and a space trained on
            the store would learn it as that.
    """
    from fennec.records.cards import TaskCard

    canon = db.canonical_task(dataset)
    card = db.task_card(canon) if canon in db.task_names() else None
    if card is not None and card.n_classes and task.n_classes and card.n_classes != task.n_classes:
        raise FennecInputError(f"--dataset {dataset!r}: the store's task {canon!r} has {card.n_classes} classes and "
                               f"this task {task.n_classes}, so its records would be learned as that dataset's; give "
                               "--dataset NAME, a name of its own")
    if card is None or not (card.n_classes or card.class_names):  # none yet, or a bare row an ingest made
        db.add_task(TaskCard(name=canon, n_classes=task.n_classes, n_images=task.n_examples,
                             class_names=tuple(task.class_names) if task.named_classes else ()), replace=False)
    return canon


def score_zoo(models: list[str], task: Task, methods: list[str], *, out: str | os.PathLike[str] | None = None,
              store: str | os.PathLike[str] | None = None, benchmark: str = DEFAULT_BENCHMARK,
              dataset: str | None = None, fail_fast: bool = False, max_images: int = DEFAULT_PROBE_SIZE,
              seed: int = 0, batch_size: int = 32, allow_random: bool = False, progress: bool = True,
              extractor: Callable[..., Any] = extract_features,
              log: Callable[[str], None] | None = None) -> RunResult:
    """Score zoo models on a task and write records.

    Args:
        models: Zoo model ids (``timm:NAME``, ``timm:NAME:/path/weights``, ``local:FILE.pt``), checked before any
            model runs (:func:`fennec.zoo.extract.check_zoo_models`).
        task: A task with images.
        methods: Scorer names of :mod:`fennec.scores` (``parc``, ``logme``, ``leep``, ...).
        out: Tidy records CSV; existing rows (every column) are kept and their (model, metric) pairs skipped.
        store: A records store file; records are inserted there too and pairs already stored are skipped.
        benchmark: The ``benchmark`` column.
        dataset: The ``dataset`` column (default the task name).
        fail_fast: Stop at the first failure (re-raise) instead of reporting and going on.
        max_images: Probe-set size.
        seed: Probe-set seed.
        batch_size: Images per forward pass.
        allow_random: Score models without pretrained weights with seeded random weights (marked in ``source``).
        progress: Show a tqdm progress bar with ETA on stderr.
        extractor: The feature extractor (tests substitute it).
        log: Where one-line failure reports go (default: stderr).

    Returns:
        :class:`RunResult`.

    Raises:
        FennecInputError: bad input (methods, model ids, an empty benchmark or dataset, a task without images or
            whose probe set a scorer cannot use), before any model runs.
    """
    from tqdm import tqdm

    if log is None:

        def log(msg: str) -> None:
            tqdm.write(msg, file=sys.stderr)  # keeps the progress bar intact

    methods = _check_methods(list(methods))
    ids = check_zoo_models(models)
    # stripped, as ingest strips a cell, so both routes store one name; blank is refused before any model runs
    benchmark = check_text_option(benchmark, "--benchmark", what="a benchmark name",
                                  left_out=f"{DEFAULT_BENCHMARK!r}") or DEFAULT_BENCHMARK
    dataset = check_text_option(dataset, "--dataset", what="a dataset name", left_out="the task's name") or task.name
    if task.kind != "images":
        raise FennecInputError(f"task {task.source or task.name}: score-zoo needs images (an image folder or a "
                               f"manifest), got a {task.kind} task")
    # the probe set is every model's, so a class a scorer cannot use is the task's problem, said once and now
    probe = sample_probe_set(task, max_images=max_images, seed=seed)
    assert task.labels is not None
    for m in methods:
        if (problem := class_problem(task.labels[probe.indices], task.class_names, m)) is not None:
            raise FennecInputError(f"task {task.source or task.name}: {problem}")
    result = RunResult(out=Path(out) if out is not None else None)
    columns, rows = read_records_table(out) if out is not None else ([], [])
    done = {(r["model"], r["metric"]): r["source"] for r in rows
            if r["benchmark"] == benchmark and r["dataset"] == dataset}
    settings = f"probe {max_images} images seed {seed}, task {task.fingerprint[:16]}"
    db = open_store(store) if store is not None else None
    db_task = task_in_store(db, dataset, task) if db is not None else None

    from fennec.scores import create_scorer

    bar = tqdm(total=len(ids) * len(methods), desc="score-zoo", unit="score", file=sys.stderr, disable=not progress)
    try:
        for model in ids:
            todo = []
            for m in methods:
                stored = db.find_record(benchmark, model, db_task, m) if db is not None else None
                source = done.get((model, m), stored[1] if stored is not None else None)
                if source is None:
                    todo.append(m)
                    continue
                same_settings(_SCORE_TOOL, source, settings,
                              f"--benchmark {benchmark!r}, model {model}, dataset {dataset!r}, {m}", legacy=True)
                result.skipped.append((model, m))
            bar.update(len(methods) - len(todo))
            bar.set_postfix_str(model.partition(":")[2][:32])
            if not todo:
                continue
            try:
                ext = extractor(model, task, max_images=max_images, seed=seed, batch_size=batch_size,
                                allow_random=allow_random)
                wsrc = getattr(getattr(ext, "weights", None), "source", "unknown")
                meta = model_columns(model, wsrc)
            except TaskImageError:
                raise  # the task's fault: bad input for every model, said once (exit 2)
            except Exception as exc:
                if fail_fast:
                    raise
                msg = one_line(exc)
                result.failures.append((model, "extract", msg))
                log(f"score-zoo: {model}: skipped ({msg})")
                bar.update(len(todo))
                continue
            source = (f"{_SCORE_TOOL}{settings} | {len(ext.labels)} images, weights {wsrc}, "
                      f"{'cached' if getattr(ext, 'cached', False) else 'extracted'} features")
            new_rows = []
            for m in todo:
                try:
                    # images that could not be read may have left a class short: named here, not by index
                    if (problem := class_problem(ext.labels, task.class_names, m)) is not None:
                        raise FennecInputError(f"the probe images that could be read: {problem}")
                    value = create_scorer(m).score(features=ext.features, labels=ext.labels, probs=ext.probs)
                    if not math.isfinite(value):  # written, it would be a result no rerun ever recomputes
                        raise ValueError(f"the score is {value} (too few images per class for {m}?)")
                except Exception as exc:
                    if fail_fast:
                        raise
                    msg = one_line(exc)
                    result.failures.append((model, m, msg))
                    log(f"score-zoo: {model} / {m}: skipped ({msg})")
                else:
                    new_rows.append({"benchmark": benchmark, "model": model, "dataset": dataset, "metric": m,
                                     "value": float(value), "source": source, "protocol": SCORE_PROTOCOL, **meta})
                finally:
                    bar.update(1)
            if not new_rows:
                continue
            if db is not None:  # first: rows the store refuses (a model stored otherwise) go to neither output
                insert_records(db, new_rows, db_task)
            if out is not None:
                write_records_csv(out, [*rows, *new_rows], columns)  # after every model: a stop keeps what finished
            rows.extend(new_rows)
            result.records.extend(new_rows)
    finally:
        bar.close()
        if db is not None:
            db.close()
    return result


def model_columns(model: str, weights_source: str) -> dict[str, str]:
    """The ``architecture`` and ``pretraining`` cells of a model's records: blank where the id tells them (ingest
    reads a ``timm:`` id's architecture and pre-trained tag), filled where it does not: a ``local:`` checkpoint's
    own, and the random initialisation of a model run without pre-trained weights (the id's tag would say
    ImageNet).

    Args:
        model: The record id.
        weights_source: Where its weights came from (``random`` for a seeded random initialisation).
    """
    meta = model_meta(model)
    if meta is not None:  # stripped as ingest strips a cell, so the CSV's route reads the same text
        return {"architecture": meta[0].strip(), "pretraining": meta[1].strip()}
    return {"architecture": "", "pretraining": RANDOM_PRETRAINING if weights_source == "random" else ""}


def insert_records(db: Any, rows: list[dict[str, Any]], task_name: str) -> None:
    """Add the rows' models and insert the rows in one transaction, each read as ``fennec records ingest`` reads
    the same row of the CSV: the model resolved from its id and ``architecture``/``pretraining`` cells
    (:func:`fennec.records.aliases.resolve_model`), the record with the row's ``protocol``.

    Args:
        db: An open :class:`fennec.records.RecordStore`.
        rows: Rows with the keys of :data:`COLUMNS`.
        task_name: The canonical task of the rows' dataset (``db.ensure_task``).

    Raises:
        FennecInputError: a model stored with another architecture or pre-training text (nothing is written).
    """
    from fennec.records import Record
    from fennec.records.aliases import resolve_model

    with db.transaction():  # the model and its records land together or not at all
        for r in rows:
            arch, pre = r.get("architecture") or None, r.get("pretraining") or None
            model = db.add_model(resolve_model(r["model"], arch, pre), pretraining_given=pre is not None)
            db.insert_record(Record(model=model, dataset=task_name, benchmark=r["benchmark"], metric=r["metric"],
                                    value=float(r["value"]), source=r["source"], protocol=r["protocol"]),
                             r["dataset"])


def model_meta(model: str) -> tuple[str, str] | None:
    """(architecture, pre-training text) of a ``local:PATH`` checkpoint for the store (None for other ids, whose
    id tells them)."""
    if not model.startswith("local:"):
        return None
    from fennec.zoo.checkpoints import read_checkpoint_info

    ck = read_checkpoint_info(model)
    return ck.architecture, ck.pretraining
