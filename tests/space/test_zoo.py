"""Models named by id for a cold-start vector: what each source's id says, and typos as clear errors."""

from __future__ import annotations

import os

import numpy as np
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
    assert "CLIP" in model_from_id("open_clip:ViT-B-32:openai").pretraining
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


# ---------------------------------------------------------------------------------------------------- open_clip
@pytest.mark.parametrize(("model_id", "arch"), [
    ("open_clip:RN50:openai", "resnet50_clip"), ("open_clip:RN101:openai", "resnet101_clip"),
    ("open_clip:ViT-B-32:openai", "vit_base_patch32_clip_224"),
    ("open_clip:ViT-L-14:openai", "vit_large_patch14_clip_224"),
    ("open_clip:ViT-bigG-14:laion2b_s39b_b160k", "vit_gigantic_patch14_clip_224"),
    ("open_clip:EVA02-B-16:merged2b_s8b_b131k", "eva02_base_patch16_clip_224"),
])
def test_an_open_clip_id_has_the_timm_architecture_of_its_image_tower(model_id, arch):
    """The architecture was None for every open_clip id: RN50, ViT-B-32 and ViT-bigG-14 ranked alike (a probe)."""
    from fennec.records.aliases import resolve_model

    assert model_from_id(model_id).architecture == arch
    assert resolve_model(model_id).architecture == arch  # ingest reads the id the same way


def test_open_clip_architectures_of_different_size_get_different_cold_start_features():
    from fennec.space.features import model_features

    models = [model_from_id(m) for m in ("open_clip:RN50:openai", "open_clip:RN101:openai",
                                         "open_clip:ViT-B-32:openai")]
    mf = model_features(models)
    assert (mf.flags[:, 0] == 1).all()  # each has an archi2vec vector
    assert len({tuple(np.round(row, 5)) for row in np.hstack([mf.arch, mf.size])}) == 3
    assert mf.size[1, 0] > mf.size[0, 0]  # RN101 has more parameters than RN50
    assert (mf.pretraining[0] == mf.pretraining[1]).all()  # the same text: only the architecture tells them apart


def test_the_open_clip_table_names_timm_architectures_and_covers_open_clip():
    """The table is data derived from open_clip's model configs: every value is a timm architecture, a tower open_clip
    builds with timm is the one its config names, and every architecture open_clip ships has an entry."""
    import json
    from pathlib import Path

    import open_clip

    from fennec.records.aliases import open_clip_to_timm, timm_knows

    OPEN_CLIP_TO_TIMM = open_clip_to_timm()

    assert [a for a in OPEN_CLIP_TO_TIMM.values() if not timm_knows(a)] == []
    assert sorted(set(open_clip.list_models()) - set(OPEN_CLIP_TO_TIMM)) == []
    configs = Path(open_clip.__file__).parent / "model_configs"
    for arch in open_clip.list_models():
        named = json.loads((configs / f"{arch}.json").read_text())["vision_cfg"].get("timm_model_name")
        if named:
            assert OPEN_CLIP_TO_TIMM[arch] == named, arch


def test_an_open_clip_id_without_weights_is_refused_with_its_tags():
    with pytest.raises(FennecInputError, match=r"'open_clip:RN50': names no pre-trained weights; give "
                       r"open_clip:RN50:TAG with TAG one of openai, yfcc15m, cc12m"):
        model_from_id("open_clip:RN50")


def test_an_open_clip_weights_file_must_be_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.bin").write_text("not weights at all\n")
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save({"w": torch.zeros(2)}, tmp_path / "real.bin")
    for name, why in [("notes.bin", "is not a torch checkpoint"), ("empty.pt", "is empty"),
                      ("missing.bin", "does not exist"), (str(tmp_path), "is not a file")]:
        with pytest.raises(FennecInputError, match=why):
            model_from_id(f"open_clip:RN50:{name}")
    model = model_from_id("open_clip:RN50:real.bin")  # relative: stored with its absolute path
    assert (model.id, model.architecture) == (f"open_clip:RN50:{tmp_path / 'real.bin'}", "resnet50_clip")


# ------------------------------------------------------------------------------------------ one spelling, characters
def test_a_local_id_is_its_files_absolute_path_whatever_the_spelling(tmp_path, monkeypatch):
    (tmp_path / "ck").mkdir()
    save_checkpoint(tmp_path / "ck" / "good.pt", torch.nn.Linear(2, 3), "resnet10t", "glyphs", 32, ["a", "b", "c"])
    monkeypatch.chdir(tmp_path)
    ids = {model_from_id(m).id for m in ("local:ck/good.pt", "local:./ck/good.pt", f"local:{tmp_path}/ck/good.pt",
                                         f"local:{tmp_path}/ck//good.pt", "local:ck/../ck/good.pt")}
    assert ids == {f"local:{os.path.realpath(tmp_path / 'ck' / 'good.pt')}"}


@pytest.mark.parametrize("model_id", ["local:/x/comma,x.pt", "local:/x/tab\tx.pt", "local:/x/nl\nx.pt",
                                      "local:/x/bell\ax.pt", "timm:resnet18,timm:resnet50"])
def test_an_id_with_a_comma_or_a_control_character_is_refused_in_one_line(model_id):
    with pytest.raises(FennecInputError, match=r"(a comma|the control character).*rename the file") as info:
        model_from_id(model_id)
    assert "\n" not in str(info.value) and "\t" not in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_a_blank_pretraining_text_is_refused(text):
    with pytest.raises(FennecInputError, match=r"pretraining: expected what the weights were pre-trained on"):
        model_from_id("timm:resnet18", pretraining=text)
