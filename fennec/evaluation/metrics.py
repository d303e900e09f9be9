"""Ranking metrics between a method's scores and the ground truth (fine-tuned accuracy) over one dataset's models.

All functions take ``score`` and ``gt`` as 1-D arrays of shape (M,) (one entry per model, higher is better) and
return a float; NaN when the metric is undefined (fewer than 2 models, or a constant score: a method that cannot
tell the models apart has no correlation). Conventions follow REFERENCE.md section 3:

- :func:`weighted_tau`: ``scipy.stats.weightedtau(score, gt)`` with defaults (SFDA / ETran / NCTI / EMMS).
- :func:`weighted_tau_ms`: Model Spider's ``weightedtau(gt, score, rank=None)``.
- :func:`pearson_parc`: PARC's Pearson x 100 over models with ground truth > 0 (Bolya et al., NeurIPS 2021).
- :func:`rel_at_k`: best ground truth among the top-k by score divided by the best ground truth; ties in the score
  are broken uniformly at random and the expectation is returned (so a constant score gets the random level);
  NaN (reported as None) when the best ground truth of a higher-is-better metric is not positive.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

METRIC_KEYS = ("weighted_tau", "weighted_tau_ms", "pearson", "spearman", "rel1", "rel3")


def _pair(score: object, gt: object) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    g = np.asarray(gt, dtype=np.float64).reshape(-1)
    if s.shape != g.shape:
        raise ValueError(f"score has {s.size} entries, ground truth {g.size}")
    if not (np.isfinite(s).all() and np.isfinite(g).all()):
        raise ValueError("score and ground truth must be finite (fill missing scores first)")
    return s, g


def _undefined(s: np.ndarray, g: np.ndarray) -> bool:
    return s.size < 2 or np.ptp(s) == 0 or np.ptp(g) == 0


def weighted_tau(score: object, gt: object) -> float:
    """Weighted Kendall tau, ``scipy.stats.weightedtau(score, gt)`` (hyperbolic weights, rank=True)."""
    s, g = _pair(score, gt)
    if _undefined(s, g):
        return math.nan
    return float(stats.weightedtau(s, g).statistic)


def weighted_tau_ms(score: object, gt: object) -> float:
    """Model Spider's convention: ``scipy.stats.weightedtau(gt, score, rank=None)`` (weights from the gt order)."""
    s, g = _pair(score, gt)
    if _undefined(s, g):
        return math.nan
    return float(stats.weightedtau(g, s, rank=None).statistic)


def _correlation(fn, score: object, gt: object) -> float:
    s, g = _pair(score, gt)
    if _undefined(s, g):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-constant inputs warn; _undefined already caught the constant ones
        return float(fn(s, g).statistic)


def pearson(score: object, gt: object) -> float:
    """Pearson correlation."""
    return _correlation(stats.pearsonr, score, gt)


def spearman(score: object, gt: object) -> float:
    """Spearman rank correlation."""
    return _correlation(stats.spearmanr, score, gt)


def pearson_parc(score: object, gt: object) -> float:
    """PARC's metric: 100 x Pearson correlation over the models whose ground truth is > 0."""
    s, g = _pair(score, gt)
    keep = g > 0
    return 100.0 * pearson(s[keep], g[keep])


def rel_at_k(score: object, gt: object, k: int, *, higher_is_better: bool = True) -> float:
    """Expected (over random tie-breaking) best ground truth among the top ``k`` by score, over the best.

    Args:
        score: Shape (M,).
        gt: Shape (M,). With ``higher_is_better``, the ratio means something only when the best value is positive
            (an accuracy, a positive score): a metric whose best value is 0 or negative (a mean log-likelihood)
            gives NaN, reported as None (a ratio of negatives exceeded 1 for a random pick).
        k: Number of recommended models.
        higher_is_better: False when ``gt`` holds a lower-is-better metric negated (an error rate as the harness
            orients it, :func:`fennec.records.metrics.oriented`): the ratio is then the best error over the
            expected error of the pick, so 1 is still the best pick and a worse pick is below 1.
    """
    s, g = _pair(score, gt)
    if s.size == 0:
        return math.nan
    best = g.max()
    if best <= 0 and higher_is_better:
        return math.nan
    k = min(k, s.size)
    order = np.argsort(-s, kind="stable")
    kth = s[order[k - 1]]
    above = g[s > kth]  # certainly in the top k
    tied = np.sort(g[s == kth])[::-1]  # the boundary tie group, best first
    m = k - above.size  # how many of the tied are picked, uniformly at random
    fixed = above.max() if above.size else -np.inf
    n = tied.size
    # P(the best picked of the tie group is its i-th best) = C(n-1-i, m-1) / C(n, m), i = 0..n-m
    expected = 0.0
    total = math.comb(n, m)
    for i in range(n - m + 1):
        p = math.comb(n - 1 - i, m - 1) / total
        expected += p * max(fixed, tied[i])
    if higher_is_better:
        return float(expected / best)
    return 1.0 if expected == 0 else float(best / expected)  # both are -error; an error of 0 picked is the best


def all_metrics(score: object, gt: object, *, parc: bool = False, higher_is_better: bool = True) -> dict[str, float]:
    """Every metric for one dataset (plus ``pearson_parc`` when ``parc``); ``gt`` oriented so that higher is
    better, ``higher_is_better`` saying whether that needed a negation (:func:`rel_at_k`)."""
    out = {"weighted_tau": weighted_tau(score, gt), "weighted_tau_ms": weighted_tau_ms(score, gt),
           "pearson": pearson(score, gt), "spearman": spearman(score, gt),
           "rel1": rel_at_k(score, gt, 1, higher_is_better=higher_is_better),
           "rel3": rel_at_k(score, gt, 3, higher_is_better=higher_is_better)}
    if parc:
        out["pearson_parc"] = pearson_parc(score, gt)
    return out
