"""Which records a transfer space trains on, and what it keeps of them to explain a recommendation.

The store holds everything ingested: errors and accuracies of one table side by side, a model's results on its own
pre-training data, papers that reprint another paper's table. The space trains on each published number once
(:func:`usable_records`), scores a reprinting benchmark under the protocol of the one it reprints
(:func:`benchmark_aliases`), turns the records into the arrays training reads (:func:`make_batch`), hashes what it
trained on for the manifest (:func:`records_hash`) and keeps the published accuracies as the ranges a
recommendation shows (:func:`result_history`)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from fennec.records.metrics import (
    PRETRAIN,
    higher_is_better,
    is_cheap_metric,
    is_percent_metric,
    is_transfer,
    main_metric_records,
    oriented,
)
from fennec.space.fit import CLIP_SIGMA, Batch


def records_hash(records: Sequence[Any]) -> str:
    """A stable hash of (benchmark, model, dataset, metric, value) over the records, order-free."""
    rows = sorted(f"{r.benchmark}|{r.model}|{r.dataset}|{r.metric}|{float(r.value)!r}" for r in records)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def usable_records(records: Sequence[Any]) -> tuple[list[Any], list[tuple[str, str]]]:
    """(usable, finite records with each (model, dataset, value) kept once (once per scorer, for cheap scores),
    in benchmark order; one (benchmark, benchmark whose record was kept) pair per record dropped as a copy of
    another benchmark's).

    Usable: a transfer result (not a result on the model's own pre-training data, protocol
    :data:`~fennec.records.metrics.PRETRAIN`) of its (benchmark, dataset)'s
    :func:`~fennec.records.metrics.main_metric`, the one the evaluation reads too (a table that gives a model's
    error and the accuracy derived from it says one thing once), or a cheap score (each scorer is its own target).
    """
    finite = [r for r in records if math.isfinite(float(r.value)) and getattr(r, "protocol", "") != PRETRAIN]
    usable = [r for r in finite if not is_transfer(r)] + main_metric_records(r for r in finite if is_transfer(r))
    seen: dict[tuple[str, str, float, str], str] = {}
    kept, copies = [], []
    for r in sorted(usable, key=lambda r: (r.benchmark, r.model, r.dataset, r.metric)):
        v = float(r.value)
        # a reprinted result is the same value under any accuracy metric's name; a cheap score is only a copy of
        # the same scorer's (PARC and LogME agreeing to the digit, or a score equal to an accuracy, are not)
        key = (r.model, r.dataset, v, "transfer" if is_transfer(r) else r.metric)
        if key not in seen:
            seen[key] = r.benchmark
            kept.append(r)
        elif seen[key] != r.benchmark:
            copies.append((r.benchmark, seen[key]))
    return kept, copies


def benchmark_aliases(kept: list[Any], copies: list[tuple[str, str]], share: float = 0.5) -> dict[str, str]:
    """Benchmarks whose usable records mostly repeat another benchmark's published numbers, from what
    :func:`usable_records` kept and dropped: benchmark -> the benchmark whose copies it kept.

    A later paper that reprints an earlier one's fine-tuning table (Model Spider's single-source table is
    LogME's) is the same runs under the same protocol; its own records are kept once, under the other benchmark,
    so its protocol offsets would be learned from whatever little is left of it. Scoring within it uses the
    other's instead. ``share``: the least fraction of a benchmark's usable records that must be copies.
    """
    total = Counter(r.benchmark for r in kept) + Counter(b for b, _ in copies)
    out = {}
    for bench in {b for b, _ in copies}:
        source, n = Counter(src for b, src in copies if b == bench).most_common(1)[0]
        if n >= share * total[bench]:
            out[bench] = source
    return out


def result_history(recs: Sequence[Any], model_ids: list[str], task_names: list[str],
                   n_classes: Sequence[int] | None = None) -> np.ndarray:
    """(M, T) mean published result in percent (NaN where none): the accuracy ranges of recommendations.

    Only accuracy-like results count (:func:`~fennec.records.metrics.is_percent_metric`, higher is better, not a
    cheap score): a regression score (Model Spider's utkface, -395 to 0) shown under "published (%)" made ranges
    such as -384.6-75.0. A group of results (benchmark, dataset, metric) is in percent, or in fractions when none
    is above 1 (the unit of a whole table, not of each value: a failed run at 0.99 % is not 99 %). Failed runs
    are left out, since a range says what a model reaches: a result at or below chance, 100 / classes percent
    (TransferGraph's Food-101 table holds 0.99 % for most of its models), and one that sigma clipping sets aside
    in its group, as training does (:data:`~fennec.space.fit.CLIP_SIGMA`).

    Args:
        recs: Usable records (:func:`usable_records`).
        model_ids, task_names: The space's models and historical tasks (rows and columns).
        n_classes: Classes of each task of ``task_names`` (0: unknown, no chance level applied).
    """
    from scipy.stats import sigmaclip

    mpos = {m: i for i, m in enumerate(model_ids)}
    tpos = {t: i for i, t in enumerate(task_names)}
    classes = dict(zip(task_names, n_classes or [0] * len(task_names), strict=True))
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for r in recs:
        if is_percent_metric(r.metric) and higher_is_better(r.metric) and not is_cheap_metric(r.metric):
            groups.setdefault((r.benchmark, r.dataset, r.metric), []).append(r)
    total = np.zeros((len(model_ids), len(task_names)))
    count = np.zeros_like(total)
    for (_, dataset, _), rows in groups.items():
        percent = np.array([float(r.value) for r in rows])
        if percent.max() <= 1.0:
            percent = percent * 100.0
        # chance with a margin for rounding (a table gives 0.99 for 1 / 101)
        chance = 100.0 / classes[dataset] * 1.05 if classes[dataset] > 1 else -np.inf
        kept = percent > chance
        if kept.sum() >= 3 and np.ptp(percent[kept]) > 0:
            _, low, high = sigmaclip(percent[kept], CLIP_SIGMA, CLIP_SIGMA)
            kept &= (percent >= low) & (percent <= high)
        for r, v, keep in zip(rows, percent, kept, strict=True):
            if keep:
                i, j = mpos[r.model], tpos[r.dataset]
                total[i, j] += v
                count[i, j] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def make_batch(records: Sequence[Any], models: Sequence[str], tasks: Sequence[str], benchmarks: Sequence[str], *,
               aux_weight: float, standardization: str) -> Batch:
    """The training arrays of usable records (:func:`usable_records`): one row per record, one group per
    (benchmark, dataset, metric), values oriented so that higher is better.

    Args:
        records: Records to train on.
        models, tasks, benchmarks: The space's model ids, task names and benchmarks; a record's row holds its
            positions in them.
        aux_weight: Weight of a group of cheap scores next to a fine-tuning group's 1.
        standardization: How each group's values become targets (:data:`fennec.space.fit.STANDARDIZATIONS`).
    """
    mpos, tpos = {m: i for i, m in enumerate(models)}, {t: i for i, t in enumerate(tasks)}
    bpos = {b: i for i, b in enumerate(benchmarks)}
    keys = sorted({(r.benchmark, r.dataset, r.metric) for r in records})
    gpos = {k: i for i, k in enumerate(keys)}
    # a group of cheap scores: one with a record that is not a transfer result (a scorer's metric, or a score
    # ingested with protocol "score" under a name the scorer registry does not know)
    scores = {(r.benchmark, r.dataset, r.metric) for r in records if not is_transfer(r)}
    cheap = np.array([k in scores for k in keys], dtype=bool)
    return Batch(model=np.array([mpos[r.model] for r in records]), task=np.array([tpos[r.dataset] for r in records]),
                 bench=np.array([bpos[r.benchmark] for r in records]),
                 group=np.array([gpos[(r.benchmark, r.dataset, r.metric)] for r in records]),
                 value=np.array([oriented(r.value, r.metric) for r in records]),
                 group_weight=np.where(cheap, aux_weight, 1.0), group_dataset=np.array([tpos[k[1]] for k in keys]),
                 group_cheap=cheap, standardization=standardization)
