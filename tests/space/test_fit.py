"""The training loops on planted arrays: the cold-start head learns what the features say, and only that head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from fennec.space.fit import (
    CLIP_SIGMA,
    STANDARDIZATIONS,
    Batch,
    Inputs,
    best_epoch,
    choose_learned_scale,
    dataset_folds,
    feature_group_scales,
    fit_cold_head,
    ridge_cv,
    set_baseline,
    spread_weights,
    standardize,
    train_net,
    zoo_weights,
)
from fennec.space.net import TransferNet

N_MODELS, N_WARM, N_TASKS, N_FEAT, TEXT = 40, 30, 8, 6, 4


def planted(seed: int = 0) -> tuple[Inputs, Batch, np.ndarray]:
    """Models whose fine-tuning result is driven by feature 0 (plus a task-dependent part from feature 1).

    Only the first N_WARM models have records; the rest are cold-start models to be scored from features.
    Returns the inputs, the records and the noise-free results (N_MODELS, N_TASKS).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_MODELS, N_FEAT)).astype(np.float32)
    y = rng.standard_normal((N_TASKS, 3)).astype(np.float32)
    truth = x[:, :1] + 0.5 * x[:, 1:2] * y[None, :, 0]
    rows = [(m, t, truth[m, t] + 0.1 * rng.standard_normal()) for m in range(N_WARM) for t in range(N_TASKS)]
    m_idx, t_idx, value = (np.array(c) for c in zip(*rows, strict=True))
    free_idx = np.where(np.arange(N_MODELS) < N_WARM, np.arange(N_MODELS), -1)
    inp = Inputs(model_x=torch.as_tensor(x), pre=torch.zeros(N_MODELS, TEXT), free_idx=torch.as_tensor(free_idx),
                 task_y=torch.as_tensor(y), desc=torch.zeros(N_TASKS, TEXT), names=torch.zeros(N_TASKS, TEXT))
    batch = Batch(model=m_idx, task=t_idx, bench=np.zeros(len(rows), int), group=t_idx, value=value.astype(float),
                  group_weight=np.ones(N_TASKS), group_dataset=np.arange(N_TASKS))
    return inp, batch, truth


def fit(inp: Inputs, batch: Batch, cold: bool = False) -> TransferNet:
    torch.manual_seed(0)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    net, _ = train_net(net, inp, batch, epochs=150, lr=0.03, listnet_weight=1.0, tau=0.5, l2_free=1e-2,
                       l2_interaction=1e-2, l2_offset=1e-2, l2_proj=1e-3, seed=0)
    if cold:
        fit_cold_head(net, inp, batch)
    return net.eval()


def cold_scores(net: TransferNet, inp: Inputs) -> np.ndarray:
    """(N_MODELS - N_WARM, N_TASKS) scores of the models without records."""
    with torch.no_grad():
        mvec, mbias = net.model_parts(inp.model_x, inp.pre, inp.free_idx)
        tvec = net.task_parts(inp.task_y, inp.desc, inp.names)
    return (mvec @ tvec.T + mbias[:, None]).numpy()[N_WARM:]


@pytest.fixture(scope="module")
def data() -> tuple[Inputs, Batch, np.ndarray]:
    return planted()


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


def test_held_out_datasets_give_a_validation_curve(data):
    inp, batch, _ = data
    torch.manual_seed(0)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    _, info = train_net(net, inp, batch, epochs=50, lr=0.03, listnet_weight=1.0, tau=0.5, l2_free=1e-2,
                        l2_interaction=1e-2, l2_offset=1e-2, l2_proj=1e-3, seed=0, val_datasets={0, 1})
    assert len(info["val_curve"]) == 5 and all(np.isfinite(info["val_curve"]))
    # the state kept for the held-out scores is the one at the best check, not the last one
    assert int(np.argmin(info["val_curve"])) < len(info["val_curve"]) - 1  # on this data the best check is early
    assert any(not torch.equal(info["best_state"][k], v) for k, v in net.state_dict().items())


def test_kept_states_are_the_net_at_every_check(data):
    """``keep_states`` keeps the net at each held-out check, so probes can be scored at any checked epoch."""
    inp, batch, _ = data
    kwargs = {"lr": 0.03, "listnet_weight": 1.0, "tau": 0.5, "l2_free": 1e-2, "l2_interaction": 1e-2,
              "l2_offset": 1e-2, "l2_proj": 1e-3, "seed": 0, "val_datasets": {0, 1}}
    torch.manual_seed(0)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    _, info = train_net(net, inp, batch, epochs=50, keep_states=True, **kwargs)
    assert len(info["states"]) == len(info["val_curve"]) == 5
    for k, v in net.state_dict().items():  # the last check is the end of training
        assert torch.equal(info["states"][-1][k], v)
    best = int(np.argmin(info["val_curve"]))
    for k, v in info["best_state"].items():
        assert torch.equal(info["states"][best][k], v)
    torch.manual_seed(0)
    again = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    _, short = train_net(again, inp, batch, epochs=20, **kwargs)  # the second check is the net after 20 epochs
    for k, v in again.state_dict().items():
        assert torch.equal(info["states"][1][k], v)
    assert short["states"] == []  # not kept unless asked


def test_validation_stops_training_once_the_held_out_loss_stops_improving(data):
    inp, batch, _ = data
    torch.manual_seed(0)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    _, info = train_net(net, inp, batch, epochs=3000, lr=0.03, listnet_weight=1.0, tau=0.5, l2_free=1e-2,
                        l2_interaction=1e-2, l2_offset=1e-2, l2_proj=1e-3, seed=0, val_datasets={0, 1}, patience=3)
    curve = info["val_curve"]
    assert len(curve) < 300  # stopped before the 3000 epochs
    assert int(np.argmin(curve)) == len(curve) - 1 - 3  # ... right when 3 checks in a row found nothing better


def test_baseline_is_each_models_mean_z_over_the_training_groups_only(data):
    inp, batch, _ = data
    z, _ = standardize(batch)
    train = np.arange(N_TASKS) < 6  # groups 6 and 7 held out
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    set_baseline(net, inp, batch, train, prior=0.0)
    rows = train[batch.group]
    expected = np.bincount(batch.model[rows], z[rows], minlength=N_WARM) / np.bincount(batch.model[rows])
    np.testing.assert_allclose(net.base.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(net.base_bench.numpy(), 0.0, atol=1e-5)  # one benchmark: nothing beyond a_m
    # the held-out groups' results do not reach the baseline
    moved = Batch(**{**batch.__dict__, "value": np.where(rows, batch.value, -batch.value)})
    other = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    set_baseline(other, inp, moved, train, prior=0.0)
    torch.testing.assert_close(other.base, net.base)


def test_spread_weights_are_each_groups_spread_relative_to_its_benchmarks_groups():
    """Three groups of benchmark 0 spread 1, 2 and 4 (median 2); benchmark 1's one group, in other units, gets 1;
    a failed run in the last group does not set its spread (sigma clipping leaves it out)."""
    base = np.linspace(-1.5, 1.5, 20)  # 20 results of std s * base.std()
    values, groups, benches = [], [], []
    for g, (scale, bench) in enumerate([(1.0, 0), (2.0, 0), (4.0, 0), (100.0, 1)]):
        v = 50 + scale * base
        if g == 2:
            v = np.r_[v, 50 - 400.0]  # far outside: clipped away
        values.append(v)
        groups.append(np.full(len(v), g))
        benches.append(np.full(len(v), bench))
    value, group, bench = (np.concatenate(a) for a in (values, groups, benches))
    n = len(value)
    batch = Batch(model=np.arange(n) % 20, task=group, bench=bench, group=group, value=value,
                  group_weight=np.ones(4), group_dataset=np.arange(4))
    np.testing.assert_allclose(spread_weights(batch), [0.5, 1.0, 2.0, 1.0], rtol=1e-9)


def test_spread_weighted_baseline_on_one_benchmark_is_the_mean_centred_result(data):
    """With weight_by_spread, prior 0 and one benchmark (no outliers), a model's baseline ranks the models as the
    mean of their centred raw results does: z times the group's spread is the centred result."""
    inp, batch, _ = data
    train = np.ones(N_TASKS, bool)
    # stretch some groups' results: equal weights would let the small groups count as much as the stretched ones
    stretched = Batch(**{**batch.__dict__, "value": batch.value * np.where(batch.group % 2 == 0, 10.0, 0.5)})
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    set_baseline(net, inp, stretched, train, prior=0.0, weight_by_spread=True)
    means = np.bincount(stretched.group, stretched.value) / np.bincount(stretched.group)
    centred = np.bincount(stretched.model, stretched.value - means[stretched.group], minlength=N_WARM)
    np.testing.assert_allclose(net.base.numpy() / net.base.numpy().std(), centred / centred.std(), atol=1e-4)
    set_baseline(net, inp, stretched, train, prior=0.0)  # equal weights: the mean z-score, another ranking
    assert not np.allclose(net.base.numpy() / net.base.numpy().std(), centred / centred.std(), atol=1e-2)


def test_baseline_prior_shrinks_towards_an_average_model_and_a_negative_one_turns_it_off(data):
    inp, batch, _ = data
    train = np.ones(N_TASKS, bool)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    set_baseline(net, inp, batch, train, prior=0.0)
    raw = net.base.clone()
    set_baseline(net, inp, batch, train, prior=N_TASKS)  # as many pseudo-groups as groups: halved
    torch.testing.assert_close(net.base, raw / 2, atol=1e-5, rtol=1e-4)
    set_baseline(net, inp, batch, train, prior=-1.0)
    assert float(net.base.abs().max()) == 0.0


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


def test_scale_shrinks_only_the_learned_parts_of_warm_models(data):
    inp, batch, _ = data
    net = fit(inp, batch, cold=True)
    warm = inp.free_idx >= 0
    with torch.no_grad():
        full = net.model_parts(inp.model_x, inp.pre, inp.free_idx)
        half = net.model_parts(inp.model_x, inp.pre, inp.free_idx, scale=0.5)
        none = net.model_parts(inp.model_x, inp.pre, inp.free_idx, scale=0.0)
    assert float(none[0][warm].abs().max()) == 0.0
    torch.testing.assert_close(none[1][warm], net.base)  # only the fixed baseline is left
    torch.testing.assert_close(half[0][warm], full[0][warm] / 2)
    torch.testing.assert_close(half[1][warm], (full[1][warm] + net.base) / 2)
    for scaled in (half, none):  # the cold head was fitted to scaled vectors: its rows are not scaled again
        torch.testing.assert_close(scaled[0][~warm], full[0][~warm])
        torch.testing.assert_close(scaled[1][~warm], full[1][~warm])
    torch.testing.assert_close(net.offsets(0.0), net.base_bench)


@pytest.mark.parametrize("interaction", [0.0, 0.4, 1.0])
def test_cold_and_warm_rows_share_the_scaled_source_affinity(data, interaction):
    """The source-affinity columns k p come from the pre-training text for every model, so the interaction scale
    shrinks them for a cold-start row as for a warm one: otherwise a new model's affinity to a task would weigh
    1 / c times a warm model's in the same ranking."""
    inp, batch, _ = data
    net = fit(inp, batch, cold=True)
    with torch.no_grad():
        net.affinity.copy_(torch.tensor([0.3, -0.2]))  # a learned affinity, whatever training left
    pre = torch.randn(N_MODELS, TEXT, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        warm, _ = net.model_parts(inp.model_x, pre, inp.free_idx, scale=0.5, interaction=interaction)
        cold, _ = net.model_parts(inp.model_x, pre, torch.full_like(inp.free_idx, -1), scale=0.5,
                                  interaction=interaction)
        full, _ = net.model_parts(inp.model_x, pre, inp.free_idx)
    d = net.cold_proj.out_features
    torch.testing.assert_close(cold[:, d:], warm[:, d:])
    torch.testing.assert_close(warm[:, d:], interaction * full[:, d:])
    assert float(full[:, d:].abs().max()) > 0


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


def with_cheap_scores(batch: Batch) -> Batch:
    """``batch`` plus one group of cheap scores per dataset that ranks its models the other way round."""
    n_groups = len(batch.group_weight)
    cat = np.concatenate
    return Batch(model=cat([batch.model, batch.model]), task=cat([batch.task, batch.task]),
                 bench=cat([batch.bench, batch.bench]), group=cat([batch.group, batch.group + n_groups]),
                 value=cat([batch.value, -batch.value]),
                 group_weight=cat([batch.group_weight, np.full(n_groups, 0.3)]),
                 group_dataset=cat([batch.group_dataset, batch.group_dataset]),
                 group_cheap=cat([np.zeros(n_groups, bool), np.ones(n_groups, bool)]))


def test_validation_groups_are_the_fine_tuning_groups_unless_there_are_none(data):
    _, batch, _ = data
    assert batch.validation_groups().all()  # no flags: every group
    mixed = with_cheap_scores(batch)
    np.testing.assert_array_equal(mixed.validation_groups(), ~mixed.group_cheap)
    only_cheap = Batch(**{**batch.__dict__, "group_cheap": np.ones(N_TASKS, bool)})
    assert only_cheap.validation_groups().all()


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


def test_cheap_scores_of_held_out_datasets_do_not_reach_the_early_stopping_curve(data):
    inp, batch, _ = data
    curves = []
    for sign in (1.0, -1.0):  # the held-out datasets' cheap scores as built, then flipped
        torch.manual_seed(0)
        net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
        mixed = with_cheap_scores(batch)
        flip = mixed.group_cheap[mixed.group] & np.isin(mixed.task, [0, 1])
        mixed.value = np.where(flip, sign * mixed.value, mixed.value)
        _, info = train_net(net, inp, mixed, epochs=60, lr=0.03, listnet_weight=1.0,
                            tau=0.5, l2_free=1e-2, l2_interaction=1e-2, l2_offset=1e-2, l2_proj=1e-3, seed=0,
                            val_datasets={0, 1}, patience=100)
        curves.append(info["val_curve"])
    # training sees datasets 2..7 only, so flipping the held-out datasets' cheap scores changes nothing
    # but what a curve over every held-out group would read
    assert len(curves[0]) == 6  # the fine-tuning groups of the held-out datasets were checked every 10 epochs
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-6)


def _one_group(values: list[float], kind: str) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    batch = Batch(model=np.arange(n), task=np.zeros(n, int), bench=np.zeros(n, int), group=np.zeros(n, int),
                  value=np.asarray(values, float), group_weight=np.ones(1), group_dataset=np.zeros(1, int),
                  standardization=kind)
    return standardize(batch)


@pytest.mark.parametrize("kind", STANDARDIZATIONS)
def test_standardized_results_have_zero_mean_unit_spread_and_keep_the_order(kind):
    values = [71.0, 80.5, 64.2, 90.1, 85.0, 77.7]
    z, keep = _one_group(values, kind)
    assert keep.all()
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    assert (np.argsort(z) == np.argsort(values)).all()


def test_normal_scores_of_a_group_do_not_move_when_one_result_falls_further_behind():
    base = [71.0, 80.5, 64.2, 90.1, 85.0, 77.7]
    failed = [*base[:2], 5.0, *base[3:]]  # the worst model's run failed: far below the others, same rank
    z_before, _ = _one_group(base, "z")
    z_after, _ = _one_group(failed, "z")
    n_before, _ = _one_group(base, "normal")
    n_after, _ = _one_group(failed, "normal")
    np.testing.assert_allclose(n_after, n_before)
    assert np.abs(z_after - z_before).max() > 0.3  # z-scores of the other five models are squeezed together


def test_clipped_targets_leave_a_failed_run_out_of_the_others_scale_and_hold_it_at_the_bound():
    rng = np.random.default_rng(0)
    good = 80.0 + 2.0 * rng.standard_normal(39)
    for failed in (20.0, 5.0):
        z, keep = _one_group([*good, failed], "clipped")
        assert keep.all() and z[-1] == -CLIP_SIGMA
        np.testing.assert_allclose(z[:-1], (good - good.mean()) / good.std())  # as if the run were not there
    plain, _ = _one_group([*good, 5.0], "z")
    assert plain[:-1].std() < 0.4  # plain z-scores: the one failure squeezes the 39 others together


@pytest.mark.parametrize("values", [[70.0] * 24 + [5.0],
                                    [0.0099] * 110 + [0.653, 0.139]])  # 0.0099: rounding leaves a std of 1e-18
def test_clipped_targets_of_a_group_tied_but_for_a_few_results_are_its_z_scores(values):
    z, keep = _one_group(values, "clipped")
    assert keep.all() and np.isfinite(z).all()
    np.testing.assert_allclose(z, np.clip(_one_group(values, "z")[0], -CLIP_SIGMA, CLIP_SIGMA))
    assert len(set(z[-2:])) == len(set(values[-2:]))  # the results that differ keep their order


@pytest.mark.parametrize("kind", STANDARDIZATIONS)
def test_a_group_of_equal_results_is_left_out_whatever_rounding_leaves(kind):
    _, keep = _one_group([0.1, 0.1, 0.1, 0.1], kind)
    assert not keep.any()


def test_clipped_targets_are_z_scores_in_a_group_too_small_to_reach_the_bound():
    values = [85.0, 75.0, 70.2, 69.8, 70.1, 69.9, 70.0]  # one model far ahead, as in the planted worlds
    np.testing.assert_allclose(_one_group(values, "clipped")[0], _one_group(values, "z")[0])


def test_normal_scores_give_tied_results_the_same_target_and_skip_groups_without_spread():
    z, keep = _one_group([60.0, 70.0, 70.0, 80.0], "normal")
    assert z[1] == z[2] and z[0] < z[1] < z[3]
    _, keep = _one_group([50.0, 50.0, 50.0], "normal")
    assert not keep.any()


def test_an_unknown_standardization_is_refused():
    with pytest.raises(ValueError, match="standardization"):
        _one_group([1.0, 2.0, 3.0], "ranks")
