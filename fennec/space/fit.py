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
:class:`~fennec.space.space.TransferSpace` pools the folds of several independent splits).

Under the learned parts lies a fixed baseline (:func:`set_baseline`): each model's shrunken mean standardised
result over the training groups, overall and per benchmark ("baseline predictors", Koren, KDD 2008), so the L2
penalties pull towards what the records say of a model rather than towards an average model. The folds of the
early stopping also choose how much of the learned residual to keep (:func:`choose_learned_scale`).

The cold-start head is then fitted in closed form to the vector and quality the towers learned for each model with
records (:func:`cold_head_targets`): a ridge regression with a penalty per feature group
(:class:`fennec.space.cold.ColdHead`, the default), or the per-output ridge of :func:`fit_cold_head`, either
chosen by leave-one-model-out, and written into the net's cold-start layers (:func:`set_cold_layers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fennec.space.cold import coordinate_search
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


def dataset_folds(batch: Batch, val_fraction: float, seed: int) -> list[set[int]]:
    """Disjoint seeded folds of the training datasets, each about ``val_fraction`` of them (round(1 / fraction)
    folds; none with fewer than 3 datasets), for cross-validated early stopping."""
    datasets = np.unique(batch.group_dataset)
    if val_fraction <= 0 or len(datasets) < 3:
        return []
    k = min(len(datasets), max(2, round(1 / val_fraction)))
    order = np.random.default_rng(seed).permutation(datasets)
    return [set(part.tolist()) for part in np.array_split(order, k)]


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


def score_parts(net: TransferNet, inp: Inputs, batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record (R,): the fixed baseline (:func:`set_baseline`), the learned main effect on top of it (model
    biases and protocol offsets) and the learned interaction with the task (the dot products). A score with
    scales (a, c) is ``baseline + a * main + c * interaction``: biases scale with a, folded vectors with c."""
    with torch.no_grad():
        tvec = net.task_parts(inp.task_y, inp.desc, inp.names)
        mi, ti, bi = (torch.as_tensor(a) for a in (batch.model, batch.task, batch.bench))
        fixed, main, inter = (net(*net.model_parts(inp.model_x, inp.pre, inp.free_idx, scale=a, interaction=c), tvec,
                                  mi, ti, bi, inp.free_idx, scale=a)
                              for a, c in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)))
    return fixed.numpy(), (main - fixed).numpy(), (inter - fixed).numpy()


SCALE_GRID = np.linspace(0.0, 1.5, 16)


def held_out_taus(parts: list[tuple[np.ndarray, ...]], batch: Batch,
                  pairs: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted Kendall tau (Vigna, WWW 2015; the harness's main metric) of every held-out group of every
    fold, ranked by ``baseline + a * main + c * interaction`` for each pair of scales (a, c) in ``pairs``.

    ``parts`` holds one (baseline, main, interaction, held-out row mask) tuple of (R,) arrays per fold of the
    cross-validated early stopping (:func:`score_parts` of the fold's probe); only fine-tuning groups are scored
    (:meth:`Batch.validation_groups`). A constant ranking (the zero baseline at a = c = 0, say) has no tau; it
    carries no order, i.e. 0.

    Returns:
        (N,) group index of each (fold, group), (N,) its weight, (N, P) its taus.
    """
    from scipy.stats import weightedtau

    z, keep = standardize(batch)
    keep = keep & batch.validation_groups()[batch.group]
    groups, taus = [], []
    for fixed, main, inter, held in parts:
        rows = np.flatnonzero(keep & held)
        for g in np.unique(batch.group[rows]):
            sel = rows[batch.group[rows] == g]
            groups.append(g)
            taus.append([weightedtau(fixed[sel] + a * main[sel] + c * inter[sel], z[sel]).statistic
                         for a, c in pairs])
    group = np.asarray(groups, dtype=int)
    tau = np.nan_to_num(np.asarray(taus, dtype=float).reshape(len(groups), len(pairs)), nan=0.0)
    return group, batch.group_weight[group].astype(float), tau


def choose_learned_scale(parts: list[tuple[np.ndarray, ...]], batch: Batch, separate: bool = False,
                         grid: np.ndarray | None = None) -> tuple[tuple[float, float], float | None]:
    """How much of what training learned on top of the fixed baseline to keep, chosen on held-out datasets.

    For each pair of scales (a, c) in :data:`SCALE_GRID` the held-out groups of ``parts`` (see
    :func:`held_out_taus`) are ranked by ``baseline + a * main + c * interaction`` and the pair with the best
    mean weighted Kendall tau is returned, the smallest scales among ties. This is shrinkage of the learned
    residuals towards the empirical baseline, its strength set by cross-validation rather than by hand, with one
    strength for the main effects and one for the interactions when ``separate`` (they rest on different
    evidence: a model's quality on many datasets; how a task's text moves it, learned from a few dozen tasks);
    by default one scale for both (a = c). ``grid`` replaces :data:`SCALE_GRID` (one value: a fixed scale, whose
    held-out tau is still returned).

    Returns:
        ((a, c), their mean held-out weighted tau); ((1, 1), None) without held-out groups (keep everything).
    """
    grid = SCALE_GRID if grid is None else np.asarray(grid, dtype=float)
    pairs = [(float(a), float(c)) for a in grid for c in (grid if separate else (a,))]
    _, weight, tau = held_out_taus(parts, batch, pairs)
    if weight.sum() == 0:
        return (1.0, 1.0), None
    total = weight @ tau
    best = int(np.argmax(total))
    return pairs[best], float(total[best] / weight.sum())


def paired_gain(parts: list[tuple[np.ndarray, ...]], batch: Batch, scales: tuple[float, float],
                reference: tuple[float, float]) -> tuple[float, float]:
    """Held-out gain of ``scales`` over ``reference`` and its standard error, over the held-out groups.

    Each group's tau difference is averaged over the folds that held it out (repeated splits hold a group out
    more than once; those are not independent evidence), then the groups' weighted mean is taken and its
    standard error is the sandwich estimate sqrt(sum w^2 (d - mean)^2) / sum w, times sqrt(n / (n - 1)) for n
    groups: the error of a mean over the n groups, as in the one-standard-error rule of cross-validation
    (Breiman et al., 1984; Hastie et al., The Elements of Statistical Learning, section 7.10).

    Returns:
        (mean gain, standard error); the error is inf with fewer than two held-out groups, and (0, inf) with none.
    """
    group, weight, tau = held_out_taus(parts, batch, [scales, reference])
    if len(group) == 0 or weight.sum() == 0:
        return 0.0, float("inf")
    ids, inv = np.unique(group, return_inverse=True)
    diff = np.bincount(inv, tau[:, 0] - tau[:, 1]) / np.bincount(inv)
    w = batch.group_weight[ids].astype(float)
    mean = float(w @ diff / w.sum())
    n = len(ids)
    if n < 2:
        return mean, float("inf")
    se = float(np.sqrt((w ** 2) @ (diff - mean) ** 2) / w.sum() * np.sqrt(n / (n - 1)))
    return mean, se


def best_epoch(curves: list[list[float]], default: int) -> int:
    """The epoch with the lowest mean held-out loss over the folds' curves (``default`` without curves).

    Curves that stopped early are compared over their common length: past it, some fold has seen no gain for
    ``patience`` checks already.
    """
    curves = [c for c in curves if c]
    if not curves:
        return default
    n = min(len(c) for c in curves)
    mean = np.mean([c[:n] for c in curves], axis=0)
    return (int(np.argmin(mean)) + 1) * CHECK_EVERY


# the "ridge" head's group scales (its overall penalty is cross-validated too); ColdHead has its own,
# fennec.space.cold.GROUP_SCALES, which reach 10 since its overall penalty is fixed
GROUP_SCALES = np.array([0.0, 0.1, 0.3, 1.0, 3.0])


def zoo_weights(batch: Batch, n_models: int) -> np.ndarray:
    """(M,) weight of each model in the cold-start head's fit, such that every benchmark's zoo weighs the same.

    A model counts ``1 / (models with transfer results in b)`` for each benchmark b where it has transfer results
    (cheap scores are another view of a zoo already counted, not a zoo of their own); models without any weigh
    0; the weights are normalised to mean 1 over the others, so a ridge penalty keeps its scale.
    Why: counted model by model, the largest zoo (TransferGraph's 180 Hugging Face models, two thirds of the
    shared records' models) would set for every zoo how size, architecture and pre-training predict quality;
    a new model is ranked within a zoo, and zoos disagree on that (bigger is better among ImageNet CNNs).
    """
    rows = batch.validation_groups()[batch.group]  # transfer rows (every row when a store has cheap scores only)
    pairs = np.unique(np.stack([batch.model[rows], batch.bench[rows]], axis=1), axis=0)
    per_bench = np.bincount(pairs[:, 1])
    w = np.bincount(pairs[:, 0], 1.0 / per_bench[pairs[:, 1]], minlength=n_models)
    return w / w[w > 0].mean() if (w > 0).any() else w


def ridge_cv(x: np.ndarray, y: np.ndarray, grid: np.ndarray, cv_groups: np.ndarray | None = None,
             sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The best ridge penalty of ``grid`` for each column of ``y`` (N, T) and its cross-validated score
    (negative mean squared error), both (T,).

    Without ``cv_groups``: scikit-learn's efficient leave-one-out (``RidgeCV``). With them (N,): grouped k-fold
    (``GroupKFold``, up to 5 folds), every row of a group held out together. For the cold-start head the groups are
    architectures: leave-one-out keeps a held-out model's siblings (the same network pre-trained on other data) in
    the fit, so it answers "a new pre-training of a known network" and picks a penalty too small for "a new
    network". One SVD per fold serves every penalty.

    With ``sample_weight`` (N,), rows weigh in the fit and in the cross-validated error alike (weighted least
    squares: rows and their means scaled by the square root of the weight).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GroupKFold

    y = y.reshape(len(y), -1)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if (sample_weight.shape != (len(y),) or not np.isfinite(sample_weight).all() or (sample_weight < 0).any()
                or sample_weight.sum() <= 0):
            raise ValueError(f"ridge_cv: sample_weight of shape {sample_weight.shape}; expected ({len(y)},), finite, "
                             ">= 0 and not all 0")
    if cv_groups is None or len(set(cv_groups)) < 2:
        ridge = RidgeCV(alphas=grid, alpha_per_target=True).fit(x, y, sample_weight=sample_weight)
        return np.broadcast_to(ridge.alpha_, (y.shape[1],)).copy(), np.asarray(ridge.best_score_).reshape(-1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    sq = np.zeros((len(grid), y.shape[1]))
    for train, test in GroupKFold(n_splits=min(5, len(set(cv_groups)))).split(x, y, cv_groups):
        wt = w[train] / w[train].sum()
        xm, ym = wt @ x[train], wt @ y[train]
        root = np.sqrt(w[train])[:, None]
        u, sv, vt = np.linalg.svd(root * (x[train] - xm), full_matrices=False)
        a, b = (x[test] - xm) @ vt.T, u.T @ (root * (y[train] - ym))  # (n_test, r), (r, T)
        shrink = sv[None, :] / (sv[None, :] ** 2 + grid[:, None])  # (alphas, r)
        pred = np.einsum("nr,ar,rt->ant", a, shrink, b) + ym
        sq += (w[test][None, :, None] * (pred - y[test]) ** 2).sum(1)
    scores = -sq / len(y)
    best = scores.argmax(0)
    return grid[best], scores[best, np.arange(y.shape[1])]


def feature_group_scales(x: np.ndarray, target: np.ndarray, groups: list[slice], grid: np.ndarray,
                         passes: int = 2, cv_groups: np.ndarray | None = None,
                         sample_weight: np.ndarray | None = None) -> np.ndarray:
    """(F,) column scales, one per feature group, chosen by the cross-validated error of a ridge regression.

    Scaling a group's columns by s is ridge with that group's penalty divided by s^2 (0 drops the group), so
    this is a group-wise penalty (the archi2vec vector, the size, the pre-training text may each deserve a
    different one) searched coordinate-wise over :data:`GROUP_SCALES` (:func:`fennec.space.cold.coordinate_search`),
    a few passes, each step scored by :func:`ridge_cv` (leave-one-out, or grouped by ``cv_groups``; mean best
    score over the targets; rows weighted by ``sample_weight``).
    """

    def columns(scales: tuple[float, ...]) -> np.ndarray:
        col = np.ones(x.shape[1])
        for sl, s in zip(groups, scales, strict=True):
            col[sl] = s
        return col

    def loss(scales: tuple[float, ...]) -> float:
        return -float(np.mean(ridge_cv(x * columns(scales), target, grid, cv_groups, sample_weight)[1]))

    return columns(coordinate_search(loss, len(groups), GROUP_SCALES, passes)[0])


def cold_head_targets(net: TransferNet, inp: Inputs, batch: Batch, scale: float = 1.0,
                      interaction: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What a cold-start head is fitted to: the features (N, F) of the models with records and what the space
    says of each (N, dim + 1): u_m and its overall quality b_m plus its mean protocol offset (a model seen in one
    benchmark only carries its quality there), with the learned parts scaled by ``scale`` (main effects) and
    ``interaction`` (vectors; default ``scale``) around the fixed baseline (:func:`choose_learned_scale`), so a
    cold-start score predicts the warm score on the same scale and is not scaled again."""
    warm = (inp.free_idx >= 0).numpy()
    with torch.no_grad():
        u, b = net.model_parts(inp.model_x, inp.pre, inp.free_idx, scale=scale, interaction=interaction)
        d = net.cold_proj.out_features
        offset = net.offsets(scale)[inp.free_idx.clamp(min=0)].numpy()
    seen = np.zeros(offset.shape, bool)  # (model, benchmark) pairs with records: the offsets that were learned
    seen[batch.model, batch.bench] = True
    mean_offset = (offset * seen).sum(1) / np.maximum(seen.sum(1), 1)
    target = np.concatenate([u[:, :d].numpy(), (b.numpy() + mean_offset)[:, None]], axis=1)[warm]
    return inp.model_x.numpy()[warm], target


def set_cold_layers(net: TransferNet, coef: np.ndarray, intercept: np.ndarray) -> None:
    """Write a linear cold-start head into ``net``: ``coef`` (F, dim + 1) and ``intercept`` (dim + 1,) map a model's
    features to its vector u (the first dim outputs) and its quality b (the last)."""
    d = net.cold_proj.out_features
    with torch.no_grad():
        net.cold_proj.weight.copy_(torch.as_tensor(coef[:, :d].T, dtype=torch.float32))
        net.cold_proj.bias.copy_(torch.as_tensor(intercept[:d], dtype=torch.float32))
        net.cold_bias.weight.copy_(torch.as_tensor(coef[:, d:].T, dtype=torch.float32))
        net.cold_bias.bias.copy_(torch.as_tensor(intercept[d:], dtype=torch.float32))


def fit_cold_head(net: TransferNet, inp: Inputs, batch: Batch, scale: float = 1.0,
                  alphas: np.ndarray | None = None, feature_groups: list[slice] | None = None,
                  interaction: float | None = None, cv_groups: np.ndarray | None = None,
                  sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    """Set the linear cold-start head of a trained ``net`` (``TransferSpace(cold_head="ridge")``) to a ridge
    regression from model features to warm vectors (:func:`cold_head_targets`).

    The ridge penalty is chosen by efficient leave-one-out cross-validation over those models (scikit-learn's
    ``RidgeCV``), which is exactly the cold-start situation: predict a model that was not in the fit. One
    penalty per output, so a well-predicted direction (size) is not shrunk with a noisy one. (That freedom is
    what the default head, :class:`fennec.space.cold.ColdHead`, gives up: on some lomo folds of the shared
    records leave-one-out picked penalties near zero, and the fit then extrapolated.)

    With ``feature_groups`` (column spans of the model features), each group gets its own penalty
    (:func:`feature_group_scales`). With ``cv_groups`` (one label per model of ``inp``, e.g. its architecture),
    the penalties are chosen by grouped k-fold instead of leave-one-out (:func:`ridge_cv`). With
    ``sample_weight`` (one per model of ``inp``, e.g. :func:`zoo_weights`), models weigh in the fit and in the
    choice of penalties accordingly.

    Returns:
        ``{"cold_alpha_median": ..., "cold_models": ..., "cold_group_scales": [...]}``.
    """
    from sklearn.linear_model import Ridge, RidgeCV

    warm = (inp.free_idx >= 0).numpy()
    x, target = cold_head_targets(net, inp, batch, scale, interaction)
    if len(x) < 3:  # nothing to cross-validate: leave the head at zero ("an average model")
        return {"cold_alpha_median": float("nan"), "cold_models": len(x)}
    grid = np.logspace(-3, 4, 15) if alphas is None else alphas
    groups = None if cv_groups is None else np.asarray(cv_groups)[warm]
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[warm]
    col = (feature_group_scales(x, target, feature_groups, grid, cv_groups=groups, sample_weight=weight)
           if feature_groups else np.ones(x.shape[1]))
    if groups is None:
        ridge = RidgeCV(alphas=grid, alpha_per_target=True).fit(x * col, target, sample_weight=weight)
        alpha = ridge.alpha_
    else:
        alpha, _ = ridge_cv(x * col, target, grid, groups, weight)
        ridge = Ridge(alpha=alpha).fit(x * col, target, sample_weight=weight)
    set_cold_layers(net, (ridge.coef_ * col).T, ridge.intercept_)  # back to the unscaled features the head reads
    return {"cold_alpha_median": float(np.median(alpha)), "cold_models": len(x),
            "cold_group_scales": [float(col[g][0]) for g in feature_groups or []]}
