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


def test_a_dash_in_the_range_column_is_explained_once() -> None:
    """The README's example showed "-" on every row with no word on why (a probe)."""
    res = _result(["timm:a", "timm:b", "timm:c"])
    res["nearest_tasks"] = [{"task": "cub200", "similarity": 0.96}, {"task": "nabird", "similarity": 0.95}]
    res["ranking"][0]["accuracy_range"] = [80.0, 85.0]
    res["ranking"][2]["cold_start"] = True
    lines = render([res], "table", single=True).splitlines()
    assert [ln.split()[-1] for ln in lines[2:5]] == ["80.0-85.0", "-", "start"]
    assert lines[5] == ("(-: no published accuracy of the model on cub200, nabird; its score comes from its records "
                        "on other tasks)")
    res["ranking"][1]["accuracy_range"] = [70.0, 71.0]  # no dash left: no note
    assert "(-:" not in render([res], "table", single=True)
