"""LogME: log marginal evidence of a Bayesian linear head (You et al., ICML 2021)."""

from __future__ import annotations

import numpy as np

from fennec.scores.base import SCORERS, Scorer, eigh_project, gram, one_hot
from fennec.validation import check_positive_int, check_positive_number

_EPS = 1e-5  # the reference's guard in the alpha / beta updates


@SCORERS.register("logme")
class LogME(Scorer):
    """LogME: per-class Bayesian linear regression evidence of the one-hot column, averaged over classes.

    For each class c, y = 1[label == c] is modelled as y ~ N(F w, 1/beta) with w ~ N(0, 1/alpha); alpha and
    beta maximise the evidence by the fixed-point iteration of the "fast" LogME (You et al., "Ranking and
    Tuning Pre-trained Models", JMLR 2022), which needs the eigenvalues of F^T F (or F F^T when N <= D) and
    the projections of the labels on its eigenvectors, shared by all classes (computed without forming the
    eigenvectors, see :func:`~fennec.scores.base.eigh_project`); the classes are iterated together.
    Features are not centered.
    The result is the per-sample log evidence averaged over classes (higher = better). When rank(F) < D
    (e.g. N < D) the log-determinant keeps the zero eigenvalues, as the definition requires.

    Reference: You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models for Transfer
    Learning", ICML 2021 (thuml/LogME).

    Args:
        max_iter: Maximum fixed-point iterations per class (the reference uses 11).
        tol: Relative change of alpha / beta below which a class has converged, >= 0 (the reference uses 1e-3;
            0 runs all ``max_iter`` iterations).
    """

    name = "logme"
    requires = frozenset({"features"})

    def __init__(self, max_iter: int = 11, tol: float = 1e-3) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self) -> None:
        check_positive_int(self.max_iter, "max_iter")
        check_positive_number(self.tol, "tol", allow_zero=True)  # 0 runs every iteration; NaN would do so silently

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        f = features
        n, d = f.shape
        y = one_hot(labels)
        if n > d:
            evals, proj = eigh_project(gram(f), f.T @ y)
            keep = evals > 1e-20  # singular values > 1e-10, the reference's rank cut
            sigma = evals[keep]
            # Projections of y on the left singular vectors u_k = F v_k / s_k, without forming U.
            x = proj[keep] / np.sqrt(sigma)[:, None]
        else:
            evals, proj = eigh_project(f @ f.T, y)
            keep = evals > 1e-20
            sigma = evals[keep]
            x = proj[keep]
        sigma = sigma[:, None]  # (k, 1)
        x2 = x**2  # (k, C)
        res_x2 = (y**2).sum(axis=0) - x2.sum(axis=0)  # part of ||y||^2 outside the span of F

        n_cls = y.shape[1]
        alpha = np.ones(n_cls)
        beta = np.ones(n_cls)
        m2 = np.zeros(n_cls)
        res2 = np.zeros(n_cls)
        active = np.ones(n_cls, dtype=bool)
        for _ in range(self.max_iter):
            a, b = alpha[active], beta[active]
            t = a / b
            s_t = sigma + t
            gamma = (sigma / s_t).sum(axis=0)
            m2_a = (sigma * x2[:, active] / s_t**2).sum(axis=0)
            res2_a = (x2[:, active] / (1.0 + sigma / t) ** 2).sum(axis=0) + res_x2[active]
            a = gamma / (m2_a + _EPS)
            b = (n - gamma) / (res2_a + _EPS)
            alpha[active], beta[active] = a, b
            m2[active], res2[active] = m2_a, res2_a
            done = np.abs(a / b - t) / t <= self.tol
            active[np.flatnonzero(active)[done]] = False
            if not active.any():
                break
        # logdet(alpha I + beta F^T F) over all D eigenvalues: the D - k zero ones contribute log(alpha) each.
        # (The reference's fast path drops them, which only matters when rank(F) < D, e.g. N < D; its ICML
        # path and the definition keep them.)
        n_zero = d - sigma.shape[0]
        evidence = (d / 2.0 * np.log(alpha) + n / 2.0 * np.log(beta)
                    - 0.5 * np.log(alpha[None, :] + beta[None, :] * sigma).sum(axis=0)
                    - 0.5 * n_zero * np.log(alpha)
                    - beta / 2.0 * res2 - alpha / 2.0 * m2 - n / 2.0 * np.log(2.0 * np.pi)) / n
        return float(np.mean(evidence))
