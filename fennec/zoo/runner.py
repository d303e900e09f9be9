"""The scoring runner: score zoo models on a task with transferability estimators, write tidy records.

For each model the probe-set features and source probabilities come from :func:`fennec.zoo.extract.extract_features`
(cached), then every requested scorer of :mod:`fennec.scores` runs on them. Results are records in the tidy format
``benchmark,model,dataset,metric,value,source`` written to a CSV (rewritten atomically after every model) and/or
inserted into a :class:`fennec.records.RecordStore`. A model that fails (missing weights, a broken file, a scorer
error) is reported and skipped unless ``fail_fast``; pairs already present in the output are not recomputed, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fennec.io import atomic_open
from fennec.tasks.images import TaskImageError
from fennec.tasks.sampler import DEFAULT_PROBE_SIZE
from fennec.tasks.task import Task
from fennec.validation import FennecInputError
from fennec.zoo.extract import extract_features, record_id

COLUMNS = ("benchmark", "model", "dataset", "metric", "value", "source")
DEFAULT_BENCHMARK = "fennec_score_zoo"


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


def read_records_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a tidy records CSV (empty list when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise FennecInputError(f"--out {str(p)!r}: existing file lacks column(s) {', '.join(missing)}; give a "
                                       "new file or one written by score-zoo")
            return [dict(row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FennecInputError(f"--out {str(p)!r}: cannot read the existing file ({exc})") from None


def write_records_csv(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> None:
    """Write tidy records atomically (extra keys are dropped)."""
    with atomic_open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(float(row[k])) if k == "value" else row[k]) for k in COLUMNS})


def one_line(exc: BaseException) -> str:
    """A failure as one line for a report: an input error's own message, else its type and first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, FennecInputError) else text


_SCORE_TOOL = "fennec score-zoo: "


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


def open_store(store: str | os.PathLike[str]) -> Any:
    """The records store a runner writes to."""
    try:
        from fennec.records import RecordStore
    except ImportError:
        raise FennecInputError("--store: the records store (fennec.records) is not available in this install; "
                               "write a CSV with --out instead") from None
    return RecordStore(store)


def score_zoo(models: list[str], task: Task, methods: list[str], *, out: str | os.PathLike[str] | None = None,
              store: str | os.PathLike[str] | None = None, benchmark: str = DEFAULT_BENCHMARK,
              dataset: str | None = None, fail_fast: bool = False, max_images: int = DEFAULT_PROBE_SIZE,
              seed: int = 0, batch_size: int = 32, allow_random: bool = False, progress: bool = True,
              extractor: Callable[..., Any] = extract_features,
              log: Callable[[str], None] | None = None) -> RunResult:
    """Score zoo models on a task and write records.

    Args:
        models: Zoo model ids (``timm:NAME``, ``timm:NAME:/path/weights``).
        task: A task with images.
        methods: Scorer names of :mod:`fennec.scores` (``parc``, ``logme``, ``leep``, ...).
        out: Tidy records CSV; existing rows are kept and their (model, metric) pairs skipped.
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
    """
    from tqdm import tqdm

    if log is None:

        def log(msg: str) -> None:
            tqdm.write(msg, file=sys.stderr)  # keeps the progress bar intact

    methods = _check_methods(list(methods))
    if not models:
        raise FennecInputError("--models: give at least one model id such as timm:tf_efficientnet_lite0")
    ids = [(m, record_id(m)) for m in models]
    dataset = dataset or task.name
    result = RunResult(out=Path(out) if out is not None else None)
    rows: list[dict[str, Any]] = read_records_csv(out) if out is not None else []
    done = {(r["model"], r["metric"]): r["source"] for r in rows
            if r["benchmark"] == benchmark and r["dataset"] == dataset}
    settings = f"probe {max_images} images seed {seed}, task {task.fingerprint[:16]}"
    db = open_store(store) if store is not None else None
    db_task = db.ensure_task(dataset) if db is not None else None

    from fennec.scores import create_scorer

    bar = tqdm(total=len(ids) * len(methods), desc="score-zoo", unit="score", file=sys.stderr, disable=not progress)
    try:
        for raw_id, model in ids:
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
                ext = extractor(raw_id, task, max_images=max_images, seed=seed, batch_size=batch_size,
                                allow_random=allow_random)
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
            weights = getattr(ext, "weights", None)
            wsrc = getattr(weights, "source", "unknown")
            source = (f"{_SCORE_TOOL}{settings} | {len(ext.labels)} images, weights {wsrc}, "
                      f"{'cached' if getattr(ext, 'cached', False) else 'extracted'} features")
            new_rows = []
            for m in todo:
                try:
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
                                     "value": float(value), "source": source})
                finally:
                    bar.update(1)
            if not new_rows:
                continue
            rows.extend(new_rows)
            result.records.extend(new_rows)
            if out is not None:
                write_records_csv(out, rows)  # after every model: an interrupted run keeps what it finished
            if db is not None:
                insert_records(db, new_rows, model, db_task, wsrc, meta=model_meta(model))
    finally:
        bar.close()
        if db is not None:
            db.close()
    return result


def insert_records(db: Any, rows: list[dict[str, Any]], model: str, task_name: str, weights_source: str,
            protocol: str = "score", meta: tuple[str, str] | None = None) -> None:
    """Add the model to the store and insert its new rows in one transaction.

    Args:
        meta: (architecture, pre-training text) when the id does not tell them (a ``local:PATH`` checkpoint);
            by default a ``timm:NAME.TAG`` id's architecture is NAME.
    """
    from fennec.records import ModelInfo, Record

    name = model.partition(":")[2]
    pre = "random init (no pretrained weights)" if weights_source == "random" else ""
    # timm:NAME.TAG[:/path/weights] -> NAME
    arch, pre = meta if meta is not None else (name.partition(":")[0].partition(".")[0], pre)
    with db.transaction():  # the model and its records land together or not at all
        db.add_model(ModelInfo(id=model, name=name, architecture=arch, pretraining=pre))
        for r in rows:
            db.insert_record(Record(model=model, dataset=task_name, benchmark=r["benchmark"], metric=r["metric"],
                                    value=r["value"], source=r["source"], protocol=protocol), r["dataset"])


def model_meta(model: str) -> tuple[str, str] | None:
    """(architecture, pre-training text) of a ``local:PATH`` checkpoint for the store (None for other ids, whose
    id tells them)."""
    if not model.startswith("local:"):
        return None
    from fennec.zoo.checkpoints import read_checkpoint_info

    ck = read_checkpoint_info(model)
    return ck.architecture, ck.pretraining
