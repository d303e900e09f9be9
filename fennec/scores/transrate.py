"""TransRate: coding-rate mutual information between features and labels (Huang et al., ICML 2022)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from fennec.scores.base import SCORERS, Scorer, gram
from fennec.validation import check_choice, check_fraction


def coding_rate(z: np.ndarray, scale: float) -> float:
    """R = 1/2 logdet(I + scale * Z^T Z), via the smaller Gram matrix (Sylvester) and a Cholesky factor."""
    n, d = z.shape
    g = gram(z) if d <= n else z @ z.T
    g *= scale
    g.flat[:: g.shape[0] + 1] += 1.0
    chol = scipy.linalg.cholesky(g, lower=True, check_finite=False)
    return float(np.log(np.diag(chol)).sum())  # 1/2 logdet = sum log diag(L)


@SCORERS.register("transrate")
class TransRate(Scorer):
    """TransRate: R(Z, eps) - (1/C) sum_c R(Z_c, eps) on globally centered features Z.

    The coding rate of n examples in d dims is R(Z, eps) = 1/2 logdet(I + d / (n eps^2) Z^T Z) (the paper's
    formula, ``rate_scale="paper"``). The authors' released code uses the factor 1 / (n eps) instead
    (``rate_scale="code"``). Z_c are the rows of class c of the *globally* centered Z (not re-centered).
    The score is scale-dependent: it changes if the features are rescaled.

    Reference: Huang, Huang, Rong, Yang, Wei, "Frustratingly Easy Transferability Estimation", ICML 2022.

    Args:
        eps: Distortion (1e-4 as published).
        rate_scale: "paper" (d / (n eps^2)) or "code" (1 / (n eps)).
    """

    name = "transrate"
    requires = frozenset({"features"})
    warn_n_lt_d = False  # the coding rate is computed through the N x N Gram when N < D

    def __init__(self, eps: float = 1e-4, rate_scale: str = "paper") -> None:
        self.eps = eps
        self.rate_scale = rate_scale

    def _check_params(self) -> None:
        check_fraction(self.eps, "eps", low=1e-12, high=1e12)
        check_choice(self.rate_scale, "rate_scale", ("paper", "code"))

    def _scale(self, n: int, d: int) -> float:
        return d / (n * self.eps**2) if self.rate_scale == "paper" else 1.0 / (n * self.eps)

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        z = features - features.mean(axis=0)
        n, d = z.shape
        total = coding_rate(z, self._scale(n, d))
        n_classes = int(labels.max()) + 1
        per_class = 0.0
        for c in range(n_classes):
            zc = z[labels == c]
            per_class += coding_rate(zc, self._scale(zc.shape[0], d))
        return total - per_class / n_classes
