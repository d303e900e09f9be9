"""Rankings as a table: ids are printed whole, however long (a cut id is one a user copies and cannot find)."""

from __future__ import annotations

from fennec.commands._ranking_output import render


def _result(models: list[str]) -> dict:
    ranking = [{"rank": i + 1, "model": m, "score": 1.0 - i, "accuracy_range": None, "nearest_tasks": [],
                "cold_start": False} for i, m in enumerate(models)]
    return {"task": "t", "nearest_tasks": [], "ranking": ranking}


def test_long_model_ids_are_printed_whole_and_columns_stay_aligned() -> None:
    long_id = "hf:SyedMujtabaHassanRizvi/convnext-tiny-finetuned-eurosat-albumentations"
    text = render([_result(["timm:resnet50.a1_in1k", long_id])], "table", single=True)
    rows = [line for line in text.splitlines() if line.lstrip()[:1].isdigit()]
    assert long_id in rows[1] and len(long_id) > 52
    assert rows[0].index("1.000") == rows[1].index("0.000")  # one width for the column
