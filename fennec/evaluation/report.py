"""Evaluation reports: the JSON schema and a plain-text table.

Schema::

    {"benchmark": str, "protocol": "lodo" | "lomo", "method": str,
     "per_dataset": {dataset: {"weighted_tau", "weighted_tau_ms", "pearson", "spearman", "rel1", "rel3"
                               [, "pearson_parc" on PARC benchmarks]}},
     "mean": {same keys: the mean over datasets, ignoring undefined values}}

Undefined values (e.g. a correlation of a constant score) are ``None`` (JSON ``null``).

Several methods on one benchmark (``fennec evaluate --format json``, :func:`make_summary`), the same shape
whatever the number of methods::

    {"benchmark": str, "protocol": "lodo" | "lomo", "seed": int, "folds": int | None (lomo's folds),
     "reports": [one report per method, in the order given],
     "paired": [{"method": the first method, "versus": another, "key", "n", "mean", "low", "high", "wins",
                 "losses", "confidence"}, ...]}   # :func:`paired_rows`; [] with one method
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fennec.evaluation.metrics import METRIC_KEYS


def _clean(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def make_report(benchmark: str, protocol: str, method: str,
                per_dataset: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Assemble the report dict (NaN -> None) with the mean over datasets."""
    keys = list(METRIC_KEYS) + (["pearson_parc"] if any("pearson_parc" in m for m in per_dataset.values()) else [])
    per = {d: {k: _clean(m.get(k)) for k in keys} for d, m in per_dataset.items()}
    mean: dict[str, float | None] = {}
    for k in keys:
        vals = [m[k] for m in per.values() if m[k] is not None]
        mean[k] = float(sum(vals) / len(vals)) if vals else None
    return {"benchmark": benchmark, "protocol": protocol, "method": method, "per_dataset": per, "mean": mean}


def average_reports(reports: Sequence[Mapping[str, Any]],
                    keys: Sequence[str] = ("weighted_tau", "pearson_parc")) -> dict[str, Any]:
    """Runs of one method that differ only in a seed (of the space, of the cold-start folds) as one report.

    ``per_dataset`` averages each metric in ``keys`` over the runs that define it (``None`` where none does),
    over the datasets every run has; ``mean`` is the mean over runs of each run's mean and ``range`` the lowest
    and highest of those means (a spread over seeds, not an interval). Where a dataset's metric is undefined in
    some run, ``mean`` can differ from the mean of ``per_dataset``.

    Raises:
        ValueError: without reports.
    """
    if not reports:
        raise ValueError("average_reports: no reports to average; give the result of at least one run")

    def avg(values: Sequence[float | None]) -> float | None:
        kept = [v for v in values if v is not None]
        return float(np.mean(kept)) if kept else None

    shared = [d for d in reports[0]["per_dataset"] if all(d in r["per_dataset"] for r in reports)]
    per = {d: {k: avg([r["per_dataset"][d].get(k) for r in reports]) for k in keys} for d in shared}
    means = {k: [r["mean"].get(k) for r in reports] for k in keys}
    spans = {k: (min(v), max(v)) for k, vals in means.items() if (v := [m for m in vals if m is not None])}
    return {"per_dataset": per, "mean": {k: avg(v) for k, v in means.items()}, "range": spans}


def _fmt(v: float | None, key: str) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if key == "pearson_parc" else f"{v:.3f}"


def format_table(reports: Sequence[Mapping[str, Any]]) -> str:
    """A text table: one block per method, one row per dataset plus the mean."""
    lines: list[str] = []
    for rep in reports:
        keys = list(rep["mean"])
        lines.append(f"{rep['benchmark']}  protocol={rep['protocol']}  method={rep['method']}")
        width = max([len("dataset")] + [len(d) for d in rep["per_dataset"]] + [4])
        lines.append("  ".join(["dataset".ljust(width)] + [k.rjust(max(len(k), 6)) for k in keys]))
        rows = [*rep["per_dataset"].items(), ("mean", rep["mean"])]
        for d, m in rows:
            lines.append("  ".join([d.ljust(width)] + [_fmt(m[k], k).rjust(max(len(k), 6)) for k in keys]))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def paired_difference(report: Mapping[str, Any], baseline: Mapping[str, Any], key: str = "weighted_tau",
                      confidence: float = 0.9, seed: int = 0) -> dict[str, Any] | None:
    """How far ``report`` is from ``baseline`` on the datasets both define: the mean of the per-dataset
    differences with a bootstrap confidence interval over datasets (``scipy.stats.bootstrap``, BCa), and the
    number of datasets each is ahead on.

    With a handful of target datasets per benchmark the mean alone hides how much of a gap one dataset makes;
    an interval that contains 0 says the two methods are not told apart by this benchmark.

    Returns:
        ``{"key", "n", "mean", "low", "high", "wins", "losses"}`` (``low``/``high`` None when fewer than 3
        datasets, or when every difference is the same), or None if no dataset has both values.
    """
    from scipy import stats

    a, b = report["per_dataset"], baseline["per_dataset"]
    pairs = [(a[d].get(key), b[d].get(key)) for d in a if d in b]
    diff = np.array([x - y for x, y in pairs if x is not None and y is not None], dtype=float)
    if diff.size == 0:
        return None
    low = high = None
    if diff.size >= 3 and np.ptp(diff) > 1e-12:  # BCa is undefined on identical differences
        ci = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=9999, method="BCa",
                             rng=np.random.default_rng(seed)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return {"key": key, "n": int(diff.size), "mean": float(diff.mean()), "low": low, "high": high,
            "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum())}


PAIRED_KEYS = ("weighted_tau", "pearson_parc")  # the metrics that decide a benchmark


def paired_differences(report: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """:func:`paired_difference` for each of :data:`PAIRED_KEYS` the two reports share."""
    return [d for key in PAIRED_KEYS if (d := paired_difference(report, baseline, key=key)) is not None]


def signed(value: float, key: str) -> str:
    """A difference of metric ``key`` with its sign: Pearson x 100 to 0.1, the others to 0.001."""
    return f"{value:+.1f}" if key == "pearson_parc" else f"{value:+.3f}"


def format_ci(d: Mapping[str, Any], prefix: str = " ") -> str:
    """The interval of a :func:`paired_difference` as ``"[-0.049, -0.016]"`` after ``prefix``; "" without one."""
    k = d["key"]
    return "" if d["low"] is None else f"{prefix}[{signed(d['low'], k)}, {signed(d['high'], k)}]"


def paired_cells(d: Mapping[str, Any]) -> str:
    """A :func:`paired_difference` as two markdown cells: ``mean [low, high] | won / lost``."""
    return f"{signed(d['mean'], d['key'])}{format_ci(d)} | {d['wins']} / {d['losses']}"


PAIRED_CONFIDENCE = 0.9  # the level of the intervals `fennec evaluate` prints and writes


def paired_rows(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The first report's method minus each other one's, one row per (other method, metric of
    :data:`PAIRED_KEYS` both define on some dataset): :func:`paired_difference` at :data:`PAIRED_CONFIDENCE`
    with ``"method"`` (the first), ``"versus"`` (the other) and ``"confidence"``. Empty with fewer than two
    reports; a pair with no dataset in common has no row."""
    rows: list[dict[str, Any]] = []
    for other in reports[1:]:
        for key in PAIRED_KEYS:
            d = paired_difference(reports[0], other, key=key, confidence=PAIRED_CONFIDENCE)
            if d is not None:
                rows.append({"method": reports[0]["method"], "versus": other["method"], **d,
                             "confidence": PAIRED_CONFIDENCE})
    return rows


def format_paired(reports: Sequence[Mapping[str, Any]]) -> str:
    """The first report's method minus each other one's (:func:`paired_rows`): mean per-dataset difference, 90%
    bootstrap interval, datasets won / lost; a pair that no dataset compares (e.g. a method whose every
    correlation is undefined) gets a line saying so. Empty with fewer than two reports."""
    rows = paired_rows(reports)
    lines: list[str] = []
    for other in reports[1:]:
        mine = [d for d in rows if d["versus"] == other["method"]]
        head = f"{reports[0]['method']} - {other['method']}"
        if not mine:
            keys = [k for k in PAIRED_KEYS if k in reports[0]["mean"] and k in other["mean"]] or ["weighted_tau"]
            blank = [r["method"] for r in (reports[0], other) if all(r["mean"].get(k) is None for k in keys)]
            why = (f"{' and '.join(dict.fromkeys(blank))} ha{'s' if len(set(blank)) == 1 else 've'} no "
                   f"{' or '.join(keys)} on any target dataset" if blank else
                   f"no target dataset where both define {' or '.join(keys)}")
            lines.append(f"{head}  nothing to compare: {why}")
        for d in mine:
            k = d["key"]
            ci = format_ci(d, f"  {d['confidence']:.0%} CI ")
            lines.append(f"{head}  {k}: {signed(d['mean'], k)}{ci}  "
                         f"won {d['wins']} / lost {d['losses']} of {d['n']} datasets")
    return "\n".join(lines) + ("\n" if lines else "")


def make_summary(reports: Sequence[Mapping[str, Any]], *, seed: int = 0,
                 folds: int | None = None) -> dict[str, Any]:
    """Reports of several methods on one benchmark and protocol as one JSON object (the module's second schema):
    the same keys whatever the number of methods, the paired comparison included.

    Args:
        reports: One report per method (:func:`make_report`), the first one compared with each other one.
        seed: The seed the reports were made with.
        folds: lomo's number of folds (None under lodo).

    Raises:
        ValueError: without reports, or with reports of different benchmarks or protocols.
    """
    if not reports:
        raise ValueError("make_summary: no reports; give the report of at least one method")
    first = reports[0]
    if any((r["benchmark"], r["protocol"]) != (first["benchmark"], first["protocol"]) for r in reports):
        raise ValueError("make_summary: the reports must share one benchmark and protocol, got "
                         f"{sorted({(r['benchmark'], r['protocol']) for r in reports})}")
    return {"benchmark": first["benchmark"], "protocol": first["protocol"], "seed": seed, "folds": folds,
            "reports": list(reports), "paired": paired_rows(reports)}
