"""bench/space_eval.py: the README's numbers come from it, so its seed must reach the harness."""

from __future__ import annotations

import json

from tests.bench.script_errors import one_line_error


def test_seed_draws_other_cold_start_folds_and_repeats_itself(shipped_store_file, tmp_path, bench_script):
    script = bench_script("space_eval")

    def run(seed: int, name: str) -> dict:
        out = tmp_path / name
        argv = ["--benchmark", "sfda_supervised", "--protocol", "lomo", "--methods", "random", "params",
                "--store", str(shipped_store_file), "--seed", str(seed), "--out", str(out)]
        assert script.main(argv) == 0
        return json.loads(out.read_text())["sfda_supervised"]["lomo"]

    first, again, other = run(1, "a.json"), run(1, "b.json"), run(2, "c.json")
    assert first["random"]["per_dataset"] == again["random"]["per_dataset"]
    assert first["random"]["per_dataset"] != other["random"]["per_dataset"]
    # the parameter count is a fixed score: the folds it is pooled from do not change it
    assert first["params"]["mean"] == other["params"]["mean"]


def test_the_seeds_table_averages_each_dataset_over_the_seeds_before_comparing(bench_script):
    script = bench_script("space_eval")

    def rep(values: list[float]) -> dict:
        return {"per_dataset": {f"d{i}": {"weighted_tau": v} for i, v in enumerate(values)},
                "mean": {"weighted_tau": sum(values) / len(values)}}

    runs = [{"sfda_supervised": {"lomo": {"fennec": rep([0.5, 0.7, 0.9]), "params": rep([0.6, 0.6, 0.6])}}},
            {"sfda_supervised": {"lomo": {"fennec": rep([0.3, 0.5, 0.7]), "params": rep([0.6, 0.6, 0.6])}}}]
    row = script.seeds_table(runs).splitlines()[2]
    # fennec's per-dataset means over the seeds are 0.4, 0.6, 0.8: one dataset lost, one tied, one won
    assert row.startswith("| sfda_supervised | 0.700 ; 0.500 | 0.600 | 0.600 | +0.000 [")
    assert row.endswith("| 1 / 1 |")


def test_the_seeds_table_wants_distinct_seeds_and_compares_the_datasets_every_run_has(bench_script):
    import pytest

    script = bench_script("space_eval")

    def rep(values: dict, seed: int) -> dict:
        return {"per_dataset": {d: {"weighted_tau": v} for d, v in values.items()},
                "mean": {"weighted_tau": sum(values.values()) / len(values)}, "seed": seed}

    params = {"a": 0.4, "b": 0.8, "c": 0.0}

    def run(seed: int, values: dict) -> dict:
        return {"sfda_supervised": {"lomo": {"fennec": rep(values, seed), "params": rep(params, seed)}}}

    uneven = [run(0, {"a": 0.5, "b": 0.7, "c": 0.9}), run(1, {"a": 0.5, "b": 0.7})]
    # only a and b, which both runs have, are compared (c would be one more won): one won, one lost
    assert script.seeds_table(uneven).splitlines()[2].endswith("| 1 / 1 |")
    with pytest.raises(script.FennecInputError, match="repeat seed"):
        script.seeds_table([run(0, {"a": 0.5}), run(0, {"a": 0.6})])


def test_versus_compares_fennec_in_two_result_files_dataset_by_dataset(bench_script, tmp_path):
    import json

    script = bench_script("space_eval")

    def run(values: list[float]) -> dict:
        rep = {"per_dataset": {f"d{i}": {"weighted_tau": v} for i, v in enumerate(values)},
               "mean": {"weighted_tau": sum(values) / len(values)}}
        return {"logme_tllib": {"lodo": {"fennec": rep}}}

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(run([0.5, 0.7, 0.9])))
    second.write_text(json.dumps(run([0.6, 0.6, 0.6]) | {"transfergraph": {"lodo": {"prior": {}}}}))
    row = script.runs_table(json.loads(first.read_text()), json.loads(second.read_text())).splitlines()[2]
    # per dataset -0.1, +0.1, +0.3: two won, one lost; the benchmark only one file has fennec on is not compared
    assert row.startswith("| logme_tllib | lodo | weighted_tau | 0.700 | 0.600 | +0.100 [")
    assert row.endswith("| 2 / 1 |")
    assert script.main(["--versus", str(first), str(second)]) == 0
    # several files a side (runs at --seed 0, 1, ...): each side's datasets averaged over its runs first
    third = tmp_path / "c.json"
    third.write_text(json.dumps(run([0.7, 0.9, 1.0])))
    seeds = script.runs_table([json.loads(first.read_text()), json.loads(third.read_text())],
                              [json.loads(second.read_text())]).splitlines()[2]
    # first side (0.6, 0.8, 0.95) against 0.6 each: 0.0, +0.2, +0.35; the tie counts neither won nor lost
    assert seeds.startswith("| logme_tllib | lodo | weighted_tau | 0.783 | 0.600 | +0.183 [")
    assert seeds.endswith("| 2 / 0 |")
    assert script.main(["--versus", f"{first},{third}", str(second)]) == 0


def test_bad_result_files_and_params_are_one_line_errors_with_exit_2(bench_script, tmp_path, capsys):
    script = bench_script("space_eval")
    not_json = tmp_path / "broken.json"
    not_json.write_text("{ half a file")
    cases = {"no such result file": ["--versus", str(tmp_path / "nowhere.json"), str(not_json)],
             "not JSON": ["--table", str(not_json)],
             "expected KEY=VALUE": ["--fennec-param", "learned_scale", "--out", str(tmp_path / "o.json")],
             "did you mean learned_scale": ["--fennec-param", "lerned_scale=0", "--out", str(tmp_path / "o.json")]}
    for match, argv in cases.items():
        assert script.main(argv) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


def test_a_param_value_that_is_not_json_is_read_as_text(bench_script):
    script = bench_script("space_eval")
    assert script.parse_params(["baseline_weight=spread", 'description="drop"', "learned_scale=0.5",
                                "benchmark_scales=false"]) == {"baseline_weight": "spread", "description": "drop",
                                                               "learned_scale": 0.5, "benchmark_scales": False}


def test_bad_run_options_exit_2_before_anything_is_evaluated_or_written(bench_script, shipped_store_file, tmp_path,
                                                                        capsys, no_evaluation, afile):
    script = bench_script("space_eval")
    out = tmp_path / "o.json"
    store = ["--store", str(shipped_store_file)]
    cases = {"--threads: expected a positive integer, got 0": ["--threads", "0", "--out", str(out)],
             "--threads: expected a positive integer, got -1": ["--threads", "-1", "--out", str(out)],
             "is a file, not a folder": ["--out", str(afile / "x.json")],
             "is a directory": ["--out", str(tmp_path)],
             "--out: empty path": ["--out", ""],
             "--seed: expected an integer in [0, ": ["--seed", "-1", "--out", str(out)],
             "did you mean sfda_supervised": [*store, "--benchmark", "sfda_supervise", "--out", str(out)],
             "--benchmark 'nope': unknown": [*store, "--benchmark", "nope", "--out", str(out)],
             "--methods: unknown method 'fenec'; did you mean fennec": [*store, "--methods", "fenec", "--out",
                                                                       str(out)],
             "no such store; create it with `fennec records init --store": [
                 "--store", str(tmp_path / "typo.sqlite"), "--out", str(out)]}
    for match, argv in cases.items():
        assert script.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "space_eval"), err
    assert not out.exists() and not (tmp_path / "x.json").exists()
    assert not (tmp_path / "typo.sqlite").exists()  # a typo is not a new store of the shipped records


def test_a_benchmark_the_store_has_no_records_of_is_refused_up_front(bench_script, tmp_path, capsys):
    from fennec.records import RecordStore

    script = bench_script("space_eval")
    empty = tmp_path / "empty.sqlite"
    RecordStore(empty, seed=False).close()
    out = tmp_path / "o.json"
    assert script.main(["--store", str(empty), "--benchmark", "sfda_supervised", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no records labelled 'sfda_supervised'" in err and one_line_error(err, "space_eval")
    assert not out.exists()


def test_a_run_that_fails_midway_is_named_and_makes_the_exit_code_1(bench_script, shipped_store_file, tmp_path,
                                                                     capsys, monkeypatch):
    """A method failing mid-run was a "skipped" line and exit code 0, so a script over seeds took it for done."""
    import fennec.evaluation

    script = bench_script("space_eval")
    real = fennec.evaluation.evaluate

    def flaky(bench, method, protocol, **kw):
        if method == "params":
            raise RuntimeError("out of memory")
        return real(bench, method, protocol, **kw)

    monkeypatch.setattr(fennec.evaluation, "evaluate", flaky)
    out = tmp_path / "r.json"
    argv = ["--benchmark", "sfda_supervised", "--protocol", "lomo", "--methods", "random", "params",
            "--store", str(shipped_store_file), "--out", str(out)]
    assert script.main(argv) == 1
    err = capsys.readouterr().err
    assert "sfda_supervised lomo params: failed (RuntimeError: out of memory)" in err
    assert err.strip().splitlines()[-1] == f"1 run(s) failed and are not in {out}: sfda_supervised lomo params"
    assert list(json.loads(out.read_text())["sfda_supervised"]["lomo"]) == ["random"]  # the others are kept


def test_other_scripts_files_and_empty_comparisons_are_refused_and_never_overwritten(bench_script, tmp_path,
                                                                                      capsys, no_evaluation):
    script = bench_script("space_eval")
    other = tmp_path / "task_text.json"
    other.write_text(json.dumps({"results": {"logme_tllib": {"text": {"mean": {}}}}}))
    kept = other.read_text()
    rep = {"per_dataset": {"d0": {"weighted_tau": 0.5}}, "mean": {"weighted_tau": 0.5}}
    lodo, lomo, empty = tmp_path / "lodo.json", tmp_path / "lomo.json", tmp_path / "empty.json"
    lodo.write_text(json.dumps({"logme_tllib": {"lodo": {"fennec": rep}}}))
    lomo.write_text(json.dumps({"logme_tllib": {"lomo": {"fennec": rep}}}))
    empty.write_text("{}")
    cases = {"not a result file of bench/space_eval.py": ["--out", str(other)],
             "not a benchmark": ["--table", str(other)],
             "nothing to compare": ["--versus", str(lodo), str(lomo)],
             "no runs": ["--seeds-table", str(empty)],
             "expected runs of one protocol": ["--seeds-table", str(lodo), str(lomo)],
             "--fennec-param: dim: expected a positive integer, got -3": ["--fennec-param", "dim=-3", "--out",
                                                                         str(tmp_path / "o.json")]}
    for match, argv in cases.items():
        assert script.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "space_eval"), err
    assert other.read_text() == kept and not (tmp_path / "o.json").exists()
