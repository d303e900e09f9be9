"""The scorer contract, the scorer registry and the linear-algebra helpers shared by the estimators.

Every transferability estimator is a :class:`Scorer`: hyper-parameters live in ``__init__`` (scikit-learn
style, stored under the same names, read and changed by ``get_params`` / ``set_params`` so that
``sklearn.base.clone`` works, checked when ``score`` is called), the class attribute ``requires`` says which
inputs it needs, and ``score(features=..., labels=..., probs=..., grads=...)`` validates them through
:mod:`fennec.validation` and returns one float. A higher score always means better expected transfer.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import numpy as np
import scipy.linalg

from fennec.registry import Registry, check_param_names
from fennec.validation import (
    FennecInputError,
    check_features,
    check_labels,
    check_probs,
    check_same_rows,
)


class ScoreUndefinedError(FennecInputError):
    """Valid inputs on which one scorer's value is undefined, or that this scorer cannot use.

    Examples: constant features (a correlation is undefined), a class with one example where a scorer estimates
    per-class variances, examples the Gaussian mixture of NLEEP cannot fit. The inputs themselves are well
    formed, so another scorer may still be defined on them; malformed inputs (wrong shape, NaN, probabilities
    that do not sum to one, lengths that disagree) raise a plain :class:`FennecInputError` instead. It is a
    ``FennecInputError``, so a caller that asked for this one scorer gets the same one-line error; ``fennec
    score --method all`` tells the two apart by type, reporting this scorer as undefined and running the rest.
    """


#: Every scorer registers itself here with ``@SCORERS.register("name")``.
SCORERS: Registry[type[Scorer]] = Registry("scorer")

#: The inputs a scorer may require.
INPUTS = ("features", "probs", "grads")

_HOW_TO_GET = {
    "features": "pass the model's penultimate-layer features as an (N, D) array",
    "probs": "pass the source model's softmax outputs as an (N, Cs) array",
    "grads": "pass per-example last-layer gradients as an (N, P) array (see fennec.scores.gradients)",
}


class Scorer:
    """Base class of every transferability scorer.

    Subclasses set ``name`` and ``requires`` and implement ``_score``; they never re-validate inputs.

    Class attributes:
        name: Registry name.
        requires: Subset of {"features", "probs", "grads"} the score needs.
        min_per_class: Fewest examples every class must have (2 where per-class variances are estimated).
        warn_n_lt_d: Whether to warn (FennecInputWarning) when there are fewer examples than feature dims.
    """

    name: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset({"features"})
    min_per_class: ClassVar[int] = 1
    warn_n_lt_d: ClassVar[bool] = True

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters given to ``__init__``, by name (scikit-learn style).

        Args:
            deep: scikit-learn's flag for nested estimators; no hyper-parameter of a scorer is one, so it changes
                nothing (it is accepted so that ``sklearn.base.clone`` works).
        """
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params: Any) -> Scorer:
        """Set hyper-parameters by name (scikit-learn style); values are checked at the next :meth:`score`.

        Returns:
            The scorer itself.

        Raises:
            FennecInputError: for a name the scorer does not accept (with the close matches); nothing is set.
        """
        check_param_names(f"scorer {self.name!r}", params, self._param_names())
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _check_params(self) -> None:
        """Validate hyper-parameters (called by :meth:`score`; raise FennecInputError)."""

    def score(self, features: object = None, labels: object = None, probs: object = None,
              grads: object = None) -> float:
        """Validate the inputs and return the transferability score (higher = better expected transfer).

        Each input may be a numpy array, a nested list or a torch tensor (detached and moved to the CPU first).

        Args:
            features: (N, D) features of the target examples under the candidate model.
            labels: (N,) target class labels (ints or strings, one type: numpy must be able to sort them).
            probs: (N, Cs) source-class probabilities of the target examples (rows sum to one).
            grads: (N, P) per-example gradients (extra trailing dims are flattened).

        Returns:
            The score as a Python float.

        Raises:
            FennecInputError: when a required input is missing or invalid; the message names the argument.
            ScoreUndefinedError: (a FennecInputError) when the inputs are valid but this score is undefined on
                them, e.g. a class with one example where per-class variances are needed.
        """
        self._check_params()
        given = {"features": _plain(features), "probs": _plain(probs), "grads": _plain(grads)}
        labels = _plain(labels)
        for key in sorted(self.requires):
            if given[key] is None:
                raise FennecInputError(f"{key}: required by scorer {self.name!r} but not given; "
                                       f"{_HOW_TO_GET[key]}")
        arrays: dict[str, np.ndarray] = {}
        n_rows: int | None = None
        first = ""
        for key in INPUTS:
            if key not in self.requires:
                continue
            raw = given[key]
            as_array = _rectangular(raw, key)
            if key == "features":
                arr = check_features(raw, "features", warn_n_lt_d=self.warn_n_lt_d)
            elif key == "probs":
                arr = check_probs(raw, None, "probs")
            else:
                if as_array.ndim > 2:  # e.g. (N, K, d) gradients of a weight matrix: one row per example
                    raw = as_array.reshape(as_array.shape[0], -1)
                arr = check_features(raw, "grads", warn_n_lt_d=False)
            if n_rows is None:
                n_rows, first = arr.shape[0], key
            else:
                check_same_rows(first, arrays[first], key, arr)
            arrays[key] = arr
        if labels is None:
            raise FennecInputError("labels: required by every scorer but not given; pass one class label per example")
        y = check_labels(labels, n_rows, "labels", min_classes=2, rows_of=first or "features")
        if np.bincount(y).min() < self.min_per_class:
            # Well-formed labels that this scorer alone cannot use (it estimates per-class variances): checked
            # again only to word the message with the caller's class names.
            try:
                check_labels(labels, n_rows, "labels", min_classes=2, min_per_class=self.min_per_class,
                             rows_of=first or "features")
            except FennecInputError as exc:
                raise ScoreUndefinedError(str(exc)) from None
        if y.shape[0] == int(y.max()) + 1:
            # Every estimator compares how examples of a class gather against how classes differ; with one
            # example per class the two coincide and each returns a constant (H-score its rank, kNN 0).
            raise ScoreUndefinedError(f"labels: each of the {y.shape[0]} classes has a single example, so no "
                                      "score can tell how examples of a class gather; give some classes two or more")
        try:
            value = float(self._score(labels=y, **arrays))
        except (OverflowError, FloatingPointError) as exc:  # lfc, lgc, reg_hscore near 1e80: below MAX_FEATURE
            value, why = math.nan, f"{type(exc).__name__}: {exc}"
        else:
            why = "the result is not a finite number"
        if not math.isfinite(value):
            # LogME of features scaled by 1e-12 returned NaN as if it were a score (a probe)
            scale = max((float(np.abs(a).max()) for a in arrays.values()), default=0.0)
            raise ScoreUndefinedError(f"scorer {self.name!r}: {why} on these inputs (largest magnitude {scale:.3g});"
                                      " rescale the features (e.g. standardise them) and score again")
        return value

    def _score(self, labels: np.ndarray, **arrays: np.ndarray) -> float:
        """Compute the score on validated inputs: labels are int64 in [0, C), arrays are float64."""
        raise NotImplementedError


# ----------------------------------------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """A torch tensor as a numpy array (detached, on the CPU); anything else unchanged.

    numpy cannot read a tensor that requires grad or lives on a GPU, and a score never back-propagates, so the
    tensor is detached rather than refused. torch is not imported: a tensor is recognised by its type's module.
    """
    if not type(value).__module__.startswith("torch") or not all(
            callable(getattr(value, attr, None)) for attr in ("detach", "cpu", "numpy")):
        return value
    plain = value.detach().cpu()
    if plain.dtype.is_floating_point and plain.element_size() < 4:  # numpy has no bfloat16
        plain = plain.float()
    return plain.numpy()


def _rectangular(value: object, name: str) -> np.ndarray:
    """``value`` as an array, refusing in one line what numpy cannot make one of (rows of different lengths).

    The checks of :mod:`fennec.validation` still get the value as given, so their messages name its type.
    """
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise FennecInputError(f"{name}: rows of different lengths do not form an (N, D) array ({exc}); give every "
                               "example the same number of values") from None
    except TypeError as exc:
        raise FennecInputError(f"{name}: expected a numeric array of shape (N, D), got {type(value).__name__} "
                               f"({exc})") from None


def one_hot(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """(N,) int labels in [0, C) -> (N, C) float64 one-hot matrix."""
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def class_means(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class means (C, D) and counts (C,) of ``features`` (N, D) under int labels in [0, C)."""
    counts = np.bincount(labels).astype(np.float64)
    sums = one_hot(labels, counts.shape[0]).T @ features
    return sums / counts[:, None], counts


def gram(x: np.ndarray) -> np.ndarray:
    """x^T x of an (N, D) matrix, symmetrised (BLAS syrk fills both triangles only up to rounding)."""
    g = x.T @ x
    return (g + g.T) * 0.5


def pca(features: np.ndarray, n_components: int | float | None) -> np.ndarray:
    """Exact, deterministic PCA projection of centered features.

    Args:
        features: (N, D) array.
        n_components: An int keeps that many components (capped at min(N, D)); a float in (0, 1) keeps the
            fewest components whose explained variance ratio reaches it (scikit-learn's rule); None returns
            ``features`` unchanged.

    Returns:
        (N, k) array of principal-component scores. Each component's sign is fixed so that its largest
        absolute loading is positive, which makes the result independent of sample order.
    """
    if n_components is None:
        return features
    n, d = features.shape
    x = features - features.mean(axis=0)
    fraction = isinstance(n_components, float) and 0 < n_components < 1
    m = min(n, d)
    k = m if fraction else max(1, min(int(n_components), m))
    # Eigen-decompose the smaller of the two Gram matrices: D x D when N > D, else N x N; only the top of the
    # spectrum is needed (one tridiagonal reduction, see _top_eigh).
    small = gram(x) if n > d else x @ x.T
    evals, vecs = _top_eigh(small, n_components if fraction else k, m)
    evals, vecs = evals[::-1].clip(min=0.0), vecs[:, ::-1]
    k = vecs.shape[1]
    if n > d:
        loadings = vecs
    else:
        evals, vecs = evals[:m], vecs[:, :m]
        s = np.sqrt(evals)
        loadings = (x.T @ vecs) / np.where(s > 0, s, 1.0)
    loadings = loadings[:, :k]
    rows = np.argmax(np.abs(loadings), axis=0)
    signs = np.sign(loadings[rows, np.arange(k)])
    signs[signs == 0] = 1.0
    return x @ (loadings * signs)


def _top_eigh(mat: np.ndarray, want: int | float, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Top eigenpairs (ascending) of a symmetric PSD matrix: ``want`` of them (int), or as many as reach the
    fraction ``want`` (float in (0, 1)) of the sum of the top ``m`` eigenvalues.

    One tridiagonal reduction (sytrd) gives all eigenvalues cheaply (to pick k) and the top-k eigenvectors of
    T (MRRR); only those k are transformed back (ormqr), instead of reducing twice or back-transforming all.
    """
    from scipy.linalg import lapack

    n = mat.shape[0]
    if n >= 3:
        lwork = int(lapack.dsytrd_lwork(n, lower=1)[0])
        c, diag, off, tau, info = lapack.dsytrd(mat, lower=1, lwork=max(lwork, 1))
        if info == 0:
            try:
                if isinstance(want, float):
                    spectrum = scipy.linalg.eigh_tridiagonal(diag, off, eigvals_only=True)[::-1][:m].clip(min=0.0)
                    ratio = np.cumsum(spectrum) / max(spectrum.sum(), np.finfo(float).tiny)
                    k = max(1, min(int(np.searchsorted(ratio, want, side="right")) + 1, m))
                else:
                    k = int(want)
                evals, w = scipy.linalg.eigh_tridiagonal(diag, off, select="i", select_range=(n - k, n - 1),
                                                         lapack_driver="stemr")
                vecs = np.asfortranarray(w)
                cq, _, info = lapack.dormqr("L", "N", c[1:, : n - 1], tau, vecs[1:], lwork=max(1, 64 * k))
                if info == 0:
                    vecs[1:] = cq
                    return evals, vecs
            except np.linalg.LinAlgError:
                pass
    evals, vecs = scipy.linalg.eigh(mat, driver="evd")
    if isinstance(want, float):
        spectrum = evals[::-1][:m].clip(min=0.0)
        ratio = np.cumsum(spectrum) / max(spectrum.sum(), np.finfo(float).tiny)
        k = max(1, min(int(np.searchsorted(ratio, want, side="right")) + 1, m))
    else:
        k = int(want)
    return evals[n - k:], vecs[:, n - k:]


def eigh_project(mat: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) of a symmetric matrix and the projections V^T rhs on its eigenvectors.

    Cheaper than a full ``eigh`` when rhs has few columns: the matrix is reduced to tridiagonal form
    (T = Q^T A Q, LAPACK sytrd), Q^T is applied to rhs only (ormqr on the Householder reflectors), and the
    eigenvectors W of T come from MRRR (stemr), so V^T rhs = W^T (Q^T rhs) without ever forming V = Q W.

    Args:
        mat: (D, D) symmetric matrix.
        rhs: (D, C) matrix.

    Returns:
        (D,) eigenvalues and the (D, C) matrix V^T rhs.
    """
    from scipy.linalg import lapack

    n = mat.shape[0]
    if n >= 3:
        lwork = int(lapack.dsytrd_lwork(n, lower=1)[0])
        c, diag, off, tau, info = lapack.dsytrd(mat, lower=1, lwork=max(lwork, 1))
        if info == 0:
            proj = np.array(rhs, dtype=np.float64, order="F", copy=True)
            # The reflectors of a lower sytrd, shifted by one row, are stored like those of a QR factorisation.
            cq, _, info = lapack.dormqr("L", "T", c[1:, : n - 1], tau, proj[1:], lwork=max(1, 64 * rhs.shape[1]))
            if info == 0:
                proj[1:] = cq
                try:
                    evals, w = scipy.linalg.eigh_tridiagonal(diag, off, lapack_driver="stemr")
                    return evals, w.T @ proj
                except np.linalg.LinAlgError:
                    pass
    evals, vecs = scipy.linalg.eigh(mat, driver="evd")
    return evals, vecs.T @ rhs


def leep_from_probs(probs: np.ndarray, labels: np.ndarray) -> float:
    """LEEP of (N, Cs) source probabilities: mean_i log sum_z P(y_i | z) P_i(z) (Nguyen et al., 2020).

    Source classes that receive no probability mass at all are dropped (their P(y | z) is undefined and
    they contribute nothing to any sum).
    """
    joint = one_hot(labels).T @ probs  # (C, Cs), unnormalised P(y, z) (the 1/N cancels)
    marginal = joint.sum(axis=0)
    used = marginal > 0
    cond = joint[:, used] / marginal[used]  # P(y | z)
    eep = np.einsum("ij,ij->i", probs[:, used], cond[labels])
    return float(np.mean(np.log(eep)))


def kernel_alignment(x: np.ndarray, labels: np.ndarray, name: str = "features") -> float:
    """Centered alignment <K_c, Y_c> / (||K_c|| ||Y_c||) of K = x x^T with Y_ij = +1 (same class) / -1.

    This is Deshpande et al.'s label-feature (or label-gradient) correlation. Both N x N matrices are
    centered by their overall mean. It is computed without forming an N x N matrix when D < N: with S the
    same-class indicator, Y = 2S - 1, so <K_c, Y_c> = 2 (<K, S> - mean(S) sum(K)), <K, S> = sum_c ||sum of
    class c rows||^2, sum(K) = ||sum of rows||^2, and ||K||_F = ||x^T x||_F.

    Raises:
        ScoreUndefinedError: when K is constant (e.g. all rows zero), so the correlation is 0 / 0.
    """
    n, d = x.shape
    sums = one_hot(labels).T @ x  # (C, D) class sums
    counts = np.bincount(labels).astype(np.float64)
    total = x.sum(axis=0)
    k_sum = float(total @ total)
    k_s = float(np.einsum("ij,ij->", sums, sums))
    s_sum = float(counts @ counts)
    s_mean = s_sum / n**2
    inner = 2.0 * (k_s - s_mean * k_sum)
    small = gram(x) if d <= n else x @ x.T
    k_fro2 = float(np.einsum("ij,ij->", small, small))
    k_c2 = k_fro2 - k_sum**2 / n**2  # ||K - mean(K)||^2 = ||K||^2 - N^2 mean(K)^2
    y_c2 = 4.0 * (s_sum - s_sum**2 / n**2)
    denom = np.sqrt(max(k_c2, 0.0) * y_c2)
    if denom == 0.0:
        raise ScoreUndefinedError(f"{name}: the kernel is constant over all pairs (e.g. all rows zero); the "
                                  "correlation is undefined")
    return inner / denom


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
