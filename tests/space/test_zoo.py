"""Models named by id for a cold-start vector: what each source's id says, and typos as clear errors."""

from __future__ import annotations

import pytest
import torch

from fennec.space.zoo import model_from_id
from fennec.validation import FennecInputError
from fennec.zoo.checkpoints import save_checkpoint


def test_a_local_checkpoint_gives_its_own_architecture_and_pretraining(tmp_path):
    path = tmp_path / "net.pt"
    save_checkpoint(path, torch.nn.Linear(2, 3), "resnet10t", "supervised on glyphs (3 scripts)", 32, ["a", "b", "c"])
    model = model_from_id(f"local:{path}")
    assert (model.architecture, model.pretraining) == ("resnet10t", "supervised on glyphs (3 scripts)")
    assert model_from_id(f"local:{path}", pretraining="my words").pretraining == "my words"


@pytest.mark.parametrize(("model_id", "message"), [
    ("torchvision:resnet5O", r"unknown torchvision classification model 'resnet5O'; did you mean resnet50"),
    ("open_clip:ViT-B-3:openai", r"unknown open_clip model 'ViT-B-3'; did you mean .*ViT-B-32"),
    ("open_clip:ViT-B-32:laion2b", r"no pre-trained tag 'laion2b' for 'ViT-B-32'; expected one of .*openai"),
    ("timm:resnet50.a1_in1kk", r"no pre-trained tag 'a1_in1kk' for 'resnet50'; expected one of .*a1_in1k"),
    ("local:/no/such/net.pt", r"does not exist"),
    ("hf:someone/net", r"not in the space, and a hf: id cannot get a cold-start vector"),
])
def test_a_name_its_source_does_not_know_is_a_clear_error(model_id, message):
    with pytest.raises(FennecInputError, match=message):
        model_from_id(model_id)


def test_known_names_of_every_source_are_accepted():
    assert model_from_id("timm:resnet50.a1_in1k").architecture == "resnet50"
    assert model_from_id("timm:resnet50").architecture == "resnet50"  # no tag: timm's default weights
    assert model_from_id("torchvision:resnet50").architecture == "resnet50"
    assert "CLIP" in model_from_id("open_clip:ViT-B-32").pretraining
    assert "LAION" in model_from_id("open_clip:ViT-B-32:laion2b_s34b_b79k").pretraining


@pytest.mark.parametrize(("bare", "tagged"), [("timm:resnet50", "timm:resnet50.a1_in1k"),
                                              ("timm:convnext_tiny", "timm:convnext_tiny.in12k_ft_in1k")])
def test_a_timm_id_without_its_tag_is_the_model_timm_loads_by_default(bare, tagged):
    """The same weights, so the same metadata (and so the same cold-start vector): a bare id was read as generic
    ImageNet-1k weights and scored far from its tagged twin (a probe)."""
    from fennec.records.aliases import TIMM_DEFAULT_PRETRAINING

    a, b = model_from_id(bare), model_from_id(tagged)
    assert (a.architecture, a.pretraining) == (b.architecture, b.pretraining)
    assert a.pretraining != TIMM_DEFAULT_PRETRAINING  # what a bare id read before, whatever its default tag


@pytest.mark.parametrize("model_id", ["timm:resnet50:/weights/mine.pth", "timm:resnet50.a1_in1k:/weights/mine.pth"])
def test_a_timm_weights_file_is_no_part_of_the_architecture(model_id):
    """``timm:NAME:/path`` (weights of one's own, as the proxy and zoo runs take them) was read as architecture
    'resnet50:/weights/mine' by ingest and refused by zoo add as an unknown timm architecture."""
    from fennec.records.aliases import id_metadata

    assert model_from_id(model_id).architecture == "resnet50"
    assert id_metadata("timm", model_id.partition(":")[2])[0] == "resnet50"
    import warnings

    from fennec.records.aliases import resolve_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ingest warned "no pre-trained tag 'pth'" of the file's suffix
        assert resolve_model(model_id).architecture == "resnet50"
