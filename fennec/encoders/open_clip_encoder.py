"""open_clip image and text towers as encoders: ``open_clip:ARCH:TAG`` or ``open_clip:ARCH:/path/to/weights``.

Loading goes through open_clip's own ``create_model_and_transforms`` (Cherti et al., "Reproducible scaling laws for
contrastive language-image learning", CVPR 2023; Radford et al., CLIP, ICML 2021). To stay offline we resolve a
pretrained tag to its file in the local Hugging Face hub cache (or open_clip's URL cache) ourselves and hand open_clip
that file together with the tag's preprocessing and ``quick_gelu`` setting, which is what open_clip does after its
own download step. When the file is not cached the error says exactly what to download and where.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fennec.encoders.base import ENCODERS, EncoderEntry, check_texts, first_synonym, imagenet_label_names, l2_normalize
from fennec.encoders.timm_models import WEIGHT_SUFFIXES, batches
from fennec.validation import FennecInputError

if TYPE_CHECKING:
    from PIL import Image


def split_open_clip_id(model_id: str) -> tuple[str, str]:
    """``open_clip:ARCH:TAG`` -> (ARCH, TAG); TAG may be a file path (which may itself contain ':')."""
    _, _, rest = model_id.partition(":")
    arch, sep, tag = rest.partition(":")
    if not arch or not sep or not tag:
        raise FennecInputError(f"encoder: expected 'open_clip:ARCH:TAG' (e.g. open_clip:ViT-B-32:laion2b_s34b_b79k) "
                               f"or 'open_clip:ARCH:/path/to/weights.bin', got {model_id!r}")
    return arch, tag


def _looks_like_path(tag: str) -> bool:
    return os.sep in tag or tag.endswith(WEIGHT_SUFFIXES)


def resolve_open_clip_weights(arch: str, tag: str, model_id: str) -> tuple[Path, dict[str, Any]]:
    """Find the weights file for ``arch``/``tag`` offline.

    Returns:
        (file path, the tag's pretrained config ({} for a file path)).

    Raises:
        FennecInputError: unknown arch/tag, or weights not in any local cache (says what to download and where).
    """
    import open_clip

    if arch not in open_clip.list_models():
        import difflib

        close = difflib.get_close_matches(arch, open_clip.list_models(), n=3)
        raise FennecInputError(f"{model_id}: unknown open_clip architecture {arch!r}"
                               + (f"; did you mean {', '.join(close)}?" if close else ""))
    if _looks_like_path(tag):
        path = Path(tag).expanduser()
        if not path.is_file():
            raise FennecInputError(f"{model_id}: weights file {str(path)!r} does not exist; check the path")
        return path, {}
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise FennecInputError(f"{model_id}: unknown pretrained tag {tag!r} for {arch}; known tags: "
                               f"{', '.join(tags) or 'none'}")
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo, fname = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
        names = [fname] if fname else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        if fname.endswith(".bin"):
            names.insert(0, fname[:-4] + ".safetensors")
        for name in names:
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str) and os.path.isfile(hit):
                return Path(hit), cfg
        what = f"`huggingface-cli download {repo} {names[-1]}` (lands in ~/.cache/huggingface/hub)"
    else:
        url = cfg.get("url", "")
        path = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if path.is_file():
            return path, cfg
        what = f"{url} into ~/.cache/clip/"
    raise FennecInputError(f"{model_id}: weights are not in the local cache (offline); download {what}, "
                           f"or pass the file as open_clip:{arch}:/path/to/weights.bin")


class OpenClipEncoder:
    """An open_clip model's image tower (``encode_images``) and text tower (``encode``), lazy.

    Args:
        model_id: ``open_clip:ARCH:TAG`` or ``open_clip:ARCH:/path/to/weights``.
        batch_size: Images or texts per forward pass.
    """

    def __init__(self, model_id: str, batch_size: int = 50) -> None:
        self.name = model_id
        self.arch, self.tag = split_open_clip_id(model_id)
        self.batch_size = batch_size
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._label_text: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        import open_clip

        cfg = open_clip.get_model_config(self.arch)
        if not cfg:
            raise FennecInputError(f"{self.name}: unknown open_clip architecture {self.arch!r}")
        return int(cfg["embed_dim"])

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import open_clip

            path, cfg = resolve_open_clip_weights(self.arch, self.tag, self.name)
            kwargs: dict[str, Any] = {}
            # What open_clip applies for a tag after downloading it (preprocessing, activation).
            for key, arg in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                             ("resize_mode", "image_resize_mode")):
                if cfg.get(key) is not None:
                    kwargs[arg] = cfg[key]
            if cfg.get("quick_gelu"):
                kwargs["force_quick_gelu"] = True
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.arch, pretrained=str(path), device="cpu", **kwargs)
                tokenizer = open_clip.get_tokenizer(self.arch)
            except (RuntimeError, OSError, KeyError, ValueError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise FennecInputError(f"{self.name}: open_clip could not load {str(path)!r} ({first})") from None
            model.eval()
            self._model, self._preprocess, self._tokenizer = model, preprocess, tokenizer

    def encode_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Embed RGB PIL images with the image tower; float32 (n, dim), rows L2-normalized."""
        import torch

        self._load()
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for batch in batches(images, self.batch_size):
                x = torch.stack([self._preprocess(img) for img in batch])
                out.append(self._model.encode_image(x).float().numpy())
        return l2_normalize(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the text tower; float32 (n, dim), rows L2-normalized."""
        import torch

        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        self._load()
        out = []
        with torch.inference_mode():
            for batch in batches(texts, self.batch_size):
                tokens = self._tokenizer(batch)
                out.append(self._model.encode_text(tokens).float().numpy())
        return l2_normalize(np.concatenate(out))

    @property
    def label_names(self) -> list[str]:
        """The ImageNet-1k label descriptions (timm's list) that :meth:`classify_images` scores zero-shot."""
        return imagenet_label_names("imagenet-1k")

    def classify_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Zero-shot ImageNet-1k probabilities, float32 (n, 1000): softmax of the model's logit scale times the
        cosine between each image and the prompt "a photo of a {label}." (CLIP's zero-shot classifier, Radford
        et al., ICML 2021), the label being the first synonym of each description."""
        return self.embed_and_classify_images(images)[1]

    def embed_and_classify_images(self, images: Iterable[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_images` and :meth:`classify_images` of the same images from one pass of the image tower.

        Returns:
            (embeddings float32 of shape (n, dim), rows L2-normalized; probabilities float32 of shape (n, 1000)).
        """
        if self._label_text is None:
            prompts = [f"a photo of a {first_synonym(d)}." for d in self.label_names]
            self._label_text = self.encode(prompts)
        img = self.encode_images(images)
        scale = float(self._model.logit_scale.exp()) if hasattr(self._model, "logit_scale") else 100.0
        z = scale * (img @ self._label_text.T)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return img, (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def __repr__(self) -> str:
        return f"OpenClipEncoder({self.name!r})"


def _factory(model_id: str, modality: str) -> OpenClipEncoder:
    return OpenClipEncoder(model_id)


ENCODERS.register("open_clip:*")(EncoderEntry(
    _factory, ("image", "text"), "open_clip:ARCH:TAG (weights from the local HF cache) or open_clip:ARCH:/path/file"))
