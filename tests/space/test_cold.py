"""The cold-start head: its leave-one-out identity, its equivalence to a weighted ridge, its choice of group
penalties."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from fennec.space.cold import ColdHead, coordinate_search

ARCH, SIZE, TEXT = slice(0, 6), slice(6, 8), slice(8, 12)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def models(n: int, seed: int = 0) -> np.ndarray:
    """(n, 12) features laid out as the space's: unit architecture vectors, two size columns, text."""
    rng = np.random.default_rng(seed)
    return np.concatenate([unit(rng.standard_normal((n, 6))), rng.standard_normal((n, 2)),
                           0.3 * rng.standard_normal((n, 4))], axis=1)


def planted(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, (n, 3) targets driven by size (the quality) and the architecture (a vector coordinate), weights."""
    rng = np.random.default_rng(seed)
    x = models(n, seed)
    y = np.stack([x[:, 6] + 0.1 * rng.standard_normal(n), x[:, 0] - x[:, 1], 2 * x[:, 6] - x[:, 7]], axis=1)
    return x, y, rng.uniform(0.2, 2.0, n)


def kernel_of(head: ColdHead, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(len(xb), len(xa)) the head's kernel sum_g s_g <z_g, z_g'> at its chosen scales."""
    return sum(s * (b @ a.T) for s, a, b in zip(head.scales_, head._columns(xa), head._columns(xb), strict=True))


def test_leave_one_out_error_equals_refitting_without_each_model_with_the_centring_held():
    """The closed form is the error of refitting the kernel ridge without each model in turn, the centring (the
    weighted means over all models) held fixed."""
    x, y, w = planted(30)
    head = ColdHead(group_scales=(1.0,)).fit(x, y, ARCH, TEXT, w)
    w = w / w.mean()
    k = kernel_of(head, x, x)
    yc = y - w @ y / w.sum()
    sq = 0.0
    for i in range(len(x)):
        rest = np.arange(len(x)) != i
        c = np.linalg.solve(k[np.ix_(rest, rest)] + np.diag(1 / w[rest]), yc[rest])
        sq += w[i] * ((k[i, rest] @ c - yc[i]) ** 2).sum()
    assert head.loo_error_ == pytest.approx(sq / y.size, rel=1e-9)


def test_the_linear_weights_predict_what_the_dual_solution_does():
    """What the head keeps (coefficients over the raw feature columns) predicts what the kernel form does."""
    x, y, w = planted(40)
    head = ColdHead().fit(x, y, ARCH, TEXT, w)
    w = w / w.mean()
    y_mean = w @ y / w.sum()
    dual = np.linalg.solve(kernel_of(head, x, x) + np.diag(1 / w), y - y_mean)
    new = models(9, seed=4)
    np.testing.assert_allclose(head.predict(new), kernel_of(head, x, new) @ dual + y_mean, rtol=1e-8, atol=1e-10)


def test_linear_kernel_is_a_weighted_ridge_on_scaled_columns():
    """Kernel ridge with the linear kernels is the primal ridge (penalty 1) on the columns scaled by the square
    roots of the group scales, the size and text columns centred, the architecture vectors as they are."""
    x, y, w = planted()
    head = ColdHead(group_scales=(0.3, 3.0)).fit(x, y, ARCH, TEXT, w)
    assert set(head.scales_) <= {0.3, 1.0, 3.0}
    wn = w / w.sum()
    s_a, s_s, s_t = np.sqrt(head.scales_)

    def columns(z: np.ndarray) -> np.ndarray:
        return np.concatenate([s_a * z[:, ARCH], s_s * (z[:, SIZE] - wn @ x[:, SIZE]),
                               s_t * (z[:, TEXT] - wn @ x[:, TEXT])], axis=1)

    ridge = Ridge(alpha=1.0, fit_intercept=False).fit(columns(x), y - wn @ y, sample_weight=w / w.mean())
    new = models(7, seed=1)
    np.testing.assert_allclose(head.predict(new), ridge.predict(columns(new)) + wn @ y, rtol=1e-8, atol=1e-10)


def test_scales_keep_the_groups_that_predict_and_drop_noise():
    x, y, w = planted(120)
    y = y[:, [0, 2]]  # size alone drives these outputs
    head = ColdHead().fit(x, y, ARCH, TEXT, w)
    assert head.scales_[1] >= 3.0  # the size group, kept
    assert head.scales_[0] <= 0.1 and head.scales_[2] <= 0.1  # architecture and text are noise here
    new = models(40, seed=2)
    truth = np.stack([new[:, 6], 2 * new[:, 6] - new[:, 7]], axis=1)
    assert np.corrcoef(head.predict(new)[:, 0], truth[:, 0])[0, 1] > 0.95


def test_models_of_weight_zero_are_left_out_and_bad_weights_are_refused():
    x, y, w = planted()
    w[:10] = 0.0
    a = ColdHead().fit(x, y, ARCH, TEXT, w)
    b = ColdHead().fit(x[10:], y[10:], ARCH, TEXT, w[10:])
    np.testing.assert_allclose(a.predict(x[:5]), b.predict(x[:5]), rtol=1e-10)
    for bad in (np.full(len(x), -1.0), np.zeros(len(x)), np.ones(3)):
        with pytest.raises(ValueError, match="sample_weight"):
            ColdHead().fit(x, y, ARCH, TEXT, bad)


def test_coordinate_search_finds_each_groups_best_scale_and_keeps_the_earlier_one_on_a_tie():
    target = (0.3, 0.0, 3.0)
    scales, loss = coordinate_search(lambda s: sum((a - b) ** 2 for a, b in zip(s, target, strict=True)), 3,
                                     (0.0, 0.3, 1.0, 3.0), passes=1)
    assert scales == target and loss == 0.0
    flat, _ = coordinate_search(lambda s: 1.0, 2, (0.0, 3.0), passes=2)  # nothing lowers the loss: stay at 1
    assert flat == (1.0, 1.0)
