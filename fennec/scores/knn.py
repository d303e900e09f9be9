"""Leave-one-out k-nearest-neighbour accuracy (the 1-NN baseline of PARC, Bolya et al., 2021)."""

from __future__ import annotations

import numpy as np

from fennec.scores.base import SCORERS, Scorer, ScoreUndefinedError
from fennec.validation import check_choice, check_positive_int

_BLOCK = 1024  # rows of the distance matrix held at once (memory O(block x N))


@SCORERS.register("knn")
class KNN(Scorer):
    """Leave-one-out kNN accuracy in [0, 1]: each example is classified by its k nearest other examples.

    Votes are counted per class; a tie between classes goes to the class whose member is nearest. Distances
    are Euclidean (``"l2"``) or cosine; they are computed block-wise, never as a full N x N matrix.

    Args:
        k: Number of neighbours (1 as in PARC's baseline); at most N - 1, the other examples there are.
        metric: "l2" or "cosine".
    """

    name = "knn"
    requires = frozenset({"features"})
    warn_n_lt_d = False

    def __init__(self, k: int = 1, metric: str = "l2") -> None:
        self.k = k
        self.metric = metric

    def _check_params(self) -> None:
        check_positive_int(self.k, "k")
        check_choice(self.metric, "metric", ("l2", "cosine"))

    def _score(self, labels: np.ndarray, features: np.ndarray) -> float:
        x = features
        if self.metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1.0)
        n = x.shape[0]
        k = self.k
        if k > n - 1:
            # Capping k at N - 1 would vote with every other example: one majority class, a meaningless score.
            raise ScoreUndefinedError(f"k: {k} neighbours asked for, but each of the N={n} examples has only "
                                      f"{n - 1} others; give k <= {n - 1} (or more examples)")
        sq = np.einsum("ij,ij->i", x, x)
        n_classes = int(labels.max()) + 1
        correct = 0
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            # Squared distances up to the row constant ||x_i||^2, which does not change the ranking of a row.
            dist = sq[None, :] - 2.0 * (x[start:stop] @ x.T)
            dist[np.arange(stop - start), np.arange(start, stop)] = np.inf  # leave the example itself out
            if k == 1:
                pred = labels[np.argmin(dist, axis=1)]
            else:
                nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
                order = np.argsort(np.take_along_axis(dist, nearest, axis=1), axis=1, kind="stable")
                nearest = np.take_along_axis(nearest, order, axis=1)
                votes = labels[nearest]  # (b, k), nearest first
                rows = np.repeat(np.arange(stop - start), k)
                counts = np.zeros((stop - start, n_classes))
                np.add.at(counts, (rows, votes.ravel()), 1.0)
                first = np.full((stop - start, n_classes), k, dtype=np.float64)
                np.minimum.at(first, (rows, votes.ravel()), np.tile(np.arange(k), stop - start))
                pred = np.argmax(counts * (k + 1) + (k - first), axis=1)
            correct += int(np.sum(pred == labels[start:stop]))
        return correct / n
