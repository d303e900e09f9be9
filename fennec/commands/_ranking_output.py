"""Printing rankings (recommend, rank-batch) as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

CSV_COLUMNS = ("task", "rank", "model", "score", "accuracy_low", "accuracy_high", "nearest_tasks", "cold_start")


def _rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for res in results:
        for r in res["ranking"]:
            rng = r["accuracy_range"] or (None, None)
            out.append({"task": res["task"], "rank": r["rank"], "model": r["model"], "score": r["score"],
                        "accuracy_low": rng[0], "accuracy_high": rng[1],
                        "nearest_tasks": ";".join(r["nearest_tasks"]), "cold_start": r["cold_start"]})
    return out


def to_csv(results: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(_rows(results))
    return buf.getvalue()


def to_table(results: list[dict[str, Any]]) -> str:
    lines = []
    for res in results:
        near = (", ".join(f"{t['task']} ({t['similarity']:.2f})" for t in res["nearest_tasks"])
                or f"none ({res.get('no_nearest_tasks', 'nothing to compare')})")
        lines.append(f"task {res['task']}: nearest historical tasks {near}")
        seen = res.get("images")
        if seen:
            lines.append(f"images ({seen['n_images']} labelled by {seen['proxy']}): {seen['description']}")
        stats = res.get("image_statistics")
        if stats:
            lines.append(f"image statistics read with {stats['proxy']}")
        # as wide as the longest id: a cut id is one a user copies and cannot find
        width = max([52, *(len(r["model"]) for r in res["ranking"])])
        lines.append(f"{'rank':>4}  {'model':<{width}} {'score':>8}  {'published on nearest (%)':>24}")
        for r in res["ranking"]:
            rng = r["accuracy_range"]
            span = f"{rng[0]:.1f}-{rng[1]:.1f}" if rng else ("cold start" if r["cold_start"] else "-")
            lines.append(f"{r['rank']:>4}  {r['model']:<{width}} {r['score']:>8.3f}  {span:>24}")
        if res["nearest_tasks"] and any(not r["accuracy_range"] and not r["cold_start"] for r in res["ranking"]):
            # a bare "-" under the flagship example's every row read as a fault
            names = ", ".join(t["task"] for t in res["nearest_tasks"])
            lines.append(f"(-: no published accuracy of the model on {names}; its score comes from its records on "
                         "other tasks)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render(results: list[dict[str, Any]], fmt: str, single: bool) -> str:
    if fmt == "json":
        return json.dumps(results[0] if single else results, indent=2) + "\n"
    if fmt == "csv":
        return to_csv(results)
    return to_table(results)
