"""Repeated runs of a ground truth: how far they agree, and their mean as a less noisy ground truth.

A fine-tuning result is one draw: the head's initialisation, the batch order and the augmentation move a model's
top-1 by points, enough to reorder a zoo of similar models. With the same sweep run under several seeds, a run
ranks another run's zoo no better than the run noise lets it (the ceiling a recommender judged against one run
can expect), and the mean of ``k`` runs has ``1 / k`` of one run's noise variance.

A run is a table ``{(model, dataset): value}`` (higher is better). Statistics are per target dataset, over the
models both sides have; a target where one side lacks a model of the other is left out (and counted), so a mean
over targets is always over whole zoos.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from fennec.evaluation.metrics import pearson, weighted_tau

Key = tuple[str, str]
Run = Mapping[Key, float]
STAT_KEYS = ("weighted_tau", "pearson", "mean_abs_diff")


def _defined(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _targets(run: Run) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for model, target in sorted(run):
        out.setdefault(target, []).append(model)
    return out


def pair_stats(first: Sequence[float], second: Sequence[float]) -> dict[str, float | None]:
    """Agreement of two runs over one target's zoo (M,) each: weighted Kendall tau (scipy's, symmetric in its
    arguments), Pearson x 100 and the mean absolute difference; None where undefined (a constant run)."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    return {"weighted_tau": _defined(weighted_tau(a, b)), "pearson": _defined(100 * pearson(a, b)),
            "mean_abs_diff": float(np.mean(np.abs(a - b))), "n_models": int(a.size)}


def mean_stats(per_target: Mapping[str, Mapping[str, float | None]]) -> dict[str, float | None]:
    """Each statistic's mean over the targets where it is defined (None when it is nowhere)."""
    out: dict[str, float | None] = {}
    for k in STAT_KEYS:
        vals = [v[k] for v in per_target.values() if v.get(k) is not None]
        out[k] = float(np.mean(vals)) if vals else None
    return out


def agreement(run: Run, reference: Run, *, min_models: int = 3) -> dict:
    """How ``run`` ranks ``reference``'s zoo, target by target.

    Returns:
        ``{"per_target": {target: {"weighted_tau", "pearson", "mean_abs_diff", "n_models"}}, "mean": {...},
        "partial": {target: models of the reference's zoo that the run has}}`` over the targets of ``run``;
        a target is compared only when the run has its whole zoo (at least ``min_models`` models).
    """
    per, partial = {}, {}
    zoos = _targets(reference)
    for target in sorted({d for _, d in run}):
        zoo = [(m, target) for m in zoos.get(target, [])]
        if len(zoo) < min_models or not all(k in run for k in zoo):
            partial[target] = sum(k in run for k in zoo)
            continue
        per[target] = pair_stats([run[k] for k in zoo], [reference[k] for k in zoo])
    return {"per_target": per, "mean": mean_stats(per), "partial": partial}


def complete_runs(runs: Mapping[str, Run], pairs: Iterable[Key]) -> list[str]:
    """The names of the runs that have every one of ``pairs`` (in the mapping's order)."""
    wanted = list(pairs)
    return [name for name, run in runs.items() if all(k in run for k in wanted)]


def mean_run(runs: Sequence[Run], pairs: Iterable[Key]) -> dict[Key, float]:
    """The mean over ``runs`` of each of ``pairs``; every run must have every pair (:func:`complete_runs`), so
    each value averages the same number of draws."""
    wanted = list(pairs)
    missing = [(i, k) for i, run in enumerate(runs) for k in wanted if k not in run]
    if not runs or missing:
        raise ValueError(f"mean_run: {len(runs)} runs, {len(missing)} (run, pair) missing (first: "
                         f"{missing[:1]}); average complete runs only")
    return {k: float(np.mean([run[k] for run in runs])) for k in wanted}


def leave_one_run_out(runs: Mapping[str, Run], *, min_models: int = 3) -> dict:
    """How one run ranks the mean of the others, for each of three or more runs, target by target: the ceiling
    of a recommender judged against a mean of ``k - 1`` runs, as seen by a single run (a predictor of the
    expected result carries no run noise of its own and can do somewhat better).

    Only targets where every run has the same whole zoo are compared.

    Returns:
        ``{"runs": [names], "per_target": {target: stats averaged over the held-out runs}, "mean": {...}}``;
        empty per_target with fewer than three runs.
    """
    names = list(runs)
    per: dict[str, dict] = {}
    if len(names) >= 3:
        zoos = [_targets(runs[n]) for n in names]
        for target in sorted(set.intersection(*(set(z) for z in zoos))):
            models = zoos[0][target]
            if len(models) < min_models or any(z[target] != models for z in zoos):
                continue
            keys = [(m, target) for m in models]
            stats = []
            for held in names:
                rest = mean_run([runs[n] for n in names if n != held], keys)
                stats.append(pair_stats([runs[held][k] for k in keys], [rest[k] for k in keys]))
            per[target] = {**mean_stats({str(i): s for i, s in enumerate(stats)}), "n_models": len(models)}
    return {"runs": names, "per_target": per, "mean": mean_stats(per)}
