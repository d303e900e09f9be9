"""The cold-start head: ridge regression from a model's features to what the space learned of the models with
records, its penalties chosen by leave-one-model-out.

A model without records gets its vector and quality from its features alone (archi2vec vector, size, pre-training
text): the head is fitted to the warm models' vectors u_m and qualities b_m and predicts them for a new model. It is
a ridge regression with one penalty per feature group, solved in its kernel (dual) form since there are fewer
models than feature columns:

    k(x, x') = s_a <a, a'> + s_s <z_s, z_s'> + s_t <z_t, z_t'>,

over the archi2vec vectors a (unit norm; not centred, so a model archi2vec cannot embed gets no architecture part),
the size columns z_s (standardised log parameters and FLOPs, with the has-architecture / has-text flags) and the
pre-training text embedding z_t, both centred on the warm models' weighted mean. The overall penalty is fixed at 1
against weights of mean 1, so the group scales s (inverse penalties) alone set the regularisation; they are shared
by every output, so the vector and the quality of a new model come from the same fit, and chosen by the
closed-form weighted leave-one-model-out error: with A = K + W^-1 and c = A^-1 y, leaving model i out changes its
residual to c_i / (A^-1)_ii (Cawley and Talbot, *Fast exact leave-one-out cross-validation of sparse
least-squares support vector machines*, Neural Networks 2004); exact with the centring (the warm models' weighted
means, which include the held-out model) held fixed.

The fitted head is linear in the features (``coef_``, ``intercept_``), so the space keeps it in its nets' cold-start
layers. :func:`fennec.space.cold_fit.fit_cold_head` is the earlier head (``TransferSpace(cold_head="ridge")``), which
also picks a penalty per output from 1e-3 up; on some lomo folds of the shared records its leave-one-out took the
penalties near zero, and the near-unpenalised fit ranked the smallest ImageNet CNNs first (docs/space_history.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

COLD_HEADS = ("linear", "ridge")  # TransferSpace(cold_head=...): this module's head, or the per-output ridge
# The top bounds how weakly a group is penalised, and it matters: leave-one-model-out keeps a held-out model's
# siblings (the same network pre-trained elsewhere) in the fit and prefers weaker penalties than a new architecture
# bears; with scales up to 100 one lomo fold ranked the two weakest ImageNet CNNs first (docs/space_history.md).
GROUP_SCALES = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)


def coordinate_search(loss: Callable[[tuple[float, ...]], float], n_groups: int, grid: Sequence[float],
                      passes: int) -> tuple[tuple[float, ...], float]:
    """One scale per feature group minimising ``loss``, searched coordinate-wise over ``grid``.

    From every scale at 1, each of ``passes`` passes tries every grid value for each group in turn and keeps a
    trial that lowers the loss by more than 1e-12 (so ties keep the earlier scales). Shared by both cold-start heads'
    group penalties (:class:`ColdHead`, :func:`fennec.space.cold_fit.feature_group_scales`).

    Returns:
        (the chosen scales, their loss).
    """
    scales = (1.0,) * n_groups
    best = loss(scales)
    for _ in range(passes):
        for g in range(n_groups):
            for s in grid:
                trial = (*scales[:g], float(s), *scales[g + 1:])
                if trial == scales:
                    continue
                value = loss(trial)
                if value < best - 1e-12:
                    best, scales = value, trial
    return scales, best


class ColdHead:
    """Ridge read-out for cold-start models, one penalty per feature group (see the module docstring).

    Args:
        group_scales: Candidate scales s of each group's kernel (0 drops the group).
        passes: Coordinate-search passes over the groups.
    """

    def __init__(self, group_scales: Sequence[float] = GROUP_SCALES, passes: int = 2) -> None:
        self.group_scales = tuple(group_scales)
        self.passes = passes

    def _columns(self, x: np.ndarray) -> list[np.ndarray]:
        """The groups' columns of feature rows ``x`` (N, F), centred as the kernel reads them: [architecture, size
        and flags, text]."""
        a, t = self.groups_
        return [x[:, a], x[:, self.rest_] - self.size_mean_, x[:, t] - self.text_mean_]

    def fit(self, x: np.ndarray, target: np.ndarray, arch: slice, text: slice,
            sample_weight: np.ndarray | None = None) -> ColdHead:
        """Fit on the models with records.

        Args:
            x: (N, F) model features; columns ``arch`` are the archi2vec vectors, ``text`` the pre-training text
                embedding, every other column (size, flags) joins the size group.
            target: (N, T) what the space says of each model (its vector and quality).
            arch: Columns of the archi2vec vector.
            text: Columns of the pre-training text.
            sample_weight: (N,) weight of each model (e.g. :func:`fennec.space.cold_fit.zoo_weights`); rows of weight 0
                are left out.

        Returns:
            self, with ``scales_`` (architecture, size, text), ``loo_error_`` (weighted mean squared leave-one-out
            error), ``coef_`` (F, T) and ``intercept_`` (T,).
        """
        target = np.asarray(target, dtype=np.float64).reshape(len(x), -1)
        w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (len(x),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"ColdHead.fit: sample_weight of shape {w.shape}; expected ({len(x)},), finite, >= 0 "
                             "and not all 0")
        keep = w > 0
        x, target, w = np.asarray(x, dtype=np.float64)[keep], target[keep], w[keep]
        w = w / w.mean()  # a penalty of 1 against weights of mean 1: the scales alone set the regularisation
        self.groups_ = (arch, text)
        self.rest_ = np.ones(x.shape[1], bool)
        self.rest_[arch] = self.rest_[text] = False
        wn = w / w.sum()
        self.size_mean_, self.text_mean_ = wn @ x[:, self.rest_], wn @ x[:, text]
        y_mean = wn @ target
        yc = target - y_mean
        cols = self._columns(x)
        gram = [c @ c.T for c in cols]
        ridge = np.diag(1.0 / w)

        def kernel(scales: Sequence[float]) -> np.ndarray:
            return sum(s * g for s, g in zip(scales, gram, strict=True))

        scales, err = coordinate_search(lambda sc: self._loo(kernel(sc), ridge, yc, w), len(gram),
                                        self.group_scales, self.passes)
        self.loo_error_, self.scales_ = err, scales
        dual = np.linalg.solve(kernel(scales) + ridge, yc)
        # back to the primal: sum_i c_i s_g <z_i, z> = <z, s_g Z_g^T c> per group, over the raw feature columns
        coef = np.zeros((x.shape[1], yc.shape[1]))
        a, t = self.groups_
        for s_g, c, where in zip(scales, cols, (a, self.rest_, t), strict=True):
            coef[where] = s_g * (c.T @ dual)
        self.coef_ = coef
        self.intercept_ = y_mean - self.size_mean_ @ coef[self.rest_] - self.text_mean_ @ coef[t]
        return self

    @staticmethod
    def _loo(k: np.ndarray, ridge: np.ndarray, yc: np.ndarray, w: np.ndarray) -> float:
        """Weighted mean squared leave-one-out error of the fit with kernel ``k`` (N, N): with A = K + W^-1 (positive
        definite), the left-out residual of row i is (A^-1 y)_i / (A^-1)_ii."""
        from scipy.linalg import cho_factor, cho_solve

        inv = cho_solve(cho_factor(k + ridge), np.eye(len(k)))
        resid = (inv @ yc) / np.diag(inv)[:, None]
        return float(np.mean(w[:, None] * resid**2))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(M, T) predicted vector and quality of models with features ``x`` (M, F)."""
        return np.asarray(x, dtype=np.float64) @ self.coef_ + self.intercept_
