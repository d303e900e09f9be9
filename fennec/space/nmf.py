"""``fennec-nmf``: the Fennec authors' released recipe, re-implemented as a baseline (REFERENCE.md section 1).

Their code factorises a models x historical-tasks matrix with non-negative matrix factorisation of rank 5 and
predicts a new task's column from images of it with a random forest, then scores by dot product (Bai et al.,
arXiv 2403.06382). Differences here, forced by the data: the matrix holds published fine-tuning results of the
evaluated benchmark (min-max scaled per task, gaps filled with the task's mean) instead of a proxy score, and the
forest's samples are the task's class names (prompted text embeddings) instead of 100 images (50 trees, sqrt(d)
features per split, for speed), since the
published records come without images; the meta-feature regression half of their score is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fennec.records.metrics import main_metric_records, oriented
from fennec.space import features as feats
from fennec.validation import FennecInputError


def _class_embeddings(card: Any, text_encoder: str | None) -> np.ndarray:
    """(n, TEXT_DIM) prompted class-name embeddings of a card (its description when it names no class)."""
    names = list(getattr(card, "class_names", None) or [])
    texts = [f"a photo of a {n}." for n in names] or [getattr(card, "description", None) or str(card.name)]
    return feats.encode_texts(texts, text_encoder)


class NMFRecipe:
    """NMF of the records matrix plus a random forest from class-name embeddings to task factors.

    Args:
        rank: NMF rank (5 in the authors' code).
        n_estimators: Trees of the random forest.
        seed: Seed of NMF and the forest.
        text_encoder: Text encoder id (default: the offline MiniLM).
    """

    def __init__(self, rank: int = 5, n_estimators: int = 50, seed: int = 0, text_encoder: str | None = None) -> None:
        self.rank = rank
        self.n_estimators = n_estimators
        self.seed = seed
        self.text_encoder = text_encoder

    def fit(self, records: Sequence[Any], tasks: Mapping[str, Any]) -> NMFRecipe:
        """Factorise the (models x tasks) matrix of ``records`` (one benchmark's; per dataset its main metric,
        oriented so that higher is better) and fit the forest on the tasks' cards."""
        from sklearn.decomposition import NMF
        from sklearn.ensemble import RandomForestRegressor

        records = main_metric_records(records)  # one cell, one number
        if not records:
            raise FennecInputError("records: fennec-nmf has none to factorise; it learns from the benchmark's own "
                                   "records on other datasets than the target, so the benchmark needs two or more")
        models = sorted({r.model for r in records})
        datasets = sorted({r.dataset for r in records})
        mat = np.full((len(models), len(datasets)), np.nan)
        mpos = {m: i for i, m in enumerate(models)}
        dpos = {d: i for i, d in enumerate(datasets)}
        for r in records:
            mat[mpos[r.model], dpos[r.dataset]] = oriented(r.value, r.metric)  # higher is better
        lo, hi = np.nanmin(mat, axis=0), np.nanmax(mat, axis=0)
        scaled = (mat - lo) / np.where(hi > lo, hi - lo, 1.0)
        scaled = np.where(np.isnan(scaled), np.nanmean(scaled, axis=0), scaled)
        rank = max(1, min(self.rank, min(scaled.shape) - 0))
        nmf = NMF(n_components=rank, init="nndsvda", random_state=self.seed, max_iter=2000)
        self.model_factors_ = nmf.fit_transform(scaled)        # (M, r)
        task_factors = nmf.components_.T                       # (D, r)
        xs, ys = [], []
        for d in datasets:
            emb = _class_embeddings(tasks[d], self.text_encoder)
            xs.append(emb)
            ys.append(np.repeat(task_factors[dpos[d]][None], len(emb), axis=0))
        self.forest_ = RandomForestRegressor(n_estimators=self.n_estimators, max_features="sqrt",
                                             random_state=self.seed, n_jobs=1)
        self.forest_.fit(np.concatenate(xs), np.concatenate(ys))
        self.models_ = models
        return self

    def score(self, task: Any, model_ids: Sequence[str]) -> np.ndarray:
        """Scores (M,) of the given models on ``task``; NaN for a model without records (no factor)."""
        h = self.forest_.predict(_class_embeddings(task, self.text_encoder)).mean(axis=0).reshape(-1)
        pos = {m: i for i, m in enumerate(self.models_)}
        return np.array([float(self.model_factors_[pos[m]] @ h) if m in pos else np.nan for m in model_ids])
