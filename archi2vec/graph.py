"""Architecture graphs: a network becomes a ``torch_geometric.data.Data`` with one node per operation.

Two extraction paths, tried in order:

* ``fx``: symbolic tracing with :mod:`torch.fx`, treating timm's registered "no-trace" modules and functions
  (``timm.layers.get_notrace_modules`` / ``get_notrace_functions``) and every convolution / linear module as
  leaves, exactly as timm's own fx feature extractor does; a forward pass of the traced graph on meta tensors then
  gives every node its output shape (and the FLOPs, counted by :class:`torch.utils.flop_counter.FlopCounterMode`).
* ``hooks`` (fallback, for modules fx cannot trace, e.g. with shape-dependent Python control flow): one forward
  pass on meta tensors in which forward hooks on the leaf modules and a :class:`TorchFunctionMode` on the
  functional ops between them record every operation in execution order; edges follow tensor identity
  (producer -> consumer), and an op whose inputs were made by nobody we saw is chained to the previous op.

Models are built on the meta device (no weights, no memory, no network) and put in eval mode. The path used is
stored in ``data.trace_path``.

Two shortcuts make extraction cheaper without changing any graph (meta tensors have no values, only metadata):
weight initialisation is skipped while a model is built on meta (:func:`archi2vec.meta.build_on_meta`), and the
output metadata of functional aten ops on meta tensors is memoised by input metadata during the forward passes
(:class:`archi2vec.meta._MetaMemo`), so repeated blocks do not rerun the slow Python meta kernels (layer norm, batch
norm, gelu...).

This module holds the public entry points; the fx path is in :mod:`archi2vec.trace_fx`, the hook fallback (and the
record-filling helpers both paths share) in :mod:`archi2vec.trace_hooks`, the meta-device machinery in
:mod:`archi2vec.meta`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from archi2vec.meta import build_on_meta
from archi2vec.ops import NUM_FEATURES, WEIGHTED_OPS, OpRecord
from archi2vec.trace_fx import _fx_records, clear_caches
from archi2vec.trace_hooks import _hook_records

DEFAULT_INPUT_SIZE = (3, 224, 224)
__all__ = ["DEFAULT_INPUT_SIZE", "GraphExtractionError", "clear_caches", "exception_line", "graph_from_module",
           "graph_from_timm", "graph_from_torchvision", "records_to_data", "timm_family", "torchvision_family"]


class GraphExtractionError(RuntimeError):
    """Neither the fx path nor the hook fallback produced a graph."""


# ----------------------------------------------------------------------------------------------- helpers
def exception_line(exc: BaseException, limit: int) -> str:
    """``"TypeName: first line of the message"``, at most ``limit`` characters: why an extraction failed."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:limit]


def _depth(records: list[OpRecord]) -> int:
    """Weighted layers (conv / linear) on the longest path from the input: ResNet-50 -> 50."""
    d = [0] * len(records)
    for i, r in enumerate(records):
        base = max((d[p] for p in r.parents), default=0)
        d[i] = base + (1 if r.op in WEIGHTED_OPS else 0)
    return max(d, default=0)


def records_to_data(records: list[OpRecord], **meta: Any) -> Data:
    """Turn op records (in topological order) into a ``Data`` with ``x`` (N, NUM_FEATURES) float32 and
    ``edge_index`` (2, E) int64; ``meta`` entries become attributes of the Data."""
    n = len(records)
    x = np.zeros((n, NUM_FEATURES), dtype=np.float32)
    src: list[int] = []
    dst: list[int] = []
    for i, r in enumerate(records):
        x[i] = r.features(i / max(n - 1, 1))
        for p in sorted(set(r.parents)):
            src.append(p)
            dst.append(i)
    data = Data(x=torch.from_numpy(x), edge_index=torch.tensor([src, dst], dtype=torch.long).reshape(2, -1))
    data.num_nodes = n
    meta.setdefault("depth", _depth(records))
    for k, v in meta.items():
        setattr(data, k, v)
    return data


# ----------------------------------------------------------------------------------------------- public
def _device_of(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("meta")


def graph_from_module(module: nn.Module, input_size: Sequence[int] = DEFAULT_INPUT_SIZE, *,
                      name: str = "", family: str = "", force_path: str | None = None) -> Data:
    """Extract the operation graph of ``module``.

    Args:
        module: Any image network; build it on the meta device to avoid allocating weights (a module on CPU
            runs one real forward pass of batch size 1).
        input_size: (C, H, W) or (B, C, H, W) of the input.
        name: Stored as ``data.name``.
        family: Stored as ``data.family``.
        force_path: ``"fx"`` or ``"hooks"`` to use one path only (default: fx, then hooks on failure).

    Returns:
        ``Data`` with ``x`` (N, NUM_FEATURES) float32, ``edge_index`` (2, E), and attributes ``trace_path``
        (``"fx"`` | ``"hooks"``), ``n_params``, ``flops`` (FLOPs of one forward pass at ``input_size``, NaN when
        unknown), ``depth`` (weighted layers on the longest path), ``input_size``, ``name``, ``family``,
        ``fx_error`` (why fx failed, or "").

    Raises:
        GraphExtractionError: if no path works.
    """
    size = tuple(int(s) for s in input_size)
    if len(size) == 3:
        size = (1, *size)
    if len(size) != 4:
        raise ValueError(f"input_size: expected (C, H, W) or (B, C, H, W), got {tuple(input_size)}")
    module = module.eval()
    x = torch.empty(size, device=_device_of(module))
    n_params = float(sum(p.numel() for p in module.parameters()))
    fx_error = ""
    records: list[OpRecord] | None = None
    path = ""
    flops = float("nan")
    if force_path in (None, "fx"):
        try:
            records, flops = _fx_records(module, x)
            path = "fx"
        except Exception as exc:
            fx_error = exception_line(exc, 300)
            if force_path == "fx":
                raise GraphExtractionError(f"fx: {fx_error}") from exc
    if records is None:
        try:
            records, flops, _ = _hook_records(module, x)
            path = "hooks"
        except Exception as exc:
            raise GraphExtractionError(f"fx: {fx_error or 'skipped'}; hooks: {exception_line(exc, 300)}") from exc
    if len(records) < 3:
        raise GraphExtractionError(f"graph too small ({len(records)} nodes)")
    return records_to_data(records, trace_path=path, n_params=n_params,
                           flops=float(flops) if flops is not None and math.isfinite(flops) and flops > 0
                           else float("nan"),
                           input_size=list(size[1:]), name=name, family=family, fx_error=fx_error)


def timm_family(name: str) -> str:
    """timm module that defines an architecture: ``resnet50`` -> ``resnet``."""
    import timm.models

    return timm.models.model_entrypoint(name).__module__.rsplit(".", 1)[-1]


def torchvision_family(name: str) -> str:
    """torchvision module that defines an architecture: ``googlenet`` -> ``googlenet``."""
    import torchvision.models

    return torchvision.models.get_model_builder(name).__module__.rsplit(".", 1)[-1]


def _arch_for(name: str, source: str) -> str:
    """The architecture part of ``name`` for ``source`` (``"timm"`` or ``"torchvision"``): ``resnet50``,
    ``timm:resnet50`` or ``timm:resnet50.a1_in1k`` -> ``resnet50`` for timm; ``alexnet`` or
    ``torchvision:alexnet`` -> ``alexnet``.

    Raises:
        UnknownNameError: one line, for a name of another source or one that ``source`` does not define (with the
            close matches), instead of the library's own error from deep inside model building.
    """
    from archi2vec.names import SOURCES, timm_architectures, unknown_message
    from fennec.registry import UnknownNameError

    if not isinstance(name, str) or not name.strip():
        raise UnknownNameError(f"architecture name: expected a non-empty string such as '{source}:NAME', "
                               f"got {name!r}")
    raw = name.strip()
    prefix, sep, rest = raw.partition(":")
    if sep:
        if prefix != source:
            other = f" (use graph_from_{prefix} for {prefix} architectures)" if prefix in SOURCES else ""
            raise UnknownNameError(f"graph_from_{source}: {name!r} is not a {source} architecture name; give "
                                   f"'NAME' or '{source}:NAME'{other}")
        raw = rest.strip()
    if source == "timm":
        arch = raw.split(".", 1)[0]  # the pretrained tag does not change the architecture
        known = timm_architectures()
    else:
        import torchvision.models

        arch = raw
        known = tuple(torchvision.models.list_models())  # every kind, as torchvision's get_model takes them
    if arch not in known:
        raise UnknownNameError(unknown_message(f"{source}:{arch}"))
    return arch


def graph_from_timm(name: str, **kwargs: Any) -> Data:
    """Graph of the timm architecture ``name`` (``resnet50`` or ``timm:resnet50``; a pretrained tag ``.a1_in1k``
    is dropped), built with ``pretrained=False`` on the meta device at its default input size.

    Raises:
        UnknownNameError: for a name timm does not define, or one of another source (``torchvision:alexnet``).
        GraphExtractionError: if no trace path works.
    """
    import timm

    arch = _arch_for(name, "timm")
    model = build_on_meta(lambda: timm.create_model(arch, pretrained=False))
    cfg = getattr(model, "pretrained_cfg", None) or {}
    input_size = tuple(cfg.get("input_size", DEFAULT_INPUT_SIZE))
    return graph_from_module(model, input_size, name=f"timm:{arch}", family=timm_family(arch), **kwargs)


def graph_from_torchvision(name: str, **kwargs: Any) -> Data:
    """Graph of a torchvision architecture (``alexnet`` or ``torchvision:alexnet``), ``weights=None``, on the meta
    device at 224 px (299 for inception_v3).

    Raises:
        UnknownNameError: for a name torchvision does not define, or one of another source (``timm:resnet50``).
        GraphExtractionError: if no trace path works.
    """
    import torchvision.models

    name = _arch_for(name, "torchvision")
    extra: dict[str, Any] = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    model = build_on_meta(lambda: torchvision.models.get_model(name, weights=None, **extra))
    size = (3, 299, 299) if name == "inception_v3" else DEFAULT_INPUT_SIZE
    return graph_from_module(model, size, name=f"torchvision:{name}", family=torchvision_family(name), **kwargs)
