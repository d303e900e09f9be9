"""The shares of what is learned that the transfer space keeps, as its cross-validation folds choose them: one
scale, separate scales, each benchmark's own, and the probes they are chosen on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fennec.space import TransferSpace
from fennec.space.store import load_space, save_space
from fennec.space.zoo import model_from_id
from fennec.validation import FennecInputError


def test_cross_validated_learned_scale_is_saved_with_the_space(world, tmp_path):
    records, models, tasks = world
    space = TransferSpace(epochs=60, val_fraction=0.5, cv_repeats=2, n_members=1).fit(records, models, tasks)
    assert 0.0 <= space.learned_scale_ <= 1.5 and space.train_info_["learned_scale"] == space.learned_scale_
    assert space.train_info_["val_folds"] == 4  # two folds, two independent splits
    again = load_space(save_space(space, tmp_path / "space"))
    assert again.learned_scale_ == space.learned_scale_ == space.interaction_scale_ == again.interaction_scale_
    new = [model_from_id("timm:resnet18")]  # cold-start vectors are rebuilt from the towers and the scale
    np.testing.assert_allclose(again.cold_start_vectors(new), space.cold_start_vectors(new), rtol=1e-5, atol=1e-6)


def test_a_fixed_learned_scale_of_zero_leaves_the_baseline_alone(world, tmp_path):
    from fennec.validation import FennecInputError

    records, models, tasks = world
    space = TransferSpace(epochs=60, val_fraction=0.5, n_members=2, learned_scale=0.0).fit(records, models, tasks)
    assert space.learned_scale_ == space.interaction_scale_ == space.train_info_["learned_scale"] == 0.0
    # nothing learned about tasks is kept: every task ranks the models by their fixed baseline, the same for all
    warm = [m for m in space.model_ids_ if any(r.model == m for r in records)]
    first = space.score(tasks["cars"], warm)
    for name in ("dogs", "birds", "food"):
        np.testing.assert_allclose(space.score(tasks[name], warm), first, rtol=1e-6, atol=1e-6)
    base = np.mean([net.base.numpy() for net in space.nets_], axis=0)  # the members share it: set from records
    np.testing.assert_allclose(sorted(first), sorted(base), rtol=1e-5, atol=1e-6)
    assert load_space(save_space(space, tmp_path / "space")).learned_scale == 0.0
    # without cross-validation folds too (nothing to choose on: the fixed share, not "keep everything")
    unfolded = TransferSpace(epochs=20, val_fraction=0.0, n_members=1, learned_scale=0.0).fit(records, models, tasks)
    assert unfolded.learned_scale_ == unfolded.interaction_scale_ == 0.0
    with pytest.raises(FennecInputError, match="learned_scale"):
        TransferSpace(learned_scale=-0.5).fit(records, models, tasks)


def test_separate_scales_are_chosen_saved_and_folded(world, tmp_path):
    """With separate_scales the main-effect and interaction shares are chosen apart, saved, and the folded score
    is still baseline + a * main + c * interaction of the member's own parts."""
    import torch

    records, models, tasks = world
    space = TransferSpace(epochs=60, cv_repeats=1, n_members=1, separate_scales=True).fit(records, models, tasks)
    a, c = space.learned_scale_, space.interaction_scale_
    assert space.train_info_["interaction_scale"] == c and 0.0 <= c <= 1.5
    again = load_space(save_space(space, tmp_path / "space"))
    assert (again.learned_scale_, again.interaction_scale_) == (a, c)
    net = space.nets_[0]
    inp_x = torch.as_tensor(np.zeros((1, net.model_proj.in_features), np.float32))
    pre = torch.zeros(1, net.text_dim)
    warm = torch.zeros(1, dtype=torch.long)  # the first model with records
    with torch.no_grad():
        vec, bias = net.model_parts(inp_x, pre, warm, scale=a, interaction=c)
        full_vec, full_bias = net.model_parts(inp_x, pre, warm)
        base_vec, base_bias = net.model_parts(inp_x, pre, warm, scale=0.0, interaction=0.0)
    torch.testing.assert_close(vec, c * full_vec)
    assert float(base_vec.abs().max()) == 0.0
    torch.testing.assert_close(bias - base_bias, a * (full_bias - base_bias))


def _with_a_shuffled_benchmark(world):
    """The planted world plus a benchmark "shuffled" of the same models and tasks whose +15 on each task goes to
    another domain's specialist: there, what a task's text says about its domain does not tell the best model."""
    from fennec.space.planted import planted_records

    records, models, tasks = world
    names = sorted(tasks)
    rotated = {t: f"test:{names[(i + 1) % len(names)]}" for i, t in enumerate(names)}
    return records + planted_records(rotated, models, "test:generic", "shuffled", np.random.default_rng(1))


def test_each_benchmark_keeps_the_learned_scale_its_own_held_out_datasets_choose(world, tmp_path):
    _, models, tasks = world
    both = _with_a_shuffled_benchmark(world)
    cfg = {"epochs": 60, "val_fraction": 0.5, "cv_repeats": 1, "n_members": 1}
    space = TransferSpace(**cfg).fit(both, models, tasks)  # benchmark_scales=True, the default
    # the learned source affinity is the planted benchmark's answer and noise on the shuffled one
    assert "planted" not in space.bench_scales_ and space.learned_scale_ > 0.5
    assert space.bench_scales_["shuffled"][0] < space.learned_scale_
    assert space.train_info_["benchmark_scales"] == {b: list(v) for b, v in space.bench_scales_.items()}
    # what the choice rests on: shuffled's held-out tau is higher at its own scale than at the space's, and
    # planted's own scale is the space's
    taus = space.train_info_["benchmark_scale_taus"]
    assert taus["shuffled"][0] > taus["shuffled"][1] and taus["planted"][0] == taus["planted"][1]
    # the nets do not depend on the option: under "shuffled" the scores are those of a space whose one scale is
    # shuffled's, under "planted" and without a benchmark (recommend) those of the plain space
    plain = TransferSpace(**cfg, benchmark_scales=False).fit(both, models, tasks)
    fixed = TransferSpace(**cfg, learned_scale=space.bench_scales_["shuffled"][0]).fit(both, models, tasks)
    for t in ("birds", "food"):
        np.testing.assert_allclose(space.score(tasks[t], benchmark="shuffled"),
                                   fixed.score(tasks[t], benchmark="shuffled"), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(space.score(tasks[t], benchmark="planted"),
                                   plain.score(tasks[t], benchmark="planted"), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(space.score(tasks[t]), plain.score(tasks[t]))
    again = load_space(save_space(space, tmp_path / "space"))
    assert again.bench_scales_ == space.bench_scales_
    np.testing.assert_allclose(again.score(tasks["cars"], benchmark="shuffled"),
                               space.score(tasks["cars"], benchmark="shuffled"), rtol=1e-6)
    # a model added later has its cold-start vector under every benchmark's scales
    assert again.add_models({"timm:resnet18": model_from_id("timm:resnet18")}) == ["timm:resnet18"]
    new = again.score(tasks["cars"], ["timm:resnet18"], benchmark="shuffled")
    np.testing.assert_allclose(new, again.score(tasks["cars"], ["timm:resnet18"]), rtol=1e-6)
    assert load_space(save_space(plain, tmp_path / "plain")).bench_scales_ == {}
    # and so does a model without records at fit time (the harness's cold start): its own scales are the
    # head's, whatever the benchmark
    with_new = TransferSpace(**cfg).fit(both, {**models, "timm:resnet18": model_from_id("timm:resnet18")}, tasks)
    assert "shuffled" in with_new.bench_scales_
    np.testing.assert_allclose(with_new.score(tasks["cars"], ["timm:resnet18"], benchmark="shuffled"),
                               with_new.score(tasks["cars"], ["timm:resnet18"]), rtol=1e-6)


def test_a_benchmarks_own_scale_must_beat_the_pooled_one_by_the_standard_errors_asked(world):
    """benchmark_scale_se: shuffled's own scale is kept while its held-out gain over the space's scale exceeds
    that many standard errors of the gain (the manifest reports both), and dropped just past that."""
    _, models, tasks = world
    both = _with_a_shuffled_benchmark(world)
    cfg = {"epochs": 60, "val_fraction": 0.5, "cv_repeats": 1, "n_members": 1}
    space = TransferSpace(**cfg, benchmark_scale_se=0.0).fit(both, models, tasks)
    own, pooled, se = space.train_info_["benchmark_scale_taus"]["shuffled"]
    assert "shuffled" in space.bench_scales_ and own > pooled and 0.0 < se < np.inf
    ratio = (own - pooled) / se
    kept = TransferSpace(**cfg, benchmark_scale_se=0.99 * ratio).fit(both, models, tasks)
    assert kept.bench_scales_ == space.bench_scales_
    dropped = TransferSpace(**cfg, benchmark_scale_se=1.01 * ratio).fit(both, models, tasks)
    assert "shuffled" not in dropped.bench_scales_  # scored as with one scale for all
    plain = TransferSpace(**cfg, benchmark_scales=False).fit(both, models, tasks)
    np.testing.assert_array_equal(dropped.score(tasks["birds"], benchmark="shuffled"),
                                  plain.score(tasks["birds"], benchmark="shuffled"))
    with pytest.raises(FennecInputError, match="benchmark_scale_se"):
        TransferSpace(**cfg, benchmark_scale_se=-1.0).fit(both, models, tasks)


def test_a_benchmark_with_one_held_out_dataset_keeps_the_pooled_scale(world):
    """One dataset cannot tell a scale that suits its benchmark from one that suits itself: a benchmark of one
    dataset, however its held-out tau reads, is scored with the space's scales."""
    import dataclasses

    _, models, tasks = world
    shuffled = _with_a_shuffled_benchmark(world)
    single = [*shuffled, *(dataclasses.replace(r, benchmark="single", value=100.0 - r.value) for r in shuffled
                           if r.benchmark == "shuffled" and r.dataset == "birds")]
    cfg = {"epochs": 60, "val_fraction": 0.5, "cv_repeats": 1, "n_members": 1}
    space = TransferSpace(**cfg).fit(single, models, tasks)
    own, pooled, se = space.train_info_["benchmark_scale_taus"]["single"]
    assert own > pooled and se is None  # its own scale reads better on its one dataset, and is not kept
    assert space.bench_scale_taus_["single"][2] == np.inf
    json.dumps(space.train_info_, allow_nan=False)  # the manifest stays strict JSON
    assert "single" not in space.bench_scales_ and "shuffled" in space.bench_scales_


def test_separate_scales_shrink_the_planted_interactions_more_than_the_main_effects(world):
    """Why separate_scales is off by default: on the planted world the folds keep the main effects and shrink
    the source affinity, which is the part this world is built to reward."""
    records, models, tasks = world
    space = TransferSpace(epochs=60, n_members=1, separate_scales=True).fit(records, models, tasks)
    assert space.interaction_scale_ < space.learned_scale_
    default = TransferSpace(epochs=60, n_members=1).fit(records, models, tasks)
    assert default.interaction_scale_ == default.learned_scale_


def test_probes_scored_at_the_common_epoch_choose_the_scale_the_final_nets_get(world, monkeypatch):
    """probe_epoch="common" scores every cross-validation probe as it was after the epoch count the members then
    train for; the default scores each at its own best held-out epoch."""
    import torch

    import fennec.space.selection as selection_module
    from fennec.space.fit import CHECK_EVERY

    records, models, tasks = world
    # a fast learning rate: the folds' best held-out epochs then differ (20 to 60 on this world)
    kwargs = {"epochs": 80, "n_members": 1, "cv_repeats": 1, "lr": 0.1}

    def run(mode: str) -> tuple[TransferSpace, list[dict], list[dict]]:
        infos, scored = [], []
        real_train, real_parts = selection_module.train_net, selection_module.score_parts

        def train_spy(*args, **kw):
            net, info = real_train(*args, **kw)
            if kw.get("val_datasets") is not None:
                infos.append(info)
            return net, info

        def parts_spy(net, *args, **kw):
            scored.append({k: v.clone() for k, v in net.state_dict().items()})
            return real_parts(net, *args, **kw)

        monkeypatch.setattr(selection_module, "train_net", train_spy)
        monkeypatch.setattr(selection_module, "score_parts", parts_spy)
        space = TransferSpace(**kwargs, probe_epoch=mode).fit(records, models, tasks)
        monkeypatch.undo()
        return space, infos, scored

    def same(a: dict, b: dict) -> bool:
        return all(torch.equal(a[k], b[k]) for k in a)

    common, infos, scored = run("common")
    at = common.train_info_["epochs"] // CHECK_EVERY - 1
    assert len(scored) == len(infos) == 5
    assert all(same(s, info["states"][at]) for s, info in zip(scored, infos, strict=True))
    assert not all(same(s, info["best_state"]) for s, info in zip(scored, infos, strict=True))  # it matters here
    _, infos, scored = run("best")
    assert all(same(s, info["best_state"]) for s, info in zip(scored, infos, strict=True))
    from fennec.validation import FennecInputError

    with pytest.raises(FennecInputError, match="probe_epoch"):
        TransferSpace(**kwargs, probe_epoch="last").fit(records, models, tasks)


def test_benchmark_interaction_reaches_each_benchmarks_choice_and_is_saved(world, tmp_path, monkeypatch):
    import fennec.space.selection as selection_module

    records, models, tasks = world
    seen = []
    real = selection_module.choose_bench_scales

    def spy(*args, **kw):
        seen.append(args[7] if len(args) > 7 else kw.get("drop_interaction", False))
        return real(*args, **kw)

    monkeypatch.setattr(selection_module, "choose_bench_scales", spy)
    cfg = {"epochs": 20, "val_fraction": 0.5, "cv_repeats": 1, "n_members": 1}
    TransferSpace(**cfg).fit(records, models, tasks)
    space = TransferSpace(**cfg, benchmark_interaction=True).fit(records, models, tasks)
    assert seen == [False, True]
    assert load_space(save_space(space, tmp_path / "space")).benchmark_interaction is True


@pytest.mark.parametrize("name", ["separate_scales", "benchmark_scales", "benchmark_interaction"])
def test_a_flag_given_as_text_is_refused_not_read_as_true(world, name):
    records, models, tasks = world
    with pytest.raises(FennecInputError, match=f"{name}: expected true or false"):
        TransferSpace(epochs=5, n_members=1, **{name: "false"}).fit(records, models, tasks)
