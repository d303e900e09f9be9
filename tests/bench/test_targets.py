"""bench/targets.py on planted records: one benchmark's groups hold a failed run, the other's do not."""

from __future__ import annotations

import numpy as np

from fennec.records.record import Record


def planted() -> list[Record]:
    """Benchmark "ft": 3 datasets x 30 models, a failed run on dataset d0; benchmark "small": 2 datasets x 6."""
    rng = np.random.default_rng(0)
    out = []
    for d in range(3):
        for m in range(30):
            value = 5.0 if (d, m) == (0, 7) else 80.0 + 2.0 * rng.standard_normal()
            out.append(Record(model=f"m{m}", dataset=f"d{d}", benchmark="ft", metric="top1_acc", value=value))
    for d in range(2):
        for m in range(6):
            out.append(Record(model=f"m{m}", dataset=f"e{d}", benchmark="small", metric="top1_acc",
                              value=70.0 + m + rng.standard_normal()))
    return out


def test_the_failed_run_is_counted_and_held_at_the_bound(bench_script):
    table = bench_script("targets").outlier_table(planted())
    assert table["ft"]["groups"] == 3 and table["ft"]["groups_beyond_3sd"] == 1
    assert (table["ft"]["held_low"], table["ft"]["held_high"]) == (1, 0)
    assert table["ft"]["median_largest_abs_z"] < 3  # the two clean groups outvote the failed run's
    assert table["small"]["groups_beyond_3sd"] == 0 and table["small"]["held_low"] == 0


def test_the_standardised_prior_averages_each_models_targets_over_the_training_datasets(bench_script):
    from fennec.evaluation.methods import FitContext
    from fennec.records.cards import TaskCard
    from fennec.records.record import ModelInfo

    script = bench_script("targets")
    records = planted()
    ctx = FitContext(benchmark="ft", record_benchmark="ft", protocol="lodo", train_datasets=("d0", "d1"),
                     models={}, tasks={}, seed=0)
    prior = script.standardised_prior("z")().fit(records, ctx)
    rows, z = script.standardised([r for r in records if r.benchmark == "ft" and r.dataset != "d2"], "z")
    want = np.mean([zz for r, zz in zip(rows, z, strict=True) if r.model == "m3"])
    got = prior.score(TaskCard(name="d2"), [ModelInfo(id="m3", name="m3", architecture="", pretraining="")])
    assert got[0] == want


def test_the_spread_weighted_prior_weighs_each_training_dataset_by_its_relative_spread(bench_script):
    """Dataset d1 stretched 10 times around its mean: its weight is 10 times d0's (their clipped spreads), so
    the prior is the weighted mean of each model's z-scores, not the plain one."""
    from dataclasses import replace

    from fennec.evaluation.methods import FitContext
    from fennec.records.cards import TaskCard
    from fennec.records.record import ModelInfo

    script = bench_script("targets")
    records = [r for r in planted() if r.benchmark == "ft" and r.dataset != "d2" and r.model != "m7"]
    records = [replace(r, value=80.0 + 10.0 * (r.value - 80.0)) if r.dataset == "d1" else r for r in records]
    rows, z, weights = script.standardised(records, "clipped", spread=True)
    w = {r.dataset: ww for r, ww in zip(rows, weights, strict=True)}
    np.testing.assert_allclose(w["d1"] / w["d0"], np.std([r.value for r in records if r.dataset == "d1"])
                               / np.std([r.value for r in records if r.dataset == "d0"]), rtol=1e-9)
    ctx = FitContext(benchmark="ft", record_benchmark="ft", protocol="lodo", train_datasets=("d0", "d1"),
                     models={}, tasks={}, seed=0)
    prior = script.standardised_prior("clipped", spread=True)().fit(records, ctx)
    mine = [(zz, ww) for r, zz, ww in zip(rows, z, weights, strict=True) if r.model == "m3"]
    want = sum(zz * ww for zz, ww in mine) / sum(ww for _, ww in mine)
    got = prior.score(TaskCard(name="d2"), [ModelInfo(id="m3", name="m3", architecture="", pretraining="")])
    np.testing.assert_allclose(got[0], want, rtol=1e-12)
    assert not np.isclose(want, np.mean([zz for zz, _ in mine]))


def test_bad_out_and_store_exit_2_before_the_tables(bench_script, tmp_path, capsys, no_evaluation, afile):
    script = bench_script("targets")
    cases = {"is a directory": ["--out", str(tmp_path)],
             "is a file, not a folder": ["--out", str(afile / "t.json")],
             "--out: empty path": ["--out", ""],
             "no such store; create it with `fennec records init --store": [
                 "--store", str(tmp_path / "typo.sqlite"), "--out", str(tmp_path / "t.json")],
             "not a fennec SQLite store": ["--store", str(afile), "--out", str(tmp_path / "t.json")]}
    for match, argv in cases.items():
        assert script.main(argv) == 2, argv
        captured = capsys.readouterr()
        err = captured.err
        assert match in err and err.startswith("targets: error: ") and err.count("\n") == 1, err
        assert captured.out == ""  # no table printed before the error
    assert not (tmp_path / "typo.sqlite").exists() and not (tmp_path / "t.json").exists()
