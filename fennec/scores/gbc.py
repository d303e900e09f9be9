"""GBC: Gaussian Bhattacharyya Coefficient (Pándy et al., CVPR 2022)."""

from __future__ import annotations

import numpy as np

from fennec.scores.base import SCORERS, Scorer, class_means, one_hot, pca
from fennec.validation import check_choice, check_positive_int

_VAR_FLOOR = 1e-4  # the reference floors per-dimension variances (constant features)


@SCORERS.register("gbc")
class GBC(Scorer):
    """GBC: minus the sum of Bhattacharyya coefficients between every ordered pair of class Gaussians.

    Features are reduced by PCA to ``n_dims``; each class gets a Gaussian with its mean and per-dimension
    (biased) variance floored at 1e-4, averaged over dimensions for ``"spherical"``. For classes i != j,
    with s = (s_i + s_j) / 2, the Bhattacharyya distance is
    DB = 1/8 sum_d (mu_i - mu_j)_d^2 / s_d + 1/2 (sum log s - 1/2 sum log s_i - 1/2 sum log s_j), where the
    sums run over dimensions for ``"diagonal"`` and over the single shared variance for ``"spherical"``
    (the reference implementation's convention); GBC = -sum_{i != j} exp(-DB), in [-C(C-1), 0].

    Reference: Pándy, Agostinelli, Uijlings, Ferrari, Mensink, "Transferability Estimation using
    Bhattacharyya Class Separability", CVPR 2022 (google-research/stable_transfer).

    Args:
        gaussian_type: "spherical" (the paper's default) or "diagonal".
        n_dims: PCA dimensions (64 in the published pipeline); None keeps the features.
    """

    name = "gbc"
    requires = frozenset({"features"})
    min_per_class = 2  # a class variance needs two examples

    def __init__(self, gaussian_type: str = "spherical", n_dims: int | None = 64) -> None:
        self.gaussian_type = gaussian_type
        self.n_dims = n_dims

    def _check_params(self) -> None:
        check_choice(self.gaussian_type, "gaussian_type", ("spherical", "diagonal"))
        check_positive_int(self.n_dims, "n_dims", allow_none=True)

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        x = pca(features, self.n_dims)
        means, counts = class_means(x, labels)
        sq = one_hot(labels, counts.shape[0]).T @ (x**2) / counts[:, None]
        var = np.maximum(sq - means**2, _VAR_FLOOR)  # (C, d) biased per-class variances
        diff2 = (means[:, None, :] - means[None, :, :]) ** 2  # (C, C, d)
        if self.gaussian_type == "spherical":
            s = var.mean(axis=1)  # (C,)
            avg = (s[:, None] + s[None, :]) / 2.0
            maha = diff2.sum(axis=2) / avg
            logdet = np.log(avg) - 0.5 * np.log(s)[:, None] - 0.5 * np.log(s)[None, :]
        else:
            avg = (var[:, None, :] + var[None, :, :]) / 2.0
            maha = (diff2 / avg).sum(axis=2)
            logv = np.log(var).sum(axis=1)
            logdet = np.log(avg).sum(axis=2) - 0.5 * logv[:, None] - 0.5 * logv[None, :]
        bc = np.exp(-(maha / 8.0 + 0.5 * logdet))
        np.fill_diagonal(bc, 0.0)
        return float(-bc.sum())
