"""Scores built on source-class probabilities: LEEP, NLEEP (Gaussian-mixture "probabilities") and NCE."""

from __future__ import annotations

import warnings

import numpy as np

from fennec.scores.base import SCORERS, Scorer, ScoreUndefinedError, leep_from_probs, pca
from fennec.scores.mixture import gaussian_mixture_posteriors
from fennec.validation import FennecInputWarning, check_choice, check_fraction, check_positive_int, check_seed

#: Fewest examples per NLEEP mixture component on average: with one, every example has a component of its own.
_MIN_PER_COMPONENT = 2


@SCORERS.register("leep")
class LEEP(Scorer):
    """LEEP: log expected empirical prediction.

    With source-class probabilities P (N, Cs): the empirical joint P(y, z) = (1/N) sum_i 1[y_i = y] P_i(z),
    the conditional P(y | z) = P(y, z) / P(z), and LEEP = (1/N) sum_i log sum_z P(y_i | z) P_i(z) (<= 0).

    Reference: Nguyen, Hassner, Seeger, Archambeau, "LEEP: A New Measure to Evaluate Transferability of
    Learned Representations", ICML 2020.
    """

    name = "leep"
    requires = frozenset({"probs"})

    def __init__(self) -> None:
        pass

    def _score(self, labels: np.ndarray, probs: np.ndarray) -> float:
        return leep_from_probs(probs, labels)


@SCORERS.register("nce")
class NCE(Scorer):
    """NCE: negative conditional entropy -H(Y | Z) of target labels given hard source labels z = argmax P.

    NCE = sum_{y,z} P(y, z) log P(y | z) with empirical frequencies and the natural log; source classes that
    no example is assigned to are dropped (they carry no mass). 0 is the best value.

    Reference: Tran, Nguyen, Hassner, "Transferability and Hardness of Supervised Classification Tasks",
    ICCV 2019.
    """

    name = "nce"
    requires = frozenset({"probs"})

    def __init__(self) -> None:
        pass

    def _score(self, labels: np.ndarray, probs: np.ndarray) -> float:
        n = labels.shape[0]
        _, z = np.unique(np.argmax(probs, axis=1), return_inverse=True)  # keeps only used source classes
        joint = np.zeros((int(labels.max()) + 1, int(z.max()) + 1))
        np.add.at(joint, (labels, z.reshape(-1)), 1.0 / n)
        marginal = joint.sum(axis=0)
        nz = joint > 0
        cond = joint / marginal[None, :]
        return float(np.sum(joint[nz] * np.log(cond[nz])))


@SCORERS.register("nleep")
class NLEEP(Scorer):
    """NLEEP: LEEP where the source classifier is replaced by a Gaussian mixture fitted on the features.

    Features are reduced by PCA keeping ``variance`` of the variance, a Gaussian mixture with
    ``components_per_class`` x C components is fitted (scikit-learn, seeded), and its posterior
    responsibilities play the role of the source-class probabilities in LEEP. The result depends on the seed
    (and, through the k-means initialisation, on the order of the examples). The full-covariance mixture is
    fitted by :mod:`fennec.scores.mixture`, scikit-learn's EM algorithm with exact shortcuts.

    The paper's 5 x C components assume many examples per class. With few (e.g. 200 classes and 500
    examples) every example would get a component of its own: the posteriors become one-hot, P(y | z) is
    estimated from the example itself and NLEEP is 0, its best value, whatever the features. So the mixture has
    at most N // 2 components: two examples per component on average, the fewest from which a component has any
    spread (its covariance, of any type, is estimated around its mean) and P(y | z) is not one example's own
    label. The cap binds only below 2 x ``components_per_class`` examples per class, and a
    :class:`~fennec.validation.FennecInputWarning` says so. It deliberately ignores the PCA dimension d,
    although a full covariance is only of full rank from d + 1 examples: d differs from model to model on one
    task, so an N // (d + 1) cap would score models with different mixtures and rank them partly by their
    feature dimension (on synthetic 16-model families with 200 classes and N = 500 it cut the weighted tau with
    the models' accuracy from about 0.85 to 0.35-0.40), and the reference pipelines fit 5 x C full-covariance
    components with far fewer than d + 1 examples each.

    Reference: Li, Jia, Zhu, et al., "Ranking Neural Checkpoints", CVPR 2021.

    Args:
        components_per_class: Mixture components per target class (5 in the paper); the mixture has at most
            N // 2 components in all (see above).
        variance: Fraction of variance the PCA keeps (0.8 in the paper).
        covariance_type: scikit-learn covariance type of the mixture ("full" as in the reference code).
        random_state: Seed of the mixture's k-means initialisation, an integer in [0, 2**32 - 1].
        max_iter: EM iterations (scikit-learn's default 100).
    """

    name = "nleep"
    requires = frozenset({"features"})

    def __init__(self, components_per_class: int = 5, variance: float = 0.8, covariance_type: str = "full",
                 random_state: int = 0, max_iter: int = 100) -> None:
        self.components_per_class = components_per_class
        self.variance = variance
        self.covariance_type = covariance_type
        self.random_state = random_state
        self.max_iter = max_iter

    def _check_params(self) -> None:
        check_positive_int(self.components_per_class, "components_per_class")
        check_fraction(self.variance, "variance", low=1e-6, high=1.0)
        check_choice(self.covariance_type, "covariance_type", ("full", "tied", "diag", "spherical"))
        check_seed(self.random_state, "random_state")
        check_positive_int(self.max_iter, "max_iter")

    def _n_components(self, n: int, n_classes: int) -> int:
        """The number of mixture components for ``n`` examples of ``n_classes`` classes.

        ``components_per_class`` x ``n_classes`` (Li et al.'s 5 x C), capped at ``n // 2`` (two examples per
        component on average, see the class docstring); warns (FennecInputWarning) when the cap binds. It depends
        on the task only, never on the model's features, so every model on a task gets the same mixture size.
        """
        wanted = self.components_per_class * n_classes
        supported = n // _MIN_PER_COMPONENT  # >= 1: a scorer gets two examples or more
        if wanted <= supported:
            return wanted
        warnings.warn(
            f"features: N={n} examples support at most {supported} Gaussian components (2 examples each on "
            f"average), not the {wanted} asked for ({self.components_per_class} per class x {n_classes} classes); "
            f"NLEEP uses {supported}, since with about one example per component it is 0 for any features; "
            f"give {_MIN_PER_COMPONENT * self.components_per_class} or more examples per class for the paper's "
            "setting", FennecInputWarning, stacklevel=4)
        return supported

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        n_classes = int(labels.max()) + 1
        reduced = pca(features, self.variance if self.variance < 1 else None)
        k = self._n_components(reduced.shape[0], n_classes)
        if self.covariance_type == "full":
            resp = gaussian_mixture_posteriors(reduced, k, random_state=self.random_state, max_iter=self.max_iter)
        else:
            from sklearn.mixture import GaussianMixture

            gmm = GaussianMixture(n_components=k, covariance_type=self.covariance_type,
                                  random_state=self.random_state, max_iter=self.max_iter)
            try:
                resp = gmm.fit(reduced).predict_proba(reduced)
            except ValueError as exc:  # scikit-learn's "ill-defined empirical covariance" (collapsed examples)
                raise ScoreUndefinedError(f"features: the {self.covariance_type}-covariance Gaussian mixture "
                                          f"cannot be fitted ({str(exc).splitlines()[0]}); use fewer components "
                                          "per class") from None
        return leep_from_probs(resp, labels)
