"""FAISS retrieval returns exactly what brute force returns."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.space.index import CODES_AFTER, ModelIndex
from fennec.space.recommend import rank_batch, recommend
from fennec.validation import FennecInputError


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


def brute_top(models: np.ndarray, task: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best models, in float64, ties broken by position."""
    scores = models.astype(np.float64) @ task.astype(np.float64)
    return np.lexsort((np.arange(len(models)), -scores))[:k]


def count_code_scans(monkeypatch) -> list[int]:
    from fennec.space import index as index_module

    calls: list[int] = []
    scan = index_module._CodeFilter.search

    def counted(self, task, k):
        calls.append(k)
        return scan(self, task, k)

    monkeypatch.setattr(index_module._CodeFilter, "search", counted)
    return calls


@pytest.mark.parametrize("threads", [1, 3])
def test_certified_code_scan_equals_brute_force(monkeypatch, threads):
    rng = np.random.default_rng(threads)
    centres = rng.standard_normal((20, 21)).astype(np.float32)
    models = (centres[rng.integers(0, 20, 4000)] + 0.3 * rng.standard_normal((4000, 21))).astype(np.float32)
    tasks = rng.standard_normal((12, 21)).astype(np.float32)
    tasks[:, -1] = 1.0
    index = ModelIndex(models, filter_min=1000, threads=threads, codes="now")
    assert index.filtered and len(index._filter.shards) == threads
    calls = count_code_scans(monkeypatch)
    for task in tasks:  # one at a time: batches take the flat path
        scores, pos = index.search(task[None], 10)
        np.testing.assert_array_equal(pos[0], brute_top(models, task, 10))
        np.testing.assert_allclose(scores[0], models[pos[0]] @ task, rtol=1e-5)
    assert len(calls) == len(tasks)  # answered from the codes, not by the fallback scan


def test_certified_scan_stays_exact_after_outliers_and_ties(monkeypatch):
    rng = np.random.default_rng(7)
    models = rng.standard_normal((6000, 16)).astype(np.float32)
    index = ModelIndex(models, filter_min=1000, threads=2, codes="now")
    first = index._filter
    # models outside the codes' ranges get new ranges (one build), not a wide error bound for every task
    outliers = (6 * rng.standard_normal((50, 16))).astype(np.float32)
    index.add(outliers)
    assert index._filter is not first and index._filter.size == index.size
    # 100 copies of one model: exact ties the first certificate cannot separate
    copies = np.repeat(models[:1] * 3, 100, axis=0)
    index.add(copies)
    everything = np.concatenate([models, outliers, copies])
    assert index.size == len(everything)
    calls = count_code_scans(monkeypatch)
    for task in [*rng.standard_normal((5, 16)).astype(np.float32), models[0] * 3]:
        _, pos = index.search(task[None], 10)
        np.testing.assert_array_equal(pos[0], brute_top(everything, task, 10))
    assert calls[-2:] == [64, 512]  # the tied copies needed more candidates (and were then certified)


def test_flat_and_certified_paths_order_ties_alike():
    rng = np.random.default_rng(8)
    models = rng.standard_normal((2000, 8)).astype(np.float32)
    models[100:130] = models[7] * 4  # 30 identical models, best for the task below
    task = (models[7] * 4)[None]
    coded = ModelIndex(models, filter_min=1000, codes="now")
    flat = ModelIndex(models, codes="never")
    expected = brute_top(models, task[0], 12)
    np.testing.assert_array_equal(flat.search(task, 12)[1][0], expected)
    np.testing.assert_array_equal(coded.search(task, 12)[1][0], expected)
    batch = np.repeat(task, 25, axis=0)  # a batch takes the BLAS path
    np.testing.assert_array_equal(coded.search(batch, 12)[1][-1], expected)


def test_auto_codes_come_after_enough_single_tasks_and_never_for_batches(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    models = rng.standard_normal((1500, 8)).astype(np.float32)
    tasks = rng.standard_normal((CODES_AFTER + 5, 8)).astype(np.float32)
    index = ModelIndex(models[:900], filter_min=1000)  # "auto", below filter_min: never
    index.add(models[900:])
    index.save(str(tmp_path / "index.faiss"))
    loaded = ModelIndex.load(str(tmp_path / "index.faiss"), filter_min=1000)
    for _ in range(3):
        loaded.search(tasks[:50], 5)  # batches never count
    assert not loaded.filtered
    calls = count_code_scans(monkeypatch)
    for i, task in enumerate(tasks):
        np.testing.assert_array_equal(loaded.search(task[None], 5)[1][0], brute_top(models, task, 5))
        assert loaded.filtered == (i + 1 >= CODES_AFTER)
    assert len(calls) == len(tasks) - CODES_AFTER + 1
    assert ModelIndex.load(str(tmp_path / "index.faiss"), filter_min=1000, codes="now").filtered


def test_bad_vectors_and_k(tmp_path):

    models = np.ones((5, 3), np.float32)
    with pytest.raises(FennecInputError, match="NaN or inf"):
        ModelIndex(np.array([[0.0, np.nan, 1.0]]))
    index = ModelIndex(models)
    with pytest.raises(FennecInputError, match="task vectors: 1 row"):
        index.search(np.array([[np.inf, 0, 0]]), 3)
    with pytest.raises(FennecInputError, match="codes"):
        ModelIndex(models, codes="sometimes")
    scores, pos = index.search(np.ones((2, 3)), 0)
    assert scores.shape == pos.shape == (2, 0)
    assert ModelIndex(models, filter_min=2, threads=8, codes="now")._filter.shards  # more threads than models


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


def test_a_wrong_code_kernel_is_caught_and_the_flat_scan_answers(monkeypatch):
    import faiss

    scan = faiss.IndexScalarQuantizer.search

    def off_by_a_lot(self, x, k, *args, **kwargs):  # what faiss 1.15.1's AVX512 byte kernel does at d % 32 == 0
        scores, pos = scan(self, x, k, *args, **kwargs)
        return np.floor(scores) * 3, pos

    monkeypatch.setattr(faiss.IndexScalarQuantizer, "search", off_by_a_lot)
    rng = np.random.default_rng(5)
    models = rng.standard_normal((2000, 12)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match="exact flat scan"):
        index = ModelIndex(models, filter_min=1000, codes="now")
    assert not index.filtered
    index.add(models[:5])  # the same FAISS would fail again: no new build, no second warning
    assert not index.filtered and index._kernel_failed
    task = rng.standard_normal(12).astype(np.float32)
    np.testing.assert_array_equal(index.search(task[None], 10)[1][0], brute_top(models, task, 10))


def test_an_older_ivf_index_file_is_rebuilt_from_the_space(tmp_path):
    import types

    import faiss

    from fennec.space.store import load_index

    rng = np.random.default_rng(2)
    models = rng.standard_normal((300, 8)).astype(np.float32)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(8), 8, 4, faiss.METRIC_INNER_PRODUCT)
    ivf.train(models)
    ivf.add(models)
    faiss.write_index(ivf, str(tmp_path / "index.faiss"))
    with pytest.raises(FennecInputError, match="expected a flat FAISS index"):
        ModelIndex.load(str(tmp_path / "index.faiss"))
    space = types.SimpleNamespace(path_=str(tmp_path), model_ids_=[f"m{i}" for i in range(300)],
                                  model_vectors_=models)
    index = load_index(space)
    task = rng.standard_normal(8).astype(np.float32)
    np.testing.assert_array_equal(index.search(task[None], 5)[1][0], brute_top(models, task, 5))


def test_a_forked_child_does_not_use_its_parents_codes(monkeypatch):
    import os

    rng = np.random.default_rng(9)
    models = rng.standard_normal((1500, 8)).astype(np.float32)
    index = ModelIndex(models, filter_min=1000, codes="now")
    assert index.filtered
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # what a fork looks like from inside the child
    calls = count_code_scans(monkeypatch)
    task = rng.standard_normal(8).astype(np.float32)
    np.testing.assert_array_equal(index.search(task[None], 5)[1][0], brute_top(models, task, 5))
    assert not index.filtered and not calls  # the flat scan answered; the child builds its own codes later


FORK_SCRIPT = """
import multiprocessing, numpy as np
from fennec.space.index import ModelIndex
rng = np.random.default_rng(10)
index = ModelIndex(rng.standard_normal((200_000, 16)).astype(np.float32), codes="never")
task = rng.standard_normal(16).astype(np.float32)
def search(_):
    return index.search(task[None], 3)[1][0].tolist()
parent = search(0)  # the parent searches first: FAISS starts its OpenMP team
with multiprocessing.get_context("fork").Pool(1) as pool:
    print(pool.map(search, [0]) == [parent])
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_can_search_after_its_parent_did():
    """libgomp's threads do not survive fork(): without the index module's at-fork hook, the child's FAISS search
    hangs (a fresh interpreter, since the test session runs OpenMP on one thread)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr[-2000:]
