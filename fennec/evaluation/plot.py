"""Bar chart of per-dataset results: every method side by side (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def plot_reports(reports: Sequence[Mapping[str, Any]], path: str | os.PathLike[str],
                 metric: str | None = None, *, name: str = "output file") -> str:
    """Write a PNG with one group of bars per dataset (plus the mean), one bar per method.

    Args:
        reports: Reports of one benchmark and protocol (see :mod:`fennec.evaluation.report`).
        path: Output PNG file (written atomically).
        metric: Metric to plot; default ``pearson_parc`` on PARC benchmarks, else ``weighted_tau``.
        name: The option that gave ``path`` (e.g. ``--plot``), for error messages.

    Returns:
        The metric plotted.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fennec.io import atomic_open

    if not reports:
        raise ValueError("no reports to plot")
    if metric is None:
        metric = "pearson_parc" if "pearson_parc" in reports[0]["mean"] else "weighted_tau"
    datasets = [*reports[0]["per_dataset"], "mean"]
    n = len(reports)
    width = 0.8 / n
    x = np.arange(len(datasets))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(datasets) + 2), 4.0))
    for i, rep in enumerate(reports):
        vals = [rep["per_dataset"].get(d, {}).get(metric) if d != "mean" else rep["mean"].get(metric)
                for d in datasets]
        heights = [np.nan if v is None else v for v in vals]
        ax.bar(x - 0.4 + width * (i + 0.5), heights, width, label=rep["method"])
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(datasets, rotation=45, ha="right")
    ax.set_ylabel(metric)
    first = reports[0]
    ax.set_title(f"{first['benchmark']} ({first['protocol']}): {metric} per dataset")
    ax.legend(fontsize="small")
    fig.tight_layout()
    with atomic_open(path, "wb", name=name) as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
    return metric
