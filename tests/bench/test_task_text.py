"""bench/task_text.py: bad options are one-line errors with exit code 2, found before any evaluation."""

from __future__ import annotations

import json

from tests.bench.script_errors import one_line_error


def _report(values: list[float]) -> dict:
    return {"per_dataset": {f"d{i}": {"weighted_tau": v} for i, v in enumerate(values)},
            "mean": {"weighted_tau": sum(values) / len(values)}}


def test_the_table_of_a_result_file_prints(bench_script, tmp_path, capsys):
    script = bench_script("task_text")
    reps = {v: _report([0.1 * i, 0.2, 0.3 + 0.1 * i]) for i, v in enumerate((*script.VIEWS, "prior"))}
    path = tmp_path / "task_text.json"
    path.write_text(json.dumps({"views": script.VIEWS, "results": {"sfda_supervised": reps}}))
    assert script.main(["--table", str(path)]) == 0
    assert "| sfda_supervised | 0.167 |" in capsys.readouterr().out


def test_a_table_that_is_no_result_file_is_a_one_line_error(bench_script, tmp_path, capsys):
    script = bench_script("task_text")
    not_json, a_list, no_views = tmp_path / "a.txt", tmp_path / "b.json", tmp_path / "c.json"
    not_json.write_text("{ half a file")
    a_list.write_text("[1, 2]")
    no_views.write_text(json.dumps({"results": {"sfda_supervised": {"card": _report([0.5])}}}))
    cases = {"does not exist": tmp_path / "missing.json", "not JSON": not_json,
             "not a result file of bench/task_text.py (expected": a_list, "a report for each of card": no_views,
             "is not a file": tmp_path, "--table: empty path": ""}
    for match, path in cases.items():
        assert script.main(["--table", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "task_text"), err


def test_bad_run_options_exit_2_before_any_evaluation(bench_script, shipped_store_file, tmp_path, capsys,
                                                     no_evaluation, afile):
    script = bench_script("task_text")
    out = tmp_path / "t.json"
    store = ["--store", str(shipped_store_file)]
    cases = {"did you mean sfda_supervised": [*store, "--benchmark", "sfda_supervise", "--out", str(out)],
             "--benchmark 'nope': unknown": [*store, "--benchmark", "nope", "--out", str(out)],
             "is a directory": [*store, "--out", str(tmp_path)],
             "is a file, not a folder": [*store, "--out", str(afile / "t.json")],
             "no such store; create it with `fennec records init --store": [
                 "--store", str(tmp_path / "typo.sqlite"), "--out", str(out)]}
    for match, argv in cases.items():
        assert script.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "task_text"), err
    assert not out.exists() and not (tmp_path / "typo.sqlite").exists()
