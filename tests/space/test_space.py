"""The transfer space: planted answers, determinism, warm start, save/load, bad records (cold start in
test_space_cold.py, the folds' scale choices in test_space_scales.py)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fennec.space import TransferSpace
from fennec.space.store import load_space, save_space
from fennec.space.zoo import model_from_id
from fennec.validation import FennecInputError
from tests.space.conftest import FAST


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

    from fennec.records.record import ModelInfo
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




def test_a_space_saved_before_an_option_says_how_it_was_trained(world, tmp_path):
    """A config without cold_head was written by a space whose nets hold the ridge head, one without
    standardization by a space trained on z-scores: it loads as such and gives the cold-start vectors it gave."""

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


def test_a_task_known_by_its_class_names_is_compared_by_them_alone(fitted, world):
    """A task without a description is compared by the parts it has: the same class names as a historical task
    are a similarity of 1, whatever that task's description (the cosine of the concatenated text parts was lower
    the longer a historical task's description, so tasks with short descriptions came first: a probe)."""
    import dataclasses

    _, _, tasks = world
    names_only = dataclasses.replace(tasks["birds"], name="my birds", description="")
    nearest = fitted.nearest_tasks(fitted.task_vectors([names_only])[0], k=3)
    assert nearest[0][0] == "birds" and nearest[0][1] == pytest.approx(1.0, abs=1e-5)
    # a task with both parts: the mean of the two cosines, each 1 for the task itself
    own = fitted.nearest_tasks(fitted.task_vectors([tasks["birds"]])[0], k=1)
    assert own == [("birds", pytest.approx(1.0, abs=1e-5))]


def test_a_ranking_without_nearest_tasks_says_whose_text_is_missing(fitted, world):
    """A space trained on tasks without cards said the new task had no class names when it had some."""
    from fennec.records.cards import TaskCard
    from fennec.space.recommend import recommend

    records, models, tasks = world
    bare = TransferSpace(**FAST).fit(records, models, {t: TaskCard(name=t) for t in tasks})
    leaves = TaskCard(name="leaves", n_classes=3, class_names=("oak", "elm", "ash"))
    res = recommend(bare, leaves, top_k=2)
    assert res["nearest_tasks"] == [] and "the space's historical tasks have no class names" in res["no_nearest_tasks"]
    blank = recommend(fitted, TaskCard(name="blank"), top_k=2)
    assert blank["no_nearest_tasks"] == "the task has no class names or description to compare"
    assert "no_nearest_tasks" not in recommend(fitted, tasks["birds"], top_k=2)


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

    records, models, tasks = world
    with pytest.raises(FennecInputError, match=r"no usable records to train on; ingest transfer results"):
        TransferSpace(**FAST).fit([], models, tasks)
    # a store of pre-training results only (a probe): it has records, none a transfer result, and says so
    own = [dataclasses.replace(r, protocol="pretrain") for r in records]
    with pytest.raises(FennecInputError, match=rf"the {len(own)} records given are results on the models' own "
                                               "pre-training data"):
        TransferSpace(**FAST).fit(own, models, tasks)


def test_records_of_two_models_a_dataset_are_a_clear_error_not_a_space_that_learned_nothing(world):
    """Within-group ranks are what the space learns from; groups of fewer than 3 models are dropped, so a store
    of only such groups trained a space whose every score was 0."""

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

    assert kept.use_description_ is True and kept.task_vectors([card])[0][d_block].any()


BAD_PARAMS = {"description": ("sometimes", "description"), "cold_cv": ("family", "cold_cv"),
              "cold_weight": ("task", "cold_weight"), "cold_head": ("gp", "cold_head"),
              "standardization": ("rank", "standardization"), "lr": (-0.1, "lr: expected a positive number"),
              "l2_free": (-1.0, "l2_free: expected a number >= 0"), "aux_weight": (float("nan"), "aux_weight"),
              "cv_repeats": (0, "cv_repeats"),
              "val_fraction": (1.5, r"val_fraction: expected a number in \[0.0, 1.0\]"),
              "base_prior": ("1", "base_prior: expected a finite number"), "listnet_weight": (None, "listnet_weight")}


@pytest.mark.parametrize("name", sorted(BAD_PARAMS))
def test_a_hyper_parameter_out_of_range_is_a_one_line_error_before_any_training(world, name, monkeypatch):
    import fennec.space.space as space_module

    records, models, tasks = world
    monkeypatch.setattr(space_module, "train_net", None)  # checked before anything trains: no net is ever built
    value, match = BAD_PARAMS[name]
    with pytest.raises(FennecInputError, match=match) as err:
        TransferSpace(**{name: value}).fit(records, models, tasks)
    assert "\n" not in str(err.value)


def test_the_cold_cv_of_the_ridge_head_only_is_refused_for_the_default_head(world):
    records, models, tasks = world
    with pytest.raises(FennecInputError, match="cold_head='ridge' only"):  # the default head chooses by LOO
        TransferSpace(cold_cv="architecture").fit(records, models, tasks)


def _with_parc_newcomer(world):
    """The planted world plus PARC scores (cheap, from forward passes) of every model on every task, and a
    newcomer with PARC scores only: they say it is the best model on birds and poor elsewhere."""
    from dataclasses import replace

    from fennec.records.record import ModelInfo, Record

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
    from fennec.space.training_records import make_batch, usable_records

    score = Record(model="m", dataset="d", benchmark="b", metric="myscore", value=1.0, protocol="score")
    acc = Record(model="m", dataset="d", benchmark="b", metric="top1_acc", value=80.0)
    assert sorted(r.metric for r in usable_records([score, acc])[0]) == ["myscore", "top1_acc"]
    # ... and it is a cheap score's group: an auxiliary target (aux_weight), never what held-out checks score
    parc = Record(model="m", dataset="d", benchmark="b", metric="parc", value=0.5, protocol="score")
    batch = make_batch([score, acc, parc], ["m"], ["d"], ["b"], aux_weight=0.25, standardization="clipped")
    cheap = {k[2]: c for k, c in zip(sorted({("b", "d", m) for m in ("myscore", "top1_acc", "parc")}),
                                     batch.group_cheap, strict=True)}
    assert cheap == {"myscore": True, "top1_acc": False, "parc": True}
    np.testing.assert_array_equal(batch.group_weight, np.where(batch.group_cheap, 0.25, 1.0))


