"""Evaluation reports: the JSON schema and a plain-text table.

Schema::

    {"benchmark": str, "protocol": "lodo" | "lomo", "method": str,
     "per_dataset": {dataset: {"weighted_tau", "weighted_tau_ms", "pearson", "spearman", "rel1", "rel3"
                               [, "pearson_parc" on PARC benchmarks]}},
     "mean": {same keys: the mean over datasets, ignoring undefined values}}

Undefined values (e.g. a correlation of a constant score) are ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

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
