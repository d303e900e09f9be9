"""Linearized fine-tuning scores: label-feature and label-gradient correlation (Deshpande et al., 2021)."""

from __future__ import annotations

import numpy as np

from fennec.scores.base import SCORERS, Scorer, kernel_alignment


@SCORERS.register("lfc")
class LFC(Scorer):
    """LFC: centered alignment between the feature kernel F F^T and the label kernel Y (+1 same class, -1 not).

    LFC = <Theta_c, Y_c> / (||Theta_c|| ||Y_c||), Theta = F F^T, each matrix centered by its overall mean;
    computed in O(N D^2) without forming the N x N kernels. In [-1, 1].

    Reference: Deshpande, Achille, Ravichandran, et al., "A linearized framework and a new benchmark for
    model selection for fine-tuning", arXiv 2102.00084.
    """

    name = "lfc"
    requires = frozenset({"features"})
    warn_n_lt_d = False  # a kernel alignment, defined for any N, D

    def __init__(self) -> None:
        pass

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        return kernel_alignment(features, labels)


@SCORERS.register("lgc")
class LGC(Scorer):
    """LGC: the same alignment with the gradient kernel J J^T of per-example last-layer gradients J (N, P).

    Obtain J from a torch model with :func:`fennec.scores.gradients.per_example_grads`.

    Reference: Deshpande et al., arXiv 2102.00084.
    """

    name = "lgc"
    requires = frozenset({"grads"})
    warn_n_lt_d = False

    def __init__(self) -> None:
        pass

    def _score(self, labels: np.ndarray, grads: np.ndarray) -> float:
        return kernel_alignment(grads, labels, "grads")
