"""A space trained on records without any text (tasks without cards, models pre-trained alike) says so: in
train's summary, and in recommend's explanation, which blamed the task's class names (a probe)."""

from __future__ import annotations

import json
from pathlib import Path

ROWS = """benchmark,model,dataset,metric,value,source
mybench,resnet50,leaves,top1,86.6,me
mybench,resnet101,leaves,top1,85.6,me
mybench,googlenet,leaves,top1,82.7,me
mybench,resnet50,rocks,top1,92,me
mybench,resnet101,rocks,top1,93,me
mybench,googlenet,rocks,top1,88,me
mybench,resnet50,fungi,top1,75,me
mybench,resnet101,fungi,top1,76,me
mybench,googlenet,fungi,top1,70,me
"""


def test_a_space_without_text_says_so_in_train_and_recommend(tmp_path: Path, run_cli) -> None:
    store, space = tmp_path / "s.sqlite", tmp_path / "space"
    (tmp_path / "r.csv").write_text(ROWS)
    assert run_cli("records", "init", "--empty", "--store", store)[0] == 0
    code, _, err = run_cli("records", "ingest", tmp_path / "r.csv", "--store", store)
    assert code == 0, err
    code, _, err = run_cli("train", "--store", store, "--out", space, "--no-warm-start", "--epochs", 5)
    assert code == 0, err
    assert "note: the space reads no task text" in err
    code, out, err = run_cli("recommend", "--classes", "cat,dog", "--space", space, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["nearest_tasks"] == [] and result["no_nearest_tasks"].startswith("the space reads no task text")
