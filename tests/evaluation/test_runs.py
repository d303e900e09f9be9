"""fennec.evaluation.runs: agreement between repeated runs of a ground truth, and their mean."""

from __future__ import annotations

import pytest

from fennec.evaluation.runs import agreement, complete_runs, leave_one_run_out, mean_run


def _run(values: dict[str, tuple[float, ...]]) -> dict[tuple[str, str], float]:
    return {(f"m{i}", target): v for target, vals in values.items() for i, v in enumerate(vals)}


def test_agreement_compares_whole_zoos_only_and_counts_the_rest() -> None:
    reference = _run({"a": (1.0, 2.0, 3.0), "b": (1.0, 2.0, 3.0), "c": (5.0, 5.0, 5.0)})
    run = _run({"a": (2.0, 3.0, 4.0), "b": (3.0, 2.0, 1.0), "c": (1.0, 2.0, 3.0)})
    del run[("m2", "b")]
    out = agreement(run, reference)
    assert set(out["per_target"]) == {"a", "c"} and out["partial"] == {"b": 2}
    a = out["per_target"]["a"]
    assert a["weighted_tau"] == pytest.approx(1.0) and a["pearson"] == pytest.approx(100.0)
    assert a["mean_abs_diff"] == pytest.approx(1.0) and a["n_models"] == 3
    assert out["per_target"]["c"]["weighted_tau"] is None  # a constant reference: undefined, not in the mean
    assert out["mean"]["weighted_tau"] == pytest.approx(1.0)
    assert out["mean"]["mean_abs_diff"] == pytest.approx((1.0 + 3.0) / 2)  # c: off by 4, 3, 2


def test_the_mean_of_runs_averages_complete_runs_only() -> None:
    first, second = _run({"a": (1.0, 2.0)}), _run({"a": (3.0, 6.0)})
    partial = {("m0", "a"): 9.0}
    pairs = list(first)
    assert complete_runs({"s0": first, "s1": second, "s2": partial}, pairs) == ["s0", "s1"]
    assert mean_run([first, second], pairs) == {("m0", "a"): 2.0, ("m1", "a"): 4.0}
    with pytest.raises(ValueError, match="complete runs only"):
        mean_run([first, partial], pairs)


def test_leave_one_run_out_ranks_each_run_against_the_others_mean() -> None:
    runs = {"s0": _run({"a": (1.0, 2.0, 3.0), "b": (1.0, 2.0, 3.0)}),
            "s1": _run({"a": (2.0, 3.0, 4.0), "b": (3.0, 2.0, 1.0)}),
            "s2": _run({"a": (3.0, 4.0, 5.0)})}  # b not fine-tuned a third time: not compared
    out = leave_one_run_out(runs)
    assert out["runs"] == ["s0", "s1", "s2"] and set(out["per_target"]) == {"a"}
    a = out["per_target"]["a"]
    # held-out s0 vs (2.5, 3.5, 4.5), s1 vs (2, 3, 4), s2 vs (1.5, 2.5, 3.5): off by 1.5, 0 and 1.5
    assert a["weighted_tau"] == pytest.approx(1.0) and a["mean_abs_diff"] == pytest.approx(1.0)
    assert a["n_models"] == 3 and out["mean"]["mean_abs_diff"] == pytest.approx(1.0)
    two = leave_one_run_out({"s0": runs["s0"], "s1": runs["s1"]})
    assert two["per_target"] == {} and two["mean"]["weighted_tau"] is None  # needs three runs
