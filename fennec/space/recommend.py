"""Ranking a zoo for new tasks with a fitted space: one FAISS search per batch of tasks, no forward pass
through any zoo model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fennec.space.index import ModelIndex
from fennec.space.space import TransferSpace
from fennec.space.zoo import canonical_model_id, find_model, model_from_id
from fennec.validation import FennecInputError, check_positive_int


def _result(space: TransferSpace, task: Any, tvec: np.ndarray, model_ids: list[str], scores: np.ndarray,
            n_nearest: int, image_row: np.ndarray | None = None) -> dict[str, Any]:
    """One task's ranking with its explanation: the nearest historical tasks and each model's published range."""
    nearest = space.nearest_tasks(tvec, k=n_nearest, image_row=image_row)
    names = [t for t, _ in nearest]
    in_space = space.model_positions()
    ranking = []
    for rank, (m, s) in enumerate(zip(model_ids, scores, strict=True), start=1):
        rng = space.accuracy_range(m, names) if m in in_space else None
        ranking.append({"rank": rank, "model": m, "score": round(float(s), 6),
                        "accuracy_range": [round(rng[0], 2), round(rng[1], 2)] if rng else None,
                        "nearest_tasks": names, "cold_start": not space.has_records(m)})
    out = {"task": str(getattr(task, "name", "task")),
           "nearest_tasks": [{"task": t, "similarity": round(v, 4)} for t, v in nearest], "ranking": ranking}
    if not nearest:
        out["no_nearest_tasks"] = space.no_nearest_reason(tvec)
    return out


def _check_counts(top_k: int, n_nearest: int) -> None:
    """``top_k`` and ``n_nearest`` are positive integers (0 gave an empty ranking, 2.5 two models)."""
    check_positive_int(top_k, "top_k")
    check_positive_int(n_nearest, "n_nearest")


def recommend(space: TransferSpace, task: Any, *, top_k: int = 10, candidates: Sequence[str] | None = None,
              index: ModelIndex | None = None, n_nearest: int = 3) -> dict[str, Any]:
    """Rank the space's zoo (or ``candidates``) for one task.

    Args:
        space: A fitted or loaded space.
        task: A task or task card (class names, description, sizes, and the image statistics of a space that
            reads them: ``image_parts`` under :attr:`TransferSpace.image_proxy`). For a task with
            images but placeholder class names (``not task.named_classes``), pass
            ``fennec.tasks.text_card(task, fennec.tasks.label_task_images(task))`` to have the proxy's names for
            its images stand in for them (what ``recommend.py`` does for such tasks).
        top_k: Models to return.
        candidates: Restrict to these model ids (None: the whole zoo; an empty list is an error); ids unknown to
            the space get cold-start vectors.
        index: The FAISS index over the space's models (built when None).
        n_nearest: Historical tasks used for the explanation and the accuracy range.

    Returns:
        ``{"task", "nearest_tasks": [{"task", "similarity"}], "ranking": [{"rank", "model", "score",
        "accuracy_range", "nearest_tasks", "cold_start"}]}``, and ``"no_nearest_tasks"``, why, when no
        historical task is near.
    """
    _check_counts(top_k, n_nearest)
    if candidates is not None and not isinstance(candidates, str):
        candidates = list(candidates)  # once: a generator checked for emptiness would be spent before the ranking
    if candidates is not None and (isinstance(candidates, str) or not candidates):
        raise FennecInputError(f"candidates: expected a non-empty list of model ids, got {candidates!r}; pass None "
                               "to rank the whole zoo")
    tvecs, rows = space.read_tasks([task])
    tvec = tvecs[0]
    if candidates is not None:
        # as the space holds each model (local:ck/a.pt and local:/abs/ck/a.pt are one checkpoint, stored whole by
        # zoo add), so a model added with its own pre-training text is ranked with its vector, not a new one;
        # a model named twice is ranked once
        candidates = list(dict.fromkeys(find_model(space, m) or canonical_model_id(m) for m in candidates))
        in_space = space.model_positions()
        known = [m for m in candidates if m in in_space]
        new = [m for m in candidates if m not in in_space]
        parts = [space.model_vectors(known)]  # (0, D) when empty
        if new:
            parts.append(space.cold_start_vectors([model_from_id(m) for m in new]))
        ids = known + new
        scores = np.concatenate(parts) @ tvec
        order = np.argsort(-scores, kind="stable")[:top_k]
        ranked_ids, ranked = [ids[i] for i in order], scores[order]
    else:
        index = index or ModelIndex(space.model_vectors_)
        ranked, pos = index.search(tvec[None], top_k)
        ranked, ranked_ids = ranked[0], [space.model_ids_[i] for i in pos[0]]
    return _result(space, task, tvec, ranked_ids, np.asarray(ranked), n_nearest, rows[0])


def rank_batch(space: TransferSpace, tasks: Sequence[Any], *, top_k: int = 10,
               index: ModelIndex | None = None, n_nearest: int = 3) -> list[dict[str, Any]]:
    """Rank the zoo for many tasks with one index search; one :func:`recommend`-shaped dict per task."""
    _check_counts(top_k, n_nearest)
    tasks = list(tasks)  # read twice below: a generator would be spent by the first pass
    if not tasks:
        raise FennecInputError("tasks: expected at least one task to rank, got none")
    tvecs, rows = space.read_tasks(tasks)
    index = index or ModelIndex(space.model_vectors_)
    scores, pos = index.search(tvecs, top_k)
    return [_result(space, task, tvec, [space.model_ids_[i] for i in p], s, n_nearest, row)
            for task, tvec, s, p, row in zip(tasks, tvecs, scores, pos, rows, strict=True)]
