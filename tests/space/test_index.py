"""FAISS retrieval returns exactly what brute force returns."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.space.index import ModelIndex
from fennec.space.recommend import rank_batch, recommend


@pytest.mark.parametrize("n_models,dim", [(50, 9), (3000, 73)])
def test_flat_index_equals_brute_force(n_models, dim):
    rng = np.random.default_rng(n_models)
    models = rng.standard_normal((n_models, dim)).astype(np.float32)
    tasks = rng.standard_normal((7, dim)).astype(np.float32)
    tasks[:, -1] = 1.0  # the folded bias coordinate
    scores, pos = ModelIndex(models).search(tasks, 10)
    brute = tasks @ models.T
    for q in range(len(tasks)):
        order = np.argsort(-brute[q], kind="stable")[:10]
        np.testing.assert_array_equal(pos[q], order)
        np.testing.assert_allclose(scores[q], brute[q, order], rtol=1e-5, atol=1e-5)


def test_approximate_index_finds_most_of_the_top(monkeypatch):
    rng = np.random.default_rng(0)
    models = rng.standard_normal((5000, 16)).astype(np.float32)
    task = rng.standard_normal((1, 16)).astype(np.float32)
    index = ModelIndex(models, exact_limit=1000, nprobe=64)
    assert not index.exact
    _, pos = index.search(task, 10)
    truth = set(np.argsort(-(task @ models.T)[0])[:10].tolist())
    assert len(truth & set(pos[0].tolist())) >= 8


def test_recommend_uses_the_index_and_matches_scores(world):
    from fennec.space import TransferSpace

    records, models, tasks = world
    space = TransferSpace(epochs=100, val_fraction=0.0).fit(records, models, tasks)
    res = recommend(space, tasks["cars"], top_k=len(models))
    brute = space.score(tasks["cars"])
    order = np.argsort(-brute, kind="stable")
    assert [r["model"] for r in res["ranking"]] == [space.model_ids_[i] for i in order]
    batch = rank_batch(space, [tasks["cars"], tasks["dogs"]], top_k=3)
    assert [r["model"] for r in batch[0]["ranking"]] == [r["model"] for r in res["ranking"][:3]]
    assert batch[1]["ranking"][0]["model"] == "test:dogs"
