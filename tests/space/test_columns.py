"""The towers' input columns (fennec.space.columns): standardised numbers, the text PCA, the image statistics."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.space.columns import (
    apply_scale,
    fit_image_basis,
    fit_scale,
    fit_text_basis,
    image_columns,
    project_texts,
)
from fennec.tasks.descriptor import N_GEOMETRY
from fennec.validation import FennecInputError


def test_numeric_features_are_standardised_and_a_constant_column_left_alone():
    cols = np.array([[0.9, 0.5], [1.1, 0.5], [0.0, 0.5], [1.0, 0.5]], np.float32)  # row 2: size unknown
    scale = fit_scale(cols)
    np.testing.assert_allclose(scale[:, 0], [1.0, np.std([0.9, 1.1, 1.0])], rtol=1e-5)
    np.testing.assert_array_equal(scale[:, 1], [0.0, 1.0])  # constant: no standardisation
    z = apply_scale(np.array([[1.2, 0.7], [0.0, 0.0]], np.float32), scale)
    assert z[0, 0] > 2 and z[0, 1] == pytest.approx(0.7)  # a new task's size moves its input by its own value
    np.testing.assert_array_equal(z[1], [0.0, 0.0])  # unknown stays at the mean


def test_text_basis_keeps_its_width_and_absent_texts_stay_zero():
    rng = np.random.default_rng(0)
    texts = np.concatenate([rng.normal(size=(4, 6)), np.zeros((2, 6))]).astype(np.float32)
    mean, comps = fit_text_basis(texts, n_components=5, seed=0)
    assert comps.shape == (5, 6)
    np.testing.assert_allclose(mean, texts[:4].mean(0), atol=1e-6)  # the absent rows do not pull the mean
    assert np.abs(comps[:3]).sum(1).min() > 0 and not comps[3:].any()  # 4 texts: 3 directions at most
    proj = project_texts(texts, mean, comps)
    assert proj.shape == (6, 5) and not proj[4:].any()
    np.testing.assert_allclose(proj[:4, :3] @ comps[:3] + mean, texts[:4], atol=1e-5)  # 4 points span 3 dims


def test_no_text_at_all_gives_no_directions():
    mean, comps = fit_text_basis(np.zeros((3, 6), np.float32), n_components=4, seed=0)
    assert not mean.any() and not comps.any()


def test_texts_all_alike_give_no_directions_and_no_warning():
    """Every model pre-trained "on ImageNet" and tasks without cards: a PCA of equal rows divided by zero."""
    import warnings

    one = np.random.default_rng(0).normal(size=6).astype(np.float32)
    texts = np.stack([one, one, one, np.zeros(6, np.float32)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, comps = fit_text_basis(texts, n_components=4, seed=0)
    assert not comps.any() and not project_texts(texts, mean, comps).any()
    two = np.stack([one, one, -one])
    assert np.abs(fit_text_basis(two, n_components=4, seed=0)[1]).sum(1).tolist().count(0) == 3  # one direction


def _stats(rng, n, emb=6):
    return [rng.normal(size=emb + N_GEOMETRY).astype(np.float32) for _ in range(n)]


def test_image_basis_reads_the_proxy_most_tasks_share_and_scales_each_block():
    rng = np.random.default_rng(1)
    a, b = _stats(rng, 5), _stats(rng, 2)
    images = [{"p:a": x} for x in a] + [{"p:b": x} for x in b] + [{}]
    basis = fit_image_basis(images, n_components=3, min_tasks=3, seed=0)
    assert basis.proxy == "p:a" and basis.components.shape == (3, 6)
    cols = image_columns(images, basis)
    assert cols.shape == (8, 3 + N_GEOMETRY + 1)
    np.testing.assert_array_equal(cols[:, -1], [1, 1, 1, 1, 1, 0, 0, 0])  # has-image flag of proxy p:a only
    assert not cols[5:].any()
    # each block, centred, has unit total spread over the training tasks (the PCA's as scikit-learn counts it)
    assert np.sqrt(cols[:5, :3].var(0, ddof=1).sum()) == pytest.approx(1.0, rel=1e-4)
    assert np.sqrt(cols[:5, 3:-1].var(0).sum()) == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(cols[:5, :-1].mean(0), 0.0, atol=1e-5)


def test_too_few_tasks_with_images_give_no_image_columns():
    rng = np.random.default_rng(2)
    images = [{"p:a": x} for x in _stats(rng, 2)] + [{}]
    assert fit_image_basis(images, n_components=3, min_tasks=3, seed=0) is None
    assert fit_image_basis([{}, {}], n_components=3, min_tasks=1, seed=0) is None
    assert image_columns(images, None).shape == (3, 0)


@pytest.mark.parametrize("bad, match", [
    ([np.ones(10), np.ones(12), np.ones(10)], "differ in shape"),
    ([np.ones(N_GEOMETRY)] * 3, "longer than"),
    ([np.ones(12), np.full(12, np.nan), np.ones(12)], "NaN or inf"),
])
def test_bad_image_statistics_are_a_clear_error(bad, match):
    with pytest.raises(FennecInputError, match=match):
        fit_image_basis([{"p:a": np.asarray(x, np.float32)} for x in bad], n_components=2, min_tasks=3, seed=0)


def test_a_new_task_with_statistics_of_another_length_is_a_clear_error():
    rng = np.random.default_rng(3)
    basis = fit_image_basis([{"p:a": x} for x in _stats(rng, 4)], n_components=2, min_tasks=3, seed=0)
    with pytest.raises(FennecInputError, match=f"expected {6 + N_GEOMETRY} finite values"):
        image_columns([{"p:a": np.ones(5, np.float32)}], basis)
