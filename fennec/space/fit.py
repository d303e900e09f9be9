"""Training loop of the transfer space on indexed records (no I/O, no store: arrays in, trained net out).

Loss, per group g = (benchmark, dataset) of records (never normalised across benchmarks):
- regression: mean squared error between the group-centred scores and the standardised values
  z = (value - mean_g) / std_g, by default with mean and spread taken without outlying results
  (:data:`STANDARDIZATIONS`);
- listwise ranking: ListNet cross-entropy between softmax(z / tau) and softmax(scores) (Cao et al., ICML 2007);
- groups of cheap scores (PARC and friends from ``fennec score-zoo``) enter with a smaller weight; they are
  auxiliary targets only: the held-out checks of the early stopping and the choice of the learned scale look
  at fine-tuning groups (:meth:`Batch.validation_groups`), since fine-tuned accuracy is what the space predicts.
Every group weighs the same whatever its size. L2 penalties keep free embeddings, biases and protocol offsets
small, so models with few records lean on their features; interactions (free embeddings) are shrunk at
least as hard as main effects (free biases), as in hierarchical priors for factorisation models.
Early stopping is cross-validated: the training datasets are split into
folds, a probe net is trained with each fold held out, the epoch with the lowest mean held-out ranking loss is
kept, and the final nets are trained on all groups for that many epochs (one split alone picks a noisy epoch;
:func:`fennec.space.selection.cross_validate` pools the folds of several independent splits).

Under the learned parts lies a fixed baseline (:func:`set_baseline`): each model's shrunken mean standardised
result over the training groups, overall and per benchmark ("baseline predictors", Koren, KDD 2008), so the L2
penalties pull towards what the records say of a model rather than towards an average model. The folds of the
early stopping also choose how much of the learned residual to keep
(:func:`fennec.space.selection.choose_learned_scale`).

The cold-start head is then fitted in closed form to the vector and quality the towers learned for each model with
records (:mod:`fennec.space.cold_fit`): a ridge regression with a penalty per feature group
(:class:`fennec.space.cold.ColdHead`, the default), or the per-output ridge of
:func:`fennec.space.cold_fit.fit_cold_head`, either chosen by leave-one-model-out, and written into the net's
cold-start layers (:func:`fennec.space.cold_fit.set_cold_layers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fennec.space.net import TransferNet

CHECK_EVERY = 10  # epochs between two held-out checks of the early stopping
# How a group's results become targets: "z", (value - mean) / std; "clipped", z-scores whose mean and std come
# from the results left after sigma clipping (scipy.stats.sigmaclip, its default 4 standard deviations), the
# clipped ones held at +-4 (either side): a few failed fine-tuning runs far below the rest (TransferGraph's tables
# have them in every group) no longer squeeze every other model's target together, and a group without such runs
# keeps its z-scores (fewer than 18 results can't even reach 4), as does one whose kept results are all equal;
# "normal", normal scores of the ranks (Blom, 1958), which also give up how far apart the models are.
STANDARDIZATIONS = ("clipped", "z", "normal")
CLIP_SIGMA = 4.0


@dataclass
class Batch:
    """Indexed records: R rows of (model, task, benchmark, group, value) plus per-group weights."""

    model: np.ndarray      # (R,) int index into the model arrays
    task: np.ndarray       # (R,) int index into the task arrays
    bench: np.ndarray      # (R,) int benchmark index
    group: np.ndarray      # (R,) int group index
    value: np.ndarray      # (R,) float value
    group_weight: np.ndarray  # (G,) float
    group_dataset: np.ndarray  # (G,) int task index of each group
    group_cheap: np.ndarray | None = None  # (G,) bool, groups of cheap scores (auxiliary targets); None: none
    standardization: str = "clipped"  # one of STANDARDIZATIONS (TransferSpace passes its own)

    def validation_groups(self) -> np.ndarray:
        """(G,) bool: the groups that held-out checks score, i.e. the fine-tuning groups; every group when the
        batch has cheap scores only (then they are all there is to check against)."""
        n_groups = len(self.group_weight)
        if self.group_cheap is None or self.group_cheap.all():
            return np.ones(n_groups, dtype=bool)
        return ~np.asarray(self.group_cheap, dtype=bool)


@dataclass
class Inputs:
    """Tower inputs as tensors."""

    model_x: torch.Tensor   # (M, model_in)
    pre: torch.Tensor       # (M, text_dim)
    free_idx: torch.Tensor  # (M,) long, -1 for cold-start models
    task_y: torch.Tensor    # (T, task_in)
    desc: torch.Tensor      # (T, text_dim)
    names: torch.Tensor     # (T, text_dim)


def standardize(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Within-group standardised results (R,) and a keep-mask of rows in groups of at least 3 records with spread.

    ``batch.standardization`` (:data:`STANDARDIZATIONS`): "z", z-scores; "clipped", z-scores with the mean and
    standard deviation of the results sigma clipping keeps (:data:`CLIP_SIGMA`), clipped to +-CLIP_SIGMA;
    "normal", Blom's normal scores Phi^-1((r - 3/8) / (n + 1/4)) of the ranks r (ties averaged), divided by their
    spread so that they have unit variance within a group.
    """
    g = batch.group
    n_groups = len(batch.group_weight)
    cnt = np.bincount(g, minlength=n_groups).astype(float)
    mean = np.bincount(g, batch.value, minlength=n_groups) / np.maximum(cnt, 1)
    var = np.bincount(g, (batch.value - mean[g]) ** 2, minlength=n_groups) / np.maximum(cnt, 1)
    std = np.sqrt(var)
    # spread from the range, not the std: equal values can leave a std of 1e-18 from rounding
    lo = np.full(n_groups, np.inf)
    hi = np.full(n_groups, -np.inf)
    np.minimum.at(lo, g, batch.value)
    np.maximum.at(hi, g, batch.value)
    keep = (cnt[g] >= 3) & (hi[g] > lo[g])
    if batch.standardization == "z":
        return np.where(keep, (batch.value - mean[g]) / np.where(std[g] > 0, std[g], 1.0), 0.0), keep
    if batch.standardization not in STANDARDIZATIONS:
        raise ValueError(f"Batch.standardization={batch.standardization!r}; expected one of {STANDARDIZATIONS}")
    from scipy.stats import norm, rankdata

    z = np.zeros(len(g))
    for k in np.unique(g[keep]):
        rows = np.flatnonzero(g == k)
        v = batch.value[rows]
        if batch.standardization == "clipped":
            loc, scale = clipped_location_scale(v)
            z[rows] = np.clip((v - loc) / scale, -CLIP_SIGMA, CLIP_SIGMA)
        else:
            s = norm.ppf((rankdata(v) - 0.375) / (len(rows) + 0.25))
            z[rows] = (s - s.mean()) / s.std()
    return z, keep


def _losses(net: TransferNet, inp: Inputs, rows: dict[str, torch.Tensor], n_groups: int,
            tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group MSE and ListNet losses, each (G,)."""
    mvec, mbias = net.model_parts(inp.model_x, inp.pre, inp.free_idx)
    tvec = net.task_parts(inp.task_y, inp.desc, inp.names)
    s = net(mvec, mbias, tvec, rows["model"], rows["task"], rows["bench"], inp.free_idx)
    return _group_losses(s, rows["group"], rows["z"], n_groups, tau)


def _group_losses(s: torch.Tensor, g: torch.Tensor, z: torch.Tensor, n_groups: int,
                  tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """MSE of group-centred scores ``s`` (R,) against z-scores ``z`` (R,) and ListNet, per group (G,)."""
    cnt = torch.zeros(n_groups).index_add_(0, g, torch.ones_like(s)).clamp(min=1)
    centred = s - (torch.zeros(n_groups).index_add_(0, g, s) / cnt)[g]
    mse = torch.zeros(n_groups).index_add_(0, g, (centred - z) ** 2) / cnt
    # log-softmax within each group, stabilised by the group's max score
    gmax = torch.full((n_groups,), -torch.inf).scatter_reduce_(0, g, s.detach(), reduce="amax", include_self=True)
    gmax = torch.where(torch.isfinite(gmax), gmax, torch.zeros_like(gmax))
    lse = torch.log(torch.zeros(n_groups).index_add_(0, g, torch.exp(s - gmax[g])).clamp(min=1e-30)) + gmax
    pz = torch.exp(z / tau)
    pz = pz / torch.zeros(n_groups).index_add_(0, g, pz)[g]
    listnet = -torch.zeros(n_groups).index_add_(0, g, pz * (s - lse[g]))
    return mse, listnet


def _rows(batch: Batch) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
    """Keep-mask (R,) of :func:`standardize` and the kept rows as tensors, their z-scores included."""
    z, keep = standardize(batch)
    rows = {k: torch.as_tensor(getattr(batch, k)[keep], dtype=torch.long) for k in ("model", "task", "bench", "group")}
    rows["z"] = torch.as_tensor(z[keep], dtype=torch.float32)
    return keep, rows


def clipped_location_scale(values: np.ndarray) -> tuple[float, float]:
    """(mean, standard deviation) of the results sigma clipping keeps (:data:`CLIP_SIGMA`; ``scipy.stats.
    sigmaclip``), by which ``"clipped"`` standardisation scales a group with spread; those of all results when
    the kept ones are all equal (most runs failed alike, a few did not: no spread to scale by, so plain
    z-scores; the range, not the std, says so, since the std of equal floats can be 1e-18 from rounding)."""
    from scipy.stats import sigmaclip

    inliers = sigmaclip(values, CLIP_SIGMA, CLIP_SIGMA).clipped
    kept = values if inliers.max() == inliers.min() else inliers
    return float(kept.mean()), float(kept.std())


def group_spread(batch: Batch) -> np.ndarray:
    """(G,) spread of each group's results in its own units: the scale ``"clipped"`` standardisation divides by
    (:func:`clipped_location_scale`), 0 for a group without any spread; what one standardised unit of the group
    is worth."""
    out = np.zeros(len(batch.group_weight))
    for g in np.unique(batch.group):
        v = batch.value[batch.group == g]
        if len(v) > 1 and v.max() > v.min():
            out[g] = clipped_location_scale(v)[1]
    return out


def spread_weights(batch: Batch) -> np.ndarray:
    """(G,) weight of each group in the baseline for ``baseline_weight="spread"``: its spread
    (:func:`group_spread`) over the median spread of the groups of its benchmark and kind (fine-tuning results
    or cheap scores), so that a dataset where the models differ by a fraction of a point counts less than one
    where they differ by twenty, as in the "prior" on raw results, while units never meet across benchmarks."""
    spread = group_spread(batch)
    bench = np.zeros(len(spread), dtype=int)
    bench[batch.group] = batch.bench
    cheap = np.zeros(len(spread), dtype=bool) if batch.group_cheap is None else np.asarray(batch.group_cheap)
    out = np.zeros(len(spread))
    for key in set(zip(bench, cheap, strict=True)):
        sel = (bench == key[0]) & (cheap == key[1]) & (spread > 0)
        if sel.any():
            out[sel] = spread[sel] / np.median(spread[sel])
    return out


def set_baseline(net: TransferNet, inp: Inputs, batch: Batch, groups: np.ndarray, prior: float,
                 weight_by_spread: bool = False) -> None:
    """Set the net's fixed main effects from the records of the ``groups`` (G,) bool mask.

    a_m = sum_g w_g z_mg / (sum_g w_g + prior): model m's weighted mean standardised result, shrunk towards an
    average model (0) by ``prior`` pseudo-groups; a_{m,b} is the same mean within benchmark b, shrunk towards
    a_m. Group weights are the loss's (cheap scores count less), times each group's relative spread
    (:func:`spread_weights`) with ``weight_by_spread``. With ``prior`` = 0 and one benchmark, a_m is the "prior"
    baseline on standardised results (with ``weight_by_spread``, on centred results in the benchmark's units,
    the outliers clipped); with ``prior`` < 0 the baseline stays at zero.
    """
    z, keep = standardize(batch)
    slot = inp.free_idx.numpy()[batch.model]
    use = keep & groups[batch.group] & (slot >= 0)
    n_free, n_bench = net.base_bench.shape
    group_w = batch.group_weight * (spread_weights(batch) if weight_by_spread else 1.0)
    w = group_w[batch.group][use]
    s, b, zz = slot[use], batch.bench[use], z[use]
    base = np.zeros(n_free)
    bench = np.zeros((n_free, n_bench))
    if prior >= 0 and use.any():
        wsum = np.bincount(s, w, minlength=n_free)
        base = np.bincount(s, w * zz, minlength=n_free) / (wsum + prior + 1e-12)
        cell = s * n_bench + b
        wb = np.bincount(cell, w, minlength=n_free * n_bench).reshape(n_free, n_bench)
        zb = np.bincount(cell, w * zz, minlength=n_free * n_bench).reshape(n_free, n_bench)
        bench = np.where(wb > 0, (zb + prior * base[:, None]) / (wb + prior + 1e-12) - base[:, None], 0.0)
    with torch.no_grad():
        net.base.copy_(torch.as_tensor(base, dtype=torch.float32))
        net.base_bench.copy_(torch.as_tensor(bench, dtype=torch.float32))


def train_net(net: TransferNet, inp: Inputs, batch: Batch, *, epochs: int, lr: float, listnet_weight: float,
              tau: float, l2_free: float, l2_interaction: float, l2_offset: float, l2_proj: float,
              seed: int, base_prior: float = 1.0, base_weight_by_spread: bool = False,
              val_datasets: set[int] | None = None, patience: int = 5,
              keep_states: bool = False) -> tuple[TransferNet, dict[str, Any]]:
    """Train ``net`` in place (full batch Adam) and return it with a training summary.

    With ``val_datasets`` (task indices), their groups are held out and the summary holds ``val_curve``, the
    held-out ListNet loss every ``CHECK_EVERY`` epochs (the net itself is trained on the other groups only);
    training stops once ``patience`` checks in a row found no better held-out loss, and ``best_state`` holds
    the net's state at the best check (None without held-out groups); with ``keep_states``, ``states`` holds
    its state at every check (the i-th after ``(i + 1) * CHECK_EVERY`` epochs). The fixed baseline is set first,
    from the training groups only (:func:`set_baseline` with ``base_prior`` and ``base_weight_by_spread``).
    """
    torch.manual_seed(seed)
    keep, rows = _rows(batch)
    n_groups = len(batch.group_weight)
    weight = torch.as_tensor(batch.group_weight, dtype=torch.float32)
    train_g = np.array([d not in (val_datasets or ()) for d in batch.group_dataset], dtype=bool)
    present = np.bincount(batch.group[keep], minlength=n_groups) > 0
    set_baseline(net, inp, batch, train_g, base_prior, base_weight_by_spread)
    tw = weight * torch.as_tensor(train_g & present, dtype=torch.float32)
    vw = weight * torch.as_tensor(~train_g & present & batch.validation_groups(), dtype=torch.float32)
    warm = [p for name, p in net.named_parameters() if not name.startswith("cold_")]
    opt = torch.optim.Adam(warm, lr=lr)
    curve: list[float] = []
    states: list[dict[str, torch.Tensor]] = []
    best_state: dict[str, torch.Tensor] | None = None
    for epoch in range(1, epochs + 1):
        opt.zero_grad()
        mse, listnet = _losses(net, inp, rows, n_groups, tau)
        per_group = mse + listnet_weight * listnet
        loss = (per_group * tw).sum() / tw.sum().clamp(min=1e-12)
        reg = (l2_free * net.free_bias.pow(2).sum() + l2_interaction * net.free.pow(2).sum()
               + l2_offset * net.bench_bias.pow(2).sum()
               + l2_proj * (net.model_proj.weight.pow(2).sum() + net.task_proj.weight.pow(2).sum()
                            + net.model_bias.weight.pow(2).sum()))
        (loss + reg).backward()
        opt.step()
        if vw.sum() > 0 and epoch % CHECK_EVERY == 0:
            with torch.no_grad():
                _, vl = _losses(net, inp, rows, n_groups, tau)
                curve.append(float((vl * vw).sum() / vw.sum()))
            if keep_states:
                states.append({k: v.clone() for k, v in net.state_dict().items()})
            if int(np.argmin(curve)) == len(curve) - 1:
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            if len(curve) - 1 - int(np.argmin(curve)) >= patience:
                break
    return net, {"final_loss": float(loss.detach()), "val_curve": curve, "best_state": best_state,
                 "states": states}
