"""The cold-start heads fitted into a trained net (fennec.space.cold_fit): the head learns what the features
say, and only that head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from fennec.space.cold_fit import feature_group_scales, fit_cold_head, ridge_cv, zoo_weights
from fennec.space.fit import Batch
from tests.space.planted_arrays import N_TASKS, N_WARM, cold_scores, fit


def test_cold_head_ranks_unseen_models_by_their_planted_results(data):
    inp, batch, truth = data
    scores = cold_scores(fit(inp, batch, cold=True), inp)
    rho = np.mean([spearmanr(scores[:, t], truth[N_WARM:, t]).statistic for t in range(N_TASKS)])
    assert rho > 0.8


def test_the_towers_alone_leave_the_cold_head_silent(data):
    inp, batch, _ = data
    scores = cold_scores(fit(inp, batch), inp)
    assert np.ptp(scores, axis=0).max() == 0.0  # zero-initialised and untouched by train_net: cold models alike


def test_cold_head_reproduces_the_warm_vectors_it_was_fitted_on(data):
    """On the training models, the ridge read-out recovers most of what the towers learned from records."""
    inp, batch, _ = data
    net = fit(inp, batch, cold=True)
    cold_idx = torch.full_like(inp.free_idx, -1)
    with torch.no_grad():
        tvec = net.task_parts(inp.task_y, inp.desc, inp.names)
        warm = net.model_parts(inp.model_x, inp.pre, inp.free_idx)
        cold = net.model_parts(inp.model_x, inp.pre, cold_idx)
    ws = (warm[0] @ tvec.T + warm[1][:, None]).numpy()[:N_WARM]
    cs = (cold[0] @ tvec.T + cold[1][:, None]).numpy()[:N_WARM]
    assert np.corrcoef(ws.ravel(), cs.ravel())[0, 1] > 0.9


def test_cold_head_leaves_every_other_weight_untouched(data):
    inp, batch, _ = data
    a, b = fit(inp, batch), fit(inp, batch, cold=True)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        if not name.startswith("cold_"):
            torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=name)


def test_cold_head_predicts_the_scaled_warm_scores(data):
    """With the learned parts scaled to 0 the warm score is the fixed baseline alone: the cold head then reads out
    no interaction and a quality that tracks the baseline a_m."""
    inp, batch, _ = data
    net = fit(inp, batch)
    fit_cold_head(net, inp, batch, scale=0.0)
    cold_idx = torch.full_like(inp.free_idx, -1)
    with torch.no_grad():
        u, b = net.model_parts(inp.model_x, inp.pre, cold_idx)
    assert float(u[:, :4].abs().max()) < 1e-6
    assert np.corrcoef(b.numpy()[:N_WARM], net.base.numpy())[0, 1] > 0.9


def test_feature_group_scales_drop_a_noise_group_and_keep_the_signal():
    rng = np.random.default_rng(0)
    signal, noise = rng.standard_normal((80, 3)), rng.standard_normal((80, 60))
    x = np.concatenate([signal, noise], axis=1)
    target = (signal @ np.array([1.0, -0.5, 0.25]) + 0.1 * rng.standard_normal(80))[:, None]
    col = feature_group_scales(x, target, [slice(0, 3), slice(3, 63)], np.logspace(-3, 4, 15))
    assert col[0] > 0 and col[3] < col[0]  # the noise group is penalised harder than the signal group
    assert np.all(col[:3] == col[0]) and np.all(col[3:] == col[3])  # one scale per group


def test_grouped_ridge_cv_equals_refitting_ridge_on_every_fold():
    """The one-SVD-per-fold path gives the penalty and the error that refitting scikit-learn's Ridge gives."""
    from sklearn.linear_model import Ridge, RidgeCV
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 10))
    y = x[:, :2] @ rng.standard_normal((2, 3)) + 0.5 * rng.standard_normal((60, 3))
    groups, grid = np.repeat(np.arange(12), 5), np.logspace(-3, 4, 15)
    alpha, score = ridge_cv(x, y, grid, groups)
    sq = np.zeros((len(grid), 3))
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        for i, a in enumerate(grid):
            sq[i] += ((Ridge(alpha=a).fit(x[train], y[train]).predict(x[test]) - y[test]) ** 2).sum(0)
    np.testing.assert_array_equal(alpha, grid[sq.argmin(0)])
    np.testing.assert_allclose(score, -sq.min(0) / len(y), rtol=1e-9)
    loo = RidgeCV(alphas=grid, alpha_per_target=True).fit(x, y)  # without groups: leave-one-out
    np.testing.assert_array_equal(ridge_cv(x, y, grid)[0], loo.alpha_)


def test_weighted_ridge_cv_equals_refitting_weighted_ridge_on_every_fold():
    """With sample weights, the grouped path fits weighted least squares and scores a weighted error, as
    scikit-learn's Ridge(sample_weight) refitted on every fold does; leave-one-out is RidgeCV's own."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 10))
    y = x[:, :2] @ rng.standard_normal((2, 2)) + 0.5 * rng.standard_normal((60, 2))
    w = rng.uniform(0.1, 3.0, 60)
    groups, grid = np.repeat(np.arange(12), 5), np.logspace(-3, 4, 15)
    alpha, score = ridge_cv(x, y, grid, groups, sample_weight=w)
    sq = np.zeros((len(grid), 2))
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        for i, a in enumerate(grid):
            pred = Ridge(alpha=a).fit(x[train], y[train], sample_weight=w[train]).predict(x[test])
            sq[i] += (w[test][:, None] * (pred - y[test]) ** 2).sum(0)
    np.testing.assert_array_equal(alpha, grid[sq.argmin(0)])
    np.testing.assert_allclose(score, -sq.min(0) / len(y), rtol=1e-9)
    # leave-one-out: against refitting the weighted ridge without each row in turn
    sq = np.zeros((len(grid), 2))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        for j, a in enumerate(grid):
            pred = Ridge(alpha=a).fit(x[keep], y[keep], sample_weight=w[keep]).predict(x[i:i + 1])
            sq[j] += w[i] * ((pred - y[i:i + 1]) ** 2)[0]
    loo_alpha, loo_score = ridge_cv(x, y, grid, sample_weight=w)
    np.testing.assert_array_equal(loo_alpha, grid[sq.argmin(0)])
    np.testing.assert_allclose(loo_score, -sq.min(0) / len(y), rtol=1e-6)
    with pytest.raises(ValueError, match="sample_weight"):
        ridge_cv(x, y, grid, sample_weight=-w)
    assert not np.array_equal(alpha, ridge_cv(x, y, grid, groups)[0]) or not np.allclose(
        score, ridge_cv(x, y, grid, groups)[1])  # the weights change the answer


def test_zoo_weights_give_every_benchmark_the_same_total_weight():
    # benchmark 0: models 0-3; benchmark 1: models 3-4 (model 3 in both); model 5 has no records
    pairs = [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1), (4, 1)]
    model, bench = (np.array(c) for c in zip(*(p for p in pairs for _ in range(2)), strict=True))
    batch = Batch(model=model, task=np.zeros(len(model), int), bench=bench, group=np.zeros(len(model), int),
                  value=np.zeros(len(model)), group_weight=np.ones(1), group_dataset=np.zeros(1, int))
    w = zoo_weights(batch, 6)
    raw = np.array([1 / 4, 1 / 4, 1 / 4, 1 / 4 + 1 / 2, 1 / 2, 0.0])
    np.testing.assert_allclose(w, raw / raw[:5].mean())
    assert w[:5].mean() == pytest.approx(1.0) and w[5] == 0.0  # a penalty keeps its scale; no records, no say
    # PARC scores of benchmark 1's models under a benchmark of their own (2): another view of a zoo, not a zoo
    scored = Batch(model=np.r_[model, 3, 4], task=np.zeros(len(model) + 2, int), bench=np.r_[bench, 2, 2],
                   group=np.r_[np.zeros(len(model), int), 1, 1], value=np.zeros(len(model) + 2),
                   group_weight=np.ones(2), group_dataset=np.zeros(2, int), group_cheap=np.array([False, True]))
    np.testing.assert_allclose(zoo_weights(scored, 6), w)


def test_holding_out_whole_architectures_asks_for_a_larger_penalty():
    """Siblings (one network, several pre-trainings) share their features: leave-one-out sees a held-out model's
    twin in the fit and trusts the features; holding the network out shows how little they say of a new one."""
    rng = np.random.default_rng(1)
    arch = rng.standard_normal((12, 20))
    x = np.repeat(arch, 6, axis=0) + 0.01 * rng.standard_normal((72, 20))
    quality = np.repeat(rng.standard_normal(12), 6) + 0.1 * rng.standard_normal(72)  # unrelated to the features
    grid = np.logspace(-3, 4, 15)
    loo_alpha, _ = ridge_cv(x, quality[:, None], grid)
    arch_alpha, _ = ridge_cv(x, quality[:, None], grid, np.repeat(np.arange(12), 6))
    assert arch_alpha[0] > 100 * loo_alpha[0]
