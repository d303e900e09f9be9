"""The space and the authors' recipe as harness methods (``fennec``, ``fennec-nmf``)."""

from __future__ import annotations

import numpy as np
import pytest

import fennec.space.methods  # noqa: F401  (registers the methods)
from fennec.evaluation.methods import METHODS, FitContext, create_method


def _context(models, tasks, held_out):
    return FitContext(benchmark="planted", record_benchmark="planted", protocol="lodo",
                      train_datasets=tuple(t for t in tasks if t != held_out), models=models,
                      tasks={k: v for k, v in tasks.items() if k != held_out}, seed=0)


def test_methods_are_registered():
    assert "fennec" in METHODS and "fennec-nmf" in METHODS


@pytest.mark.parametrize("name", ["fennec", "fennec-nmf"])
def test_method_scores_every_model_of_an_unseen_task(world, name):
    records, models, tasks = world
    held_out = "dogs"
    params = {"epochs": 100, "val_fraction": 0.0} if name == "fennec" else {}
    method = create_method(name, **params).fit([r for r in records if r.dataset != held_out],
                                                _context(models, tasks, held_out))
    infos = [models[m] for m in sorted(models)]
    scores = method.score(tasks[held_out], infos)
    assert scores.shape == (len(infos),) and np.isfinite(scores).all()


def test_fennec_ranks_the_planted_specialist_first(world):
    records, models, tasks = world
    held_out = "flowers"
    method = create_method("fennec", epochs=150, val_fraction=0.0).fit(
        [r for r in records if r.dataset != held_out], _context(models, tasks, held_out))
    infos = [models[m] for m in sorted(models)]
    scores = method.score(tasks[held_out], infos)
    assert infos[int(np.argmax(scores))].id == "test:flowers"


def test_fennec_scores_a_model_it_has_no_record_of(world):
    from fennec.records.record import ModelInfo

    records, models, tasks = world
    held_out = "cars"
    train = [r for r in records if r.dataset != held_out and r.model != "test:cars"]
    method = create_method("fennec", epochs=150, val_fraction=0.0).fit(train, _context(models, tasks, held_out))
    newcomer = ModelInfo(id="test:new_cars", name="new", architecture="",
                         pretraining="supervised pre-training on photos of car models")
    scores = method.score(tasks[held_out], [models["test:food"], newcomer])
    assert np.isfinite(scores).all() and scores[1] > scores[0]


@pytest.mark.parametrize("name", ["fennec", "fennec-nmf"])
def test_a_benchmark_of_one_dataset_is_a_one_line_error_naming_the_fold(empty_store, tmp_path, run_cli, name):
    """lodo on a benchmark of one dataset leaves nothing to learn from: fennec-nmf crashed inside numpy."""
    rows = ["benchmark,model,dataset,metric,value"] + [
        f"solo,timm:{m},d1,top1_acc,{v}" for m, v in (("resnet18", 80), ("resnet34", 82), ("resnet50", 85),
                                                      ("efficientnet_b0", 83))]
    (tmp_path / "solo.csv").write_text("\n".join(rows) + "\n")
    empty_store.close()
    store = str(tmp_path / "empty.sqlite")
    assert run_cli("records", "ingest", str(tmp_path / "solo.csv"), "--store", store)[0] == 0
    code, _, err = run_cli("evaluate", "--benchmark", "solo", "--method", name, "--store", store)
    assert code == 2 and err.count("\n") == 1 and "lodo with 'd1' held out: records:" in err
