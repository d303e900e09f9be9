"""PARC: Pairwise Annotation Representation Comparison (Bolya et al., NeurIPS 2021)."""

from __future__ import annotations

import numpy as np

from fennec.scores.base import SCORERS, Scorer, ScoreUndefinedError, pca
from fennec.validation import check_positive_int


def _feature_correlation(features: np.ndarray) -> np.ndarray:
    """(N, N) Pearson correlation between examples (rows) of standardised features."""
    std = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)  # StandardScaler, as in PARC
    z -= z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(z, axis=1)
    if (norms == 0).any():
        raise ScoreUndefinedError("features: some rows are constant after standardisation, so their "
                                  "correlation with other examples is undefined; drop duplicate/constant examples")
    z /= norms[:, None]
    return z @ z.T


def spearman_with_binary(values: np.ndarray, positive: np.ndarray) -> float:
    """Spearman correlation between ``values`` (M,) and a two-valued variable given by ``positive`` values.

    ``positive`` holds the entries of ``values`` whose binary partner is the *low* value (here: same-class
    pairs, whose label distance is exactly 0). Spearman with a two-valued variable is the point-biserial
    correlation of the (average, tie-aware) ranks, so one sort of ``values`` plus binary searches of the few
    positive entries gives exactly ``scipy.stats.spearmanr(values, binary)`` without ranking both vectors.

    Returns:
        Spearman's rho between ``values`` and the binary indicator "not in positive" (i.e. large label distance).
    """
    m = values.shape[0]
    n1 = positive.shape[0]
    n0 = m - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    srt = np.sort(values)
    # Tie-aware (average) rank of each positive entry: #smaller + (#equal + 1) / 2.
    lo = np.searchsorted(srt, positive, side="left")
    hi = np.searchsorted(srt, positive, side="right")
    rank_sum_pos = float(np.sum(lo + (hi - lo + 1) * 0.5))
    # Variance of average ranks, with the usual tie correction sum(t^3 - t) / 12.
    change = np.flatnonzero(np.diff(srt) != 0)
    bounds = np.concatenate(([0], change + 1, [m]))
    t = np.diff(bounds).astype(np.float64)
    var_r = (m * m - 1.0) / 12.0 - float(np.sum(t**3 - t)) / (12.0 * m)
    if var_r <= 0:
        return float("nan")
    p = n1 / m
    mean_r = (m + 1.0) / 2.0
    cov = rank_sum_pos / m - mean_r * p  # cov(rank, 1[positive])
    rho_pos = cov / np.sqrt(var_r * p * (1.0 - p))
    return float(-rho_pos)  # the label distance is 0 on positives, so it is the negated indicator


@SCORERS.register("parc")
class PARC(Scorer):
    """PARC: Spearman correlation between the feature and label dissimilarity matrices, times 100.

    Features are reduced by PCA to ``n_dims`` dimensions and standardised; D_F = 1 - corr(F) (Pearson
    correlation between examples) and D_Y = 1 - corr(one-hot labels). D_Y takes exactly two values (0 for a
    same-class pair, C / (C - 1) otherwise), so it is built from label equality rather than from a
    floating-point correlation: rounding noise of 1e-16 would split the tie groups and change the ranks.
    The score is 100 x Spearman(upper triangle of D_F, upper triangle of D_Y). Costs O(N^2) memory.

    Reference: Bolya, Mittapalli, Hoffman, "Scalable Diverse Model Selection for Accessible Transfer
    Learning", NeurIPS 2021 (dbolya/parc). The reference reduces with randomized PCA; this uses exact PCA.

    Args:
        n_dims: PCA dimensions (capped at min(N, D)); None keeps the features as they are.
    """

    name = "parc"
    requires = frozenset({"features"})

    def __init__(self, n_dims: int | None = 32) -> None:
        self.n_dims = n_dims

    def _check_params(self) -> None:
        check_positive_int(self.n_dims, "n_dims", allow_none=True)

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        reduced = pca(features, self.n_dims)
        corr = _feature_correlation(reduced)
        n = corr.shape[0]
        iu = np.triu_indices(n, 1) if n <= 512 else None
        if iu is not None:
            d_f = 1.0 - corr[iu]
        else:
            # Row by row to avoid the two (N^2 / 2) int64 index arrays of triu_indices.
            d_f = np.empty(n * (n - 1) // 2)
            pos = 0
            for i in range(n - 1):
                seg = corr[i, i + 1:]
                d_f[pos:pos + seg.shape[0]] = 1.0 - seg
                pos += seg.shape[0]
        # Same-class pairs (D_Y exactly 0): upper triangles of the per-class diagonal blocks.
        same = []
        for c in range(int(labels.max()) + 1):
            idx = np.flatnonzero(labels == c)
            if idx.shape[0] > 1:
                block = corr[np.ix_(idx, idx)]
                same.append(1.0 - block[np.triu_indices(idx.shape[0], 1)])
        positive = np.concatenate(same) if same else np.empty(0)
        return 100.0 * spearman_with_binary(d_f, positive)
