"""Fitting a cold-start head into a trained net: what the heads are fitted to (:func:`cold_head_targets`), how
the models with records weigh (:func:`zoo_weights`), how a fitted head is written into the net
(:func:`set_cold_layers`), and the earlier per-output ridge head (:func:`fit_cold_head`,
``TransferSpace(cold_head="ridge")``). The default head is :class:`fennec.space.cold.ColdHead`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fennec.space.cold import coordinate_search
from fennec.space.fit import Batch, Inputs
from fennec.space.net import TransferNet

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
    ``interaction`` (vectors; default ``scale``) around the fixed baseline
    (:func:`fennec.space.selection.choose_learned_scale`), so a cold-start score predicts the warm score on the
    same scale and is not scaled again."""
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
