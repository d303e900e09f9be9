"""The hook path (the fallback for modules fx cannot trace), and the helpers both extraction paths share.

:func:`_hook_records` records the ops of one forward pass from forward hooks on the leaf modules and a
:class:`TorchFunctionMode` on the functional ops between them. The helpers fill an :class:`~archi2vec.ops.OpRecord`
from a module's attributes or a call's arguments, and :func:`_count_flops` counts a forward pass's FLOPs under the
meta memo (:class:`~archi2vec.meta._MetaMemo`); the fx path (:mod:`archi2vec.trace_fx`) uses them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archi2vec.meta import _MetaMemo
from archi2vec.ops import OpRecord, classify_module, classify_name, conv_kind


# ----------------------------------------------------------------------------------------------- helpers
def _shape(obj: Any) -> tuple[int, ...] | None:
    if isinstance(obj, torch.Tensor):
        return tuple(int(s) for s in obj.shape)
    return None


def _channels(shape: tuple[int, ...] | None) -> int:
    """Channels of an activation: dim 1 of (B, C, H, W[, D]); last dim of (B, C) and (B, N, C) token tensors."""
    if not shape:
        return 0
    if len(shape) >= 4:
        return int(shape[1])
    return int(shape[-1])


def _first_int(v: Any, default: int = 1) -> int:
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, tuple | list) and v and all(isinstance(e, int | np.integer) for e in v):
        return int(max(v))
    return default


def _arg(args: Sequence[Any], kwargs: dict[str, Any], i: int, key: str) -> Any:
    if len(args) > i:
        return args[i]
    return kwargs.get(key)


def _fill_from_module(rec: OpRecord, mod: nn.Module) -> None:
    """Read kernel / stride / groups / channels from a module's attributes."""
    if isinstance(mod, nn.modules.conv._ConvNd):
        rec.kernel = _first_int(mod.kernel_size)
        rec.stride = _first_int(mod.stride)
        rec.dilation = _first_int(mod.dilation)
        rec.groups = int(mod.groups)
        rec.cin, rec.cout = int(mod.in_channels), int(mod.out_channels)
        rec.op = conv_kind(rec.cin, rec.groups)
        return
    if isinstance(mod, nn.Linear):
        rec.cin, rec.cout = int(mod.in_features), int(mod.out_features)
        return
    if rec.op in ("maxpool", "avgpool"):
        rec.kernel = _first_int(getattr(mod, "kernel_size", 1))
        stride = getattr(mod, "stride", None)
        rec.stride = _first_int(stride if stride is not None else getattr(mod, "kernel_size", 1))
        return
    nf = getattr(mod, "num_features", None) or getattr(mod, "num_channels", None)
    if isinstance(nf, int):
        rec.cin = rec.cout = nf
    ns = getattr(mod, "normalized_shape", None)
    if isinstance(ns, tuple | list) and ns and isinstance(ns[-1], int):
        rec.cin = rec.cout = int(ns[-1])


def _fill_from_call(rec: OpRecord, args: Sequence[Any], kwargs: dict[str, Any],
                    shape_of: Callable[[Any], tuple[int, ...] | None]) -> None:
    """Read kernel / stride / groups / channels from the arguments of a functional call."""
    if rec.op == "conv":
        w = shape_of(_arg(args, kwargs, 1, "weight"))
        rec.stride = _first_int(_arg(args, kwargs, 3, "stride"), 1)
        rec.dilation = _first_int(_arg(args, kwargs, 5, "dilation"), 1)
        rec.groups = _first_int(_arg(args, kwargs, 6, "groups"), 1)
        if w is not None and len(w) >= 3:
            rec.kernel = int(max(w[2:]))
            rec.cout, rec.cin = int(w[0]), int(w[1]) * rec.groups
        rec.op = conv_kind(rec.cin, rec.groups)
    elif rec.op == "linear" and rec.name == "linear":
        w = shape_of(_arg(args, kwargs, 1, "weight"))
        if w is not None and len(w) == 2:
            rec.cout, rec.cin = int(w[0]), int(w[1])
    elif rec.op in ("maxpool", "avgpool"):
        k = _arg(args, kwargs, 1, "kernel_size")
        s = _arg(args, kwargs, 2, "stride")
        rec.kernel = _first_int(k, 1)
        rec.stride = _first_int(s, rec.kernel) if s not in (None, [], ()) else rec.kernel


def _fused_act(mod: nn.Module) -> OpRecord | None:
    """The activation inside a fused norm + act module (timm ``BatchNormAct2d``, ``LayerNormAct``...), if any."""
    act = getattr(mod, "act", None)
    if "act" not in type(mod).__name__.lower() or not isinstance(act, nn.Module) or type(act) is nn.Identity:
        return None
    op = classify_module(act)
    return OpRecord(op if op != "other" else "act_other", name=type(act).__name__)


def _finish(rec: OpRecord, in_shape: tuple[int, ...] | None) -> None:
    if rec.cin == 0:
        rec.cin = _channels(in_shape)
    if rec.cout == 0:
        rec.cout = _channels(rec.out_shape)


def _count_flops(fn: Callable[[], Any]) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    # The memo is entered first so that it sits below the FLOP counter: the counter still sees (and counts) every
    # op, and only the kernel it then calls is replaced by a memoised result.
    with _MetaMemo(), counter:
        fn()
    return float(counter.get_total_flops())


# ----------------------------------------------------------------------------------------------- hook path
def is_composite(mod: nn.Module) -> bool:
    """A module with sub-modules that is not a single op (conv, linear, attention, a fused norm + act): timm
    registers some whole blocks (``NormFreeBlock``, ``MobileVitBlock``...) as fx leaves; they are expanded."""
    if isinstance(mod, nn.modules.conv._ConvNd | nn.Linear | nn.MultiheadAttention):
        return False
    if _fused_act(mod) is not None or "normact" in type(mod).__name__.lower():
        return False
    return any(True for _ in mod.children())


def _leaf_modules(model: nn.Module) -> list[nn.Module]:
    """Modules recorded as single ops: no children, conv / linear / attention modules, fused norm + act."""
    out: list[nn.Module] = []

    def walk(m: nn.Module, is_root: bool) -> None:
        children = list(m.children())
        if not is_root and not is_composite(m):
            out.append(m)
            return
        for c in children:
            walk(c, False)

    walk(model, True)
    return out


def _flatten_tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, tuple | list):
        return [t for o in obj for t in _flatten_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flatten_tensors(o)]
    return []


def _hook_records(model: nn.Module, x: Any, kwargs: dict[str, Any] | None = None,
                  count_flops: bool = True) -> tuple[list[OpRecord], float, Any]:
    """Record the ops of ``model(*x, **kwargs)`` (``x`` a tensor or a tuple of arguments).

    Returns:
        (records, FLOPs or NaN, the output). Record 0 is the input; the last record is the output.
    """
    args = x if isinstance(x, tuple) else (x,)
    kwargs = kwargs or {}
    ins = _flatten_tensors((args, kwargs))
    first = _shape(ins[0]) if ins else None
    records: list[OpRecord] = [OpRecord("input", name="input", out_shape=first, cout=_channels(first))]
    producers: dict[int, int] = {id(t): 0 for t in ins}
    alive: list[torch.Tensor] = list(ins)  # keep outputs alive so that their ids are not reused
    depth = [0]

    def add(rec: OpRecord, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> None:
        parents = sorted({producers[id(t)] for t in inputs if id(t) in producers})
        rec.parents = parents or [len(records) - 1]  # unseen producer: assume a chain
        rec.out_shape = _shape(outputs[0]) if outputs else None
        _finish(rec, _shape(inputs[0]) if inputs else None)
        for t in outputs:
            producers[id(t)] = len(records)
            alive.append(t)
        records.append(rec)

    def pre_hook(mod: nn.Module, inputs: Any) -> None:
        depth[0] += 1

    def post_hook(mod: nn.Module, inputs: Any, output: Any) -> None:
        depth[0] -= 1
        if depth[0] == 0:
            if type(mod) is nn.Identity:
                outs = _flatten_tensors(output)
                ins = _flatten_tensors(inputs)
                for t in outs:  # a no-op: its output stands for its input's producer
                    if ins and id(ins[0]) in producers:
                        producers[id(t)] = producers[id(ins[0])]
                        alive.append(t)
                return
            rec = OpRecord(classify_module(mod), name=type(mod).__name__)
            _fill_from_module(rec, mod)
            act = _fused_act(mod)
            outs = _flatten_tensors(output)
            if act is not None:
                add(rec, _flatten_tensors(inputs), outs)
                rec = act
                add(rec, outs, outs)
            else:
                add(rec, _flatten_tensors(inputs), outs)

    class _Recorder(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                               kwargs: dict[str, Any] | None = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if depth[0] == 0:
                outs = _flatten_tensors(out)
                if outs:
                    name = getattr(func, "__name__", str(func))
                    rec = OpRecord(classify_name(name), name=name.strip("_"))
                    _fill_from_call(rec, args, kwargs, _shape)
                    add(rec, _flatten_tensors((args, kwargs)), outs)
            return out

    handles = []
    for m in _leaf_modules(model):
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(post_hook))
    out: Any = None
    flops = float("nan")
    try:
        def run() -> None:
            nonlocal out
            with torch.no_grad(), _Recorder():
                out = model(*args, **kwargs)

        if count_flops:
            flops = _count_flops(run)
        else:
            run()
    finally:
        for h in handles:
            h.remove()
    outs = _flatten_tensors(out)
    rec = OpRecord("output", name="output")
    add(rec, outs, outs[:1])
    return records, flops, out
