"""bench/real_benchmark.py: the zoo's ids and the task a model pre-trained on two sources learns from."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest


def _manifest(root: Path, name: str, make_folder: Any, classes: dict) -> None:
    folder = make_folder(root / name, classes, per_class=3, size=8)
    with open(folder / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "split"])
        for c in classes:
            for i in range(3):
                w.writerow([f"{c}/{i}.png", c, "test" if i == 0 else "train"])


def test_two_sources_make_one_task_with_their_labels_apart(tmp_path: Path, make_folder: Any, bench_script) -> None:
    rb = bench_script("real_benchmark")
    _manifest(tmp_path, "a", make_folder, {"red": (200, 0, 0), "blue": (0, 0, 200)})
    _manifest(tmp_path, "b", make_folder, {"red": (250, 0, 0)})
    task = rb._merged_task(tmp_path, ("a", "b"))
    assert sorted(task.class_names) == ["a/blue", "a/red", "b/red"]  # "red" of b is not "red" of a
    assert task.n_examples == 9 and set(task.split_names) == {"test", "train"}
    assert rb._merged_task(tmp_path, ("a",)).n_classes == 2


def test_zoo_ids_are_the_checkpoints_then_the_imagenet_models(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    (tmp_path / "zoo").mkdir()
    for name in ("b-icons.pt", "a-emoji.pt"):
        (tmp_path / "zoo" / name).write_bytes(b"")
    assert rb.zoo_ids(tmp_path) == ["local:zoo/a-emoji.pt", "local:zoo/b-icons.pt", *rb.IMAGENET]


def test_a_report_over_seeds_averages_each_target_and_spans_the_mean(bench_script) -> None:
    rb = bench_script("real_benchmark")

    def rep(a: float | None, b: float) -> dict:
        taus = [t for t in (a, b) if t is not None]
        return {"per_dataset": {"a": {"weighted_tau": a}, "b": {"weighted_tau": b}},
                "mean": {"weighted_tau": sum(taus) / len(taus)}}

    out = rb.over_seeds({0: rep(0.2, 0.4), 1: rep(0.6, 0.8), 2: rep(None, 0.3)})
    assert out["seeds"] == [0, 1, 2]
    assert out["per_target"]["a"] == 0.4  # the seed where it is undefined is left out, not counted as 0
    assert abs(out["per_target"]["b"] - 0.5) < 1e-12
    assert (out["min"], out["max"]) == (0.3, 0.7) and abs(out["mean"] - (0.3 + 0.7 + 0.3) / 3) < 1e-12


def test_a_report_ranks_only_targets_every_model_has_ground_truth_on(bench_script) -> None:
    rb = bench_script("real_benchmark")
    rows = [{"benchmark": "ft", "model": m, "dataset": "a"} for m in ("x", "y")]
    rows += [{"benchmark": "ft", "model": "x", "dataset": "b"}, {"benchmark": "lp", "model": "y", "dataset": "b"}]
    # b lacks y's fine-tuning record (y's linear probe there is another benchmark); c has no record at all
    assert rb.complete_targets(rows, ["x", "y"], ["a", "b", "c"], "ft") == {"a"}
    assert rb.complete_targets(rows, ["x"], ["a", "b", "c"], "ft") == {"a", "b"}


def test_the_tables_compare_fennec_with_each_baseline_target_by_target(tmp_path: Path, capsys: Any,
                                                                       bench_script: Any) -> None:
    rb = bench_script("real_benchmark")

    def rep(values: dict[str, float]) -> dict:
        return {"seeds": [0, 1], "per_target": values, "mean": sum(values.values()) / len(values),
                "min": 0.0, "max": 1.0}

    targets = ("a", "b", "c", "d")
    results = {"lodo": {"fennec": rep(dict(zip(targets, (0.5, 0.6, 0.7, 0.8), strict=True))),
                        "prior": rep(dict(zip(targets, (0.4, 0.5, 0.8, 0.6), strict=True))),
                        "random": rep(dict(zip(targets, (0.0, 0.1, 0.0, 0.1), strict=True)))}}
    text = rb.tables(results)
    assert "| fennec | 0.500 | 0.600 | 0.700 | 0.800 | 0.650 | 0.000 - 1.000 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| prior | +"))
    assert row.startswith("| prior | +0.075 [") and row.endswith("| 3 / 1 |")  # (0.1 + 0.1 - 0.1 + 0.2) / 4
    assert "| random | +" not in text  # random is a floor, not a baseline the comparison is about

    (tmp_path / "fennec_real_finetune.json").write_text(json.dumps(results))
    assert rb.main(["table", "--out", str(tmp_path / "real_records.csv")]) == 0
    assert capsys.readouterr().out.strip() == text.strip()
    assert rb.main(["table", "--out", str(tmp_path / "none" / "real_records.csv")]) == 2
    # the report against the mean of the runs is another file, not this one's tables again
    assert rb.main(["table", "--ground-truth", "mean", "--out", str(tmp_path / "real_records.csv")]) == 2
    assert "fennec_real_finetune_mean_of_runs.json not found" in capsys.readouterr().err
    (tmp_path / "fennec_real_finetune_mean_of_runs.json").write_text(json.dumps(
        {"_ground_truth": {"lodo": "fennec_real_finetune, mean of 2 runs (finetune_seed0, finetune_seed1)"},
         **results}))
    assert rb.main(["table", "--ground-truth", "mean", "--out", str(tmp_path / "real_records.csv")]) == 0
    assert "against fennec_real_finetune, mean of 2 runs" in capsys.readouterr().out
    assert rb.main(["status"]) == 2  # every other stage needs the tasks' folder
    assert "needs --root DIR" in capsys.readouterr().err


def test_a_model_not_yet_swept_waits_outside_the_report(bench_script) -> None:
    rb = bench_script("real_benchmark")
    rows = [{"model": m, "dataset": t, "benchmark": "ft"} for m in ("x", "y") for t in ("a", "b")]
    rows += [{"model": "new", "dataset": "a", "benchmark": "lp"}]  # probed, not yet fine-tuned
    zoo = rb.ranked_zoo(rows, ["x", "y", "new"], "ft")
    assert zoo == ["x", "y"]
    assert rb.complete_targets(rows, zoo, ["a", "b"], "ft") == {"a", "b"}  # the targets are not held back
    rows += [{"model": "new", "dataset": "a", "benchmark": "ft"}]  # once swept on one target, it is ranked there
    zoo = rb.ranked_zoo(rows, ["x", "y", "new"], "ft")
    assert zoo == ["x", "y", "new"] and rb.complete_targets(rows, zoo, ["a", "b"], "ft") == {"a"}


def test_report_results_are_kept_as_they_finish_and_dropped_when_their_inputs_change(tmp_path: Path,
                                                                                     bench_script: Any) -> None:
    rb = bench_script("real_benchmark")
    path, calls = tmp_path / "cache.json", []

    def compute() -> dict:
        calls.append(1)
        return {"mean": {"weighted_tau": 0.5}}

    first = rb.ResultCache(path, ["records", "code"]).get(["lodo", "fennec", 0], compute)
    again = rb.ResultCache(path, ["records", "code"])  # a new process: the report resumes
    assert again.get(["lodo", "fennec", 0], compute) == first == {"mean": {"weighted_tau": 0.5}} and len(calls) == 1
    again.get(["lodo", "fennec", 1], compute)  # another seed is another entry
    assert len(calls) == 2
    rb.ResultCache(path, ["other records", "code"]).get(["lodo", "fennec", 0], compute)  # new inputs: computed again
    assert len(calls) == 3
    path.write_text("{")  # a damaged cache is only a cache
    rb.ResultCache(path, ["records", "code"]).get(["lodo", "fennec", 0], compute)
    assert len(calls) == 4
    assert len(rb.code_hash()) == 64
    # two reports at once (one per ground truth): neither loses the other's results
    path.unlink()
    one, two = rb.ResultCache(path, ["a"]), rb.ResultCache(path, ["b"])
    one.get(["lodo"], compute)
    two.get(["lomo"], compute)
    assert len(json.loads(path.read_text())) == 2 and len(calls) == 6
    rb.ResultCache(path, ["a"]).get(["lodo"], compute)
    assert len(calls) == 6


def test_tables_say_when_the_protocols_come_from_different_inputs(bench_script: Any) -> None:
    rb = bench_script("real_benchmark")
    rep = {"seeds": [0], "per_target": {"a": 0.5}, "mean": 0.5, "min": 0.5, "max": 0.5}
    same = {"lodo": {"fennec": rep}, "lomo": {"fennec": rep}, "_inputs": {"lodo": "x", "lomo": "x"}}
    assert "different inputs" not in rb.tables(same)
    assert "different inputs" in rb.tables({**same, "_inputs": {"lodo": "x", "lomo": "y"}})
    assert "_inputs" not in rb.tables(same)  # not a protocol


def _records_csv(path: Path, values: dict[tuple[str, str], float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["benchmark", "model", "dataset", "metric", "value", "source"])
        for (model, target), v in values.items():
            w.writerow(["fennec_real_finetune", model, target, "finetune_top1_acc_pct", v, "test"])


def test_noise_compares_a_replicate_run_with_the_ground_truth_target_by_target(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    truth = {("m1", "a"): 50.0, ("m2", "a"): 60.0, ("m3", "a"): 70.0, ("m1", "b"): 10.0, ("m2", "b"): 20.0,
             ("m3", "b"): 30.0, ("m1", "c"): 1.0, ("m2", "c"): 2.0, ("m3", "c"): 3.0}
    _records_csv(tmp_path / "real_records_x.csv", truth)
    # a: the same order, each 2 points higher; b: the order turned round; c: m3 not fine-tuned again yet.
    # The replicate comes in two parts, as a sweep split over two processes writes it
    _records_csv(tmp_path / "replicates" / "finetune_seed1_here.csv", {("m1", "a"): 52.0, ("m2", "a"): 62.0,
                                                                       ("m1", "b"): 30.0, ("m1", "c"): 2.0})
    _records_csv(tmp_path / "replicates" / "finetune_seed1_imagenet.csv", {("m3", "a"): 72.0, ("m2", "b"): 20.0,
                                                                           ("m3", "b"): 10.0, ("m2", "c"): 1.0})
    out = rb.noise(tmp_path, tmp_path / "replicates")
    run = out["runs"]["finetune_seed1"]
    assert set(out["runs"]) == {"finetune_seed1"} and set(run["per_target"]) == {"a", "b"}
    assert run["partial"] == {"c": 2}  # left out of the mean until its whole zoo has a second run
    a, b = run["per_target"]["a"], run["per_target"]["b"]
    assert a["weighted_tau"] == pytest.approx(1.0) and a["mean_abs_diff"] == pytest.approx(2.0)
    assert b["weighted_tau"] == pytest.approx(-1.0) and b["pearson"] == pytest.approx(-100.0)
    assert run["mean"]["weighted_tau"] == pytest.approx(0.0) and a["n_models"] == 3
    table = rb.noise_table(out)
    assert "| finetune_seed1 | mean |  | 0.000 |" in table and "c (2 models done)" in table


def test_a_pair_fine_tuned_in_two_parts_of_a_replicate_is_reported(tmp_path: Path, bench_script, capsys) -> None:
    rb = bench_script("real_benchmark")
    _records_csv(tmp_path / "finetune_seed1_here.csv", {("m1", "a"): 1.0, ("m2", "a"): 2.0})
    _records_csv(tmp_path / "finetune_seed1_imagenet.csv", {("m1", "a"): 5.0, ("m3", "a"): 3.0})
    runs = rb.replicate_runs(tmp_path)
    assert runs == {"finetune_seed1": {("m1", "a"): 5.0, ("m2", "a"): 2.0, ("m3", "a"): 3.0}}
    assert "finetune_seed1_imagenet.csv gives 1 pair(s)" in capsys.readouterr().err


def test_noise_leaves_a_target_of_constant_accuracy_undefined(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    truth = {(m, "a"): 50.0 for m in ("m1", "m2", "m3")} | {("m1", "b"): 1.0, ("m2", "b"): 2.0, ("m3", "b"): 3.0}
    _records_csv(tmp_path / "real_records_x.csv", truth)
    _records_csv(tmp_path / "replicates" / "finetune_seed2.csv", truth)
    run = rb.noise(tmp_path, tmp_path / "replicates")["runs"]["finetune_seed2"]
    assert run["per_target"]["a"]["weighted_tau"] is None  # not NaN, and not in the mean
    assert run["mean"]["weighted_tau"] == pytest.approx(1.0)


def test_a_replicate_is_kept_out_of_the_records_the_report_trains_on(tmp_path: Path, bench_script, capsys) -> None:
    rb = bench_script("real_benchmark")
    assert rb.main(["sweep", "--root", str(tmp_path), "--ft-seed", "1", "--out",
                    str(rb.RESULTS / "real_records_seed1.csv")]) == 2
    assert "the report does not" in capsys.readouterr().err
    assert rb.main(["noise", "--ft-seed", "-1"]) == 2
    assert "expected a seed >= 0" in capsys.readouterr().err
    rb.REPLICATES = tmp_path / "none"  # no replicate yet: a one-line error, not an empty table
    assert rb.main(["noise"]) == 2
    assert "--ft-seed 1" in capsys.readouterr().err


def test_noise_with_three_runs_ranks_each_run_against_the_others_mean(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    _records_csv(tmp_path / "real_records_x.csv", {("m1", "a"): 1.0, ("m2", "a"): 2.0, ("m3", "a"): 3.0})
    _records_csv(tmp_path / "replicates" / "finetune_seed1.csv", {("m1", "a"): 2.0, ("m2", "a"): 3.0, ("m3", "a"): 4.0})
    out = rb.noise(tmp_path, tmp_path / "replicates")
    assert out["leave_one_run_out"]["per_target"] == {}  # two runs: one comparison, no mean of others
    assert "vs the others' mean" not in rb.noise_table(out)
    # the tenth seed sorts after the second, by number
    _records_csv(tmp_path / "replicates" / "finetune_seed10.csv", {("m1", "a"): 3.0, ("m2", "a"): 4.0,
                                                                   ("m3", "a"): 5.0})
    out = rb.noise(tmp_path, tmp_path / "replicates")
    assert list(out["runs"]) == ["finetune_seed1", "finetune_seed10"]
    loro = out["leave_one_run_out"]
    assert loro["runs"] == ["finetune_seed0", "finetune_seed1", "finetune_seed10"] and loro["left_out"] == []
    assert loro["per_target"]["a"]["mean_abs_diff"] == pytest.approx(1.0)
    assert "| one of 3 runs vs the others' mean | mean |  | 1.000 |" in rb.noise_table(out)
    # a fourth run under way is left out of the comparison with the others' mean instead of emptying it
    _records_csv(tmp_path / "replicates" / "finetune_seed3.csv", {("m1", "a"): 3.0})
    loro = rb.noise(tmp_path, tmp_path / "replicates")["leave_one_run_out"]
    assert loro["left_out"] == ["finetune_seed3"] and loro["per_target"]["a"]["mean_abs_diff"] == pytest.approx(1.0)


def test_the_prior_trained_on_one_run_is_judged_on_another(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    first = {(m, t): v for t in ("a", "b", "c") for m, v in (("m1", 1.0), ("m2", 2.0), ("m3", 3.0))}
    turned = {(m, t): -v for (m, t), v in first.items()}
    assert rb.prior_lodo(first, first) == pytest.approx(1.0)  # the other targets' order is the held-out one's
    assert rb.prior_lodo(turned, first) == pytest.approx(-1.0)
    _records_csv(tmp_path / "real_records_x.csv", first)
    _records_csv(tmp_path / "replicates" / "finetune_seed1.csv", turned)
    prior = rb.noise(tmp_path, tmp_path / "replicates")["prior_lodo"]
    assert prior["finetune_seed1 -> first run"] == pytest.approx(-1.0)
    assert prior["finetune_seed0 -> first run"] == pytest.approx(1.0)
    assert "mean -> mean" in prior and "| finetune_seed1 -> first run | -1.000 |" in rb.noise_table(
        rb.noise(tmp_path, tmp_path / "replicates"))


def test_the_mean_ground_truth_averages_the_complete_runs_and_nothing_else(tmp_path: Path, bench_script) -> None:
    rb = bench_script("real_benchmark")
    ft = "fennec_real_finetune"
    rows = [{"benchmark": ft, "model": m, "dataset": "a", "metric": "top1", "value": v, "source": "sweep"}
            for m, v in (("m1", "10"), ("m2", "20"))]
    rows += [{"benchmark": ft, "model": "m1", "dataset": "b", "metric": "top1", "value": "5", "source": "sweep"},
             {"benchmark": "fennec_real_linear_probe", "model": "m1", "dataset": "a", "metric": "top1",
              "value": "7", "source": "sweep"}]
    pairs = {("m1", "a"), ("m2", "a")}  # b is not ranked yet: its record trains as it is
    reps = {"finetune_seed1": {("m1", "a"): 14.0, ("m2", "a"): 30.0},
            "finetune_seed2": {("m1", "a"): 99.0}}  # still under way: left out, named
    out, runs = rb.mean_of_runs(rows, reps, pairs, ft)
    assert runs == ["finetune_seed0", "finetune_seed1"]
    assert [float(r["value"]) for r in out] == [12.0, 25.0, 5.0, 7.0]
    assert out[0]["source"] == "mean of 2 runs (finetune_seed0, finetune_seed1)" and out[2]["source"] == "sweep"
    assert float(rows[0]["value"]) == 10.0  # the rows read are left as they were
    from fennec.validation import FennecInputError

    with pytest.raises(FennecInputError, match="--ft-seed 1"):
        rb.mean_of_runs(rows, {"finetune_seed2": reps["finetune_seed2"]}, pairs, ft)


def test_a_report_on_the_mean_trains_and_judges_on_the_averaged_records(tmp_path: Path, bench_script,
                                                                         monkeypatch) -> None:
    rb = bench_script("real_benchmark")
    truth = {(m, t): v for t in ("a", "b") for m, v in (("m1", 10.0), ("m2", 20.0), ("m3", 30.0))}
    _records_csv(tmp_path / "real_records_x.csv", truth)
    _records_csv(tmp_path / "replicates" / "finetune_seed1.csv", {k: v + 2.0 for k, v in truth.items()})
    _records_csv(tmp_path / "replicates" / "finetune_seed2.csv", {("m1", "a"): 0.0})  # under way: left out
    monkeypatch.setattr(rb, "_tasks", lambda root, role: [{"name": "a"}, {"name": "b"}])
    monkeypatch.setattr(rb, "zoo_ids", lambda root: ["m1", "m2", "m3"])
    stored = []

    class StoreBuiltError(Exception):
        pass

    def build_store(root: Path, rows: list, path: Path) -> Path:
        stored.extend(rows)
        raise StoreBuiltError  # the store is what the space trains on and the harness judges against: enough to check

    monkeypatch.setattr(rb, "build_store", build_store)
    with pytest.raises(StoreBuiltError):
        rb.report(tmp_path, tmp_path, tmp_path / "out.json", ground_truth="mean", replicates=tmp_path / "replicates")
    assert {(r["model"], r["dataset"]): float(r["value"]) for r in stored} == {k: v + 1.0 for k, v in truth.items()}
    assert {r["source"] for r in stored} == {"mean of 2 runs (finetune_seed0, finetune_seed1)"}
    from fennec.validation import FennecInputError

    with pytest.raises(FennecInputError, match="ground_truth"):
        rb.report(tmp_path, tmp_path, tmp_path / "out.json", ground_truth="median")


def test_zero_threads_and_another_scripts_json_are_one_line_errors(tmp_path: Path, capsys: Any,
                                                                   bench_script: Any) -> None:
    from tests.bench.script_errors import one_line_error

    rb = bench_script("real_benchmark")
    out = ["--out", str(tmp_path / "real_records.csv")]
    for threads in ("0", "-1"):
        assert rb.main(["table", "--threads", threads, *out]) == 2
        err = capsys.readouterr().err
        assert f"--threads: expected a positive integer, got {threads}" in err
        assert one_line_error(err, "real_benchmark"), err
    report = tmp_path / "fennec_real_finetune.json"
    for other in ({"logme_tllib": {"lodo": {"fennec": {"mean": {}}}}}, [1, 2], {"lodo": {}}):
        report.write_text(json.dumps(other))
        assert rb.main(["table", *out]) == 2
        err = capsys.readouterr().err
        assert "not a report of bench/real_benchmark.py" in err and one_line_error(err, "real_benchmark"), err
    report.write_text("{ half")
    assert rb.main(["table", *out]) == 2
    assert "(not JSON: " in capsys.readouterr().err
