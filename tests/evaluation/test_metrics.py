"""Metrics on tiny hand-computed cases."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from fennec.evaluation.metrics import (
    all_metrics,
    pearson,
    pearson_parc,
    rel_at_k,
    spearman,
    weighted_tau,
    weighted_tau_ms,
)


def _hyperbolic_tau(x, y, rank_by):
    """Weighted tau without ties (Vigna 2015), additive hyperbolic weights 1/(r+1), ranks from ``rank_by``."""
    order = sorted(range(len(x)), key=lambda i: -rank_by[i])
    r = {i: k for k, i in enumerate(order)}
    num = den = 0.0
    for i, j in itertools.combinations(range(len(x)), 2):
        w = 1 / (r[i] + 1) + 1 / (r[j] + 1)
        num += w * np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
        den += w
    return num / den


def test_weighted_tau_three_models_by_hand():
    # pairs (0,1) w=3/2 and (0,2) w=4/3 concordant, (1,2) w=5/6 discordant: (3/2+4/3-5/6)/(3/2+4/3+5/6) = 6/11
    assert weighted_tau([3, 2, 1], [3, 1, 2]) == pytest.approx(6 / 11)
    assert weighted_tau_ms([3, 2, 1], [3, 1, 2]) == pytest.approx(6 / 11)
    assert weighted_tau([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert weighted_tau([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)


def test_the_two_conventions_differ_as_defined():
    score = np.array([0.9, 0.1, 0.5, 0.3, 0.8])
    gt = np.array([70.0, 75.0, 80.0, 60.0, 90.0])
    sfda = (_hyperbolic_tau(score, gt, score) + _hyperbolic_tau(score, gt, gt)) / 2  # rank=True averages both
    ms = _hyperbolic_tau(score, gt, gt)  # rank=None: ranks from (gt, score) lexicographically
    assert weighted_tau(score, gt) == pytest.approx(sfda)
    assert weighted_tau_ms(score, gt) == pytest.approx(ms)
    assert not math.isclose(sfda, ms)


def test_pearson_spearman():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [1, 8, 27]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))  # a constant score has no correlation
    assert math.isnan(weighted_tau([5], [1]))


def test_pearson_parc_drops_oracles_not_above_zero():
    assert pearson_parc([1, 2, 3, 100], [1, 2, 3, -1]) == pytest.approx(100.0)
    assert pearson_parc([1, 2, 3, 0], [10, 30, 20, 0]) == pytest.approx(50.0)


def test_rel_at_k():
    score, gt = [0.9, 0.8, 0.1], [80.0, 90.0, 70.0]
    assert rel_at_k(score, gt, 1) == pytest.approx(80 / 90)
    assert rel_at_k(score, gt, 3) == pytest.approx(1.0)
    assert rel_at_k([0.1, 0.8, 0.9], gt, 1) == pytest.approx(70 / 90)
    assert rel_at_k([0.1, 0.8, 0.9], gt, 2) == pytest.approx(1.0)


def test_rel_at_k_of_an_error_rate_is_the_best_error_over_the_picked_one():
    errors = np.array([20.0, 25.0, 40.0])
    gt = -errors  # oriented as the harness orients a lower-is-better metric
    assert rel_at_k([0.1, 0.9, 0.5], gt, 1, higher_is_better=False) == pytest.approx(20 / 25)
    assert rel_at_k([0.9, 0.1, 0.5], gt, 1, higher_is_better=False) == pytest.approx(1.0)
    assert rel_at_k([0.1, 0.5, 0.9], gt, 2, higher_is_better=False) == pytest.approx(20 / 25)
    assert rel_at_k([0, 0, 0], gt, 1, higher_is_better=False) == pytest.approx(20 / ((20 + 25 + 40) / 3))
    assert rel_at_k([0.9, 0.1, 0.5], [0.0, -3.0, -5.0], 1, higher_is_better=False) == 1.0  # an error of 0 picked


def test_rel_at_k_ties_are_random_in_expectation():
    gt = [1.0, 2.0, 3.0, 4.0]
    assert rel_at_k([0, 0, 0, 0], gt, 1) == pytest.approx(2.5 / 4)
    # 3 of 4 tied picked: best is 4 with prob 3/4, else 3
    assert rel_at_k([0, 0, 0, 0], gt, 3) == pytest.approx((0.75 * 4 + 0.25 * 3) / 4)
    # model 0 certain, one of the three tied others: expected max(1, pick) = (2+3+4)/3
    assert rel_at_k([9, 0, 0, 0], gt, 2) == pytest.approx(3 / 4)


def test_all_metrics_keys():
    m = all_metrics([1, 2, 3], [1, 2, 3], parc=True)
    assert list(m) == ["weighted_tau", "weighted_tau_ms", "pearson", "spearman", "rel1", "rel3", "pearson_parc"]
    assert stats.weightedtau([1, 2, 3], [1, 2, 3]).statistic == pytest.approx(m["weighted_tau"])


def test_rel_at_k_is_undefined_when_the_best_value_is_not_positive():
    # a mean log-likelihood: higher is better, every value negative; the ratio read 1.6 for a poor pick
    gt = np.array([-0.5, -0.8, -1.2])
    score = np.array([0.0, 1.0, 2.0])
    assert math.isnan(rel_at_k(score, gt, 1))
    assert math.isnan(rel_at_k(score, gt, 3))
    assert math.isnan(rel_at_k(score, np.array([0.0, -1.0, -2.0]), 1))
    # an error rate oriented (negated) keeps its ratio, at most 1
    assert rel_at_k(score, gt, 1, higher_is_better=False) == pytest.approx(0.5 / 1.2)
    assert rel_at_k(score, np.array([10.0, 5.0, -1.0]), 1) == pytest.approx(-0.1)
