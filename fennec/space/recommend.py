"""Ranking a zoo for new tasks with a fitted space: one FAISS search per batch of tasks, no forward pass
through any zoo model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fennec.space.index import ModelIndex
from fennec.space.space import TransferSpace
from fennec.space.zoo import model_from_id


def _explain(space: TransferSpace, tvec: np.ndarray, model_ids: list[str], scores: np.ndarray,
             n_nearest: int) -> list[dict[str, Any]]:
    nearest = space.nearest_tasks(tvec, k=n_nearest)
    names = [t for t, _ in nearest]
    rows = []
    for rank, (m, s) in enumerate(zip(model_ids, scores, strict=True), start=1):
        known = m in space.model_info_ and m in set(space.free_ids_)
        rng = space.accuracy_range(m, names) if m in set(space.model_ids_) else None
        rows.append({"rank": rank, "model": m, "score": round(float(s), 6),
                     "accuracy_range": [round(rng[0], 2), round(rng[1], 2)] if rng else None,
                     "nearest_tasks": names, "cold_start": not known})
    return rows


def recommend(space: TransferSpace, task: Any, *, top_k: int = 10, candidates: Sequence[str] | None = None,
              index: ModelIndex | None = None, n_nearest: int = 3) -> dict[str, Any]:
    """Rank the space's zoo (or ``candidates``) for one task.

    Args:
        space: A fitted or loaded space.
        task: A task or task card (class names, description, sizes).
        top_k: Models to return.
        candidates: Restrict to these model ids; ids unknown to the space get cold-start vectors.
        index: The FAISS index over the space's models (built when None).
        n_nearest: Historical tasks used for the explanation and the accuracy range.

    Returns:
        ``{"task", "nearest_tasks": [{"task", "similarity"}], "ranking": [{"rank", "model", "score",
        "accuracy_range", "nearest_tasks", "cold_start"}]}``.
    """
    tvec = space.task_vectors([task])[0]
    if candidates:
        known = set(space.model_ids_)
        new = {m: model_from_id(m) for m in candidates if m not in known}
        vecs = np.concatenate([space.model_vectors([m for m in candidates if m in known]) if known & set(candidates)
                               else np.zeros((0, tvec.shape[0]), np.float32),
                               space.cold_start_vectors(list(new.values())) if new
                               else np.zeros((0, tvec.shape[0]), np.float32)])
        ids = [m for m in candidates if m in known] + list(new)
        scores = vecs @ tvec
        order = np.argsort(-scores, kind="stable")[:top_k]
        ranked_ids, ranked = [ids[i] for i in order], scores[order]
    else:
        index = index or ModelIndex(space.model_vectors_)
        ranked, pos = index.search(tvec[None], top_k)
        ranked, ranked_ids = ranked[0], [space.model_ids_[i] for i in pos[0]]
    nearest = space.nearest_tasks(tvec, k=n_nearest)
    return {"task": str(getattr(task, "name", "task")),
            "nearest_tasks": [{"task": t, "similarity": round(s, 4)} for t, s in nearest],
            "ranking": _explain(space, tvec, ranked_ids, np.asarray(ranked), n_nearest)}


def rank_batch(space: TransferSpace, tasks: Sequence[Any], *, top_k: int = 10,
               index: ModelIndex | None = None) -> list[dict[str, Any]]:
    """Rank the zoo for many tasks with one index search; one :func:`recommend`-shaped dict per task."""
    tvecs = space.task_vectors(list(tasks))
    index = index or ModelIndex(space.model_vectors_)
    scores, pos = index.search(tvecs, top_k)
    out = []
    for task, tvec, s, p in zip(tasks, tvecs, scores, pos, strict=True):
        nearest = space.nearest_tasks(tvec, k=3)
        out.append({"task": str(getattr(task, "name", "task")),
                    "nearest_tasks": [{"task": t, "similarity": round(v, 4)} for t, v in nearest],
                    "ranking": _explain(space, tvec, [space.model_ids_[i] for i in p], s, 3)})
    return out
