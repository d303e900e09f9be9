"""Meta-device machinery: models built on the meta device, and the two shortcuts that make it cheap.

:func:`build_on_meta` builds a model on the meta device with weight initialisation skipped (:class:`_SkipMetaInit`);
:class:`_MetaMemo` memoises the output metadata of functional aten ops on meta tensors during a forward pass. Neither
changes any graph: meta tensors have no values, only metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

# ----------------------------------------------------------------------------------------------- fast meta
_META = torch.device("meta")
_MEMO: dict[tuple[Any, ...], tuple[bool, tuple[tuple[torch.Size, tuple[int, ...], torch.dtype], ...]]] = {}
_MEMO_MAX = 100_000  # entries (a few hundred bytes each); the table is cleared when full
_MEMOIZABLE: dict[Any, bool] = {}
_SCALARS = (bool, int, float, str, torch.dtype, torch.device, torch.memory_format, torch.layout)


def _memoizable(func: Any) -> bool:
    """An aten op whose outputs are fresh tensors determined by its inputs' metadata: not mutating, no output
    aliasing an input, only ``Tensor`` returns, no data-dependent shape, no random numbers."""
    ok = _MEMOIZABLE.get(func)
    if ok is None:
        ok = False
        if isinstance(func, torch._ops.OpOverload):
            schema = func._schema
            bad_tags = {torch.Tag.dynamic_output_shape, torch.Tag.data_dependent_output,
                        torch.Tag.nondeterministic_seeded}
            ok = (not schema.is_mutable and bool(schema.returns) and not bad_tags.intersection(func.tags)
                  and all(str(r.type) == "Tensor" and r.alias_info is None for r in schema.returns))
        _MEMOIZABLE[func] = ok
    return ok


def _key_parts(obj: Any, parts: list[Any], tensors: list[torch.Tensor]) -> bool:
    """Append a hashable description of ``obj`` to ``parts`` (tensors: dtype, shape, strides, offset); False
    when ``obj`` holds something that cannot be described (a non-meta tensor, a generator, ...)."""
    if isinstance(obj, torch.Tensor):
        if obj.device != _META or obj.layout != torch.strided or obj.is_conj() or obj.is_neg():
            return False
        parts.append((obj.dtype, obj.shape, obj.stride(), obj.storage_offset()))
        tensors.append(obj)
        return True
    if isinstance(obj, list | tuple):
        parts.append((type(obj), len(obj)))
        return all(_key_parts(o, parts, tensors) for o in obj)
    if obj is None or isinstance(obj, _SCALARS):
        parts.append((type(obj), obj))  # the type keeps 1, 1.0 and True apart
        return True
    return False


def _out_spec(out: Any, inputs: list[torch.Tensor]
              ) -> tuple[bool, tuple[tuple[torch.Size, tuple[int, ...], torch.dtype], ...]] | None:
    """(is a tuple, (shape, strides, dtype) per output) of fresh, dense meta outputs; None if anything else."""
    outs = list(out) if isinstance(out, tuple | list) else [out]
    in_storages = {t.untyped_storage()._cdata for t in inputs}
    spec = []
    for o in outs:
        if (type(o) is not torch.Tensor or o.device != _META or o.layout != torch.strided or o.storage_offset() != 0
                or o.untyped_storage()._cdata in in_storages):
            return None
        spec.append((o.shape, o.stride(), o.dtype))
    return isinstance(out, tuple | list), tuple(spec)


class _MetaMemo(TorchDispatchMode):
    """Memoise functional aten ops on meta tensors: the output metadata (shape, strides, dtype) of such an op is a
    function of its inputs' metadata and its other arguments, so a repeated call returns fresh empty tensors with the
    recorded metadata instead of running the kernel again. Many meta kernels are Python decompositions costing a
    millisecond or more per call, and a network repeats the same block with the same shapes many times. Ops on
    real (CPU) tensors, mutating ops and views are always run."""

    supports_higher_order_operators = True

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if not _memoizable(func):
            return func(*args, **kwargs)
        parts: list[Any] = [func]
        tensors: list[torch.Tensor] = []
        if not (_key_parts(args, parts, tensors) and _key_parts(sorted(kwargs.items()), parts, tensors)) \
                or not tensors:
            return func(*args, **kwargs)
        key = tuple(parts)
        hit = _MEMO.get(key)
        if hit is not None:
            outs = tuple(torch.empty_strided(size, stride, dtype=dtype, device=_META) for size, stride, dtype in hit[1])
            return outs if hit[0] else outs[0]
        out = func(*args, **kwargs)
        spec = _out_spec(out, tensors)
        if spec is not None:
            if len(_MEMO) >= _MEMO_MAX:
                _MEMO.clear()
            _MEMO[key] = spec
        return out


# Value-only in-place ops: they write values into a tensor and return it, never changing its shape, dtype or
# strides. A meta tensor has no values, so skipping them while a model is built on meta cannot change the model's
# structure, and weight initialisation (timm's trunc_normal_ runs uniform_, erfinv_, mul_, add_, clamp_ through
# slow Python meta kernels) is about half of the build time.
_VALUE_ONLY_METHODS = (
    "normal_", "uniform_", "fill_", "zero_", "clamp_", "clamp_min_", "clamp_max_", "clip_", "erfinv_", "erf_",
    "mul_", "add_", "sub_", "div_", "copy_", "exponential_", "bernoulli_", "random_", "cauchy_", "log_normal_",
    "geometric_", "exp_", "log_", "sqrt_", "neg_", "abs_", "pow_", "reciprocal_", "addcmul_", "addcdiv_", "lerp_",
    "masked_fill_", "fill_diagonal_", "__iadd__", "__isub__", "__imul__", "__itruediv__",
)
# nn.init functions that dispatch as a whole to a TorchFunctionMode (the others reach it as the tensor methods above)
_VALUE_ONLY_INIT = ("uniform_", "normal_", "constant_", "kaiming_uniform_")
_SKIPPED_ON_META = frozenset([getattr(torch.Tensor, n) for n in _VALUE_ONLY_METHODS]
                             + [getattr(nn.init, n) for n in _VALUE_ONLY_INIT])


class _SkipMetaInit(TorchFunctionMode):
    """Return the target tensor unchanged for value-only in-place ops on meta tensors (see ``_SKIPPED_ON_META``);
    everything else, and every op on a real tensor, runs as usual."""

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func in _SKIPPED_ON_META:
            target = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            if isinstance(target, torch.Tensor) and target.device == _META:
                return target
        return func(*args, **kwargs)


@contextlib.contextmanager
def _params_to_meta() -> Iterator[None]:
    """Build a model on CPU but move each parameter / buffer to the meta device as soon as it is registered.

    For constructors that compute on tensors (``.tolist()``) and so cannot run under ``torch.device("meta")``;
    peak memory is one layer's weights.
    """
    reg_p, reg_b = nn.Module.register_parameter, nn.Module.register_buffer

    def register_parameter(self: nn.Module, name: str, param: Any) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        reg_p(self, name, param)

    def register_buffer(self: nn.Module, name: str, tensor: Any, persistent: bool = True) -> None:
        if tensor is not None and tensor.device.type != "meta":
            tensor = tensor.to("meta")
        reg_b(self, name, tensor, persistent)

    nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
    nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = reg_p  # type: ignore[method-assign]
        nn.Module.register_buffer = reg_b  # type: ignore[method-assign]


def build_on_meta(factory: Callable[[], nn.Module]) -> nn.Module:
    """``factory()`` on the meta device; if the constructor needs real tensors, on CPU with every parameter
    moved to meta as it is registered. Weight initialisation of meta tensors is skipped either way
    (:class:`_SkipMetaInit`): the model's structure, parameter shapes and buffers' metadata are unchanged."""
    try:
        with torch.device("meta"), _SkipMetaInit():
            return factory()
    except (NotImplementedError, RuntimeError):
        with _params_to_meta(), _SkipMetaInit():
            return factory()
