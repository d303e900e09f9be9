"""The fx path: symbolic tracing with :mod:`torch.fx` and a forward pass of the traced graph on meta tensors.

Holds the tracer (timm's no-trace modules and functions and every convolution / linear module kept as leaves), the
interpreter that stores each node's output shape, :func:`_fx_records` that turns the traced graph into op records, and
:func:`clear_caches`, which forgets the caches that make extraction faster in a process that has seen similar networks.
"""

from __future__ import annotations

import dis
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any, ClassVar

import torch
from torch import nn

from archi2vec.meta import _MEMO
from archi2vec.ops import OpRecord, classify_module, classify_name
from archi2vec.trace_hooks import (
    _count_flops,
    _fill_from_call,
    _fill_from_module,
    _finish,
    _fused_act,
    _hook_records,
    _shape,
    is_composite,
)


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


def clear_caches() -> None:
    """Forget the memoised meta-kernel results and fx's cached disassembly (both only make a process faster once
    it has seen similar networks), e.g. to time extraction as a fresh process would see it."""
    _MEMO.clear()
    _CachedDis._cache.clear()
