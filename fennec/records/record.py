"""What a transfer record is (:class:`Record`), a model's metadata (:class:`ModelInfo`), and records pivoted into a
models x datasets matrix (:func:`record_matrix`); the store (:mod:`fennec.records.store`) keeps them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fennec.records.metrics import PROTOCOLS, is_percent_metric, oriented
from fennec.registry import unknown_name_message
from fennec.validation import FennecInputError

#: The largest magnitude a result may have: published accuracies, losses and scores are far below it, and the
#: training standardises (squares) values, which must stay finite.
MAX_ABS_VALUE = 1e9


def value_problem(value: float, metric: str) -> tuple[str, str] | None:
    """Why ``value`` cannot be a result of ``metric``, as ``(reason, fix)``, or None when it can.

    The one rule for CSV ingest and :meth:`~fennec.records.store.RecordStore.insert_record`: a finite number of a
    plausible magnitude (:data:`MAX_ABS_VALUE`), in [0, 100] for an accuracy-like metric
    (:func:`~fennec.records.metrics.is_percent_metric`; a percentage, or a fraction in [0, 1]).
    """
    if not math.isfinite(value):
        return "is not a finite number (NaN/inf)", "drop it"
    if abs(value) > MAX_ABS_VALUE:
        return f"is implausibly large (|value| > {MAX_ABS_VALUE:g})", "check the number"
    if is_percent_metric(metric) and not 0.0 <= value <= 100.0:
        return (f"is outside [0, 100] for the accuracy-like metric {metric!r}",
                "give a percentage (or a fraction in [0, 1])")
    return None


@dataclass(frozen=True)
class Record:
    """One result: ``model`` (id) reached ``value`` of ``metric`` on task ``dataset`` according to ``benchmark``.

    ``protocol``: one of :data:`~fennec.records.metrics.PROTOCOLS`: ``finetune`` (the default: a transfer result),
    ``linear_probe``, ``score`` (a cheap score), or ``pretrain`` for a result on the model's own pre-training data
    (ImageNet top-1 of ImageNet weights): model metadata, not a transfer record.
    """

    model: str
    dataset: str
    benchmark: str
    metric: str
    value: float
    source: str = ""
    protocol: str = "finetune"


def check_record(rec: Any) -> float:
    """The record's value as a float, after the checks CSV ingest makes: named fields, a number that
    :func:`value_problem` accepts (NaN was dropped without a word, inf stored), a known protocol.

    The one check of a record for :meth:`~fennec.records.store.RecordStore.insert_record` and
    :meth:`~fennec.space.space.TransferSpace.fit`. ``rec`` is a :class:`Record` or an object with its attributes
    (a missing ``protocol`` is ``finetune``).

    Raises:
        FennecInputError: naming the field.
    """
    if isinstance(rec, Mapping) or not all(hasattr(rec, f) for f in ("model", "dataset", "benchmark", "metric",
                                                                      "value")):
        raise FennecInputError(f"record: expected a fennec.records.Record (model, dataset, benchmark, metric, value), "
                               f"got {type(rec).__name__}; build one with Record(model=..., dataset=..., ...)")
    for field_name in ("model", "dataset", "benchmark", "metric"):
        value = getattr(rec, field_name)
        if not isinstance(value, str) or not value.strip():
            raise FennecInputError(f"record {field_name}: expected a non-empty string, got {value!r}")
    raw = rec.value
    what = f"record value of {rec.model!r} on {rec.dataset!r}"
    try:  # a number, or its text as a CSV holds it ("100.0")
        number = float(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise FennecInputError(f"{what}: expected a number, got {raw!r}")
    problem = value_problem(number, rec.metric)
    if problem is not None:
        raise FennecInputError(f"{what}: {raw!r} {problem[0]}; {problem[1]}")
    protocol = getattr(rec, "protocol", "finetune")
    if protocol not in PROTOCOLS:
        raise FennecInputError(f"record protocol: {unknown_name_message('protocol', str(protocol), PROTOCOLS)}")
    return number


@dataclass(frozen=True)
class ModelInfo:
    """A model's metadata (what a cold-start method may use)."""

    id: str
    name: str
    architecture: str
    pretraining: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)



def record_matrix(records: Iterable[Record], *, models: Sequence[str] | None = None,
                  datasets: Sequence[str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
    """Pivot records into a models x datasets matrix (NaN where there is no record), values oriented so that
    higher is better (an error rate is negated, :func:`fennec.records.metrics.oriented`).

    Several records in one cell (e.g. two metrics, or two benchmarks) are averaged: filter ``records`` to one
    benchmark first when scales differ.

    Args:
        records: The records to pivot.
        models: Row order (default: sorted model ids of the records).
        datasets: Column order (default: sorted dataset names of the records).

    Returns:
        (model ids, dataset names, float64 array of shape (len(models), len(datasets))).
    """
    recs = list(records)
    rows = list(models) if models is not None else sorted({r.model for r in recs})
    cols = list(datasets) if datasets is not None else sorted({r.dataset for r in recs})
    ri, ci = {m: i for i, m in enumerate(rows)}, {d: j for j, d in enumerate(cols)}
    total = np.zeros((len(rows), len(cols)))
    count = np.zeros((len(rows), len(cols)))
    for r in recs:
        if r.model in ri and r.dataset in ci:
            total[ri[r.model], ci[r.dataset]] += oriented(r.value, r.metric)
            count[ri[r.model], ci[r.dataset]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mat = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return rows, cols, mat
