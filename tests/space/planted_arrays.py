"""Planted arrays shared by the training-loop tests: models whose fine-tuning result is driven by their features."""

from __future__ import annotations

import numpy as np
import torch

from fennec.space.cold_fit import fit_cold_head
from fennec.space.fit import Batch, Inputs, train_net
from fennec.space.net import TransferNet

N_MODELS, N_WARM, N_TASKS, N_FEAT, TEXT = 40, 30, 8, 6, 4


def planted(seed: int = 0) -> tuple[Inputs, Batch, np.ndarray]:
    """Models whose fine-tuning result is driven by feature 0 (plus a task-dependent part from feature 1).

    Only the first N_WARM models have records; the rest are cold-start models to be scored from features.
    Returns the inputs, the records and the noise-free results (N_MODELS, N_TASKS).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_MODELS, N_FEAT)).astype(np.float32)
    y = rng.standard_normal((N_TASKS, 3)).astype(np.float32)
    truth = x[:, :1] + 0.5 * x[:, 1:2] * y[None, :, 0]
    rows = [(m, t, truth[m, t] + 0.1 * rng.standard_normal()) for m in range(N_WARM) for t in range(N_TASKS)]
    m_idx, t_idx, value = (np.array(c) for c in zip(*rows, strict=True))
    free_idx = np.where(np.arange(N_MODELS) < N_WARM, np.arange(N_MODELS), -1)
    inp = Inputs(model_x=torch.as_tensor(x), pre=torch.zeros(N_MODELS, TEXT), free_idx=torch.as_tensor(free_idx),
                 task_y=torch.as_tensor(y), desc=torch.zeros(N_TASKS, TEXT), names=torch.zeros(N_TASKS, TEXT))
    batch = Batch(model=m_idx, task=t_idx, bench=np.zeros(len(rows), int), group=t_idx, value=value.astype(float),
                  group_weight=np.ones(N_TASKS), group_dataset=np.arange(N_TASKS))
    return inp, batch, truth


def fit(inp: Inputs, batch: Batch, cold: bool = False) -> TransferNet:
    torch.manual_seed(0)
    net = TransferNet(n_models=N_WARM, n_benchmarks=1, model_in=N_FEAT, task_in=3, text_dim=TEXT, dim=4)
    net, _ = train_net(net, inp, batch, epochs=150, lr=0.03, listnet_weight=1.0, tau=0.5, l2_free=1e-2,
                       l2_interaction=1e-2, l2_offset=1e-2, l2_proj=1e-3, seed=0)
    if cold:
        fit_cold_head(net, inp, batch)
    return net.eval()


def cold_scores(net: TransferNet, inp: Inputs) -> np.ndarray:
    """(N_MODELS - N_WARM, N_TASKS) scores of the models without records."""
    with torch.no_grad():
        mvec, mbias = net.model_parts(inp.model_x, inp.pre, inp.free_idx)
        tvec = net.task_parts(inp.task_y, inp.desc, inp.names)
    return (mvec @ tvec.T + mbias[:, None]).numpy()[N_WARM:]


def with_cheap_scores(batch: Batch) -> Batch:
    """``batch`` plus one group of cheap scores per dataset that ranks its models the other way round."""
    n_groups = len(batch.group_weight)
    cat = np.concatenate
    return Batch(model=cat([batch.model, batch.model]), task=cat([batch.task, batch.task]),
                 bench=cat([batch.bench, batch.bench]), group=cat([batch.group, batch.group + n_groups]),
                 value=cat([batch.value, -batch.value]),
                 group_weight=cat([batch.group_weight, np.full(n_groups, 0.3)]),
                 group_dataset=cat([batch.group_dataset, batch.group_dataset]),
                 group_cheap=cat([np.zeros(n_groups, bool), np.ones(n_groups, bool)]))
