"""The training loop on planted arrays: held-out curves, the fixed baseline, the scaled parts and the
standardised targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fennec.space.fit import (
    CLIP_SIGMA,
    STANDARDIZATIONS,
    Batch,
    set_baseline,
    spread_weights,
    standardize,
    train_net,
)
from fennec.space.net import TransferNet
from tests.space.planted_arrays import N_FEAT, N_MODELS, N_TASKS, N_WARM, TEXT, fit, with_cheap_scores


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


def test_validation_groups_are_the_fine_tuning_groups_unless_there_are_none(data):
    _, batch, _ = data
    assert batch.validation_groups().all()  # no flags: every group
    mixed = with_cheap_scores(batch)
    np.testing.assert_array_equal(mixed.validation_groups(), ~mixed.group_cheap)
    only_cheap = Batch(**{**batch.__dict__, "group_cheap": np.ones(N_TASKS, bool)})
    assert only_cheap.validation_groups().all()


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
