"""The cold-start head: kernel ridge regression from a model's features to what the space learned of the models
with records.

A model without records gets its vector and quality from its features alone (archi2vec vector, size, pre-training
text): the head is fitted to the warm models' vectors u_m and qualities b_m and predicts them for a new model. As a
kernel ridge regression it is the posterior mean of a Gaussian process with that kernel (Rasmussen and Williams,
*Gaussian Processes for Machine Learning*, 2006, section 2.2), with the kernel

    k(x, x') = s_a k_a(a, a') + s_s <z_s, z_s'> + s_t <z_t, z_t'>,

a sum over feature groups: the archi2vec vectors a (unit norm) under ``k_a``, the size columns z_s (standardised log
parameters and FLOPs, with the has-architecture / has-text flags) and the pre-training text embedding z_t, both
linear and centred on the warm models' weighted mean. With ``arch_kernel="rbf"``, k_a(a, a') = exp(-|a - a'|^2 /
(2 l^2)) (zero for a model whose architecture could not be embedded): the architecture part of a prediction fades
to nothing as a new architecture gets far from every architecture with records (its size and text parts remain),
instead of being extrapolated linearly along 64 directions fitted on a few dozen networks. With ``"linear"`` (the
default), k_a(a, a') = <a, a'> (not centred: a model archi2vec cannot embed gets no architecture part): a linear
ridge regression with one penalty per feature group, like :func:`fennec.space.fit.fit_cold_head` (which centres
every column) but with the overall penalty fixed at 1 (weights of mean 1) and the group scales shared by every
output, where that head also picks a penalty per output from 1e-3 up; on some lomo folds of the shared records
its leave-one-out took the penalties near zero, and the near-unpenalised fit ranked the smallest ImageNet CNNs
first (docs/space_history.md). The linear groups are kept in primal form (coefficients over the feature
columns), so a fitted linear head holds no copy of the training models' features.

The group scales s (inverse penalties) and the length scale l are chosen by the closed-form leave-one-model-out
error of the weighted fit, one choice for every output, so the vector and the quality of a new model come from
the same fit. With A = K + W^-1 and c = A^-1 y, leaving model i out changes its residual to c_i / (A^-1)_ii
(Cawley and Talbot, *Fast exact leave-one-out cross-validation of sparse least-squares support vector
machines*, Neural Networks 2004); exact for the fit with the centring (the warm models' weighted means) held
fixed, which includes the held-out model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fennec.validation import check_choice

ARCH_KERNELS = ("linear", "rbf")
Gram = list  # [{length scale: (M, N)} architecture kernels, (M, N) size kernel, (M, N) text kernel]
COLD_HEADS = (*ARCH_KERNELS, "ridge")  # TransferSpace(cold_head=...): a kernel, or the earlier per-output ridge
LENGTH_SCALES = (0.25, 0.5, 1.0)
# The top bounds how weakly a group is penalised, and it matters: leave-one-model-out keeps a held-out model's
# siblings (the same network pre-trained elsewhere) in the fit and prefers weaker penalties than a new architecture
# bears; with scales up to 100 one lomo fold ranked the two weakest ImageNet CNNs first (docs/space_history.md).
GROUP_SCALES = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)


class ColdHead:
    """Kernel ridge read-out for cold-start models (see the module docstring).

    Args:
        arch_kernel: ``"linear"`` or ``"rbf"`` (the architecture part of a new architecture unlike the known ones
            fades to nothing).
        length_scales: Candidate RBF length scales l (unit archi2vec vectors are at most 2 apart).
        group_scales: Candidate scales s of each group's kernel (0 drops the group).
        passes: Coordinate-search passes over the groups, per length scale.
    """

    def __init__(self, arch_kernel: str = "linear", length_scales: Sequence[float] = LENGTH_SCALES,
                 group_scales: Sequence[float] = GROUP_SCALES, passes: int = 2) -> None:
        self.arch_kernel = arch_kernel
        self.length_scales = tuple(length_scales)
        self.group_scales = tuple(group_scales)
        self.passes = passes

    # ------------------------------------------------------------------------------------------------ kernels
    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(architecture vectors, size and flag columns, text columns) of feature rows ``x`` (N, F)."""
        a, t = self.groups_
        rest = np.ones(x.shape[1], bool)
        rest[a] = False
        rest[t] = False
        return x[:, a], x[:, rest], x[:, t]

    def _gram(self, xa: np.ndarray, xb: np.ndarray, ells: Sequence[float | None]) -> Gram:
        """Per-group kernels between rows ``xb`` (M, F) and ``xa`` (N, F): [{l: (M, N)} for the architecture, (M, N)
        size, (M, N) text] (the architecture kernel at each length scale of ``ells``; one, None, when linear)."""
        (aa, sa, ta), (ab, sb, tb) = self._split(xa), self._split(xb)
        linear = self.arch_kernel == "linear"
        arch = {None: ab @ aa.T} if linear else {ell: self._rbf(aa, ab, ell) for ell in ells}
        size = (sb - self.size_mean_) @ (sa - self.size_mean_).T
        text = (tb - self.text_mean_) @ (ta - self.text_mean_).T
        return [arch, size, text]

    @staticmethod
    def _rbf(aa: np.ndarray, ab: np.ndarray, ell: float) -> np.ndarray:
        """(M, N) Gaussian kernel between unit architecture vectors ``ab`` (M, A) and ``aa`` (N, A); 0 for a zero
        vector (no architecture)."""
        has = (np.linalg.norm(ab, axis=1) > 0)[:, None] & (np.linalg.norm(aa, axis=1) > 0)[None, :]
        d2 = np.maximum(2.0 - 2.0 * (ab @ aa.T), 0.0)  # unit vectors: |a - a'|^2 = 2 - 2 <a, a'>
        return np.exp(-d2 / (2.0 * ell**2)) * has

    @staticmethod
    def _combine(gram: Gram, ell: float | None, scales: Sequence[float]) -> np.ndarray:
        """The kernel sum_g s_g k_g of the groups' kernels ``gram`` at length scale ``ell``."""
        return scales[0] * gram[0][ell] + scales[1] * gram[1] + scales[2] * gram[2]

    # ---------------------------------------------------------------------------------------------- fitting
    def fit(self, x: np.ndarray, target: np.ndarray, arch: slice, text: slice,
            sample_weight: np.ndarray | None = None) -> ColdHead:
        """Fit on the models with records.

        Args:
            x: (N, F) model features; columns ``arch`` are the archi2vec vectors, ``text`` the pre-training text
                embedding, every other column (size, flags) joins the size group.
            target: (N, T) what the space says of each model (its vector and quality).
            arch: Columns of the archi2vec vector.
            text: Columns of the pre-training text.
            sample_weight: (N,) weight of each model (e.g. :func:`fennec.space.fit.zoo_weights`); rows of weight 0
                are left out.

        Returns:
            self, with ``length_scale_``, ``scales_`` and ``loo_error_`` (weighted mean squared leave-one-out error).
        """
        check_choice(self.arch_kernel, "arch_kernel", ARCH_KERNELS)
        target = np.asarray(target, dtype=np.float64).reshape(len(x), -1)
        w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (len(x),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"ColdHead.fit: sample_weight of shape {w.shape}; expected ({len(x)},), finite, >= 0 "
                             "and not all 0")
        keep = w > 0
        x, target, w = np.asarray(x, dtype=np.float64)[keep], target[keep], w[keep]
        w = w / w.mean()  # a penalty of 1 against weights of mean 1: the scales alone set the regularisation
        self.groups_ = (arch, text)
        wn = w / w.sum()
        _, s, t = self._split(x)
        self.size_mean_, self.text_mean_ = wn @ s, wn @ t
        self.y_mean_ = wn @ target
        yc = target - self.y_mean_
        gram = self._gram(x, x, self.length_scales)
        ridge = np.diag(1.0 / w)
        best: tuple[float, float | None, tuple[float, ...]] | None = None
        for ell in gram[0]:
            scales = (1.0, 1.0, 1.0)
            err = self._loo(self._combine(gram, ell, scales), ridge, yc, w)
            for _ in range(self.passes):
                for g in range(3):
                    for s_g in self.group_scales:
                        trial = tuple(s_g if i == g else v for i, v in enumerate(scales))
                        if trial == scales:
                            continue
                        e = self._loo(self._combine(gram, ell, trial), ridge, yc, w)
                        if e < err - 1e-12:
                            err, scales = e, trial
            if best is None or err < best[0]:
                best = (err, ell, scales)
        assert best is not None
        self.loo_error_, self.length_scale_, self.scales_ = best
        k = self._combine(gram, self.length_scale_, self.scales_)
        dual = np.linalg.solve(k + ridge, yc)
        # the linear groups in primal form: sum_i c_i s <z_i, z> = <sum_i s c_i z_i, z>
        self.coef_ = self._linear_columns(x).T @ dual
        if self.arch_kernel == "rbf":
            self.arch_anchors_, self.dual_coef_ = x[:, arch], dual
        return self

    def _linear_columns(self, x: np.ndarray) -> np.ndarray:
        """(M, F') the linear groups' columns of ``x`` (M, F), centred and scaled by the square roots of their group
        scales: the architecture's (when its kernel is linear), the size's, the text's."""
        a, s, t = self._split(x)
        s_a, s_s, s_t = np.sqrt(self.scales_)
        parts = [s_a * a] if self.arch_kernel == "linear" else []
        return np.concatenate([*parts, s_s * (s - self.size_mean_), s_t * (t - self.text_mean_)], axis=1)
        return self

    @staticmethod
    def _loo(k: np.ndarray, ridge: np.ndarray, yc: np.ndarray, w: np.ndarray) -> float:
        """Weighted mean squared leave-one-out error of the fit with kernel ``k`` (N, N): with A = K + W^-1 (positive
        definite), the left-out residual of row i is (A^-1 y)_i / (A^-1)_ii."""
        from scipy.linalg import cho_factor, cho_solve

        factor = cho_factor(k + ridge)
        inv = cho_solve(factor, np.eye(len(k)))
        resid = (inv @ yc) / np.diag(inv)[:, None]
        return float(np.mean(w[:, None] * resid**2))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(M, T) predicted vector and quality of models with features ``x`` (M, F)."""
        x = np.asarray(x, dtype=np.float64)
        out = self._linear_columns(x) @ self.coef_ + self.y_mean_
        if self.arch_kernel == "rbf":
            k = self._rbf(self.arch_anchors_, x[:, self.groups_[0]], self.length_scale_)
            out += self.scales_[0] * k @ self.dual_coef_
        return out

    # ------------------------------------------------------------------------------------------ persistence
    def state(self) -> dict[str, np.ndarray]:
        """The fitted head as arrays (what :func:`fennec.space.store.save_space` writes): a linear head holds
        coefficients over the feature columns; a Gaussian one also its training architectures and dual weights."""
        a, t = self.groups_
        out = {"coef": self.coef_, "y_mean": self.y_mean_, "size_mean": self.size_mean_, "text_mean": self.text_mean_,
               "length_scale": np.float64(np.nan if self.length_scale_ is None else self.length_scale_),
               "scales": np.asarray(self.scales_, dtype=np.float64), "loo_error": np.float64(self.loo_error_),
               "groups": np.array([a.start, a.stop, t.start, t.stop]), "arch_kernel": np.array(self.arch_kernel)}
        if self.arch_kernel == "rbf":
            out.update(arch_anchors=self.arch_anchors_, dual_coef=self.dual_coef_)
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> ColdHead:
        """The head :meth:`state` described.

        Args:
            state: The arrays of :meth:`state`.

        Returns:
            A fitted head that predicts as the one that wrote ``state``.
        """
        head = cls(arch_kernel=str(state["arch_kernel"]))
        g = [int(v) for v in state["groups"]]
        head.groups_ = (slice(g[0], g[1]), slice(g[2], g[3]))
        head.coef_, head.y_mean_ = state["coef"], state["y_mean"]
        head.size_mean_, head.text_mean_ = state["size_mean"], state["text_mean"]
        ell = float(state["length_scale"])
        head.length_scale_ = None if np.isnan(ell) else ell
        head.scales_ = tuple(float(v) for v in state["scales"])
        head.loo_error_ = float(state["loo_error"])
        if head.arch_kernel == "rbf":
            head.arch_anchors_, head.dual_coef_ = state["arch_anchors"], state["dual_coef"]
        return head
