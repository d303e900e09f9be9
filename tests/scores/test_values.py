"""Values computed by hand on tiny inputs, and agreement with direct (slow) restatements of the definitions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from fennec.scores import create_scorer
from fennec.scores.base import pca
from fennec.validation import FennecInputWarning
from tests.scores.toy import few_shot_task


def _blobs(n_per: int = 25, c: int = 3, d: int = 6, seed: int = 0, spread: float = 2.0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(c), n_per)
    feats = rng.normal(size=(c, d))[labels] * spread + rng.normal(size=(labels.shape[0], d))
    return feats, labels


# ------------------------------------------------------------------------------------------ LEEP and NCE

PROBS4 = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
LABELS4 = np.array([0, 0, 1, 1])


def test_leep_by_hand() -> None:
    # joint (unnormalised): y0 -> [1.7, 0.3], y1 -> [0.9, 1.1]; marginal z -> [2.6, 1.4]
    eep = [0.9 * 1.7 / 2.6 + 0.1 * 0.3 / 1.4, 0.8 * 1.7 / 2.6 + 0.2 * 0.3 / 1.4,
           0.3 * 0.9 / 2.6 + 0.7 * 1.1 / 1.4, 0.6 * 0.9 / 2.6 + 0.4 * 1.1 / 1.4]
    expected = sum(math.log(e) for e in eep) / 4
    assert create_scorer("leep").score(probs=PROBS4, labels=LABELS4) == pytest.approx(expected, rel=1e-12)


def test_nce_by_hand_natural_log() -> None:
    # z = argmax = [0, 0, 1, 0]: P(y0,z0) = 1/2, P(y1,z0) = 1/4, P(y1,z1) = 1/4; P(z0) = 3/4, P(z1) = 1/4
    expected = 0.5 * math.log(2 / 3) + 0.25 * math.log(1 / 3) + 0.25 * math.log(1.0)
    assert create_scorer("nce").score(probs=PROBS4, labels=LABELS4) == pytest.approx(expected, rel=1e-12)


def test_nce_drops_unused_source_classes() -> None:
    # A third source class that is never the argmax changes nothing.
    probs = np.column_stack([PROBS4 * 0.9, np.full(4, 0.1)])
    assert create_scorer("nce").score(probs=probs, labels=LABELS4) == pytest.approx(
        create_scorer("nce").score(probs=PROBS4, labels=LABELS4), rel=1e-12)


def test_leep_of_a_perfect_source_model_is_zero() -> None:
    probs = np.eye(2)[LABELS4]
    assert create_scorer("leep").score(probs=probs, labels=LABELS4) == pytest.approx(0.0, abs=1e-12)
    assert create_scorer("nce").score(probs=probs, labels=LABELS4) == pytest.approx(0.0, abs=1e-12)


# -------------------------------------------------------------------------------------------- H-scores


def test_hscore_two_classes_one_dim_by_hand() -> None:
    # f = [0, 2, 4, 6]: cov(f) = 20/3; E[f|y] = [1, 1, 5, 5]: cov = 16/3; H = 0.8
    value = create_scorer("hscore").score(features=[[0.0], [2.0], [4.0], [6.0]], labels=[0, 0, 1, 1])
    assert value == pytest.approx(0.8, rel=1e-12)


def test_hscore_matches_the_pinv_definition() -> None:
    feats, labels = _blobs()
    g = np.stack([feats[labels == c].mean(axis=0) for c in labels])
    expected = np.trace(np.linalg.pinv(np.cov(feats, rowvar=False), rcond=1e-15) @ np.cov(g, rowvar=False))
    assert create_scorer("hscore").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-9)


def test_hscore_saturates_at_c_minus_1_when_features_span_the_samples() -> None:
    # N <= D (generic): cov(F) is rank N-1 and its pseudo-inverse whitens the span of the samples, so the
    # H-score is the rank of cov(E[F | y]), C - 1 (the pseudo-inverse path, not the Cholesky one).
    rng = np.random.default_rng(12)
    labels = np.arange(12) % 3
    with pytest.warns(UserWarning):
        value = create_scorer("hscore").score(features=rng.normal(size=(12, 40)), labels=labels)
    assert value == pytest.approx(2.0, rel=1e-8)


def test_ledoit_wolf_equals_sklearn() -> None:
    from sklearn.covariance import ledoit_wolf as sk_ledoit_wolf

    from fennec.scores.hscore import ledoit_wolf

    for shape in [(40, 6), (15, 30)]:
        x = np.random.default_rng(13).normal(size=shape) * np.arange(1, shape[1] + 1)
        ours, ref = ledoit_wolf(x), sk_ledoit_wolf(x)
        np.testing.assert_allclose(ours[0], ref[0], rtol=1e-10, atol=1e-12)
        assert ours[1] == pytest.approx(ref[1], rel=1e-10)


def test_reg_hscore_matches_ledoit_wolf_definition() -> None:
    from sklearn.covariance import LedoitWolf

    feats, labels = _blobs(n_per=8, d=30)  # N < D: shrinkage matters
    lw = LedoitWolf().fit(feats)
    g = np.stack([feats[labels == c].mean(axis=0) for c in labels])
    expected = np.trace(np.linalg.pinv(lw.covariance_) @ ((1 - lw.shrinkage_) * np.cov(g, rowvar=False)))
    assert create_scorer("reg_hscore").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-8)


# ----------------------------------------------------------------------------------------------- PARC


def test_parc_by_hand_perfect_and_anti_aligned() -> None:
    labels = [0, 0, 1, 1]
    # Standardised rows have correlation +-1 only: D_F in {0, 2}; D_Y in {0, 2} for two classes.
    aligned = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    assert create_scorer("parc", n_dims=None).score(features=aligned, labels=labels) == pytest.approx(100.0)
    # Row signs +,-,+,-: D_F pattern [1,0,1,1,0,1] vs D_Y [0,1,1,1,1,0] over the 6 pairs: phi = -1/2.
    crossed = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    assert create_scorer("parc", n_dims=None).score(features=crossed, labels=labels) == pytest.approx(-50.0)


@pytest.mark.parametrize("n_dims", [None, 4])
def test_parc_equals_spearman_with_exact_label_ties(n_dims: int | None) -> None:
    feats, labels = _blobs(n_per=15, c=4, d=8, seed=3, spread=0.7)
    reduced = pca(feats, n_dims)
    z = (reduced - reduced.mean(axis=0)) / reduced.std(axis=0)
    iu = np.triu_indices(labels.shape[0], 1)
    d_f = (1 - np.corrcoef(z))[iu]
    d_y = np.where(labels[:, None] == labels[None, :], 0.0, 4 / 3)[iu]  # exact two-valued D_Y
    expected = 100 * scipy.stats.spearmanr(d_f, d_y)[0]
    got = create_scorer("parc", n_dims=n_dims).score(features=feats, labels=labels)
    assert got == pytest.approx(expected, rel=1e-9)


def test_parc_rank_correlation_handles_ties_in_feature_distances() -> None:
    # Exactly tied feature distances (here: small integers) must get average ranks, as scipy's spearmanr.
    from fennec.scores.parc import spearman_with_binary

    rng = np.random.default_rng(4)
    values = rng.integers(0, 6, 300).astype(float)
    same = rng.random(300) < 0.3
    same[values == 0] = True  # a tie group that is all "same class"
    expected = scipy.stats.spearmanr(values, (~same).astype(float))[0]
    assert spearman_with_binary(values, values[same]) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------- LogME


def _logme_direct(f: np.ndarray, labels: np.ndarray, iters: int = 500) -> float:
    """Slow restatement: per class, iterate alpha, beta with explicit A = alpha I + beta F^T F."""
    n, d = f.shape
    evidences = []
    for c in np.unique(labels):
        y = (labels == c).astype(float)
        alpha, beta = 1.0, 1.0
        s = np.linalg.eigvalsh(f.T @ f)
        for _ in range(iters):
            a_mat = alpha * np.eye(d) + beta * f.T @ f
            m = beta * np.linalg.solve(a_mat, f.T @ y)
            gamma = np.sum(beta * s / (alpha + beta * s))
            alpha = gamma / (m @ m + 1e-5)
            beta = (n - gamma) / (np.sum((y - f @ m) ** 2) + 1e-5)
        a_mat = alpha * np.eye(d) + beta * f.T @ f
        m = beta * np.linalg.solve(a_mat, f.T @ y)
        evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.linalg.slogdet(a_mat)[1]
                    - beta / 2 * np.sum((y - f @ m) ** 2) - alpha / 2 * (m @ m) - n / 2 * np.log(2 * np.pi))
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def test_logme_matches_the_evidence_at_the_fixed_point() -> None:
    feats, labels = _blobs(n_per=20, c=3, d=5, seed=1, spread=0.5)
    expected = _logme_direct(feats, labels)
    converged = create_scorer("logme", max_iter=1000, tol=1e-12).score(features=feats, labels=labels)
    assert converged == pytest.approx(expected, rel=1e-6)
    # The published fast path stops early (11 iterations, tol 1e-3) and lands close to the fixed point.
    assert create_scorer("logme").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-2)


def test_logme_fewer_examples_than_dims_uses_the_n_by_n_path() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(2), 6)
    feats = rng.normal(size=(12, 20)) + np.eye(2, 20)[labels] * 3
    tall = create_scorer("logme", max_iter=1000, tol=1e-12)
    with pytest.warns(UserWarning):
        value = tall.score(features=feats, labels=labels)
    # The evidence of an N < D problem computed directly (A is D x D, full rank thanks to alpha).
    assert value == pytest.approx(_logme_direct(feats, labels), rel=1e-6)


# ------------------------------------------------------------------------------------------- TransRate


def test_transrate_one_dim_by_hand() -> None:
    feats = [[-3.0], [-1.0], [0.0], [4.0]]  # already centered; class mean squares 5 and 8, overall 6.5
    labels = [0, 0, 1, 1]
    eps = 1e-4
    paper = 0.5 * math.log(1 + 6.5 / eps**2) - 0.5 * (0.5 * math.log(1 + 5 / eps**2) + 0.5 * math.log(1 + 8 / eps**2))
    assert create_scorer("transrate").score(features=feats, labels=labels) == pytest.approx(paper, rel=1e-10)
    code = 0.5 * math.log(1 + 6.5 / eps) - 0.25 * (math.log(1 + 5 / eps) + math.log(1 + 8 / eps))
    assert create_scorer("transrate", rate_scale="code").score(features=feats, labels=labels) == pytest.approx(
        code, rel=1e-10)


@pytest.mark.parametrize("d", [4, 40])
def test_transrate_matches_slogdet_definition(d: int) -> None:
    feats, labels = _blobs(n_per=10, c=3, d=d, seed=5)
    eps = 1e-4

    def rate(z: np.ndarray) -> float:
        n, dim = z.shape
        return 0.5 * np.linalg.slogdet(np.eye(dim) + dim / (n * eps**2) * z.T @ z)[1]

    z = feats - feats.mean(axis=0)
    expected = rate(z) - np.mean([rate(z[labels == c]) for c in range(3)])
    # D x D slogdet of a rank-deficient, 1e9-scaled matrix (d = 40 > n) is itself only good to ~1e-8.
    assert create_scorer("transrate").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-7)


# ------------------------------------------------------------------------------------------------- GBC


def test_gbc_two_classes_one_dim_by_hand() -> None:
    feats = [[0.0], [2.0], [3.0], [7.0]]  # means 1 and 5, biased variances 1 and 4
    db = (16 / 2.5) / 8 + 0.5 * (math.log(2.5) - 0.5 * math.log(1) - 0.5 * math.log(4))
    for kind in ("spherical", "diagonal"):  # identical in one dimension
        value = create_scorer("gbc", n_dims=None, gaussian_type=kind).score(features=feats, labels=[0, 0, 1, 1])
        assert value == pytest.approx(-2 * math.exp(-db), rel=1e-12)


def test_gbc_diagonal_two_dims_by_hand() -> None:
    feats = [[0.0, 0.0], [2.0, 2.0], [3.0, 1.0], [7.0, 1.0]]  # class 1 has zero variance in dim 2 -> floor
    m0, m1 = np.array([1.0, 1.0]), np.array([5.0, 1.0])
    v0, v1 = np.array([1.0, 1.0]), np.array([4.0, 1e-4])
    avg = (v0 + v1) / 2
    db = np.sum((m0 - m1) ** 2 / avg) / 8 + 0.5 * (np.sum(np.log(avg)) - 0.5 * np.sum(np.log(v0))
                                                   - 0.5 * np.sum(np.log(v1)))
    value = create_scorer("gbc", n_dims=None, gaussian_type="diagonal").score(features=feats, labels=[0, 0, 1, 1])
    assert value == pytest.approx(-2 * math.exp(-db), rel=1e-12)


# ------------------------------------------------------------------------------------------------- kNN


def test_knn_leave_one_out_by_hand() -> None:
    feats = [[0.0], [0.15], [5.0], [5.1], [0.2]]
    labels = [0, 0, 1, 1, 1]
    # 0 -> 0.15 (right), 0.15 -> 0.2 (wrong), 5 <-> 5.1 (right), 0.2 -> 0.15 (wrong): 3 / 5
    assert create_scorer("knn").score(features=feats, labels=labels) == pytest.approx(0.6)


def test_knn_k3_majority_vote_by_hand() -> None:
    feats = [[0.0], [1.0], [2.0], [10.0], [11.0], [3.0]]
    labels = [0, 0, 0, 1, 1, 1]
    # k=3: 0 -> {1,2,3}: 0,0,1 -> 0 ok; 1 -> {0,2,3}: 0 ok; 2 -> {1,3,0}: 0 ok;
    # 10 -> {11,3,2}: 1,1,0 -> 1 ok; 11 -> {10,3,2}: 1 ok; 3 -> {2,1,0}: 0 wrong -> 5/6
    assert create_scorer("knn", k=3).score(features=feats, labels=labels) == pytest.approx(5 / 6)


# ------------------------------------------------------------------------------------------ LFC and LGC


@pytest.mark.parametrize("d", [3, 200])
def test_lfc_matches_the_n_by_n_definition(d: int) -> None:
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 3, 40)
    feats = rng.normal(size=(40, d)) + np.eye(3, d)[labels]
    theta = feats @ feats.T
    y = np.where(labels[:, None] == labels[None, :], 1.0, -1.0)
    theta_c, y_c = theta - theta.mean(), y - y.mean()
    expected = np.sum(theta_c * y_c) / (np.linalg.norm(theta_c) * np.linalg.norm(y_c))
    assert create_scorer("lfc").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-9)
    assert create_scorer("lgc").score(grads=feats, labels=labels) == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------------------------------------ SFDA


def _sfda_direct(x: np.ndarray, y: np.ndarray) -> float:
    """The reference's steps, with the generalized eigenproblem and an exact largest eigenvalue."""

    def shrink(m: np.ndarray, s: float) -> np.ndarray:
        return (1 - s) * m + s * np.trace(m) / m.shape[0] * np.eye(m.shape[0])

    def fit(x: np.ndarray, lam: float | None):
        classes = np.unique(y)
        priors = np.array([np.mean(y == c) for c in classes])
        means = np.stack([x[y == c].mean(axis=0) for c in classes])
        sw = sum(p * np.cov(x[y == c].T, bias=True) for p, c in zip(priors, classes, strict=True))
        if lam is None:
            lam = max(math.exp(-5 * np.linalg.eigvalsh(sw)[-1]), 1e-10)
        st = shrink(np.cov(x.T, bias=True), lam)
        sws = shrink(sw, lam)
        evals, evecs = scipy.linalg.eigh(st - sws, sws)
        evecs = evecs[:, np.argsort(evals)[::-1]]
        coef = means @ evecs @ evecs.T
        intercept = -0.5 * np.diag(means @ coef.T) + np.log(priors)
        logits = x @ coef.T + intercept
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True), lam, means

    prob, lam, means = fit(x, None)
    prob = np.exp(prob) / np.exp(prob).sum(axis=1, keepdims=True)
    c = means.shape[0]
    others = np.stack([(means.sum(axis=0) - means[i]) / (c - 1) for i in range(c)])
    x = x.copy()
    for i in range(c):
        idx = y == i
        p = prob[idx, i][:, None]
        x[idx] = p * x[idx] + (1 - p) * others[i]
    prob2, _, _ = fit(x, lam)
    return float(np.mean(prob2[np.arange(len(y)), y]))


@pytest.mark.parametrize("spread", [0.3, 1.0])
def test_sfda_matches_the_reference_steps(spread: float) -> None:
    feats, labels = _blobs(n_per=20, c=3, d=5, seed=9, spread=spread)
    feats = feats * 0.2  # small scatter: the adaptive shrinkage is far from its 1e-10 floor
    expected = _sfda_direct(feats, labels)
    assert create_scorer("sfda").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-8)


# ---------------------------------------------------------------------------------------- NLEEP and PCA


def test_pca_keeps_the_variance_fraction_like_sklearn() -> None:
    from sklearn.decomposition import PCA

    feats, _ = _blobs(n_per=30, c=3, d=12, seed=10)
    ours = pca(feats, 0.8)
    ref = PCA(n_components=0.8, svd_solver="full").fit_transform(feats)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), rtol=1e-7, atol=1e-9)


def test_nleep_is_leep_on_mixture_posteriors() -> None:
    from sklearn.mixture import GaussianMixture

    feats, labels = _blobs(n_per=30, c=3, d=6, seed=11)
    reduced = pca(feats, 0.8)
    resp = GaussianMixture(n_components=15, random_state=0).fit(reduced).predict_proba(reduced)
    joint = np.stack([resp[labels == c].sum(axis=0) for c in range(3)])
    cond = joint / joint.sum(axis=0)
    expected = np.mean(np.log(np.sum(resp * cond[labels], axis=1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FennecInputWarning)  # 90 examples support the paper's 5 x 3 components
        assert create_scorer("nleep").score(features=feats, labels=labels) == pytest.approx(expected, rel=1e-9)


def _leep_direct(resp: np.ndarray, labels: np.ndarray) -> float:
    """LEEP restated from its definition on (N, K) posteriors (no class or component dropped: all are used)."""
    n_classes = int(labels.max()) + 1
    joint = np.stack([resp[labels == c].sum(axis=0) for c in range(n_classes)])
    cond = joint / joint.sum(axis=0)
    return float(np.mean(np.log(np.sum(resp * cond[labels], axis=1))))


def test_nleep_separable_beats_random_with_many_classes_and_few_examples() -> None:
    """Found by a probe: 5 x C = 600 components for 120 classes x 4 examples gave every example a component of
    its own, so NLEEP was 0, its best value, for random features as for separable ones (kNN: 0.002 vs 1.0)."""
    scorer = create_scorer("nleep")
    separable, random = few_shot_task(separable=True), few_shot_task(separable=False)
    assert create_scorer("knn").score(**separable) == 1.0  # the planted answer: these classes are separable
    with pytest.warns(FennecInputWarning, match=r"^features: N=480 examples support at most 240 Gaussian "
                                                r"components .* not the 600 asked for"):
        good = scorer.score(**separable)
    with pytest.warns(FennecInputWarning, match="not the 600 asked for"):
        bad = scorer.score(**random)
    # Measured: 0.0 (separable: every component holds one class) vs -0.93 (random); before the cap both were 0.
    assert bad < -0.5, bad  # random features no longer get the best value
    assert good - bad > 0.5, (good, bad)
    with pytest.warns(FennecInputWarning):
        assert scorer.score(**random) == bad  # deterministic for the default seed


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_nleep_caps_the_components_at_two_examples_each(covariance_type: str) -> None:
    """N // 2 components when 5 x C would leave fewer than two examples per component, whatever the covariance
    type and the PCA dimension; the value is LEEP on the posteriors of a mixture with exactly that many."""
    from sklearn.mixture import GaussianMixture

    from fennec.scores.mixture import gaussian_mixture_posteriors

    task = few_shot_task(n_classes=40, n=120, d=8, separable=False, seed=3)
    reduced = pca(task["features"], 0.8)
    with pytest.warns(FennecInputWarning, match=r"at most 60 Gaussian components \(2 examples each on average\), "
                                                r"not the 200 asked for"):
        value = create_scorer("nleep", covariance_type=covariance_type).score(**task)
    if covariance_type == "full":
        resp = gaussian_mixture_posteriors(reduced, 60)
    else:
        resp = GaussianMixture(60, covariance_type=covariance_type, random_state=0).fit(reduced).predict_proba(reduced)
    assert value == pytest.approx(_leep_direct(resp, task["labels"]), rel=1e-9)
    assert value < -0.5  # noise features: with two examples per component NLEEP is no longer the one-hot 0


def test_nleep_component_count_does_not_depend_on_the_model() -> None:
    """Two models of one task, with PCA dimensions 3 and 30, get the same mixture size (the cap is N // 2, not
    N // (d + 1)), so their scores compare the features, not the feature dimension."""
    task = few_shot_task(n_classes=40, n=120, d=40, separable=False, seed=4)
    narrow = task["features"][:, :3]
    assert pca(narrow, 0.8).shape[1] <= 3 < 20 < pca(task["features"], 0.8).shape[1]
    for feats in (narrow, task["features"]):
        with pytest.warns(FennecInputWarning, match="at most 60 Gaussian components"):
            create_scorer("nleep").score(features=feats, labels=task["labels"])


@pytest.mark.parametrize("d", [3, 20])  # 20 > 8 bound columns: the pruned E-step is exercised
def test_mixture_matches_sklearn_gaussian_mixture(d: int) -> None:
    from sklearn.mixture import GaussianMixture

    from fennec.scores.mixture import gaussian_mixture_posteriors

    rng = np.random.default_rng(14)
    labels = np.repeat(np.arange(5), 40)
    x = rng.normal(size=(5, d))[labels] * 4 + rng.normal(size=(200, d))
    ours = gaussian_mixture_posteriors(x, 10, random_state=3)
    ref = GaussianMixture(n_components=10, random_state=3).fit(x).predict_proba(x)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert ((ours == 0) == (ref == 0)).all()  # the pruned pairs are exactly scikit-learn's underflows
    if d == 20:
        assert (ours == 0).mean() > 0.5  # in 20 dims most responsibilities are exact zeros


@pytest.mark.parametrize("n", [2, 5, 60])
def test_eigh_project_equals_eigh(n: int) -> None:
    from fennec.scores.base import eigh_project

    rng = np.random.default_rng(15)
    a = rng.normal(size=(n + 3, n))
    mat = a.T @ a
    rhs = rng.normal(size=(n, 4))
    evals, proj = eigh_project(mat, rhs)
    ref_vals, ref_vecs = np.linalg.eigh(mat)
    np.testing.assert_allclose(evals, ref_vals, rtol=1e-10, atol=1e-10)
    # Eigenvector signs are arbitrary: compare squared projections (what LogME uses).
    np.testing.assert_allclose(proj**2, (ref_vecs.T @ rhs) ** 2, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(("name", "scale"), [("logme", 1e-12), ("lfc", 1e80), ("reg_hscore", 1e85)])
def test_a_score_that_is_not_finite_is_undefined_not_a_value(name: str, scale: float) -> None:
    """LogME returned NaN as a score for features scaled by 1e-12; lfc and reg_hscore raised OverflowError near
    1e80, below the features' limit (a probe): undefined on those inputs, with the fix."""
    from fennec.scores import ScoreUndefinedError, create_scorer
    from tests.scores.toy import toy_task

    task = toy_task()
    with pytest.raises(ScoreUndefinedError, match=rf"^scorer '{name}': .* rescale the features"):
        create_scorer(name).score(features=task["features"] * scale, labels=task["labels"])
    assert np.isfinite(create_scorer(name).score(features=task["features"], labels=task["labels"]))
