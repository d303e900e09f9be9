"""Class-name text encoders: the offline MiniLM default, the registry, open_clip's offline errors."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.encoders import (
    DEFAULT_TEXT_ENCODER,
    TextEncoder,
    create_image_encoder,
    create_text_encoder,
    list_encoders,
)
from fennec.registry import UnknownNameError
from fennec.validation import FennecInputError


@pytest.fixture(scope="module")
def minilm():
    return create_text_encoder()


def test_default_is_offline_minilm(minilm) -> None:
    assert minilm.name == DEFAULT_TEXT_ENCODER and minilm.dim == 384
    assert isinstance(minilm, TextEncoder)
    assert create_text_encoder("minilm").name == DEFAULT_TEXT_ENCODER


def test_embeddings_are_normalized_float32(minilm) -> None:
    emb = minilm.encode(["a photo of a cat.", "a photo of a truck.", ""])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert minilm.encode([]).shape == (0, 384)
    assert np.allclose(emb[:1], minilm.encode(["a photo of a cat."]), atol=1e-5)  # batch padding


def test_synonyms_are_close_and_unrelated_far(minilm) -> None:
    a, b, c, d = minilm.encode(["automobile", "car", "banana", "a photo of a kitten."])
    cat = minilm.encode(["a photo of a cat."])[0]
    assert float(a @ b) > 0.6
    assert float(a @ b) > float(a @ c) + 0.3
    assert float(cat @ d) > float(cat @ c)


def test_bad_texts(minilm) -> None:
    with pytest.raises(FennecInputError, match="one string"):
        minilm.encode("cat")
    with pytest.raises(FennecInputError, match="expected strings"):
        minilm.encode(["cat", 3])


def test_registry_lookup_and_errors() -> None:
    assert "timm:tf_efficientnet_lite2" in list_encoders("image")
    assert "sentence:all-MiniLM-L6-v2" in list_encoders("text")
    assert "open_clip:*" in list_encoders("text") and "open_clip:*" in list_encoders("image")
    with pytest.raises(UnknownNameError, match="unknown encoder"):
        create_text_encoder("sentence:mpnet")
    with pytest.raises(FennecInputError, match="no text tower"):
        create_text_encoder("timm:tf_efficientnet_lite0")
    with pytest.raises(FennecInputError, match="no image tower"):
        create_image_encoder("minilm")
    with pytest.raises(FennecInputError, match="source:id"):
        create_image_encoder("resnet50")


def test_proxy_ids_resolve_to_one_spelling() -> None:
    """The default, an alias and the full id name one proxy (one loaded model, one cache key)."""
    from fennec.encoders import DEFAULT_PROXY, resolve_proxy_id

    assert resolve_proxy_id() == resolve_proxy_id(None) == DEFAULT_PROXY
    assert resolve_proxy_id("lite0") == resolve_proxy_id(DEFAULT_PROXY) == DEFAULT_PROXY
    assert resolve_proxy_id("tf_efficientnet_lite0") == DEFAULT_PROXY  # the offline proxy's id without timm:
    assert resolve_proxy_id(" LITE2 ") == "timm:tf_efficientnet_lite2"
    assert resolve_proxy_id("open_clip:ViT-B-32:openai") == "open_clip:ViT-B-32:openai"
    assert create_image_encoder().name == create_image_encoder("lite0").name == DEFAULT_PROXY  # lazy: no weights


def test_open_clip_without_cached_weights_says_what_to_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)  # an empty HF cache
    enc = create_text_encoder("open_clip:ViT-B-32:laion2b_s34b_b79k")
    assert enc.dim == 512  # known from the config, no weights needed
    with pytest.raises(FennecInputError) as exc:
        enc.encode(["a cat"])
    msg = str(exc.value)
    assert "\n" not in msg
    assert "huggingface-cli download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg
    assert "open_clip:ViT-B-32:/path/to/weights.bin" in msg


def test_open_clip_bad_ids() -> None:
    with pytest.raises(FennecInputError, match="open_clip:ARCH:TAG"):
        create_text_encoder("open_clip:ViT-B-32")
    with pytest.raises(FennecInputError, match="unknown pretrained tag"):
        create_text_encoder("open_clip:ViT-B-32:not_a_tag").encode(["x"])
    with pytest.raises(FennecInputError, match="does not exist"):
        create_image_encoder("open_clip:ViT-B-32:/nowhere/w.bin").encode_images([])
    with pytest.raises(FennecInputError, match="unknown open_clip architecture"):
        create_text_encoder("open_clip:ViT-Q-99:openai").encode(["x"])


@pytest.mark.slow
def test_open_clip_loads_a_local_weights_file(tmp_path) -> None:
    """open_clip's own loader on a file path (random weights of a small architecture, saved here)."""
    import open_clip
    import torch
    from PIL import Image

    model = open_clip.create_model("ViT-S-32", pretrained=None)
    path = tmp_path / "vit_s_32.bin"
    torch.save(model.state_dict(), path)
    enc = create_text_encoder(f"open_clip:ViT-S-32:{path}")
    emb = enc.encode(["a cat", "a dog"])
    assert emb.shape == (2, 384) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    img = create_image_encoder(f"open_clip:ViT-S-32:{path}").encode_images([Image.new("RGB", (64, 48))])
    assert img.shape == (1, 384)


def test_open_clip_zero_shot_labels_with_its_own_towers() -> None:
    """classify_images scores images against prompts of the ImageNet labels with the model's two towers and its
    logit scale; a stand-in model (no weights offline) whose image tower returns about the text embedding of
    "espresso" makes espresso the most probable label, with rows summing to 1."""
    import torch

    from fennec.encoders.open_clip_encoder import OpenClipEncoder

    enc = OpenClipEncoder("open_clip:ViT-B-32:laion2b_s34b_b79k")
    names = enc.label_names
    assert len(names) == 1000 and names[967] == "espresso"
    vocab = {f"a photo of a {d.split(',')[0].strip()}.": i for i, d in enumerate(names)}

    class Model:
        logit_scale = torch.tensor(2.302585)  # log(10), not CLIP's trained log(100): the model's own is used

        def encode_text(self, tokens):
            return torch.nn.functional.one_hot(torch.tensor(tokens), 1000).float()

        def encode_image(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 967), 1000).float() + 0.01

    enc._model, enc._preprocess = Model(), lambda img: torch.zeros(3, 2, 2)
    enc._tokenizer = lambda batch: [vocab[t] for t in batch]
    probs = enc.classify_images([object(), object()])
    assert probs.shape == (2, 1000) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(axis=1) == 967).all()
    # cosine 0.954 against espresso, 0.009 against every other prompt: about 0.93 at scale 10, 1.00 at 100
    assert 0.85 < probs[0, 967] < 0.97
