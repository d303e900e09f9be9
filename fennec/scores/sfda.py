"""SFDA: Self-challenging Fisher Discriminant Analysis (Shao et al., ECCV 2022)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from fennec.scores.base import SCORERS, Scorer, class_means, gram, softmax
from fennec.validation import check_fraction


def _shrink(mat: np.ndarray, shrinkage: float) -> np.ndarray:
    """(1 - s) M + s tr(M)/D I, the shrinkage used by the reference (scikit-learn's shrunk covariance)."""
    d = mat.shape[0]
    out = (1.0 - shrinkage) * mat
    out.flat[:: d + 1] += shrinkage * np.trace(mat) / d
    return out


def _within_scatter(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class means (C, D) and sum_c prior_c cov_c with biased class covariances, = (X - M[y])^T (X - M[y]) / N."""
    means, _ = class_means(x, labels)
    centered = x - means[labels]
    return means, gram(centered) / x.shape[0]


def _lda_proba(x: np.ndarray, labels: np.ndarray, means: np.ndarray, sw: np.ndarray, shrinkage: float,
               log_priors: np.ndarray) -> np.ndarray:
    """Softmax of the regularised-LDA logits x coef^T + intercept, with coef = means S^-1.

    The reference obtains coef as means V V^T from the generalized eigenproblem (S_b, S), whose eigenvectors
    satisfy V^T S V = I, i.e. V V^T = S^-1: a Cholesky solve gives the same coefficients, cheaper.
    """
    shrunk = _shrink(sw, shrinkage)
    try:
        coef = scipy.linalg.cho_solve(scipy.linalg.cho_factor(shrunk, lower=True), means.T).T
    except np.linalg.LinAlgError:
        coef = (np.linalg.pinv(shrunk, hermitian=True) @ means.T).T
    intercept = -0.5 * np.einsum("cd,cd->c", means, coef) + log_priors
    return softmax(x @ coef.T + intercept)


def _largest_eigenvalue(mat: np.ndarray) -> float:
    """Largest eigenvalue of a symmetric matrix: Lanczos to machine precision (fixed start vector, so
    deterministic), dense LAPACK for small matrices or if Lanczos does not converge."""
    d = mat.shape[0]
    if d > 64:
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh

        try:
            return float(eigsh(mat, k=1, which="LA", v0=np.ones(d), tol=0, return_eigenvectors=False)[0])
        except ArpackNoConvergence:
            pass
    return float(scipy.linalg.eigh(mat, eigvals_only=True, subset_by_index=[d - 1, d - 1])[0])


@SCORERS.register("sfda")
class SFDA(Scorer):
    """SFDA: mean probability of the true class under a regularised Fisher discriminant, after a
    self-challenging mix-up of each example toward the other classes.

    1. Within-class scatter S_w (class covariances weighted by priors); shrinkage
       lambda = max(exp(-a * lambda_max(S_w)), 1e-10); S = (1 - lambda) S_w + lambda tr(S_w)/D I.
    2. LDA probabilities p = softmax(X S^-1 M^T + b), softened by a second softmax.
    3. ConfMix: x_i <- p_i(y_i) x_i + (1 - p_i(y_i)) mean of the other classes' means.
    4. Refit the discriminant on the mixed features with the same lambda; score = mean p_i(y_i).

    lambda_max is computed exactly (the reference approximates it with three power iterations).

    Reference: Shao, Zhao, Ge, et al., "Not All Models Are Equal: Predicting Model Transferability in a
    Self-challenging Fisher Space", ECCV 2022 (TencentARC/SFDA).

    Args:
        a: Rate of the adaptive shrinkage (5 in the reference).
    """

    name = "sfda"
    requires = frozenset({"features"})
    min_per_class = 2  # within-class scatter

    def __init__(self, a: float = 5.0) -> None:
        self.a = a

    def _check_params(self) -> None:
        check_fraction(self.a, "a", low=0.0, high=1e12)

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        n = features.shape[0]
        counts = np.bincount(labels).astype(np.float64)
        log_priors = np.log(counts / n)
        means, sw = _within_scatter(features, labels)
        lam_max = _largest_eigenvalue(sw)
        shrinkage = max(float(np.exp(-self.a * lam_max)), 1e-10)
        prob = _lda_proba(features, labels, means, sw, shrinkage, log_priors)
        prob = softmax(prob)  # soften, as in the reference
        n_classes = means.shape[0]
        others = (means.sum(axis=0)[None, :] - means) / (n_classes - 1)  # mean of the other classes' means
        p_true = prob[np.arange(n), labels][:, None]
        mixed = p_true * features + (1.0 - p_true) * others[labels]
        means2, sw2 = _within_scatter(mixed, labels)
        prob2 = _lda_proba(mixed, labels, means2, sw2, shrinkage, log_priors)
        return float(np.mean(prob2[np.arange(n), labels]))
