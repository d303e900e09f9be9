"""H-score (Bao et al., 2019) and its Ledoit-Wolf shrinkage version (Ibrahim et al., 2022)."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg

from fennec.scores.base import SCORERS, Scorer, class_means, gram
from fennec.validation import FennecInputError


def _between_class_terms(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centered class means (C, D) and weights n_c / (N - 1), so that cov(E[F | y]) = M^T diag(w) M."""
    means, counts = class_means(features, labels)
    centered = means - features.mean(axis=0)
    return centered, counts / (features.shape[0] - 1)


@SCORERS.register("hscore")
class HScore(Scorer):
    """H-score: tr(pinv(cov(F)) cov(E[F | y])), both covariances with the N - 1 normalisation.

    When cov(F) is well conditioned (estimated reciprocal condition number > 1e-10, far above the ``rcond``
    cut) the pseudo-inverse is the inverse and a Cholesky solve gives the trace; otherwise it is evaluated in
    the eigenbasis of cov(F): sum_c w_c sum_k (v_k . (m_c - m))^2 / lambda_k over eigenvalues above
    ``rcond`` x the largest.

    Reference: Bao, Li, Huang, et al., "An Information-Theoretic Approach to Transferability in Task
    Transfer Learning", ICIP 2019.

    Args:
        rcond: Relative eigenvalue cut-off of the pseudo-inverse, in [0, 1) (numpy's pinv default, as in the
            reference).
    """

    name = "hscore"
    requires = frozenset({"features"})

    def __init__(self, rcond: float = 1e-15) -> None:
        self.rcond = rcond

    def _check_params(self) -> None:
        # A negative cut keeps the null space (division by ~0); one of 1 or more keeps nothing and scores 0; NaN
        # compares false and kept nothing either.
        rcond = self.rcond
        if isinstance(rcond, bool) or not isinstance(rcond, numbers.Real) or not 0.0 <= float(rcond) < 1.0:
            raise FennecInputError(f"rcond: expected a number in [0, 1), got {rcond!r}; it is the eigenvalue cut-off "
                                   "relative to the largest (default 1e-15)")

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        n = features.shape[0]
        x = features - features.mean(axis=0)
        cov_f = gram(x) / (n - 1)
        centered, weights = _between_class_terms(features, labels)
        solved = _solve_if_well_conditioned(cov_f, centered.T)
        if solved is not None:  # pinv == inverse: every eigenvalue is far above the rcond cut
            return float(weights @ np.einsum("cd,dc->c", centered, solved))
        evals, vecs = scipy.linalg.eigh(cov_f, driver="evd")
        keep = evals > self.rcond * max(float(np.abs(evals).max()), 0.0)
        proj = centered @ vecs[:, keep]
        return float(weights @ (proj**2 / evals[keep]).sum(axis=1))


def _solve_if_well_conditioned(mat: np.ndarray, rhs: np.ndarray, min_rcond: float = 1e-10) -> np.ndarray | None:
    """mat^-1 rhs by Cholesky when mat is positive definite with an estimated reciprocal condition number
    above ``min_rcond`` (LAPACK pocon); None otherwise (the caller then needs a pseudo-inverse)."""
    chol, info = scipy.linalg.lapack.dpotrf(mat, lower=1, clean=1)
    if info != 0:
        return None
    norm1 = float(np.abs(mat).sum(axis=0).max())
    rcond, info = scipy.linalg.lapack.dpocon(chol, norm1, uplo="L")
    if info != 0 or not rcond > min_rcond:
        return None
    return scipy.linalg.cho_solve((chol, True), rhs)


@SCORERS.register("reg_hscore")
class RegHScore(Scorer):
    """Shrinkage H-score: tr(cov_LW(F)^-1 (1 - alpha) cov(E[F | y])).

    cov_LW is the Ledoit-Wolf estimate with shrinkage alpha, equal to scikit-learn's (positive definite whenever
    alpha > 0, so a Cholesky solve replaces the pseudo-inverse); cov(E[F | y]) uses N - 1 as in H-score.

    Reference: Ibrahim, Ponomareva, Mazumder, "Newer is not always better: Rethinking transferability
    metrics, their peculiarities, stability and performance", ECML-PKDD 2022.
    """

    name = "reg_hscore"
    requires = frozenset({"features"})
    warn_n_lt_d = False  # shrinkage keeps the covariance well conditioned when N < D

    def __init__(self) -> None:
        pass

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        cov_lw, alpha = ledoit_wolf(features)
        centered, weights = _between_class_terms(features, labels)
        solved = _solve_if_well_conditioned(cov_lw, centered.T, min_rcond=0.0)
        if solved is None:  # alpha == 0 and a singular covariance: fall back to the pseudo-inverse
            solved = np.linalg.pinv(cov_lw, rcond=1e-15, hermitian=True) @ centered.T
        return float((1.0 - alpha) * (weights @ np.einsum("cd,dc->c", centered, solved)))


def ledoit_wolf(features: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrunk covariance and shrinkage, the same estimate as ``sklearn.covariance.ledoit_wolf``.

    scikit-learn forms three D x D products; here one Gram matrix suffices because
    sum_ij (X^2)^T (X^2) = sum_n ||x_n||^4 for the centered rows x_n.
    """
    n, d = features.shape
    x = features - features.mean(axis=0)
    if d == 1:
        return np.atleast_2d((x**2).mean()), 0.0
    emp_cov = gram(x) / n
    mu = float(np.trace(emp_cov)) / d
    row_sq = np.einsum("ij,ij->i", x, x)
    beta_sum = float(row_sq @ row_sq)  # sum of (X^2)^T (X^2)
    delta_sum = float(np.einsum("ij,ij->", emp_cov, emp_cov))  # ||X^T X||_F^2 / n^2
    beta = (beta_sum / n - delta_sum) / (d * n)
    delta = (delta_sum - 2.0 * mu * float(np.trace(emp_cov)) + d * mu**2) / d
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else beta / delta
    shrunk = (1.0 - shrinkage) * emp_cov
    shrunk.flat[:: d + 1] += shrinkage * mu
    return shrunk, shrinkage
