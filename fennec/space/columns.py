"""The towers' input columns: the statistics fitted on the training models and tasks that turn raw features into
columns a shared L2 penalty treats alike.

- numeric columns (log parameters, FLOPs, log classes and images) are standardised over the rows where they are
  known (:func:`fit_scale`, :func:`apply_scale`);
- text embeddings (class names, descriptions, pre-training) enter the folded vectors through a PCA fitted on the
  training texts (:func:`fit_text_basis`, :func:`project_texts`), which keeps the vectors short enough for a flat
  FAISS search over large zoos;
- the image part of a task's descriptor (a proxy's embedding statistics and the class geometry) is reduced by a
  PCA fitted on the training tasks, each block scaled to unit total spread (:func:`fit_image_basis`,
  :func:`image_columns`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from fennec.space import features as feats
from fennec.tasks.descriptor import N_GEOMETRY
from fennec.validation import FennecInputError

TEXT_COLUMNS = 2 * feats.TEXT_DIM + 4  # the task tower's text and size inputs, before any image columns


def fit_scale(cols: np.ndarray) -> np.ndarray:
    """(2, C) mean and standard deviation of numeric feature columns over the rows where they are known (non-zero).

    The embeddings are unit vectors already; numeric columns such as log parameters vary over a tenth of their
    range, so an L2 penalty shared with the embeddings would price them out. Standardised, a unit of weight
    means the same for every input.
    """
    out = np.zeros((2, cols.shape[1]), np.float32)
    out[1] = 1.0
    for j in range(cols.shape[1]):
        known = cols[:, j][cols[:, j] != 0]
        # float32 rounding leaves a constant column a spread of ~1e-8, which would blow up any new value
        if known.size >= 2 and known.std() > 1e-4:
            out[:, j] = known.mean(), known.std()
    return out


def apply_scale(cols: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardise numeric columns with :func:`fit_scale`'s statistics; unknown (zero) entries stay at 0 (the
    mean), which is also what a model without a graph is assumed to be."""
    z = (cols - scale[0]) / scale[1]
    return np.where(cols != 0, z, 0.0).astype(np.float32)


def fit_text_basis(texts: np.ndarray, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), components (n_components, D)) of a PCA of the present (non-zero) rows of ``texts`` (N, D).

    At most (distinct rows) - 1 components are fitted; the rest of the rows of ``components`` are zero, so the
    projection keeps its width. No text at all (tasks known by their images, models by their graphs): no text
    directions.
    """
    from sklearn.decomposition import PCA

    rows = texts[np.abs(texts).sum(1) > 0]
    # distinct texts, not rows, bound the directions: texts all alike (every model pre-trained "on ImageNet",
    # tasks without cards) have none, and a PCA of them divides by their zero variance
    k = min(n_components, len(np.unique(rows, axis=0)) - 1, rows.shape[1])
    comps = np.zeros((n_components, texts.shape[1]), np.float32)
    mean = np.zeros(texts.shape[1], np.float32)
    if k >= 1:
        pca = PCA(n_components=k, random_state=seed).fit(rows)
        comps[:k] = pca.components_
        mean = pca.mean_.astype(np.float32)
    return mean, comps


def project_texts(texts: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Centred PCA projection (N, k) of text embeddings (N, D); an absent text (zero row) stays zero."""
    present = (np.abs(texts).sum(1) > 0)[:, None]
    return ((texts - mean) @ components.T * present).astype(np.float32)


class ImageBasis(NamedTuple):
    """What a space fitted to read tasks' images: the proxy, and the PCA and scales of its statistics.

    Attributes:
        proxy: Proxy id whose statistics are read.
        mean: (E,) mean of the embedding blocks (mean and spread of the proxy's embeddings) over training tasks.
        components: (k, E) PCA components, divided by the block's total spread.
        geometry: (2, N_GEOMETRY) mean of the geometry statistics, and the one spread they are divided by.
    """

    proxy: str
    mean: np.ndarray
    components: np.ndarray
    geometry: np.ndarray


def same_image_columns(mine: ImageBasis | None, theirs: ImageBasis | None) -> bool:
    """True when two spaces' task towers read image columns that mean the same: the same proxy, and the same fitted
    PCA basis and scales (a PCA refitted on other tasks turns and flips its components). False when either reads
    text only."""
    if mine is None or theirs is None or mine.proxy != theirs.proxy:
        return False
    return all(a.shape == b.shape and np.array_equal(a, b)
               for a, b in ((mine.mean, theirs.mean), (mine.components, theirs.components),
                            (mine.geometry, theirs.geometry)))


def block_spread(total_variance: float) -> float:
    """The divisor that gives a block of features unit total standard deviation (1 for a constant block)."""
    return math.sqrt(total_variance) if total_variance > 1e-12 else 1.0


def fit_image_basis(images: Sequence[Mapping[str, Any]], n_components: int, min_tasks: int,
                    seed: int) -> ImageBasis | None:
    """Choose the proxy whose image statistics the towers read and fit their PCA; None to read none.

    Args:
        images: (T,) per training task, proxy id -> image part of its descriptor (2 * di + N_GEOMETRY,).
        n_components: Width of the PCA (at most the tasks with statistics minus one are fitted).
        min_tasks: Fewest tasks with statistics from one proxy (the one most of them share) to read them.
        seed: PCA seed.

    The statistics are long (two proxy-width blocks, the mean and spread of the embeddings, plus the class
    geometry) and the training tasks few, so the two blocks are reduced by a PCA fitted on the training
    tasks. Each block (PCA scores; geometry) is centred and divided by one spread, its total standard
    deviation over the training tasks: the block then weighs as much as the others under a shared L2
    penalty, while the directions within it keep their relative size. Whitening each direction on its own
    would give the noise of a handful of tasks the weight of the main direction they differ along (on a world
    of warm- and cool-coloured tasks it ranked a new warm task as a cool one).

    Raises:
        FennecInputError: The chosen proxy's statistics differ in shape, are too short, or are not finite.
    """
    from sklearn.decomposition import PCA

    counts = Counter(p for parts in images for p in parts)
    if not counts:
        return None
    proxy, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if n < max(min_tasks, 2):
        return None
    rows = [np.asarray(parts[proxy], np.float32) for parts in images if proxy in parts]
    shapes = sorted({r.shape for r in rows})
    if len(shapes) != 1:
        raise FennecInputError(f"tasks: image statistics from {proxy!r} differ in shape across tasks ({shapes});"
                               " describe every task again with `fennec tasks add-images`")
    if rows[0].ndim != 1 or rows[0].size <= N_GEOMETRY:
        raise FennecInputError(f"tasks: image statistics from {proxy!r} have shape {shapes[0]}, expected a "
                               f"vector longer than the {N_GEOMETRY} geometry statistics (an embedding mean and "
                               "spread first); describe the tasks again with `fennec tasks add-images`")
    x = np.stack(rows)
    if not np.all(np.isfinite(x)):
        raise FennecInputError(f"tasks: image statistics from {proxy!r} hold NaN or inf values; describe the "
                               "tasks again with `fennec tasks add-images`")
    emb, geom = x[:, :-N_GEOMETRY], x[:, -N_GEOMETRY:]
    k = max(1, min(n_components, len(x) - 1, emb.shape[1]))
    pca = PCA(n_components=k, random_state=seed).fit(emb)
    comps = np.zeros((n_components, emb.shape[1]), np.float32)
    comps[:k] = pca.components_ / block_spread(float(pca.explained_variance_.sum()))
    spread = block_spread(float(geom.var(0).sum()))
    geometry = np.stack([geom.mean(0), np.full(N_GEOMETRY, spread)]).astype(np.float32)
    return ImageBasis(proxy, pca.mean_.astype(np.float32), comps, geometry)


def image_columns(images: Sequence[Mapping[str, Any]], basis: ImageBasis | None) -> np.ndarray:
    """Task-tower image input (T, k + N_GEOMETRY + 1): PCA of the mean and spread blocks and the geometry, each
    block scaled to unit total spread (:func:`fit_image_basis`), and a has-image flag; zeros for tasks without
    statistics from the basis' proxy, and no columns at all without a basis (a space that reads text only).

    Raises:
        FennecInputError: A task's statistics from the proxy have another length or are not finite.
    """
    n = len(images)
    if basis is None:
        return np.zeros((n, 0), np.float32)
    k = basis.components.shape[0]
    out = np.zeros((n, k + N_GEOMETRY + 1), np.float32)
    dim = basis.mean.shape[0] + N_GEOMETRY
    for i, parts in enumerate(images):
        part = parts.get(basis.proxy)
        if part is None:
            continue
        v = np.asarray(part, np.float32)
        if v.shape != (dim,) or not np.all(np.isfinite(v)):
            raise FennecInputError(f"task image statistics from {basis.proxy!r}: expected {dim} "
                                   f"finite values, got shape {v.shape}; describe the task again with that proxy")
        out[i, :k] = (v[:-N_GEOMETRY] - basis.mean) @ basis.components.T
        out[i, k:-1] = (v[-N_GEOMETRY:] - basis.geometry[0]) / basis.geometry[1]
        out[i, -1] = 1.0
    return out


def without_description(tf: feats.TaskFeatures) -> feats.TaskFeatures:
    """The same tasks with no description (embedding zero, has-description flag off), as a card without one."""
    meta = tf.meta.copy()
    meta[:, 1] = 0.0
    return feats.TaskFeatures(tf.names, np.zeros_like(tf.description), meta, tf.images)
