"""What a transfer record is (:class:`Record`), a model's metadata (:class:`ModelInfo`), and records pivoted into a
models x datasets matrix (:func:`record_matrix`); the store (:mod:`fennec.records.store`) keeps them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fennec.records.metrics import oriented


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
