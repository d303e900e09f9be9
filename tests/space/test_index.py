"""FAISS retrieval returns exactly what brute force returns."""

from __future__ import annotations

import numpy as np
import pytest

from fennec.space.index import ModelIndex, codes_path
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
    index = ModelIndex(models, filter_min=1000, threads=threads)
    assert index.filtered and len(index._filter.shards) == threads
    calls = count_code_scans(monkeypatch)
    for task in tasks:  # one at a time: batches take the flat path
        scores, pos = index.search(task[None], 10)
        np.testing.assert_array_equal(pos[0], brute_top(models, task, 10))
        np.testing.assert_allclose(scores[0], models[pos[0]] @ task, rtol=1e-5)
    assert len(calls) == len(tasks)  # answered from the codes, not by the fallback scan


def test_certified_scan_stays_exact_after_outliers_and_ties(monkeypatch):
    rng = np.random.default_rng(7)
    models = rng.standard_normal((3000, 16)).astype(np.float32)
    index = ModelIndex(models, filter_min=1000, threads=2)
    # added models outside the codes' ranges (clipped codes) and 300 copies of one model (exact ties)
    outliers = (6 * rng.standard_normal((50, 16))).astype(np.float32)
    copies = np.repeat(models[:1] * 3, 300, axis=0)
    index.add(outliers)
    index.add(copies)
    everything = np.concatenate([models, outliers, copies])
    assert index.size == len(everything)
    calls = count_code_scans(monkeypatch)
    for task in [*rng.standard_normal((5, 16)).astype(np.float32), models[0] * 3]:
        _, pos = index.search(task[None], 10)
        np.testing.assert_array_equal(pos[0], brute_top(everything, task, 10))
    assert max(calls) > 64  # the tied copies defeat the first certificate: more candidates were needed


def test_index_grows_into_the_code_scan_and_reloads_it(tmp_path):
    rng = np.random.default_rng(3)
    models = rng.standard_normal((1500, 8)).astype(np.float32)
    index = ModelIndex(models[:900], filter_min=1000)
    assert not index.filtered
    index.add(models[900:])
    assert index.filtered
    index.save(str(tmp_path / "index.faiss"))
    task = rng.standard_normal(8).astype(np.float32)
    for codes_saved in (True, False):  # read back, or rebuilt when the file is gone
        loaded = ModelIndex.load(str(tmp_path / "index.faiss"), filter_min=1000)
        assert loaded.filtered
        np.testing.assert_array_equal(loaded.search(task[None], 5)[1][0], brute_top(models, task, 5))
        if codes_saved:
            codes_path(tmp_path / "index.faiss").unlink()


def test_saved_codes_are_read_not_rebuilt_and_stale_ones_are_rebuilt(tmp_path, monkeypatch):
    from fennec.space import index as index_module

    rng = np.random.default_rng(4)
    models = rng.standard_normal((1200, 12)).astype(np.float32)
    task = rng.standard_normal(12).astype(np.float32)
    ModelIndex(models, filter_min=1000, threads=2).save(str(tmp_path / "index.faiss"))
    assert codes_path(tmp_path / "index.faiss").is_file()
    built = []
    build = index_module._CodeFilter.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        build(self, *args, **kwargs)

    monkeypatch.setattr(index_module._CodeFilter, "__init__", counted)
    loaded = ModelIndex.load(str(tmp_path / "index.faiss"), filter_min=1000)
    assert loaded.filtered and not built and len(loaded._filter.shards) == 2
    np.testing.assert_array_equal(loaded.search(task[None], 7)[1][0], brute_top(models, task, 7))
    # codes of another zoo beside this index (a crash between two writes, a copied file): rebuilt
    ModelIndex(models[:1100], filter_min=1000).save(str(tmp_path / "other.faiss"))
    codes_path(tmp_path / "other.faiss").replace(codes_path(tmp_path / "index.faiss"))
    again = ModelIndex.load(str(tmp_path / "index.faiss"), filter_min=1000)
    assert built and again._filter.size == len(models)
    np.testing.assert_array_equal(again.search(task[None], 7)[1][0], brute_top(models, task, 7))


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
        index = ModelIndex(models, filter_min=1000)
    assert not index.filtered
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
    with pytest.raises(Exception, match="expected a flat FAISS index"):
        ModelIndex.load(str(tmp_path / "index.faiss"))
    space = types.SimpleNamespace(path_=str(tmp_path), model_ids_=[f"m{i}" for i in range(300)],
                                  model_vectors_=models)
    index = load_index(space)
    task = rng.standard_normal(8).astype(np.float32)
    np.testing.assert_array_equal(index.search(task[None], 5)[1][0], brute_top(models, task, 5))
