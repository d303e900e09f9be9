"""The transfer space: planted answers, determinism, cold start, warm start, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fennec.space import TransferSpace
from fennec.space.store import load_space, save_space
from fennec.space.zoo import ZooModel, model_from_id
from fennec.validation import FennecInputError

FAST = {"epochs": 150, "val_fraction": 0.0, "n_members": 2}


@pytest.fixture(scope="module")
def fitted(world):
    records, models, tasks = world
    return TransferSpace(**FAST).fit(records, models, tasks)


@pytest.mark.parametrize("held_out", ["birds", "aircraft", "food"])
def test_planted_specialist_ranks_first_on_an_unseen_task(world, held_out):
    records, models, tasks = world
    train = [r for r in records if r.dataset != held_out]
    visible = {k: v for k, v in tasks.items() if k != held_out}
    space = TransferSpace(**FAST).fit(train, models, visible)
    ids = sorted(models)
    scores = space.score(tasks[held_out], ids)
    assert ids[int(np.argmax(scores))] == f"test:{held_out}"


def test_source_affinity_is_learned_positive(fitted):
    assert all(float(net.affinity.detach().sum()) > 0 for net in fitted.nets_)


def test_fit_is_deterministic(world):
    records, models, tasks = world
    a = TransferSpace(**FAST).fit(records, models, tasks)
    b = TransferSpace(**FAST).fit(records, models, tasks)
    np.testing.assert_array_equal(a.model_vectors_, b.model_vectors_)
    np.testing.assert_array_equal(a.task_vectors_, b.task_vectors_)


def test_ensemble_score_is_the_mean_of_its_members(world):
    records, models, tasks = world
    both = TransferSpace(**{**FAST, "n_members": 2}).fit(records, models, tasks)
    one = TransferSpace(**{**FAST, "n_members": 1}).fit(records, models, tasks)
    other = TransferSpace(**{**FAST, "n_members": 1, "seed": 1}).fit(records, models, tasks)
    # every member shares the same text PCA, so the mean of two single-member spaces is the ensemble
    mean = (one.score(tasks["cars"]) + other.score(tasks["cars"])) / 2
    np.testing.assert_allclose(both.score(tasks["cars"]), mean, rtol=1e-4, atol=1e-4)


def test_the_targets_standardization_reaches_training(world):
    """The planted world's groups (7 models) are too small for a result to lie 4 standard deviations out, so the
    clipped targets are its z-scores and train the same space; normal scores train another."""
    records, models, tasks = world
    fits = {k: TransferSpace(**{**FAST, "n_members": 1}, standardization=k).fit(records, models, tasks)
            for k in ("clipped", "z", "normal")}
    np.testing.assert_allclose(fits["clipped"].model_vectors_, fits["z"].model_vectors_, atol=1e-6)
    assert not np.allclose(fits["normal"].model_vectors_, fits["z"].model_vectors_)


def test_a_failed_run_leaves_the_clipped_space_near_the_one_trained_without_it(world):
    """With 27 models per task a failed run (5% where the others reach 70) lies beyond 4 standard deviations:
    clipped targets set it aside, so the space stays close to the one trained without it; plain z-scores let it
    squeeze every other model's target on that task together."""
    import dataclasses

    from fennec.records.store import ModelInfo
    from fennec.space.planted import planted_records

    _, models, tasks = world
    models = dict(models)
    for i in range(20):
        models[f"test:plain{i}"] = ModelInfo(id=f"test:plain{i}", name=f"plain{i}", architecture="",
                                             pretraining="supervised pre-training on everyday objects")
    clean = planted_records({t: f"test:{t}" for t in tasks}, models, "test:generic", "planted",
                            np.random.default_rng(0))
    failed = [dataclasses.replace(r, value=5.0) if (r.model, r.dataset) == ("test:plain0", "birds") else r
              for r in clean]
    params = {**FAST, "n_members": 1}

    def scores(records, kind):
        space = TransferSpace(**params, standardization=kind).fit(records, models, tasks)
        return np.stack([space.score(tasks[t]) for t in ("cars", "food")])

    ref = scores(clean, "clipped")
    clipped_gap = np.abs(scores(failed, "clipped") - ref).max()
    z_gap = np.abs(scores(failed, "z") - ref).max()
    assert clipped_gap < 0.5 * z_gap


def test_seed_changes_the_fit(world):
    records, models, tasks = world
    a = TransferSpace(**FAST, seed=0).fit(records, models, tasks)
    b = TransferSpace(**FAST, seed=1).fit(records, models, tasks)
    assert not np.allclose(a.model_vectors_, b.model_vectors_)


def test_score_is_the_folded_dot_product(fitted, world):
    _, _, tasks = world
    ids = fitted.model_ids_
    tvec = fitted.task_vectors([tasks["dogs"]])[0]
    np.testing.assert_allclose(fitted.score(tasks["dogs"]), fitted.model_vectors(ids) @ tvec, rtol=1e-5)
    assert tvec[-1] == 1.0  # the bias coordinate


def test_cold_start_model_gets_a_vector_from_its_pretraining_alone(fitted, world):
    _, _, tasks = world
    space = load_like(fitted)
    # an architecture archi2vec does not know: the model is embedded from its pre-training text alone, and told so
    # (once per process: clear the memo so the warning does not depend on which test met the name first)
    from fennec.space import features

    features._WARNED.discard("bird_net")
    with pytest.warns(UserWarning, match="archi2vec could not embed 'bird_net'"):
        added = space.add_models({"timm:bird_net": ZooModel("timm:bird_net", "bird_net", "supervised pre-training on "
                                                                               "photos of bird species")})
    assert added == ["timm:bird_net"]
    assert space.model_positions()["timm:bird_net"] == len(space.model_ids_) - 1  # the lookup follows the zoo
    assert not space.has_records("timm:bird_net") and space.has_records("test:birds")
    s = space.score(tasks["birds"], ["timm:bird_net", "test:cars", "test:food"])
    assert s[0] > s[1] and s[0] > s[2]
    # adding twice is a no-op
    assert space.add_models({"timm:bird_net": ZooModel("timm:bird_net", "bird_net", None)}) == []


@pytest.mark.parametrize("cold_head", ["linear", "ridge"])
def test_cold_head_weighs_each_zoo_the_same_unless_told_to_count_models(world, monkeypatch, cold_head):
    """By default the head weighs models by their benchmarks' zoo sizes (cold_fit.zoo_weights, which
    test_cold_fit checks); cold_weight="model" counts each model once."""
    import dataclasses

    import fennec.space.cold_fit as fit_module
    from fennec.space import space as space_module
    from fennec.space.cold import ColdHead

    records, models, tasks = world
    # a second, smaller benchmark: three of the models, published again by another paper
    small = sorted({r.model for r in records})[:3]
    records = [*records, *(dataclasses.replace(r, benchmark="other", value=r.value + 1.0)
                           for r in records if r.model in small)]
    seen = []
    if cold_head == "ridge":
        real = fit_module.fit_cold_head

        def spy(*args, sample_weight=None, **kw):
            seen.append(sample_weight)
            return real(*args, sample_weight=sample_weight, **kw)

        monkeypatch.setattr(space_module, "fit_cold_head", spy)
    else:
        real_fit = ColdHead.fit

        def spy_fit(self, x, target, arch, text, sample_weight=None):
            seen.append(sample_weight)
            return real_fit(self, x, target, arch, text, sample_weight)

        monkeypatch.setattr(ColdHead, "fit", spy_fit)
    space = TransferSpace(**FAST, cold_head=cold_head).fit(records, models, tasks)
    zoos = {b: {r.model for r in records if r.benchmark == b} for b in {r.benchmark for r in records}}
    raw = np.array([sum(1 / len(z) for z in zoos.values() if m in z) for m in space.model_ids_])
    assert len(seen) == FAST["n_members"] and len(set(raw[raw > 0])) == 2
    expected = raw / raw[raw > 0].mean()
    if cold_head != "ridge":  # the default head is handed the models with records only
        expected = expected[np.isin(space.model_ids_, space.free_ids_)]
    np.testing.assert_allclose(seen[-1], expected)
    TransferSpace(**FAST, cold_head=cold_head, cold_weight="model").fit(records, models, tasks)
    assert seen[-1] is None if cold_head == "ridge" else np.all(seen[-1] == 1.0)


def test_cold_head_cross_validated_by_architecture_still_reads_the_pretraining(world, tmp_path, monkeypatch):
    """With the head's penalties chosen by holding out whole architectures, a new model pre-trained on birds is
    still first on birds, and the choice is saved with the space."""
    import fennec.space.cold_fit as fit_module

    records, models, tasks = world
    groups_seen = []
    real = fit_module.ridge_cv

    def spy(x, y, grid, cv_groups=None, sample_weight=None):
        groups_seen.append(None if cv_groups is None else sorted(set(cv_groups)))
        return real(x, y, grid, cv_groups, sample_weight)

    monkeypatch.setattr(fit_module, "ridge_cv", spy)
    space = TransferSpace(**FAST, cold_head="ridge", cold_cv="architecture").fit(records, models, tasks)
    # every penalty search held out architectures (a model without one is its own group)
    archs = sorted({getattr(m, "architecture", None) or mid for mid, m in models.items()})
    assert groups_seen and all(g == archs for g in groups_seen)
    again = load_space(save_space(space, tmp_path / "space"))
    assert (again.cold_cv, again.cold_head) == ("architecture", "ridge")
    again.add_models({"timm:resnet18.bird": ZooModel("timm:resnet18.bird", "resnet18",
                                                     "supervised pre-training on photos of bird species")})
    s = again.score(tasks["birds"], ["timm:resnet18.bird", "test:cars", "test:food"])
    assert s[0] > s[1] and s[0] > s[2]


def load_like(space: TransferSpace) -> TransferSpace:
    import copy

    return copy.deepcopy(space)


@pytest.mark.parametrize("cold_head", ["linear", "ridge"])
def test_every_cold_head_puts_a_bird_pretrained_newcomer_first_on_birds_and_survives_saving(world, tmp_path,
                                                                                             cold_head):
    records, models, tasks = world
    space = TransferSpace(**FAST, cold_head=cold_head).fit(records, models, tasks)
    new = {"timm:resnet18.birds": ZooModel("timm:resnet18.birds", "resnet18",
                                           "supervised pre-training on photos of bird species")}
    again = load_space(save_space(space, tmp_path / "space"))
    assert again.cold_head == cold_head
    np.testing.assert_allclose(again.cold_start_vectors(list(new.values())),
                               space.cold_start_vectors(list(new.values())), rtol=1e-5, atol=1e-6)
    again.add_models(new)
    s = again.score(tasks["birds"], ["timm:resnet18.birds", "test:cars", "test:food"])
    assert s[0] > s[1] and s[0] > s[2]


def test_a_space_saved_before_an_option_says_how_it_was_trained(world, tmp_path):
    """A config without cold_head was written by a space whose nets hold the ridge head, one without
    standardization by a space trained on z-scores: it loads as such and gives the cold-start vectors it gave."""
    import json

    records, models, tasks = world
    space = TransferSpace(**FAST, cold_head="ridge", standardization="z", benchmark_scales=False).fit(
        records, models, tasks)
    out = save_space(space, tmp_path / "space")
    config = json.loads((out / "config.json").read_text())
    del config["cold_head"], config["standardization"], config["benchmark_scales"]
    (out / "config.json").write_text(json.dumps(config))
    again = load_space(out)
    assert again.cold_head == "ridge" and again.standardization == "z" and not again.benchmark_scales
    assert again.bench_scales_ == {}
    new = [model_from_id("timm:resnet18")]
    np.testing.assert_allclose(again.cold_start_vectors(new), space.cold_start_vectors(new), rtol=1e-5, atol=1e-6)


def test_save_and_load_round_trip(fitted, world, tmp_path):
    _, _, tasks = world
    out = save_space(fitted, tmp_path / "space")
    again = load_space(out)
    np.testing.assert_allclose(again.score(tasks["flowers"]), fitted.score(tasks["flowers"]), rtol=1e-6)
    assert again.model_ids_ == fitted.model_ids_
    save_space(again, out)  # replacing a space leaves no temporary directory behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space"]


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


def test_warm_start_starts_from_the_previous_space(fitted, world):
    records, models, tasks = world
    warm = TransferSpace(epochs=1, lr=1e-6, val_fraction=0.0, n_members=2).fit(records, models, tasks, init=fitted)
    cold = TransferSpace(epochs=1, lr=1e-6, val_fraction=0.0, n_members=2).fit(records, models, tasks)
    ref = fitted.model_vectors_
    assert np.abs(warm.model_vectors_ - ref).max() < np.abs(cold.model_vectors_ - ref).max() / 10
    assert warm.train_info_["warm_start"] and not cold.train_info_["warm_start"]


def test_a_previous_space_of_another_width_is_not_warm_started_from(fitted, world):
    """Vectors of another width cannot be copied: said before training, which then starts from scratch."""
    records, models, tasks = world
    with pytest.warns(UserWarning, match="not warm-starting.*dim=4"):
        wide = TransferSpace(epochs=1, val_fraction=0.0, n_members=1, dim=4).fit(records, models, tasks, init=fitted)
    assert wide.dim == 4 and not wide.train_info_["warm_start"]


def test_a_benchmark_that_reprints_another_is_scored_under_its_protocol(world, tmp_path):
    from dataclasses import replace

    from fennec.space.training_records import benchmark_aliases, usable_records

    records, models, tasks = world
    # "reprint" copies the planted table and adds two numbers of its own; "other" shares one number by chance
    reprint = [replace(r, benchmark="reprint") for r in records]
    reprint += [replace(r, benchmark="reprint", metric="finetune_top5_acc", value=r.value + 3.0) for r in records[:2]]
    other = [replace(r, benchmark="other", value=r.value + 1.0) for r in records[:-1]] + [
        replace(records[-1], benchmark="other")]
    assert benchmark_aliases(*usable_records(records + reprint + other)) == {"reprint": "planted"}
    space = TransferSpace(**FAST).fit(records + reprint, models, tasks)
    assert space.benchmark_alias_ == {"reprint": "planted"}
    for t in ("birds", "food"):
        np.testing.assert_array_equal(space.score(tasks[t], benchmark="reprint"),
                                      space.score(tasks[t], benchmark="planted"))
    loaded = load_space(save_space(space, tmp_path / "space"))
    assert loaded.benchmark_alias_ == {"reprint": "planted"}


def test_nearest_tasks_and_accuracy_range(fitted, world):
    _, _, tasks = world
    tvec = fitted.task_vectors([tasks["birds"]])[0]
    nearest = fitted.nearest_tasks(tvec, k=2)
    assert nearest[0][0] == "birds"
    lo, hi = fitted.accuracy_range("test:birds", ["birds"])
    assert 80 < lo <= hi < 90


def test_an_error_rate_benchmark_is_learned_upside_up(world):
    """The planted world's fine-tuning records given as error rates (100 - accuracy) train the same space: the
    space reads them negated, not dropped and not upside down."""
    import dataclasses

    records, models, tasks = world
    as_error = [dataclasses.replace(r, metric="top1_err", value=100.0 - r.value) for r in records]
    acc = TransferSpace(**FAST).fit(records, models, tasks)
    err = TransferSpace(**FAST).fit(as_error, models, tasks)
    assert err.train_info_["n_records"] == acc.train_info_["n_records"]
    for task in ("birds", "cars", "dogs"):
        np.testing.assert_allclose(err.score(tasks[task]), acc.score(tasks[task]), atol=1e-5)
    assert err.history_.size and np.all(np.isnan(err.history_))  # errors are not accuracies to show as ranges


def test_no_usable_records_is_a_clear_error(world):
    from fennec.validation import FennecInputError

    _, models, tasks = world
    with pytest.raises(FennecInputError, match="no usable records"):
        TransferSpace(**FAST).fit([], models, tasks)


def test_records_of_two_models_a_dataset_are_a_clear_error_not_a_space_that_learned_nothing(world):
    """Within-group ranks are what the space learns from; groups of fewer than 3 models are dropped, so a store
    of only such groups trained a space whose every score was 0."""
    from fennec.validation import FennecInputError

    records, models, tasks = world
    pairs = [r for r in records if r.model in ("test:birds", "test:generic")]
    with pytest.raises(FennecInputError, match="3 or more models"):
        TransferSpace(**FAST).fit(pairs, models, tasks)
    three = [r for r in records if r.model in ("test:birds", "test:dogs", "test:generic")]
    assert np.ptp(TransferSpace(**FAST).fit(three, models, tasks).score(tasks["birds"])) > 0


def test_fit_trains_on_one_thread_and_restores_torch_setting(world, monkeypatch):
    """Several CPU threads make torch's reductions run-dependent (and BLAS threads slow on busy cores); training
    must not see them."""
    import torch
    from threadpoolctl import threadpool_info

    import fennec.space.space as space_module

    seen: list[int] = []
    blas: list[set[int]] = []
    real, real_head = space_module.train_net, space_module.cold_head_targets

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    def spy_head(*args, **kwargs):
        blas.append({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
        return real_head(*args, **kwargs)

    monkeypatch.setattr(space_module, "train_net", spy)
    monkeypatch.setattr(space_module, "cold_head_targets", spy_head)  # the default head's fit follows it
    records, models, tasks = world
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        TransferSpace(epochs=20, cv_repeats=1, n_members=1).fit(records, models, tasks)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert seen and set(seen) == {1}
    assert blas and all(b == {1} for b in blas)  # numpy's BLAS too, where the cold head's ridges run


def test_separate_scales_shrink_the_planted_interactions_more_than_the_main_effects(world):
    """Why separate_scales is off by default: on the planted world the folds keep the main effects and shrink
    the source affinity, which is the part this world is built to reward."""
    records, models, tasks = world
    space = TransferSpace(epochs=60, n_members=1, separate_scales=True).fit(records, models, tasks)
    assert space.interaction_scale_ < space.learned_scale_
    default = TransferSpace(epochs=60, n_members=1).fit(records, models, tasks)
    assert default.interaction_scale_ == default.learned_scale_


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


def test_dropped_descriptions_leave_task_vectors_without_them(world, tmp_path):
    records, models, tasks = world
    space = TransferSpace(epochs=30, n_members=1, cv_repeats=1, description="drop").fit(records, models, tasks)
    assert space.use_description_ is False and space.train_info_["use_description"] is False
    card = tasks["birds"]
    start = space.n_members * space.dim  # [v, d, n, 1]: the d block is the projected description
    d_block = slice(start, start + space.text_components)
    assert not space.task_vectors([card])[0][d_block].any()
    assert not space.task_vectors_[:, d_block].any()
    again = load_space(save_space(space, tmp_path / "space"))
    assert again.use_description_ is False
    np.testing.assert_allclose(again.task_vectors([card]), space.task_vectors([card]), atol=1e-6)
    kept = TransferSpace(epochs=30, n_members=1, cv_repeats=1, description="keep").fit(records, models, tasks)
    assert kept.use_description_ is True and kept.task_vectors([card])[0][d_block].any()
    from fennec.validation import FennecInputError

    with pytest.raises(FennecInputError, match="description"):
        TransferSpace(description="sometimes").fit(records, models, tasks)
    with pytest.raises(FennecInputError, match="cold_cv"):
        TransferSpace(cold_cv="family").fit(records, models, tasks)
    with pytest.raises(FennecInputError, match="cold_weight"):
        TransferSpace(cold_weight="task").fit(records, models, tasks)
    with pytest.raises(FennecInputError, match="cold_head"):
        TransferSpace(cold_head="gp").fit(records, models, tasks)
    with pytest.raises(FennecInputError, match="cold_head='ridge' only"):  # the default head chooses by LOO
        TransferSpace(cold_cv="architecture").fit(records, models, tasks)
    with pytest.raises(FennecInputError, match="standardization"):
        TransferSpace(standardization="rank").fit(records, models, tasks)


def _with_parc_newcomer(world):
    """The planted world plus PARC scores (cheap, from forward passes) of every model on every task, and a
    newcomer with PARC scores only: they say it is the best model on birds and poor elsewhere."""
    from dataclasses import replace

    from fennec.records.store import ModelInfo, Record

    records, models, tasks = world
    rng = np.random.default_rng(1)
    models = dict(models, **{"test:newcomer": ModelInfo(id="test:newcomer", name="newcomer", architecture="",
                                                       pretraining="supervised pre-training on everyday objects")})
    parc = []
    for t in tasks:
        for m in models:
            value = 40.0 + 20.0 * (m == f"test:{t}") + (30.0 if m == "test:newcomer" and t == "birds" else 0.0)
            parc.append(Record(model=m, dataset=t, benchmark="planted", metric="parc",
                               value=float(value + rng.standard_normal())))
    return [replace(r) for r in records] + parc, models, tasks


def test_cheap_scores_are_an_auxiliary_target(world):
    from fennec.records.metrics import is_cheap_metric

    assert is_cheap_metric("parc") and not is_cheap_metric("finetune_top1_acc")
    records, models, tasks = _with_parc_newcomer(world)
    gap = {}
    for aux_weight in (0.3, 0.0):
        space = TransferSpace(**{**FAST, "aux_weight": aux_weight}).fit(records, models, tasks)
        assert space.has_records("test:newcomer")
        birds, dogs = (space.score(tasks[t], ["test:newcomer"])[0] for t in ("birds", "dogs"))
        gap[aux_weight] = birds - dogs
    # from its PARC scores alone the space learns that the newcomer suits birds; with the cheap groups weighted 0
    # it learns nothing of the kind (what is left comes from its features, which it shares with the generic model)
    assert gap[0.3] > 0.5 and gap[0.3] - gap[0.0] > 0.5, gap


def test_architectures_archi2vec_cannot_embed_are_reported_once_in_one_line():
    import warnings

    from fennec.space import features

    names = ["not_a_net_one", "not_a_net_two"]
    features._WARNED.difference_update(names)
    with pytest.warns(UserWarning, match=r"could not embed 2 architectures \('not_a_net_one', 'not_a_net_two';"):
        _, has, _ = features.arch_embeddings([*names, "resnet18", names[0]])
    assert has.tolist() == [0.0, 0.0, 1.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same zoo again (another evaluation fold): nothing new to say
        features.arch_embeddings(names)


def test_a_score_protocol_record_under_an_unknown_metric_name_is_kept_as_a_score():
    """A record of protocol 'score' whose metric is no registered scorer crashed the fit's deduplication."""
    from fennec.records import Record
    from fennec.space.training_records import usable_records

    score = Record(model="m", dataset="d", benchmark="b", metric="myscore", value=1.0, protocol="score")
    acc = Record(model="m", dataset="d", benchmark="b", metric="top1_acc", value=80.0)
    assert sorted(r.metric for r in usable_records([score, acc])[0]) == ["myscore", "top1_acc"]
    # ... and it is a cheap score's group: an auxiliary target (aux_weight), never what held-out checks score
    parc = Record(model="m", dataset="d", benchmark="b", metric="parc", value=0.5, protocol="score")
    space = TransferSpace(aux_weight=0.25)
    batch = space._batch([score, acc, parc], {"m": 0}, {"d": 0}, {"b": 0})
    cheap = {k[2]: c for k, c in zip(sorted({("b", "d", m) for m in ("myscore", "top1_acc", "parc")}),
                                     batch.group_cheap, strict=True)}
    assert cheap == {"myscore": True, "top1_acc": False, "parc": True}
    np.testing.assert_array_equal(batch.group_weight, np.where(batch.group_cheap, 0.25, 1.0))


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


def test_a_model_without_records_does_not_shape_the_preprocessing(world):
    """The text PCA and the size scaling are fitted on the models with records: a model added later never
    shapes them, so neither may a cold-start model the evaluation holds out (lomo)."""
    records, models, tasks = world
    kwargs = {"epochs": 5, "n_members": 1, "val_fraction": 0.0}
    alone = TransferSpace(**kwargs).fit(records, models, tasks)
    stranger = ZooModel("timm:convnext_xxlarge.stranger", "convnext_xxlarge",
                        "self-supervised on a billion satellite images of oceans")
    with_it = TransferSpace(**kwargs).fit(records, {**models, stranger.id: stranger}, tasks)
    np.testing.assert_array_equal(with_it.text_components_, alone.text_components_)
    np.testing.assert_array_equal(with_it.size_scale_, alone.size_scale_)
    assert stranger.id in with_it.model_ids_ and not with_it.has_records(stranger.id)


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
