"""Model selection on held-out folds (fennec.space.selection), on planted arrays."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.space.fit import Batch, standardize
from fennec.space.selection import best_epoch, choose_learned_scale, dataset_folds, paired_gain
from tests.space.planted_arrays import N_TASKS, with_cheap_scores


def test_early_stopping_folds_partition_the_datasets(data):
    _, batch, _ = data
    folds = dataset_folds(batch, val_fraction=0.25, seed=0)
    assert len(folds) == 4
    assert set().union(*folds) == set(range(N_TASKS)) and sum(len(f) for f in folds) == N_TASKS
    assert dataset_folds(batch, val_fraction=0.25, seed=0) == folds  # seeded
    assert dataset_folds(batch, val_fraction=0.0, seed=0) == []


def test_best_epoch_is_the_minimum_of_the_mean_curve():
    assert best_epoch([[3.0, 1.0, 2.0], [3.0, 2.0, 1.5]], default=300) == 20
    assert best_epoch([[3.0, 1.0], [3.0, 2.0, 0.1]], default=300) == 20  # common length
    assert best_epoch([[], []], default=300) == 300


def test_learned_scale_keeps_a_useful_residual_and_drops_noise(data):
    _, batch, _ = data
    z, _ = standardize(batch)
    rng = np.random.default_rng(1)
    fixed = 0.3 * rng.standard_normal(len(z))
    held = [np.isin(batch.task, f) for f in ([0, 1, 2, 3], [4, 5, 6, 7])]
    zero = np.zeros(len(z))
    useful = [(fixed, z - fixed, zero, h) for h in held]     # baseline + 1 * main effect is the truth
    noise = [(z, rng.standard_normal(len(z)), rng.standard_normal(len(z)), h) for h in held]  # baseline alone
    # the first scales that rank every group perfectly; the interaction is zero, so its smallest scale
    assert choose_learned_scale(useful, batch, separate=True) == ((1.0, 0.0), 1.0)  # ranks every group right
    assert choose_learned_scale(useful, batch) == ((1.0, 1.0), 1.0)  # one scale for both by default
    assert choose_learned_scale(noise, batch, separate=True)[0] == (0.0, 0.0)
    assert choose_learned_scale(noise, batch)[0] == (0.0, 0.0)
    assert choose_learned_scale([], batch) == ((1.0, 1.0), None)  # nothing held out: keep everything
    # a useful main effect and a noisy interaction are told apart, unless one scale must serve both
    mixed = [(fixed, z - fixed, 3.0 * rng.standard_normal(len(z)), h) for h in held]
    assert choose_learned_scale(mixed, batch, separate=True)[0] == (1.0, 0.0)
    (a, c), one_score = choose_learned_scale(mixed, batch, separate=False)
    assert a == c > 0.0  # one scale: the noise has to be kept with the useful part
    assert one_score < choose_learned_scale(mixed, batch, separate=True)[1]
    swapped = [(fixed, zero, z - fixed, h) for h in held]   # the interaction carries it
    assert choose_learned_scale(swapped, batch, separate=True)[0] == (0.0, 1.0)


def test_cheap_scores_do_not_choose_the_learned_scale(data):
    """Fine-tuned accuracy is what the space predicts: held-out cheap scores that rank the other way must not
    move the scale or its held-out tau."""
    _, batch, _ = data
    z, _ = standardize(batch)
    fixed = 0.3 * np.random.default_rng(1).standard_normal(len(z))
    held = [np.isin(batch.task, f) for f in ([0, 1, 2, 3], [4, 5, 6, 7])]
    parts = [(fixed, z - fixed, np.zeros(len(z)), h) for h in held]
    mixed = with_cheap_scores(batch)
    twice = [tuple(np.concatenate([p, p]) for p in part) for part in parts]  # cheap rows get the same scores
    assert choose_learned_scale(twice, mixed, separate=True) == choose_learned_scale(parts, batch, separate=True)
    assert choose_learned_scale(twice, mixed, separate=True)[1] == 1.0
    # a one-point grid is a fixed scale, scored all the same
    (a, c), tau = choose_learned_scale(parts, batch, grid=np.array([0.0]))
    assert (a, c) == (0.0, 0.0) and tau < 1.0


def test_paired_gain_is_the_weighted_mean_over_groups_of_their_mean_gain_over_folds(data):
    """Checked against scipy's weightedtau group by group: a group held out by two folds counts once, with its
    mean gain, and the standard error is that of a weighted mean over the groups."""
    from scipy.stats import weightedtau

    _, batch, _ = data
    batch = Batch(**{**batch.__dict__, "group_weight": np.linspace(0.5, 2.0, N_TASKS)})
    z, _ = standardize(batch)
    rng = np.random.default_rng(3)
    fixed, main = rng.standard_normal(len(z)), z + rng.standard_normal(len(z))
    zero = np.zeros(len(z))
    held = [np.isin(batch.task, f) for f in ([0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 6, 7])]  # 0, 1, 6, 7 twice
    parts = [(fixed, main, zero, h) for h in held]
    gain, se = paired_gain(parts, batch, (1.0, 1.0), (0.0, 0.0))

    def tau(rows, a):
        return weightedtau(fixed[rows] + a * main[rows], z[rows]).statistic

    def group_gain(g):
        rows = [np.flatnonzero(h & (batch.group == g)) for h in held]
        return np.mean([tau(r, 1.0) - tau(r, 0.0) for r in rows if len(r)])

    diff = np.array([group_gain(g) for g in range(N_TASKS)])
    w = batch.group_weight
    mean = w @ diff / w.sum()
    assert gain == pytest.approx(mean)
    assert gain > 2 * se > 0  # the main effect carries the truth: a clear gain
    # the standard error, checked without restating it: with equal weights it is scipy's standard error of the
    # mean over the groups' gains, and weights scaled by a constant leave it (and the gain) as they are
    from scipy.stats import sem

    for weights in (np.ones(N_TASKS), np.full(N_TASKS, 3.0)):
        even = Batch(**{**batch.__dict__, "group_weight": weights})
        gain_even, se_even = paired_gain(parts, even, (1.0, 1.0), (0.0, 0.0))
        assert gain_even == pytest.approx(diff.mean()) and se_even == pytest.approx(sem(diff))
    scaled = Batch(**{**batch.__dict__, "group_weight": 7.0 * w})
    assert paired_gain(parts, scaled, (1.0, 1.0), (0.0, 0.0)) == pytest.approx((gain, se))
    # with unequal weights: the HC1 heteroskedasticity-consistent standard error of the intercept of a weighted
    # least-squares fit of the gains on a constant (MacKinnon & White 1985), in its general matrix form
    x = np.ones((N_TASKS, 1))
    bread = np.linalg.inv(x.T @ (w[:, None] * x))
    beta = bread @ x.T @ (w * diff)
    meat = x.T @ (((w * (diff - x @ beta)) ** 2)[:, None] * x)
    hc1 = bread @ meat @ bread * N_TASKS / (N_TASKS - 1)
    assert (gain, se) == pytest.approx((beta[0], np.sqrt(hc1[0, 0])))
    # against itself: no gain; with one held-out group: no standard error to trust
    assert paired_gain(parts, batch, (1.0, 1.0), (1.0, 1.0)) == (0.0, 0.0)
    one = [(fixed, main, zero, batch.task == 0)]
    assert paired_gain(one, batch, (1.0, 1.0), (0.0, 0.0))[1] == np.inf
    assert paired_gain([], batch, (1.0, 1.0), (0.0, 0.0)) == (0.0, np.inf)


def test_dropping_the_interaction_is_chosen_only_when_it_ranks_better(data):
    """drop_interaction adds (a, 0) to the one-scale pairs: a useful main effect beside a noisy interaction keeps
    the first and drops the second; where the interaction carries the truth, one scale for both stays."""
    _, batch, _ = data
    z, _ = standardize(batch)
    rng = np.random.default_rng(2)
    fixed = 0.3 * rng.standard_normal(len(z))
    held = [np.isin(batch.task, f) for f in ([0, 1, 2, 3], [4, 5, 6, 7])]
    noisy = [(fixed, z - fixed, 3.0 * rng.standard_normal(len(z)), h) for h in held]
    (a, c), tau = choose_learned_scale(noisy, batch, drop_interaction=True)
    assert a > 0.0 and c == 0.0 and tau == 1.0
    assert choose_learned_scale(noisy, batch)[1] < tau  # one scale for both must keep the noise
    carried = [(fixed, np.zeros(len(z)), z - fixed, h) for h in held]
    assert choose_learned_scale(carried, batch, drop_interaction=True) == choose_learned_scale(carried, batch)


def test_tied_pairs_keep_the_smallest_scales_with_or_without_dropping_the_interaction(data):
    """Where nothing learned moves any ranking, every pair ties: the smallest, (0, 0), is chosen, never a
    (a, 0) that a rounding difference in the totals would favour."""
    _, batch, _ = data
    z, _ = standardize(batch)
    zero = np.zeros(len(z))
    for seed in range(10):
        fixed = np.random.default_rng(seed).standard_normal(len(z))
        parts = [(fixed, zero, zero, np.isin(batch.task, f)) for f in ([0, 1, 2, 3], [4, 5, 6, 7])]
        assert choose_learned_scale(parts, batch, drop_interaction=True)[0] == (0.0, 0.0)


def test_paired_gain_counts_datasets_not_groups(data):
    """Two groups of one dataset (two cheap scorers, say) are one dataset's evidence: no standard error."""
    _, batch, _ = data
    two = Batch(**{**batch.__dict__, "group": np.where(batch.task == 0, 0, np.where(batch.model % 2, 1, 2)),
                   "group_weight": np.ones(3), "group_dataset": np.array([0, 1, 1])})
    z, _ = standardize(two)
    fixed = np.random.default_rng(0).standard_normal(len(z))
    held = two.task == 1
    parts = [(fixed, z, np.zeros(len(z)), held)]
    gain, se = paired_gain(parts, two, (1.0, 1.0), (0.0, 0.0))
    assert gain > 0 and se == np.inf


def test_description_view_is_chosen_on_the_folds_unless_fixed():
    """choose_view keeps descriptions when the folds rank better with them, drops them when the same folds rank
    better without, and a fixed setting overrides the folds."""
    from fennec.space.fit import Batch, standardize
    from fennec.space.selection import choose_view

    rng = np.random.default_rng(0)
    n_tasks, n_models = 6, 8
    task = np.repeat(np.arange(n_tasks), n_models)
    batch = Batch(model=np.tile(np.arange(n_models), n_tasks), task=task, bench=np.zeros(task.size, int),
                  group=task, value=rng.standard_normal(task.size), group_weight=np.ones(n_tasks),
                  group_dataset=np.arange(n_tasks))
    z, _ = standardize(batch)
    zero = np.zeros(task.size)
    held = [np.isin(task, [0, 1, 2]), np.isin(task, [3, 4, 5])]
    right = [(zero, z, zero, h) for h in held]                          # scores that rank every group right
    wrong = [(zero, rng.standard_normal(task.size), zero, h) for h in held]
    # the first scale that ranks every group right: 0.1 (at 0 the scores are constant, which ranks nothing)
    assert choose_view(right, wrong, batch, "cv") == (True, (0.1, 0.1))
    assert choose_view(wrong, right, batch, "cv") == (False, (0.1, 0.1))
    assert choose_view(wrong, right, batch, "keep")[0] is True
    assert choose_view(right, wrong, batch, "drop")[0] is False
