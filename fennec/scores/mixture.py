"""A full-covariance Gaussian mixture fitted by EM, for NLEEP: scikit-learn's algorithm, made fast.

It runs the same algorithm as ``sklearn.mixture.GaussianMixture(covariance_type="full", init_params="kmeans",
n_init=1)`` (k-means labels as the initial responsibilities, the same M-step with ``reg_covar`` on the
diagonal, the same precision Cholesky factors, the same stopping rule on the mean log-likelihood) and gives the
same posteriors up to rounding. Two exact shortcuts make it several times faster on NLEEP's problem (5 x C
components, most examples far from most components):

- M-step: a component's covariance only sums over examples with a non-zero responsibility (the others add
  exactly 0 in scikit-learn too).
- E-step: a pair (example i, component k) whose weighted log-density a_ik is below max_k a_ik - 800 has
  exp(a_ik - logsumexp) == 0 in float64 (underflow below e^-745), so it changes neither the log-likelihood nor
  the posteriors. A cheap upper bound of a_ik (the Mahalanobis norm restricted to a few columns of the
  precision factor is a lower bound of the full one) finds most such pairs; the others are computed exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf, dtrtri

from fennec.scores.base import ScoreUndefinedError

_MARGIN = 800.0  # > 745.2 = -log(smallest float64 subnormal): pairs further below the max are exact zeros
_BOUND_COLUMNS = 8  # columns of each precision factor used for the lower bound of the Mahalanobis norm


def _m_step(x: np.ndarray, resp: np.ndarray, reg_covar: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (unnormalised), means and precision Cholesky factors from responsibilities."""
    d = x.shape[1]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ x) / nk[:, None]
    prec_chol = np.empty((resp.shape[1], d, d))
    for k in range(resp.shape[1]):
        rows = np.flatnonzero(resp[:, k] > 0)  # zero responsibilities contribute exactly nothing
        diff = x[rows] - means[k]
        cov = (resp[rows, k] * diff.T) @ diff / nk[k]
        cov.flat[:: d + 1] += reg_covar
        chol, info = dpotrf(cov, lower=1, clean=1)
        if info == 0:
            inv, info = dtrtri(chol, lower=1)  # the inverse of a triangular factor, in place of a solve
        if info != 0:
            # Well-formed features on which this one mixture cannot be fitted: NLEEP is undefined, not the input bad.
            raise ScoreUndefinedError("features: a Gaussian-mixture component has an ill-defined covariance "
                                      "(collapsed or duplicated examples); use fewer components per class")
        prec_chol[k] = inv.T
    return nk, means, prec_chol


def _e_step(x: np.ndarray, weights: np.ndarray, means: np.ndarray,
            prec_chol: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean log-likelihood and (N, K) log-responsibilities (-inf where the responsibility underflows to 0)."""
    n, d = x.shape
    k_count = means.shape[0]
    log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    const = np.log(weights) + log_det - 0.5 * d * np.log(2 * np.pi)  # a_ik = const_k - q_ik / 2

    def exact(rows: np.ndarray, k: int) -> np.ndarray:
        y = x[rows] @ prec_chol[k] - means[k] @ prec_chol[k]  # scikit-learn's arithmetic
        return const[k] - 0.5 * np.einsum("ij,ij->i", y, y)

    # Upper bound of a_ik from a lower bound of q_ik: the largest columns of each precision factor.
    r = min(_BOUND_COLUMNS, d)
    if r < d:
        col_norms = np.einsum("kij,kij->kj", prec_chol, prec_chol)
        cols = np.argsort(-col_norms, axis=1, kind="stable")[:, :r]
        basis = np.take_along_axis(prec_chol, cols[:, None, :], axis=2)  # (K, d, r)
        proj = x @ basis.transpose(1, 0, 2).reshape(d, k_count * r)
        proj = proj.reshape(n, k_count, r) - np.einsum("kd,kdr->kr", means, basis)[None]
        upper = const[None, :] - 0.5 * np.einsum("nkr,nkr->nk", proj, proj)
        best = np.argmax(upper, axis=1)
        anchor = np.empty(n)
        for k in np.unique(best):
            rows = np.flatnonzero(best == k)
            anchor[rows] = exact(rows, k)
        candidate = upper >= (anchor - _MARGIN)[:, None]
    else:
        candidate = np.ones((n, k_count), dtype=bool)
    weighted = np.full((n, k_count), -np.inf)
    for k in range(k_count):
        rows = np.flatnonzero(candidate[:, k])
        if rows.size:
            weighted[rows, k] = exact(rows, k)
    top = weighted.max(axis=1)
    norm = top + np.log(np.exp(weighted - top[:, None]).sum(axis=1))
    return float(norm.mean()), weighted - norm[:, None]


def gaussian_mixture_posteriors(x: np.ndarray, n_components: int, random_state: int = 0, max_iter: int = 100,
                                tol: float = 1e-3, reg_covar: float = 1e-6) -> np.ndarray:
    """Fit a full-covariance Gaussian mixture by EM and return the (N, K) posterior responsibilities.

    Args:
        x: (N, d) float64 data.
        n_components: K, at most N.
        random_state: Seed of the k-means initialisation (scikit-learn's ``KMeans(n_init=1)``).
        max_iter: Maximum EM iterations.
        tol: Stop when the mean log-likelihood changes by less than this.
        reg_covar: Added to every covariance diagonal.

    Returns:
        (N, K) responsibilities; rows sum to one.

    Raises:
        ScoreUndefinedError: when a component's covariance is not positive definite even with ``reg_covar``.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    n = x.shape[0]
    # k-means and hundreds of small (d x d) factorisations: threads only add overhead here, and stall badly
    # (spinning OpenMP / BLAS workers) on a busy machine.
    with threadpool_limits(limits=1):
        labels = KMeans(n_clusters=n_components, n_init=1,
                        random_state=np.random.RandomState(random_state)).fit(x).labels_
        resp = np.zeros((n, n_components))
        resp[np.arange(n), labels] = 1.0
        nk, means, prec_chol = _m_step(x, resp, reg_covar)
        weights = nk / n
        lower = -np.inf
        for _ in range(max_iter):
            prev = lower
            lower, log_resp = _e_step(x, weights, means, prec_chol)
            nk, means, prec_chol = _m_step(x, np.exp(log_resp), reg_covar)
            weights = nk / nk.sum()
            if abs(lower - prev) < tol:
                break
        _, log_resp = _e_step(x, weights, means, prec_chol)
    return np.exp(log_resp)
