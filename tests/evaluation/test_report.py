"""Paired comparison of two evaluation reports over their target datasets."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.evaluation.report import make_report, paired_difference


def report(values: dict[str, float | None]) -> dict:
    return make_report("b", "lodo", "m", {d: {"weighted_tau": v} for d, v in values.items()})


def test_a_constant_lead_is_its_own_mean_with_no_interval():
    a = report({"x": 0.9, "y": 0.8, "z": 0.7})
    b = report({"x": 0.8, "y": 0.7, "z": 0.6})
    out = paired_difference(a, b)
    assert out["mean"] == pytest.approx(0.1) and out["wins"] == 3 and out["losses"] == 0
    assert out["low"] is None and out["high"] is None  # no spread: nothing to bootstrap


def test_interval_brackets_the_mean_and_only_shared_defined_datasets_count():
    rng = np.random.default_rng(0)
    diffs = 0.05 + 0.02 * rng.standard_normal(12)
    a = report({f"d{i}": 0.5 + d for i, d in enumerate(diffs)} | {"only_a": 0.9, "undefined": None})
    b = report({f"d{i}": 0.5 for i in range(12)} | {"undefined": 0.4})
    out = paired_difference(a, b)
    assert out["n"] == 12 and out["mean"] == pytest.approx(diffs.mean())
    assert out["low"] < out["mean"] < out["high"]
    assert out["low"] > 0  # a clear, consistent lead excludes 0
    assert paired_difference(a, b) == out  # seeded


def test_a_coin_flip_interval_contains_zero():
    a = report({"x": 0.9, "y": 0.1, "z": 0.8, "w": 0.2})
    b = report({"x": 0.1, "y": 0.9, "z": 0.2, "w": 0.8})
    out = paired_difference(a, b)
    assert out["low"] < 0 < out["high"] and out["wins"] == out["losses"] == 2


def test_nothing_in_common_gives_none():
    assert paired_difference(report({"x": 0.5}), report({"y": 0.5})) is None


def test_paired_cells_and_interval_text():
    from fennec.evaluation.report import format_ci, paired_cells

    d = {"key": "weighted_tau", "mean": 0.034, "low": 0.017, "high": 0.054, "wins": 6, "losses": 1}
    assert paired_cells(d) == "+0.034 [+0.017, +0.054] | 6 / 1"
    assert format_ci(d, "  90% CI ") == "  90% CI [+0.017, +0.054]"
    parc = {"key": "pearson_parc", "mean": 10.81, "low": None, "high": None, "wins": 5, "losses": 1}
    assert paired_cells(parc) == "+10.8 | 5 / 1" and format_ci(parc) == ""


def test_average_reports_averages_each_dataset_over_the_runs_that_define_it():
    from fennec.evaluation.report import average_reports

    def rep(a: float | None, b: float, c: float | None = None) -> dict:
        per = {"a": {"weighted_tau": a, "pearson_parc": 10.0}, "b": {"weighted_tau": b, "pearson_parc": None}}
        if c is not None:
            per["c"] = {"weighted_tau": c}
        taus = [t for t in (a, b, c) if t is not None]
        return {"per_dataset": per, "mean": {"weighted_tau": sum(taus) / len(taus), "pearson_parc": 10.0}}

    out = average_reports([rep(0.2, 0.4, 0.9), rep(0.6, 0.8), rep(None, 0.3)])
    assert set(out["per_dataset"]) == {"a", "b"}  # c is in one run only
    assert out["per_dataset"]["a"]["weighted_tau"] == pytest.approx(0.4)  # undefined is left out, not 0
    assert out["per_dataset"]["b"]["weighted_tau"] == pytest.approx(0.5)
    assert out["per_dataset"]["b"]["pearson_parc"] is None and out["per_dataset"]["a"]["pearson_parc"] == 10.0
    assert out["mean"]["weighted_tau"] == pytest.approx((0.5 + 0.7 + 0.3) / 3)  # the runs' own means
    assert out["range"]["weighted_tau"] == pytest.approx((0.3, 0.7))
    with pytest.raises(ValueError, match="no reports"):
        average_reports([])
