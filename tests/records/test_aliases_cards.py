"""Alias tables (models -> architectures, dataset spellings) and task cards."""

import pytest

from fennec.records import resolve_model
from fennec.records.aliases import canonical_dataset
from fennec.records.cards import TaskCard, parse_classes, shipped_cards
from fennec.validation import FennecInputError


@pytest.mark.parametrize(("name", "arch"), [
    ("mobilenet_v2", "mobilenetv2_100"), ("resnet50", "resnet50"), ("densenet121", "densenet121"),
    ("inception_v3", "inception_v3"), ("mnasnet1_0", "mnasnet_100"), ("googlenet", "torchvision:googlenet"),
    ("alexnet", "torchvision:alexnet"), ("resnet50/moco_imagenet", "resnet50"), ("resnet18/cub200", "resnet18"),
    ("googlenet/nabird", "torchvision:googlenet"), ("google/vit-base-patch16-224", "vit_base_patch16_224"),
    ("google/vit-large-patch32-384", "vit_large_patch32_384"), ("facebook/convnext-large-224", "convnext_large"),
    ("microsoft/swin-tiny-patch4-window7-224", "swin_tiny_patch4_window7_224"),
    ("facebook/deit-base-distilled-patch16-224", "deit_base_distilled_patch16_224"),
    ("microsoft/beit-base-patch16-224-pt22k-ft22k", "beit_base_patch16_224"), ("microsoft/resnet-50", "resnet50"),
    ("timm:resnet50.a1_in1k", "resnet50"),
])
def test_model_architectures(name, arch):
    assert resolve_model(name).architecture == arch


def test_pretraining_texts():
    assert "MoCo self-supervised" in resolve_model("resnet50/moco_imagenet").pretraining
    assert "CUB-200" in resolve_model("resnet18/cub200").pretraining
    assert "ImageNet-1k" in resolve_model("resnet50").pretraining
    assert resolve_model("resnet50").model_id == "torchvision:resnet50"
    assert resolve_model("resnet50/imagenet").model_id == "parc:resnet50/imagenet"
    assert "ImageNet-21k" in resolve_model("facebook/convnext-base-224-22k").pretraining


def test_unknown_model_needs_an_architecture():
    # the message says what is missing and how to keep the model anyway
    with pytest.raises(FennecInputError, match=r"architecture.*local:who_knows"):
        resolve_model("who_knows")
    assert resolve_model("who_knows", "resnet18").model_id == "published:who_knows"


def test_a_plain_name_timm_knows_becomes_a_timm_id_with_its_pretraining():
    a = resolve_model("convnext_tiny.fb_in22k")
    assert (a.model_id, a.architecture) == ("timm:convnext_tiny.fb_in22k", "convnext_tiny")
    assert "ImageNet-21k" in a.pretraining
    assert resolve_model("vit_small_patch16_224").model_id == "timm:vit_small_patch16_224"


def test_source_ids_read_their_pretraining_tag_like_zoo_add():
    from fennec.space.zoo import model_from_id

    for model_id in ("timm:resnet50", "timm:resnet50.a1_in1k", "timm:vit_base_patch16_224.augreg_in21k",
                     "open_clip:ViT-B-32:laion2b_s34b_b79k", "open_clip:ViT-B-32:openai",
                     "torchvision:regnet_y_400mf"):
        a, z = resolve_model(model_id), model_from_id(model_id)
        assert (a.architecture, a.pretraining) == (z.architecture or "", z.pretraining or ""), model_id
    assert resolve_model("timm:resnet50.a1_in1k", pretraining="my words").pretraining == "my words"


def test_a_timm_id_timm_does_not_know_is_kept_with_a_warning_and_no_architecture():
    from fennec.validation import FennecInputWarning

    with pytest.warns(FennecInputWarning, match=r"'timm:resnt50': timm has no architecture 'resnt50'; did you mean"):
        a = resolve_model("timm:resnt50")
    assert (a.model_id, a.architecture) == ("timm:resnt50", "")
    assert resolve_model("timm:resnt50", architecture="resnet50").architecture == "resnet50"  # told: no warning


@pytest.mark.parametrize("name", ["timm:resnet50.a1_in1kk", "resnet50.a1_in1kk"])
def test_a_timm_tag_timm_does_not_know_is_kept_with_a_warning(name, recwarn):
    from fennec.validation import FennecInputWarning

    with pytest.warns(FennecInputWarning, match=r"no pre-trained tag 'a1_in1kk' for 'resnet50'.*records are kept"):
        a = resolve_model(name)
    assert a.architecture == "resnet50"
    recwarn.clear()
    resolve_model(name, pretraining="supervised on ImageNet-1k")  # told what the weights are: no warning
    resolve_model(name.replace("a1_in1kk", "a1_in1k"))
    assert not [w for w in recwarn if issubclass(w.category, FennecInputWarning)]


def test_an_explicit_id_without_a_known_architecture_is_kept():
    a = resolve_model("local:mycorp/secretnet")
    assert (a.model_id, a.architecture) == ("local:mycorp/secretnet", "")


@pytest.mark.parametrize(("alias", "canon"), [
    ("oxford_pets", "pets"), ("stanfordcars", "cars"), ("food101", "food"), ("Oxford-IIIT-Pet", "pets"),
    ("cub200", "cub200"), ("nabirds", "nabird"), ("svhn_cropped", "svhn"), ("cifar10", "cifar10"),
])
def test_dataset_aliases(alias, canon):
    assert canonical_dataset(alias) == canon


def test_every_dataset_in_the_records_has_a_card(store):
    named = {r.dataset for r in store.records()}
    for name in named:
        card = store.task_card(name)
        assert card.description, name
        assert card.n_classes >= 0
        if card.task_type != "regression":
            assert card.class_names, name
            if card.classes_complete:
                assert len(card.class_names) == card.n_classes, name
            else:
                assert len(card.class_names) < card.n_classes, name
        assert len(set(card.class_names)) == len(card.class_names), name


def test_shipped_card_files_are_valid():
    cards = list(shipped_cards())
    names = [c.name for c in cards]
    assert len(names) == len(set(names))
    by = {c.name: c for c in cards}
    assert by["pets"].n_classes == 37 and len(by["pets"].class_names) == 37 and "oxford_pets" in by["pets"].aliases
    assert by["cifar10"].class_names[0] == "airplane"
    assert by["cifar100"].n_classes == 100 and by["cifar100"].classes_complete


def test_card_lookup_by_alias_and_tasks_add(store):
    assert store.task_card("oxford_pets").name == "pets"
    store.add_task(TaskCard(name="leaves", n_classes=3, class_names=("oak", "maple", "birch"),
                            description="photos of leaves", aliases=("tree_leaves",)))
    assert store.task_card("tree_leaves").class_names == ("oak", "maple", "birch")
    assert store.canonical_task("Tree-Leaves") == "leaves"
    with pytest.raises(FennecInputError, match="did you mean"):
        store.task_card("leavez")


def test_alias_folds_an_existing_task(empty_store, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("benchmark,model,dataset,metric,value\nb,timm:resnet18,my_pets_v2,acc,0.5\n")
    from fennec.records import ingest_file

    ingest_file(empty_store, p)
    empty_store.add_task_alias("my_pets_v2", "pets")
    assert [r.dataset for r in empty_store.records()] == ["pets"]
    assert "my_pets_v2" not in empty_store.task_names()


def test_parse_classes(tmp_path):
    assert parse_classes("a, b ,c") == ["a", "b", "c"]
    f = tmp_path / "c.txt"
    f.write_text("cat\ndog\n\n")
    assert parse_classes(str(f)) == ["cat", "dog"]
    with pytest.raises(FennecInputError):
        parse_classes("a,a")
    with pytest.raises(FennecInputError):
        parse_classes("onlyone")
