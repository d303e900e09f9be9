"""Model selection on the held-out folds of the training datasets: the folds, the epoch count of the
cross-validated early stopping, and the share of the learned parts to keep (overall and per benchmark).

The folds hold out whole training datasets (:func:`dataset_folds`), since a new task is a new dataset; a probe net
trained without each fold (:func:`fennec.space.fit.train_net`) gives held-out loss curves (:func:`best_epoch`)
and held-out scores split into the fixed baseline, the learned main effects and the learned interactions
(:func:`score_parts`), on which the learned scale is chosen (:func:`choose_learned_scale`) and a benchmark's own
scale is weighed against the pooled one (:func:`paired_gain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fennec.space.fit import CHECK_EVERY, Batch, Inputs, standardize, train_net
from fennec.space.net import TransferNet


def dataset_folds(batch: Batch, val_fraction: float, seed: int) -> list[set[int]]:
    """Disjoint seeded folds of the training datasets, each about ``val_fraction`` of them (round(1 / fraction)
    folds; none with fewer than 3 datasets), for cross-validated early stopping."""
    datasets = np.unique(batch.group_dataset)
    if val_fraction <= 0 or len(datasets) < 3:
        return []
    k = min(len(datasets), max(2, round(1 / val_fraction)))
    order = np.random.default_rng(seed).permutation(datasets)
    return [set(part.tolist()) for part in np.array_split(order, k)]


def score_parts(net: TransferNet, inp: Inputs, batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record (R,): the fixed baseline (:func:`fennec.space.fit.set_baseline`), the learned main effect on top
    of it (model biases and protocol offsets) and the learned interaction with the task (the dot products). A score with
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
                         grid: np.ndarray | None = None, drop_interaction: bool = False
                         ) -> tuple[tuple[float, float], float | None]:
    """How much of what training learned on top of the fixed baseline to keep, chosen on held-out datasets.

    For each pair of scales (a, c) in :data:`SCALE_GRID` the held-out groups of ``parts`` (see
    :func:`held_out_taus`) are ranked by ``baseline + a * main + c * interaction`` and the pair with the best
    mean weighted Kendall tau is returned, the smallest scales among ties. This is shrinkage of the learned
    residuals towards the empirical baseline, its strength set by cross-validation rather than by hand, with one
    strength for the main effects and one for the interactions when ``separate`` (they rest on different
    evidence: a model's quality on many datasets; how a task's text moves it, learned from a few dozen tasks);
    by default one scale for both (a = c). ``grid`` replaces :data:`SCALE_GRID` (one value: a fixed scale, whose
    held-out tau is still returned). ``drop_interaction`` adds the pairs (a, 0) to one scale for both: the main
    effects kept at a, the interactions dropped (chosen only when strictly better than every (a, a)).

    Returns:
        ((a, c), their mean held-out weighted tau); ((1, 1), None) without held-out groups (keep everything).
    """
    pairs = scale_pairs(grid, separate, drop_interaction)
    _, weight, tau = held_out_taus(parts, batch, pairs)
    return _best_pair(weight, tau, pairs)


def scale_pairs(grid: np.ndarray | None = None, separate: bool = False,
                drop_interaction: bool = False) -> list[tuple[float, float]]:
    """The (main, interaction) scale pairs :func:`choose_learned_scale` chooses among, in its tie-breaking order."""
    grid = SCALE_GRID if grid is None else np.asarray(grid, dtype=float)
    pairs = [(float(a), float(c)) for a in grid for c in (grid if separate else (a,))]
    if drop_interaction and not separate:
        pairs += [(float(a), 0.0) for a in grid if a > 0]
    return pairs


def _best_pair(weight: np.ndarray, tau: np.ndarray, pairs: list[tuple[float, float]]
               ) -> tuple[tuple[float, float], float | None]:
    """The pair of the first ``len(pairs)`` columns of ``tau`` (N, P) with the best weighted mean, the first
    among ties, and that mean; ((1, 1), None) without weight."""
    if weight.sum() == 0:
        return (1.0, 1.0), None
    # summed group by group, so that tied pairs get equal totals (a matrix product may add columns in other
    # orders and break ties by rounding)
    total = (weight[:, None] * tau[:, : len(pairs)]).sum(axis=0)
    best = int(np.argmax(total))
    return pairs[best], float(total[best] / weight.sum())


def paired_gain(parts: list[tuple[np.ndarray, ...]], batch: Batch, scales: tuple[float, float],
                reference: tuple[float, float]) -> tuple[float, float]:
    """Held-out gain of ``scales`` over ``reference`` and its standard error, over the held-out datasets.

    Each dataset's tau difference is averaged over the folds that held it out and over its groups (repeated
    splits hold a dataset out more than once, and a store of cheap scores only has a group per scorer: neither is
    independent evidence), then the datasets' weighted mean is taken (a dataset weighs its groups' mean weight)
    and its standard error is the sandwich estimate sqrt(sum w^2 (d - mean)^2) / sum w, times sqrt(n / (n - 1))
    for n datasets: the error of a mean over the n datasets, as in the one-standard-error rule of
    cross-validation (Breiman et al., 1984; Hastie et al., The Elements of Statistical Learning, section 7.10).

    Returns:
        (mean gain, standard error); the error is inf with fewer than two held-out datasets, and (0, inf) with
        none.
    """
    group, weight, tau = held_out_taus(parts, batch, [scales, reference])
    return _gain(batch, group, weight, tau[:, 0] - tau[:, 1])


def _gain(batch: Batch, group: np.ndarray, weight: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """:func:`paired_gain` from each held-out (fold, group)'s group (N,), weight (N,) and tau difference (N,)."""
    if len(group) == 0 or weight.sum() == 0:
        return 0.0, float("inf")
    _, inv = np.unique(batch.group_dataset[group], return_inverse=True)
    count = np.bincount(inv)
    diff = np.bincount(inv, diff) / count
    w = np.bincount(inv, weight) / count
    mean = float(w @ diff / w.sum())
    n = len(count)
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


@dataclass
class Choices:
    """What the folds of held-out training datasets chose (:func:`cross_validate`)."""

    epochs: int  # the epoch count the final members train for
    n_folds: int
    use_description: bool  # whether scores read a task's description
    scales: tuple[float, float]  # (main, interaction) learned scales of the space
    bench_scales: dict[str, tuple[float, float]] = field(default_factory=dict)  # benchmarks with their own
    # per benchmark with held-out groups: mean held-out tau at its own best scales, at the space's, and the
    # gain's standard error (what bench_scales rests on)
    bench_scale_taus: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def cross_validate(inp: Inputs, blind: Inputs | None, batch: Batch, shape: dict[str, int], cfg: dict[str, Any], *,
                   benchmarks: Sequence[str], epochs: int, cv_repeats: int, val_fraction: float, seed: int,
                   probe_epoch: str = "best", description: str = "keep", separate_scales: bool = False,
                   learned_scale: float | None = None, benchmark_scales: bool = True,
                   benchmark_scale_se: float = 0.0, benchmark_interaction: bool = False) -> Choices:
    """Choose the epoch count, the learned scales (the space's and each benchmark's) and whether scores read
    descriptions, on folds of held-out training datasets (``cv_repeats`` independent splits of ``val_fraction``).

    One probe net (``TransferNet(**shape)``, never warm-started: a previous space has seen the held-out fold, which
    would make any epoch count look good) is trained per fold with ``cfg`` (the keyword arguments of
    :func:`fennec.space.fit.train_net`); the epoch with the best mean held-out loss is kept (:func:`best_epoch`),
    and the probes' held-out scores (:func:`score_parts`; ``blind`` scores them without task descriptions) choose
    the rest (:func:`choose_view`, :func:`choose_bench_scales`). The keyword arguments are
    :class:`~fennec.space.space.TransferSpace`'s hyper-parameters of the same names. Without any fold, everything
    learned is kept (or the fixed ``learned_scale``).
    """
    folds = [f for r in range(max(cv_repeats, 1)) for f in dataset_folds(batch, val_fraction, seed + 1000 * r)]
    if not folds:  # nothing held out to choose on: keep everything learned, or the fixed share
        fixed = 1.0 if learned_scale is None else float(learned_scale)
        return Choices(epochs, 0, description != "drop", (fixed, fixed))
    curves, parts, blind_parts, probes = [], [], [], []
    for fold in folds:
        torch.manual_seed(seed)
        probe = TransferNet(**shape)
        _, info = train_net(probe, inp, batch, epochs=epochs, val_datasets=fold, seed=seed,
                            keep_states=probe_epoch == "common", **cfg)
        curves.append(info["val_curve"])
        probes.append((probe, info, np.isin(batch.task, list(fold))))
    chosen_epochs = best_epoch(curves, epochs)
    for probe, info, held in probes:
        # the scales are chosen on the probes as the final nets will be: at the common epoch count ("common"), or
        # each at its own best held-out epoch ("best")
        state = (info["states"][min(chosen_epochs // CHECK_EVERY, len(info["states"])) - 1]
                 if probe_epoch == "common" and info["states"] else info["best_state"])
        if state is not None:
            probe.load_state_dict(state)
        parts.append((*score_parts(probe, inp, batch), held))
        if blind is not None:
            blind_parts.append((*score_parts(probe, blind, batch), held))
    grid = None if learned_scale is None else np.array([float(learned_scale)])
    use, scales = choose_view(parts, blind_parts, batch, description, separate_scales, grid)
    choices = Choices(chosen_epochs, len(folds), use, scales)
    if benchmark_scales:
        choices.bench_scales, choices.bench_scale_taus = choose_bench_scales(
            parts if use else blind_parts, batch, benchmarks, scales, separate_scales, grid, benchmark_scale_se,
            benchmark_interaction)
    return choices


def choose_view(parts: list, blind_parts: list, batch: Batch, description: str = "keep", separate: bool = False,
                grid: np.ndarray | None = None) -> tuple[bool, tuple[float, float]]:
    """(read descriptions?, scales): the scales chosen on the folds (:func:`choose_learned_scale`) for each view
    ``description`` allows ("keep", "drop" or "cv": both), and the view whose best scales rank the held-out groups
    better (descriptions kept on a tie). ``blind_parts`` are the folds' scores without task descriptions."""
    views = {"keep": [True], "drop": [False], "cv": [True, False]}[description]
    chosen = [(choose_learned_scale(parts if use else blind_parts, batch, separate, grid), use) for use in views]
    (scales, _), use = max(chosen, key=lambda c: -np.inf if c[0][1] is None else c[0][1])  # first on ties
    return use, scales


def choose_bench_scales(parts: list, batch: Batch, benchmarks: Sequence[str], pooled: tuple[float, float],
                        separate: bool = False, grid: np.ndarray | None = None, min_se: float = 0.0,
                        drop_interaction: bool = False
                        ) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float, float]]]:
    """Each benchmark's learned scales, chosen on the folds' held-out groups of that benchmark alone
    (``benchmarks[i]`` is ``batch.bench == i``), kept only when they gain more than ``min_se`` standard errors over
    the ``pooled`` scales on those groups (:func:`paired_gain`). A benchmark with fewer than two held-out datasets
    (no standard error; one dataset cannot tell a scale that suits its benchmark from one that suits itself), or
    whose choice is the pooled one or not kept, is left out: it is scored with the pooled scales.
    ``drop_interaction``: a benchmark may also keep its main effects and drop the interactions
    (:func:`choose_learned_scale`); not with a fixed ``grid`` (one share for both, ``learned_scale``).

    Returns:
        (the kept scales by benchmark, and per benchmark with held-out groups (its mean held-out tau at its own
        best scales, at the pooled ones, the gain's standard error)).
    """
    pairs = scale_pairs(grid, separate, drop_interaction and grid is None)
    # the pooled pair's taus come with the candidates' (one weighted tau per held-out group and pair: the costly part)
    scored = pairs if pooled in pairs else [*pairs, pooled]
    out, taus = {}, {}
    for i, bench in enumerate(benchmarks):
        mine = [(*part[:3], part[3] & (batch.bench == i)) for part in parts]
        group, weight, tau_all = held_out_taus(mine, batch, scored)
        scales, tau = _best_pair(weight, tau_all, pairs)
        if tau is None:
            continue
        gain, se = _gain(batch, group, weight, tau_all[:, scored.index(scales)] - tau_all[:, scored.index(pooled)])
        taus[bench] = (tau, tau - gain, se)
        if scales != pooled and np.isfinite(se) and gain > min_se * se:
            out[bench] = scales
    return out, taus
