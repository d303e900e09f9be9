"""Cold start in the transfer space: a model without records gets its vector from its features (the cold-start
head), on the planted world."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fennec.space import TransferSpace
from fennec.space.store import load_space, save_space
from fennec.space.zoo import ZooModel
from tests.space.conftest import FAST


def test_cold_start_model_gets_a_vector_from_its_pretraining_alone(fitted, world):
    _, _, tasks = world
    space = copy.deepcopy(fitted)  # the session's space stays as fitted
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
