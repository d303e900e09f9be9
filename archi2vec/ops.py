"""Operation vocabulary and the fixed node-feature layout of archi2vec graphs.

A node is one operation of the network. Its feature vector is a one-hot op type (``OPS``) followed by
``N_ATTRS`` numeric attributes (``ATTRS``), all roughly in [-1, 2] so that a GNN needs no feature scaling.
The op type is decided from the module class (``classify_module``) or from the function / method name
(``classify_name``); both paths share one vocabulary, so the fx path and the hook fallback give the same kinds
of nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

OPS: tuple[str, ...] = (
    "input", "output",
    "conv", "conv_dw", "conv_group", "linear",
    "batchnorm", "layernorm", "groupnorm", "norm_other",
    "relu", "gelu", "silu", "sigmoid", "hardswish", "act_other",
    "maxpool", "avgpool", "adaptive_pool",
    "attention", "matmul", "softmax",
    "add", "mul", "cat", "reshape", "index", "reduce",
    "dropout", "param", "other",
)
OP_INDEX: dict[str, int] = {op: i for i, op in enumerate(OPS)}

ATTRS: tuple[str, ...] = (
    "kernel",        # log2(max kernel size) / 3 (1x1 -> 0, 7x7 -> 0.94)
    "stride",        # log2(max stride) / 2
    "dilation",      # log2(max dilation) / 2
    "depthwise",     # 1 if groups == in_channels > 1
    "grouped",       # 1 if groups > 1
    "log_cin",       # log2(channels in) / 12
    "log_cout",      # log2(channels out) / 12
    "expansion",     # log2(cout / cin) / 3, clipped to [-1, 1]
    "depth_pos",     # topological position / number of nodes, in [0, 1]
    "log_spatial",   # log2(spatial positions or tokens of the output) / 16
    "has_shape",     # 1 if the output shape is known
)
N_ATTRS = len(ATTRS)
N_OPS = len(OPS)
NUM_FEATURES = N_OPS + N_ATTRS

# Op types that carry weights: their count along the longest path is the network "depth".
WEIGHTED_OPS = frozenset({"conv", "conv_dw", "conv_group", "linear"})

_NAME_TABLE: dict[str, str] = {}


def _add(op: str, *names: str) -> None:
    for n in names:
        _NAME_TABLE[n] = op


_add("conv", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
     "convolution", "conv2d_same", "conv2d_same_padding")
_add("linear", "linear", "addmm", "bilinear", "embedding")
_add("batchnorm", "batch_norm", "batch_norm2d")
_add("layernorm", "layer_norm", "layer_norm2d", "fast_layer_norm")
_add("groupnorm", "group_norm")
_add("norm_other", "rms_norm", "instance_norm", "normalize", "local_response_norm", "fast_rms_norm",
     "rms_norm2d", "simple_norm")
_add("relu", "relu", "relu6", "hardtanh", "leaky_relu", "prelu", "rrelu", "threshold")
_add("gelu", "gelu", "gelu_tanh", "quick_gelu")
_add("silu", "silu", "swish")
_add("sigmoid", "sigmoid", "hardsigmoid", "hard_sigmoid", "logsigmoid")
_add("hardswish", "hardswish", "hard_swish")
_add("act_other", "tanh", "mish", "elu", "selu", "celu", "softplus", "hard_mish", "hardtanh_", "glu",
     "tanhshrink", "softsign", "exp", "erf", "star_relu")
_add("maxpool", "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_same", "max_pool2d_with_indices")
_add("avgpool", "avg_pool1d", "avg_pool2d", "avg_pool3d", "avg_pool2d_same")
_add("adaptive_pool", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
     "adaptive_max_pool2d", "adaptive_avgmax_pool2d", "adaptive_catavgmax_pool2d", "select_adaptive_pool2d")
_add("attention", "scaled_dot_product_attention", "multi_head_attention_forward")
_add("matmul", "matmul", "bmm", "mm", "einsum", "baddbmm", "rmatmul")
_add("softmax", "softmax", "log_softmax", "softmin")
_add("add", "add", "iadd", "radd", "sub", "isub", "rsub", "addcmul", "lerp")
_add("mul", "mul", "imul", "rmul", "div", "truediv", "itruediv", "rtruediv", "floordiv", "pow", "sqrt",
     "rsqrt", "reciprocal", "neg", "abs", "clamp", "clip", "square", "where", "masked_fill")
_add("cat", "cat", "concat", "concatenate", "stack", "hstack", "vstack")
_add("reshape", "reshape", "view", "flatten", "unflatten", "permute", "transpose", "contiguous", "squeeze",
     "unsqueeze", "expand", "expand_as", "repeat", "repeat_interleave", "flip", "roll", "pad", "view_as",
     "reshape_as", "movedim", "t", "to", "type", "float", "half", "pixel_shuffle", "pixel_unshuffle",
     "interpolate", "upsample", "channel_shuffle", "tile", "unfold", "fold", "swapaxes", "clone",
     "type_as", "detach", "as_strided", "nchw_to", "nhwc_to", "window_partition", "window_reverse",
     "grid_partition", "grid_reverse", "grid_reverse_nchw", "window_partition_nchw", "window_reverse_nchw",
     "resample_abs_pos_embed", "to_2tuple", "ndgrid")
_add("index", "getitem", "chunk", "split", "unbind", "index_select", "gather", "narrow", "select", "tensor_split",
     "split_with_sizes", "take_along_dim", "topk", "sort", "argsort", "masked_select")
_add("reduce", "mean", "sum", "amax", "amin", "max", "min", "std", "var", "norm", "logsumexp", "prod",
     "cumsum", "var_mean")
_add("dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "drop_path", "drop_block", "drop_block_2d",
     "drop_block_fast_2d", "identity", "alpha_dropout")
_add("param", "get_attr", "zeros", "ones", "arange", "zeros_like", "ones_like", "full", "empty", "tensor",
     "linspace", "meshgrid", "eye", "randn", "rand")


def classify_name(name: str) -> str:
    """Op type of a function or method, from its name (``"conv2d"``, ``"__iadd__"``, ``"relu_"``).

    Returns:
        One of ``OPS``; ``"other"`` for unknown names.
    """
    n = name.lower().strip("_")
    if n in _NAME_TABLE:
        return _NAME_TABLE[n]
    if n.endswith("_") and n[:-1] in _NAME_TABLE:  # in-place variants: relu_, add_
        return _NAME_TABLE[n[:-1]]
    if n.startswith("i") and n[1:] in _NAME_TABLE and n[1:] in ("add", "mul", "sub", "truediv", "matmul"):
        return _NAME_TABLE[n[1:]]
    return "other"


# Substrings of a module class name, checked in order (first match wins). Subclasses such as timm's
# ``BatchNormAct2d``, ``LayerNorm2d``, ``Conv2dSame`` and ``GELUTanh`` are caught by name, so the table does not
# depend on which timm classes exist.
_CLASS_RULES: tuple[tuple[str, str], ...] = (
    ("attention", "attention"), ("attn", "attention"),
    ("batchnorm", "batchnorm"), ("syncbatchnorm", "batchnorm"), ("frozenbatchnorm", "batchnorm"),
    ("layernorm", "layernorm"), ("groupnorm", "groupnorm"),
    ("rmsnorm", "norm_other"), ("instancenorm", "norm_other"), ("localresponsenorm", "norm_other"),
    ("norm", "norm_other"),
    ("dropout", "dropout"), ("droppath", "dropout"), ("dropblock", "dropout"), ("identity", "dropout"),
    ("hardswish", "hardswish"), ("hardsigmoid", "sigmoid"), ("sigmoid", "sigmoid"),
    ("gelu", "gelu"), ("silu", "silu"), ("swish", "silu"), ("relu", "relu"), ("hardtanh", "relu"),
    ("tanh", "act_other"), ("mish", "act_other"), ("elu", "act_other"), ("softplus", "act_other"),
    ("quickgelu", "gelu"), ("glu", "act_other"),
    ("adaptive", "adaptive_pool"), ("maxpool", "maxpool"), ("avgpool", "avgpool"),
    ("softmax", "softmax"), ("flatten", "reshape"), ("upsample", "reshape"), ("pixelshuffle", "reshape"),
    ("linear", "linear"), ("embedding", "linear"),
    ("conv", "conv"),
)


def classify_module(module: object) -> str:
    """Op type of a leaf module from its class (and groups, for convolutions).

    Returns:
        One of ``OPS``; ``"other"`` for unknown classes.
    """
    import torch.nn as nn

    if isinstance(module, nn.modules.conv._ConvNd):
        return conv_kind(module.in_channels, module.groups)
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, nn.MultiheadAttention):
        return "attention"
    name = type(module).__name__.lower()
    for key, op in _CLASS_RULES:
        if key in name:
            return conv_kind(getattr(module, "in_channels", 1), getattr(module, "groups", 1)) if op == "conv" else op
    return "other"


def conv_kind(in_channels: int, groups: int) -> str:
    """``conv_dw`` for depthwise, ``conv_group`` for other grouped, ``conv`` for dense convolutions."""
    if groups > 1 and groups == in_channels:
        return "conv_dw"
    if groups > 1:
        return "conv_group"
    return "conv"


@dataclass
class OpRecord:
    """One operation before it becomes a node: op type, attributes, producers (indices of earlier records)."""

    op: str
    parents: list[int] = field(default_factory=list)
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    groups: int = 1
    cin: int = 0
    cout: int = 0
    out_shape: tuple[int, ...] | None = None
    name: str = ""

    def features(self, position: float) -> list[float]:
        """The node's feature vector (length ``NUM_FEATURES``) at relative depth ``position`` in [0, 1]."""
        onehot = [0.0] * N_OPS
        onehot[OP_INDEX.get(self.op, OP_INDEX["other"])] = 1.0
        cin, cout = max(int(self.cin), 0), max(int(self.cout), 0)
        expansion = 0.0
        if cin > 0 and cout > 0:
            expansion = max(-1.0, min(1.0, math.log2(cout / cin) / 3.0))
        spatial = 0.0
        if self.out_shape is not None and len(self.out_shape) >= 3:
            n = 1
            for s in (self.out_shape[2:] if len(self.out_shape) >= 4 else self.out_shape[1:2]):
                n *= max(int(s), 1)
            spatial = math.log2(max(n, 1)) / 16.0
        attrs = [
            math.log2(max(self.kernel, 1)) / 3.0,
            math.log2(max(self.stride, 1)) / 2.0,
            math.log2(max(self.dilation, 1)) / 2.0,
            1.0 if self.op == "conv_dw" else 0.0,
            1.0 if self.groups > 1 else 0.0,
            math.log2(cin) / 12.0 if cin > 0 else 0.0,
            math.log2(cout) / 12.0 if cout > 0 else 0.0,
            expansion,
            float(position),
            spatial,
            1.0 if self.out_shape is not None else 0.0,
        ]
        return onehot + attrs


def op_types_of(x: object) -> list[str]:
    """Recover the op type of each node from a feature matrix (N, NUM_FEATURES)."""
    import numpy as np

    arr = np.asarray(x)
    return [OPS[i] for i in arr[:, :N_OPS].argmax(axis=1)]
