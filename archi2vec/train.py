"""Self-supervised training of the archi2vec encoder over an architecture catalog.

Objective (summed):

* graph contrastive learning, GraphCL (You et al., "Graph Contrastive Learning with Augmentations", NeurIPS
  2020): two views of every graph, each with node-feature masking (a fraction of the nodes lose their features)
  and edge dropping (nodes are kept, so the view keeps the architecture's layout), pulled together with the
  NT-Xent loss against the other graphs of the batch;
* auxiliary targets computed from the architecture itself, predicted by linear heads on the embedding: log
  parameters, log FLOPs (FlopCounterMode on meta tensors at the model's default input size) and log depth
  (weighted layers on the longest path); the graph's descriptor (log count of every op type, width, kernel and
  resolution statistics: ``archi2vec.baseline``), so that the embedding keeps these interpretable axes linearly;
  and the family (timm / torchvision module) by a linear classifier.

Everything is seeded; with one thread two runs give the same weights.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch_geometric.data import Batch, Data

from archi2vec.baseline import handcrafted_matrix
from archi2vec.encoder import Archi2VecEncoder
from fennec.validation import (
    FennecInputError,
    check_fraction,
    check_positive_int,
    check_positive_number,
    check_seed,
)

REG_TARGETS = ("log_params", "log_flops", "log_depth")
LOSS_WEIGHTS = ("w_contrast", "w_reg", "w_family", "w_desc")


class TrainingDivergedError(RuntimeError):
    """The training loss (or a weight) stopped being finite: the run is stopped before NaN weights are kept."""


def _time_budget(value: object, name: str) -> float | None:
    return None if value is None else check_positive_number(value, name)


# how each option of train_encoder is checked; options not listed (graphs, log) are not values to check
_CHECKS: dict[str, Callable[[object, str], object]] = {
    **dict.fromkeys(("dim", "hidden", "num_layers", "epochs", "batch_size"), check_positive_int),
    **dict.fromkeys(("lr", "temperature"), check_positive_number),
    # a weight of 0 turns that loss off, which is a legitimate ablation; weight decay 0 is plain Adam
    **dict.fromkeys(("weight_decay", *LOSS_WEIGHTS),
                    lambda v, n: check_positive_number(v, n, allow_zero=True)),
    **dict.fromkeys(("mask_p", "drop_p"), check_fraction),
    "seed": check_seed,
    "time_budget": _time_budget,
}


def check_options(options: Mapping[str, Any]) -> None:
    """Check the values of :func:`train_encoder`'s options, before any work: finite, in range.

    Args:
        options: Option name -> value (names this does not check are ignored); when every loss weight is there,
            at least one must be positive.

    Raises:
        FennecInputError: naming the first bad option.
    """
    for name, value in options.items():
        if name in _CHECKS:
            _CHECKS[name](value, name)
    if all(w in options for w in LOSS_WEIGHTS) and not any(options[w] > 0 for w in LOSS_WEIGHTS):
        raise FennecInputError(f"{', '.join(LOSS_WEIGHTS)}: all 0, so nothing would be learnt; give at least one "
                               "loss a positive weight")


def is_held_out(name: str, test_fraction: float = 0.2) -> bool:
    """Deterministic split by architecture name (crc32), the same on every machine."""
    return (zlib.crc32(name.encode("utf-8")) % 1000) < round(test_fraction * 1000)


def split_names(names: Sequence[str], test_fraction: float = 0.2) -> tuple[list[str], list[str]]:
    """(train, held-out) architecture names."""
    test = [n for n in names if is_held_out(n, test_fraction)]
    train = [n for n in names if not is_held_out(n, test_fraction)]
    return train, test


def regression_targets(g: Data) -> np.ndarray:
    """(3,) float32: log10 params, log10 FLOPs (NaN when unknown), log2(1 + depth)."""
    p = float(getattr(g, "n_params", float("nan")))
    f = float(getattr(g, "flops", float("nan")))
    d = float(getattr(g, "depth", 0) or 0)
    return np.array([math.log10(p) if p > 0 else np.nan, math.log10(f) if f > 0 and math.isfinite(f) else np.nan,
                     math.log2(1.0 + d)], dtype=np.float32)


class _Heads(nn.Module):
    def __init__(self, dim: int, n_families: int, n_desc: int, proj: int = 64) -> None:
        super().__init__()
        self.desc = nn.Linear(dim, n_desc)
        self.proj = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, proj))
        self.reg = nn.Linear(dim, len(REG_TARGETS))
        self.fam = nn.Linear(dim, n_families)


def _augment(b: Batch, gen: torch.Generator, mask_p: float, drop_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    x = b.x.clone()
    mask = torch.rand(x.shape[0], generator=gen) < mask_p
    x[mask] = 0.0
    keep = torch.rand(b.edge_index.shape[1], generator=gen) >= drop_p
    return x, b.edge_index[:, keep]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric NT-Xent (SimCLR / GraphCL) between two views, (B, p) each."""
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    logits = z1 @ z2.T / temperature
    target = torch.arange(z1.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def train_encoder(graphs: Sequence[Data], *, dim: int = 64, hidden: int = 32, num_layers: int = 2,
                  epochs: int = 30, batch_size: int = 32, lr: float = 5e-3, weight_decay: float = 1e-4,
                  temperature: float = 0.2, mask_p: float = 0.15, drop_p: float = 0.1,
                  w_contrast: float = 0.5, w_reg: float = 2.0, w_family: float = 2.0, w_desc: float = 3.0,
                  seed: int = 0,
                  time_budget: float | None = None,
                  log: Callable[[str], None] | None = print) -> tuple[Archi2VecEncoder, dict[str, Any]]:
    """Train an encoder on ``graphs`` (each with ``n_params``, ``flops``, ``depth``, ``family`` attributes).

    Args:
        graphs: Training graphs (architectures held out for evaluation must not be in here).
        dim, hidden, num_layers: Encoder size (see :class:`Archi2VecEncoder`).
        epochs: Passes over ``graphs``.
        time_budget: Stop after this many seconds (checked after each epoch), or None.
        log: Progress sink, or None.

    Returns:
        (encoder in eval mode, info dict with the loss history, target statistics and family list).

    Raises:
        FennecInputError: a bad option value (:func:`check_options`), or fewer than 2 graphs.
        TrainingDivergedError: the loss or a weight stopped being finite (e.g. a learning rate far too high).
    """
    check_options(locals())
    if len(graphs) < 2:
        raise FennecInputError(f"graphs: training needs at least 2 graphs, got {len(graphs)}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    families = sorted({str(getattr(g, "family", "")) for g in graphs})
    fam_index = {f: i for i, f in enumerate(families)}
    y = np.stack([regression_targets(g) for g in graphs])
    mean = np.nanmean(y, axis=0)
    std = np.nanstd(y, axis=0) + 1e-6
    yz = (y - mean) / std
    desc = handcrafted_matrix(graphs)
    desc = ((desc - desc.mean(0)) / (desc.std(0) + 1e-2)).astype(np.float32)
    items = []
    for g, t, dsc in zip(graphs, yz, desc, strict=True):
        items.append(Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes,
                          y_reg=torch.from_numpy(t).unsqueeze(0), y_desc=torch.from_numpy(dsc).unsqueeze(0),
                          y_fam=torch.tensor([fam_index[str(getattr(g, "family", ""))]])))
    enc = Archi2VecEncoder(dim=dim, hidden=hidden, num_layers=num_layers)
    heads = _Heads(dim, len(families), desc.shape[1])
    params = list(enc.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, math.ceil(len(items) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.1)
    history: list[dict[str, float]] = []
    t0 = time.time()
    enc.train()
    heads.train()
    for epoch in range(epochs):
        order = torch.randperm(len(items), generator=gen).tolist()
        sums = {"loss": 0.0, "contrast": 0.0, "reg": 0.0, "desc": 0.0, "family": 0.0, "acc": 0.0}
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2:
                continue
            b = Batch.from_data_list([items[i] for i in idx])
            x1, e1 = _augment(b, gen, mask_p, drop_p)
            x2, e2 = _augment(b, gen, mask_p, drop_p)
            h1 = enc(x1, e1, b.batch)
            h2 = enc(x2, e2, b.batch)
            l_con = nt_xent(heads.proj(h1), heads.proj(h2), temperature)
            target = b.y_reg
            ok = ~torch.isnan(target)
            l_reg = torch.zeros(())
            l_fam = torch.zeros(())
            l_desc = torch.zeros(())
            acc = 0.0
            for h in (h1, h2):
                pred = heads.reg(h)
                l_reg = l_reg + 0.5 * F.mse_loss(pred[ok], target[ok])
                l_desc = l_desc + 0.5 * F.mse_loss(heads.desc(h), b.y_desc)
                logits = heads.fam(h)
                l_fam = l_fam + 0.5 * F.cross_entropy(logits, b.y_fam)
                acc += 0.5 * float((logits.argmax(1) == b.y_fam).float().mean())
            loss = w_contrast * l_con + w_reg * l_reg + w_family * l_fam + w_desc * l_desc
            if not torch.isfinite(loss):  # one NaN step makes every weight NaN: stop while the cause is known
                raise TrainingDivergedError(
                    f"training diverged: the loss became {loss.item()} in epoch {epoch + 1} (contrast "
                    f"{l_con.item():.4g}, reg {l_reg.item():.4g}, family {l_fam.item():.4g}, desc "
                    f"{l_desc.item():.4g}); nothing was written; lower the learning rate (--lr) or the loss weights")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
            n = len(idx) / len(items)
            sums["loss"] += loss.item() * n
            sums["contrast"] += l_con.item() * n
            sums["reg"] += l_reg.item() * n
            sums["family"] += l_fam.item() * n
            sums["desc"] += l_desc.item() * n
            sums["acc"] += acc * n
        sums["epoch"] = epoch + 1
        sums["seconds"] = round(time.time() - t0, 1)
        history.append(sums)
        if log is not None:
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sums.items()))
        if time_budget is not None and time.time() - t0 > time_budget:
            if log is not None:
                log(f"time budget of {time_budget} s reached after {epoch + 1} epochs")
            break
    if not all(torch.isfinite(p).all() for p in params):  # an optimiser step can overflow after a finite loss
        raise TrainingDivergedError("training diverged: some weights are not finite after the last step; nothing "
                                    "was written; lower the learning rate (--lr)")
    enc.eval()
    info = {"history": history, "families": families, "target_mean": mean.tolist(), "target_std": std.tolist(),
            "epochs_run": len(history), "seconds": round(time.time() - t0, 1), "n_graphs": len(items),
            "hyper": {"dim": dim, "hidden": hidden, "num_layers": num_layers, "epochs": epochs,
                      "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                      "temperature": temperature, "mask_p": mask_p, "drop_p": drop_p, "w_contrast": w_contrast,
                      "w_reg": w_reg, "w_family": w_family, "w_desc": w_desc, "seed": seed}}
    return enc, info
