"""Per-example gradients of a torch model's last layer(s), the input of the LGC score.

Usage with a torch classifier (``model(x)`` returns logits)::

    from fennec.scores import create_scorer
    from fennec.scores.gradients import per_example_grads

    grads = per_example_grads(model, images, layers=[model.fc])          # (N, P) float64 numpy
    create_scorer("lgc").score(grads=grads, labels=labels)

By default the gradient is that of the log-probability of the model's own top prediction,
d log softmax(f(x))[argmax f(x)] / d theta, for the parameters of ``layers`` (default: the last
``torch.nn.Linear`` of the model). For a linear head W h + b this is (e_z - p) h^T per example, so the
gradient kernel J J^T combines the feature kernel with the output geometry (Deshpande et al., 2021). Pass
``target="sum_logits"`` (gradient of the summed outputs) or any callable ``logits -> scalar`` instead.

Gradients are computed per example with ``torch.func`` (``vmap`` over ``grad`` of a ``functional_call``), in
batches; the model is put in eval mode so that batch-norm statistics do not couple examples. With many
parameters, P can be large (a 1000 x 2048 head gives P = 2M): pick small layers or project the gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _last_linear(model: Any) -> Any:
    import torch

    last = None
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            last = module
    if last is None:
        raise ValueError("per_example_grads: the model has no torch.nn.Linear layer; pass layers=[...] explicitly")
    return last


def per_example_grads(model: Any, inputs: Any, layers: Sequence[Any] | None = None,
                      target: str | Callable[[Any], Any] = "log_prob_pred", batch_size: int = 64) -> np.ndarray:
    """Per-example gradients of a scalar function of the model output w.r.t. the parameters of ``layers``.

    Args:
        model: A ``torch.nn.Module`` mapping a batch of inputs (B, ...) to outputs (B, K).
        inputs: Tensor or array of shape (N, ...).
        layers: Modules whose parameters get gradients (default: the model's last ``torch.nn.Linear``).
        target: ``"log_prob_pred"`` (log-softmax of the predicted class), ``"sum_logits"``, or a callable
            mapping the output of one example (K,) to a scalar tensor.
        batch_size: Examples per vectorised batch.

    Returns:
        float64 array of shape (N, P), P = total number of parameters of ``layers``, in the order of
        ``layer.named_parameters()`` for each layer.
    """
    import torch
    from torch.func import functional_call, grad, vmap

    if layers is None:
        layers = [_last_linear(model)]
    wanted = {id(p) for layer in layers for p in layer.parameters()}
    if not wanted:
        raise ValueError("per_example_grads: the given layers have no parameters")
    named = dict(model.named_parameters())
    grad_names = [name for name, p in named.items() if id(p) in wanted]
    buffers = dict(model.named_buffers())

    if target == "log_prob_pred":
        def scalar(out: torch.Tensor) -> torch.Tensor:
            # log p(argmax) = max of the log-softmax (vmap forbids indexing by a data-dependent argmax)
            return torch.log_softmax(out, dim=-1).max()
    elif target == "sum_logits":
        def scalar(out: torch.Tensor) -> torch.Tensor:
            return out.sum()
    elif callable(target):
        scalar = target
    else:
        raise ValueError(f"per_example_grads: target must be 'log_prob_pred', 'sum_logits' or a callable, "
                         f"got {target!r}")

    def loss(trainable: dict[str, torch.Tensor], frozen: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, ({**frozen, **trainable}, buffers), (x.unsqueeze(0),))
        return scalar(out.squeeze(0))

    was_training = model.training
    model.eval()
    try:
        x_all = torch.as_tensor(inputs)
        dtype = next(iter(named.values())).dtype
        if x_all.is_floating_point():
            x_all = x_all.to(dtype)
        trainable = {k: named[k].detach() for k in grad_names}
        frozen = {k: v.detach() for k, v in named.items() if k not in trainable}
        per_ex = vmap(grad(loss), in_dims=(None, None, 0))
        chunks = []
        for start in range(0, x_all.shape[0], batch_size):
            g = per_ex(trainable, frozen, x_all[start:start + batch_size])
            chunks.append(torch.cat([g[k].reshape(g[k].shape[0], -1) for k in grad_names], dim=1))
        return torch.cat(chunks).double().numpy()
    finally:
        model.train(was_training)
