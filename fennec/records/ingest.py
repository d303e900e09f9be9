"""Ingest transfer records from CSV into a :class:`~fennec.records.store.RecordStore`.

Two formats:
- tidy: ``benchmark,model,dataset,metric,value,source`` with optional ``architecture`` (timm name), ``pretraining``
  (free text) and ``protocol`` columns; ``benchmark`` may be left out when ``--benchmark`` is given;
- PARC's oracle files: ``Architecture,Source Dataset,Target Dataset,Oracle`` (model = ``arch/source``; oracle
  ``-1`` means "no result" and is skipped; benchmark ``parc_controlled`` for PARC's 32 controlled models, else
  ``parc_external``, unless ``--benchmark`` is given).

The whole file is checked first; any bad row raises :class:`FennecInputError` with ``FILE:LINE: reason``. The
rows are then written in one transaction, so an error or a crash leaves the store as it was. Ingesting the same
file twice adds nothing (a record is identified by benchmark, model, canonical task and metric).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from fennec.records.aliases import _TORCHVISION_TO_TIMM, ModelAlias, data_dir, model_aliases, parc_model, resolve_model
from fennec.records.cards import shipped_cards
from fennec.records.metrics import PRETRAIN, PROTOCOLS, is_percent_metric
from fennec.records.record import Record, value_problem
from fennec.records.store import RecordStore
from fennec.registry import unknown_name_message
from fennec.validation import FennecInputError, check_file, check_text_option, read_csv_text

TIDY_REQUIRED = ("model", "dataset", "metric", "value")
TIDY_OPTIONAL = ("benchmark", "source", "architecture", "pretraining", "protocol")
PARC_COLUMNS = ("Architecture", "Source Dataset", "Target Dataset", "Oracle")
PARC_METRIC = "oracle_finetune_acc_pct"
PARC_CONTROLLED_ARCHS = {"resnet50", "resnet18", "googlenet", "alexnet"}
PARC_CONTROLLED_SOURCES = {"imagenet", "nabird", "oxford_pets", "cub200", "caltech101", "stanford_dogs", "voc2007",
                           "cifar10"}

#: The shipped record files loaded into a new store, in order.
SHIPPED_RECORD_FILES = (
    "sfda_supervised_finetune.csv",
    "logme_tllib_finetune.csv",
    "modelspider_single_source_finetune.csv",
    "parc_oracles_tidy.csv",
    "transfergraph_finetune.csv",
    "imagenet_top1_torchvision.csv",
)

#: Shipped files whose rows are not fine-tuning results: their protocol (the files are copied byte for byte, so it
#: is given here). torchvision's table is the ImageNet top-1 of ImageNet-trained weights: their own pre-training
#: task, which the ``imagenet`` baseline reads and the transfer space does not learn from.
SHIPPED_PROTOCOLS = {"imagenet_top1_torchvision.csv": PRETRAIN}


@dataclass
class IngestResult:
    """What an ingest did."""

    file: str
    rows: int = 0  # data rows read
    added: int = 0  # new records written
    unchanged: int = 0  # already in the store (or repeated in the file) with the same value
    no_result: int = 0  # PARC rows with oracle -1

    def summary(self) -> str:
        extra = f", {self.no_result} without a result skipped" if self.no_result else ""
        return (f"{self.file}: {self.rows} rows, {self.added} records added, {self.unchanged} already present"
                f"{extra}")


@dataclass
class _Row:
    line: int
    record: Record
    dataset_name: str
    model: ModelAlias
    protocol_given: bool = False  # by the row or --protocol (a defaulted one defers to the stored record's)
    pretraining_given: bool = False  # by the row's pretraining column (a derived text defers to the stored one)


def _fail(path: Path, line: int, reason: str) -> FennecInputError:
    return FennecInputError(f"{path}:{line}: {reason}")


def _parse_value(path: Path, line: int, text: str) -> float:
    """The number in a value cell (NaN and inf included: :func:`_check_value` words those)."""
    text = text.strip()
    if not text:
        raise _fail(path, line, "empty value; give a number")
    try:
        value = float(text.rstrip("%")) if text.endswith("%") else float(text)
    except ValueError:
        raise _fail(path, line, f"value {text!r} is not a number") from None
    if text.endswith("%"):
        raise _fail(path, line, f"value {text!r} has a percent sign; write the number without it")
    if "_" in text:  # Python reads 9_1.2 as 91.2: a typo taken for a number
        raise _fail(path, line, f"value {text!r} is not a number (an underscore in it); write the digits alone")
    return value


def _check_value(path: Path, line: int, column: str, text: str, value: float, metric: str) -> None:
    """The record rule of :func:`~fennec.records.record.value_problem`, worded for a cell of the file."""
    problem = value_problem(value, metric)
    if problem is not None:
        reason, fix = problem
        raise _fail(path, line, f"column {column!r}: value {text.strip()!r} {reason}; {fix}")


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _read_rows(store: RecordStore, path: Path, benchmark: str | None, res: IngestResult,
               protocol: str | None = None) -> list[_Row]:
    # one way of reading CSV text (utf-8-sig: a byte-order mark is dropped); not UTF-8 is a one-line error
    with io.StringIO(read_csv_text(path, "records file"), newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise _fail(path, 1, "empty file; expected a header row") from None
        except csv.Error as exc:
            raise _fail(path, 1, f"not a CSV file ({exc})") from None
        if tuple(header) == PARC_COLUMNS:
            parse = _parc_row
        else:
            unknown = [h for h in header if h not in TIDY_REQUIRED + TIDY_OPTIONAL]
            if unknown:
                raise _fail(path, 1, f"unknown column(s) {', '.join(map(repr, unknown))}; expected "
                            "benchmark,model,dataset,metric,value,source[,architecture][,pretraining] or PARC's "
                            "Architecture,Source Dataset,Target Dataset,Oracle")
            missing = [h for h in TIDY_REQUIRED if h not in header]
            if "benchmark" not in header and not benchmark:
                missing.insert(0, "benchmark")
            if missing:
                raise _fail(path, 1, f"missing column(s) {', '.join(missing)} (give --benchmark NAME when the file "
                            "has no benchmark column)")
            if len(set(header)) != len(header):
                raise _fail(path, 1, "a column name appears twice")
            parse = _tidy_row
        rows: list[_Row] = []
        line = 1
        try:
            for fields in reader:
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    raise _fail(path, line, f"{len(fields)} fields, the header has {len(header)}")
                res.rows += 1
                row = parse(store, path, line, dict(zip(header, fields, strict=True)), benchmark, protocol)
                if row is None:
                    res.no_result += 1
                else:
                    rows.append(row)
        except csv.Error as exc:
            raise _fail(path, line + 1, f"malformed CSV ({exc})") from None
    return rows


def _tidy_row(store: RecordStore, path: Path, line: int, f: dict[str, str], benchmark: str | None,
              protocol: str | None = None) -> _Row:
    bench = f.get("benchmark", "").strip()
    if benchmark and bench and bench != benchmark:
        raise _fail(path, line, f"benchmark {bench!r} differs from --benchmark {benchmark!r}")
    bench = bench or (benchmark or "")
    if not bench:
        raise _fail(path, line, "empty benchmark; fill the column or give --benchmark")
    for col in ("model", "dataset", "metric"):
        if not f[col].strip():
            raise _fail(path, line, f"empty {col}")
    value = _parse_value(path, line, f["value"])
    _check_value(path, line, "value", f["value"], value, f["metric"].strip())
    try:
        model = resolve_model(f["model"], f.get("architecture", "").strip() or None,
                              f.get("pretraining", "").strip() or None)
    except FennecInputError as exc:
        raise _fail(path, line, str(exc)) from None
    dataset = store.canonical_task(f["dataset"])
    own = f.get("protocol", "").strip().lower()
    if own and own not in PROTOCOLS:
        raise _fail(path, line, unknown_name_message("protocol", own, PROTOCOLS))
    rec = Record(model=model.model_id, dataset=dataset, benchmark=bench, metric=f["metric"].strip(), value=value,
                 source=f.get("source", "").strip() or f"file:{path.name}", protocol=own or protocol or "finetune")
    return _Row(line, rec, f["dataset"].strip(), model, protocol_given=bool(own or protocol),
                pretraining_given=bool(f.get("pretraining", "").strip()))


def _parc_row(store: RecordStore, path: Path, line: int, f: dict[str, str], benchmark: str | None,
              protocol: str | None = None) -> _Row | None:
    arch, source, target = f["Architecture"].strip(), f["Source Dataset"].strip(), f["Target Dataset"].strip()
    if not (arch and source and target):
        raise _fail(path, line, "empty Architecture, Source Dataset or Target Dataset")
    value = _parse_value(path, line, f["Oracle"])
    if math.isfinite(value) and value < 0:  # PARC writes -1 for "no result" (its metrics keep only oracle > 0)
        return None
    _check_value(path, line, "Oracle", f["Oracle"], value, PARC_METRIC)
    name = f"{arch}/{source}"
    model = model_aliases().get(name)
    if model is None:
        try:
            model = parc_model(arch, source)
        except ValueError:
            model = ModelAlias(name, f"parc:{name}", _TORCHVISION_TO_TIMM.get(arch, arch), f"pre-trained on {source}")
    bench = benchmark or ("parc_controlled" if arch in PARC_CONTROLLED_ARCHS and source in PARC_CONTROLLED_SOURCES
                          else "parc_external")
    rec = Record(model=model.model_id, dataset=store.canonical_task(target), benchmark=bench,
                 metric=PARC_METRIC, value=value, source=f"file:{path.name}",
                 protocol=protocol or "finetune")
    return _Row(line, rec, target, model, protocol_given=protocol is not None)


def _check_units(store: RecordStore, path: Path, rows: list[_Row]) -> None:
    """Reject a percentage mixed into a column of fractions (per benchmark and metric, stored values included),
    and a file of fractions for a column the store holds as percentages."""
    groups: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        groups[(r.record.benchmark, r.record.metric)].append((r.line, r.record.value))
    bad: list[tuple[int, str]] = []
    for (bench, metric), vals in groups.items():
        stored = [v for (v,) in store.conn.execute("SELECT value FROM records WHERE benchmark=? AND metric=?",
                                                   (bench, metric))]
        every = [v for _, v in vals] + stored
        declared_fraction = "fraction" in metric.lower() or metric.lower().endswith("_0_1")
        if declared_fraction:
            bad += [(ln, f"value {v!r} is outside [0, 1] but metric {metric!r} is a fraction; divide percentages "
                     "by 100") for ln, v in vals if not 0.0 <= v <= 1.0]
            continue
        n_frac = sum(0.0 <= v <= 1.0 for v in every)
        n_pct = sum(1.0 < v <= 100.0 for v in every)
        n_other = len(every) - n_frac - n_pct
        if n_other == 0 and n_pct and n_frac >= 2 and n_frac >= 2 * n_pct:
            bad += [(ln, f"value {v!r} looks like a percentage among fractions in [0, 1] (benchmark {bench!r}, "
                     f"metric {metric!r}); divide it by 100") for ln, v in vals if 1.0 < v <= 100.0]
        # an accuracy-like column that a whole file gives in the other unit from the store's: one value below 1%
        # can be a failed run, every one of a file cannot
        new = [v for _, v in vals]
        if is_percent_metric(metric) and len(new) >= 2 and len(stored) >= 2:
            pct, frac = (lambda v: 1.0 < v <= 100.0), (lambda v: 0.0 <= v <= 1.0)
            for mine, theirs, fix in ((frac, pct, "percentages; multiply the fractions by 100"),
                                      (pct, frac, "fractions in [0, 1]; divide the percentages by 100")):
                if all(map(mine, new)) and all(map(theirs, stored)):
                    bad.append((vals[0][0], f"every value of benchmark {bench!r}, metric {metric!r} in the file is in "
                                f"the other unit from the store's {len(stored)}, which are {fix}"))
    if bad:
        line, reason = min(bad)
        raise _fail(path, line, reason)


def ingest_file(store: RecordStore, path: str | Path, benchmark: str | None = None,
                protocol: str | None = None) -> IngestResult:
    """Check and ingest one CSV file (tidy or PARC format) in a single transaction.

    Args:
        store: The target store.
        path: CSV file.
        benchmark: Benchmark name for rows without one (PARC files: overrides the controlled/external split).
        protocol: Protocol for tidy rows without one (default ``finetune``); :data:`~fennec.records.metrics.PRETRAIN`
            for results on the models' own pre-training data (the transfer space does not learn from those).

    Returns:
        What was added.

    Raises:
        FennecInputError: ``FILE:LINE: reason`` for the first bad row; nothing is written then.
    """
    path = check_file(path, "records file", suffixes=(".csv",))
    # "" was read as a missing --benchmark, "  " as a record without one
    benchmark = check_text_option(benchmark, "--benchmark", what="a benchmark name",
                                  left_out="the file's benchmark column")
    if protocol is not None:
        protocol = protocol.strip().lower()
        if protocol not in PROTOCOLS:
            raise FennecInputError(f"--protocol: {unknown_name_message('protocol', protocol, PROTOCOLS)}")
    # Checks and writes in one write transaction: no other writer can slip a conflicting record in between.
    with store.transaction():
        return _ingest(store, path, benchmark, protocol)


def _ingest(store: RecordStore, path: Path, benchmark: str | None, protocol: str | None = None) -> IngestResult:
    res = IngestResult(file=str(path))
    rows = _read_rows(store, path, benchmark, res, protocol)
    # Duplicates inside the file and conflicts with the store, before anything is written.
    seen: dict[tuple[str, str, str, str], tuple[int, float]] = {}
    todo: list[_Row] = []
    for r in rows:
        key = (r.record.benchmark, r.record.model, r.record.dataset, r.record.metric)
        if key in seen:
            first_line, first_value = seen[key]
            if not _same(first_value, r.record.value):
                raise _fail(path, r.line, f"duplicate of line {first_line} ({r.record.model} on {r.record.dataset}, "
                            f"{r.record.metric}) with a different value ({r.record.value!r} vs {first_value!r})")
            res.unchanged += 1
            continue
        seen[key] = (r.line, r.record.value)
        stored = store.find_record(*key)
        if stored is not None:
            if not _same(stored[0], r.record.value):
                raise _fail(path, r.line, f"{r.record.model} on {r.record.dataset} ({r.record.metric}, "
                            f"{r.record.benchmark}) already has the value {stored[0]!r} (source {stored[1]}; in the "
                            f"store, or from an earlier file of this ingest), the file says {r.record.value!r}; a "
                            "record has one value: correct the file, or ingest it under another benchmark name to "
                            "keep both")
            if r.protocol_given and stored[2] != r.record.protocol:
                raise _fail(path, r.line, f"{r.record.model} on {r.record.dataset} ({r.record.metric}, "
                            f"{r.record.benchmark}) is stored with protocol {stored[2]!r}, the file (or --protocol) "
                            f"says {r.record.protocol!r}; ingest it under another benchmark name to keep both")
            res.unchanged += 1
            continue
        todo.append(r)
    _check_units(store, path, rows)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    for r in todo:
        try:
            store.add_model(r.model, pretraining_given=r.pretraining_given)
        except FennecInputError as exc:
            raise _fail(path, r.line, str(exc)) from None
        store.ensure_task(r.record.dataset)
        if store.insert_record(r.record, r.dataset_name):
            res.added += 1
    store.log_ingest(str(path), sha, res.added)
    return res


def seed_shipped(store: RecordStore) -> list[IngestResult]:
    """Load the shipped task cards and records (``data/tasks``, ``data/records``) into ``store``; idempotent."""
    with store.transaction():
        for card in shipped_cards():
            store.add_task(card, replace=False)
        results = [ingest_file(store, data_dir() / "records" / name, protocol=SHIPPED_PROTOCOLS.get(name))
                   for name in SHIPPED_RECORD_FILES]
    return results
