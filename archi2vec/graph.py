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
weight initialisation is skipped while a model is built on meta (:func:`build_on_meta`), and the output metadata
of functional aten ops on meta tensors is memoised by input metadata during the forward passes
(:class:`_MetaMemo`), so repeated blocks do not rerun the slow Python meta kernels (layer norm, batch norm, gelu...).
"""

from __future__ import annotations

import contextlib
import dis
import math
from collections.abc import Callable, Iterator, Sequence
from types import CodeType
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch_geometric.data import Data

from archi2vec.ops import NUM_FEATURES, WEIGHTED_OPS, OpRecord, classify_module, classify_name, conv_kind

DEFAULT_INPUT_SIZE = (3, 224, 224)


class GraphExtractionError(RuntimeError):
    """Neither the fx path nor the hook fallback produced a graph."""


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


def exception_line(exc: BaseException, limit: int) -> str:
    """``"TypeName: first line of the message"``, at most ``limit`` characters: why an extraction failed."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:limit]


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


def clear_caches() -> None:
    """Forget the memoised meta-kernel results and fx's cached disassembly (both only make a process faster once
    it has seen similar networks), e.g. to time extraction as a fresh process would see it."""
    _MEMO.clear()
    _CachedDis._cache.clear()


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


# ----------------------------------------------------------------------------------------------- fx path
def _notrace() -> tuple[tuple[type, ...], tuple[Callable[..., Any], ...]]:
    try:
        from timm.layers import get_notrace_functions, get_notrace_modules
    except ImportError:  # timm is optional for plain modules
        return (), ()
    mods = tuple(m for m in get_notrace_modules() if isinstance(m, type))
    fns = tuple(f for f in get_notrace_functions() if callable(f) and hasattr(f, "__globals__"))
    return mods, fns


class _CachedDis:
    """Stands for the ``dis`` module inside ``torch.fx.proxy`` during a trace. Unpacking a proxy (``B, N, C =
    x.shape``) makes fx disassemble the whole calling function to find the ``UNPACK_SEQUENCE``; the same few
    forward functions are disassembled over and over, so their instructions are kept (bytecode never changes)."""

    _cache: ClassVar[dict[CodeType, tuple[dis.Instruction, ...]]] = {}

    def get_instructions(self, x: Any, **kwargs: Any) -> Iterator[dis.Instruction]:
        if kwargs or not isinstance(x, CodeType):
            return dis.get_instructions(x, **kwargs)
        insts = self._cache.get(x)
        if insts is None:
            if len(self._cache) >= 20_000:
                self._cache.clear()
            insts = self._cache[x] = tuple(dis.get_instructions(x))
        return iter(insts)

    def __getattr__(self, name: str) -> Any:
        return getattr(dis, name)


class _Tracer(torch.fx.Tracer):
    """fx tracer with timm's leaf modules / functions, and conv / linear modules kept whole."""

    def __init__(self) -> None:
        mods, fns = _notrace()
        super().__init__(autowrap_functions=fns)
        self._leaf_types = (*mods, nn.modules.conv._ConvNd, nn.Linear)
        self._param_index: dict[int, tuple[str, nn.Parameter]] = {}
        self._indexed_root: nn.Module | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, self._leaf_types):
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def trace(self, root: nn.Module | Callable[..., Any], concrete_args: dict[str, Any] | None = None
              ) -> torch.fx.Graph:
        import torch.fx.proxy as fx_proxy

        saved = fx_proxy.dis
        fx_proxy.dis = _CachedDis()  # type: ignore[assignment]
        try:
            return super().trace(root, concrete_args)
        finally:
            fx_proxy.dis = saved

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        """``torch.fx.Tracer.getattr`` scans every parameter of the root for each parameter read (quadratic in the
        model's size); an index by identity finds the same name (the first one ``named_parameters`` gives) and makes
        the same ``get_attr`` proxy. Anything else (a parameter outside the root, a buffer) goes to the original."""
        if isinstance(attr_val, nn.Parameter) and not self.param_shapes_constant and isinstance(self.root, nn.Module):
            if self._indexed_root is not self.root:
                self._param_index = {}
                for n, p in self.root.named_parameters():
                    self._param_index.setdefault(id(p), (n, p))
                self._indexed_root = self.root
            hit = self._param_index.get(id(attr_val))
            if hit is not None and hit[1] is attr_val:
                name = hit[0]
                if name not in parameter_proxy_cache:
                    parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {}, proxy_factory_fn=None)
                return parameter_proxy_cache[name]
        return super().getattr(attr, attr_val, parameter_proxy_cache)


class _ShapeInterpreter(torch.fx.Interpreter):
    """Runs the traced graph (on meta tensors) and stores each node's output shape in ``node.meta``."""

    def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
        mod = self.fetch_attr(target)
        if is_composite(mod):  # a whole block that fx keeps as a leaf: record its inside with hooks
            records, _, out = _hook_records(mod, tuple(args), dict(kwargs), count_flops=False)
            self._node.meta["a2v_sub"] = records
            return out
        return super().call_module(target, args, kwargs)

    def run_node(self, n: torch.fx.Node) -> Any:
        self._node = n
        out = super().run_node(n)
        if isinstance(out, torch.Tensor):
            n.meta["a2v_shape"] = _shape(out)
        elif isinstance(out, tuple | list) and out and all(isinstance(o, torch.Tensor) for o in out):
            n.meta["a2v_shape"] = _shape(out[0])
        return out


def _count_flops(fn: Callable[[], Any]) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    # The memo is entered first so that it sits below the FLOP counter: the counter still sees (and counts) every
    # op, and only the kernel it then calls is replaced by a memoised result.
    with _MetaMemo(), counter:
        fn()
    return float(counter.get_total_flops())


def _fx_records(model: nn.Module, x: torch.Tensor) -> tuple[list[OpRecord], float]:
    graph = _Tracer().trace(model)
    # The graph runs against the model itself: a GraphModule would hold the same submodules under the same names,
    # and building one generates and compiles Python code for the whole graph (~0.1 s a model) that is never used.
    interp = _ShapeInterpreter(model, graph=graph)
    shapes_ok = True
    flops = float("nan")
    try:
        with torch.no_grad():
            flops = _count_flops(lambda: interp.run(x))
    except Exception:
        shapes_ok = False
    modules = interp.submodules
    records: list[OpRecord] = []
    kept: dict[torch.fx.Node, list[int]] = {}  # node -> indices of records standing for it

    def shape_of(a: Any) -> tuple[int, ...] | None:
        return a.meta.get("a2v_shape") if isinstance(a, torch.fx.Node) else _shape(a)

    for node in graph.nodes:
        parents = sorted({p for inp in node.all_input_nodes for p in kept.get(inp, [])})
        if node.op == "get_attr":
            kept[node] = []  # weights and buffers: their consumers carry the information
            continue
        is_tensor = "a2v_shape" in node.meta
        sub = node.meta.get("a2v_sub")
        if sub is not None:  # splice the recorded inside of a composite leaf
            where: list[list[int]] = [parents]
            for r in sub[1:-1]:
                r.parents = sorted({q for p in r.parents for q in where[p]})
                where.append([len(records)])
                records.append(r)
            kept[node] = sorted({q for p in sub[-1].parents for q in where[p]})
            continue
        if node.op == "call_module" and type(modules[node.target]) is nn.Identity:
            kept[node] = parents  # a no-op: bypass
            continue
        if shapes_ok and node.op != "output" and not is_tensor:
            kept[node] = parents  # shape arithmetic (x.shape, size(), ints): bypass
            continue
        if node.op == "placeholder":
            rec = OpRecord("input", name="input")
        elif node.op == "output":
            rec = OpRecord("output", name="output")
        elif node.op == "call_module":
            mod = modules[node.target]
            rec = OpRecord(classify_module(mod), name=type(mod).__name__)
            _fill_from_module(rec, mod)
            act = _fused_act(mod)
            if act is not None:  # timm's NormAct layers are leaves: show their activation as its own node
                rec.parents = parents
                rec.out_shape = node.meta.get("a2v_shape")
                _finish(rec, None)
                parents = [len(records)]
                records.append(rec)
                rec = act
        else:
            name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
            rec = OpRecord(classify_name(name), name=name.strip("_"))
            _fill_from_call(rec, node.args, dict(node.kwargs), shape_of)
        rec.parents = parents
        rec.out_shape = node.meta.get("a2v_shape")
        if node.op == "output" and rec.out_shape is None and node.all_input_nodes:
            rec.out_shape = node.all_input_nodes[0].meta.get("a2v_shape")
        first_in = next((i for i in node.all_input_nodes if "a2v_shape" in i.meta), None)
        _finish(rec, first_in.meta["a2v_shape"] if first_in is not None else None)
        kept[node] = [len(records)]
        records.append(rec)
    return records, flops


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


def graph_from_timm(name: str, **kwargs: Any) -> Data:
    """Graph of the timm architecture ``name`` (``resnet50``; a pretrained tag ``.a1_in1k`` is dropped),
    built with ``pretrained=False`` on the meta device at its default input size."""
    import timm

    arch = name.split(".", 1)[0]
    model = build_on_meta(lambda: timm.create_model(arch, pretrained=False))
    cfg = getattr(model, "pretrained_cfg", None) or {}
    input_size = tuple(cfg.get("input_size", DEFAULT_INPUT_SIZE))
    return graph_from_module(model, input_size, name=f"timm:{arch}", family=timm_family(arch), **kwargs)


def graph_from_torchvision(name: str, **kwargs: Any) -> Data:
    """Graph of a torchvision classification architecture (``alexnet``, ``googlenet``, ...), ``weights=None``,
    on the meta device at 224 px."""
    import torchvision.models

    extra: dict[str, Any] = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    model = build_on_meta(lambda: torchvision.models.get_model(name, weights=None, **extra))
    size = (3, 299, 299) if name == "inception_v3" else DEFAULT_INPUT_SIZE
    return graph_from_module(model, size, name=f"torchvision:{name}", family=torchvision_family(name), **kwargs)
