"""bench/source_affinity.py on a planted zoo: one source is built to be best on one target only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def planted():
    """3 architectures x 4 sources on 4 targets; 'birds' is 3 points worse everywhere but 6 better on 'cub'."""
    rng = np.random.default_rng(0)
    sources, targets = ["imagenet", "birds", "dogs", "cars"], ["cub", "pets", "flowers", "aircraft"]
    records, models = [], {}
    for a, arch_level in enumerate([60.0, 70.0, 80.0]):
        for s in sources:
            mid = f"m:{a}/{s}"
            models[mid] = SimpleNamespace(architecture=f"arch{a}", pretraining=f"supervised on {s}")
            for t in targets:
                value = arch_level + rng.normal(0, 0.5) + (-3.0 if s == "birds" else 0.0)
                value += 9.0 if (s, t) == ("birds", "cub") else 0.0
                records.append(SimpleNamespace(model=mid, dataset=t, value=value, metric="top1_acc", benchmark="b"))
    return records, models


def test_the_planted_specialist_needs_a_swing_no_other_target_shows(bench_script):
    script = bench_script("source_affinity")
    records, models = planted()
    sources, targets, z = script.affinity_table(records, models)
    birds, cub = sources.index("supervised on birds"), targets.index("cub")
    assert z[birds, cub] > 1.5 and np.all(np.delete(z[birds], cub) < -1.0)
    rows = {r["target"]: r for r in script.lodo_rows(sources, targets, z)}
    assert rows["cub"]["best_source"] == "supervised on birds"
    assert rows["cub"]["needed_swing"] > 3.0 > rows["cub"]["in_fold_max_swing"]
    # any other target held out, the birds-on-cub swing is in the fold
    assert rows["pets"]["in_fold_max_pair"] == ["supervised on birds", "cub"]


def test_bad_benchmarks_and_a_single_source_are_one_line_errors(bench_script, shipped_store_file, tmp_path, capsys):
    from tests.bench.script_errors import one_line_error

    script = bench_script("source_affinity")
    out = tmp_path / "a.json"
    store = ["--store", str(shipped_store_file)]
    cases = {"'nosuch'": [*store, "--benchmark", "nosuch", "--out", str(out)],
             "only one pre-training source": [*store, "--benchmark", "sfda_supervised", "--out", str(out)],
             "is a directory": [*store, "--out", str(tmp_path)],
             "no such store": ["--store", str(tmp_path / "typo.sqlite"), "--out", str(out)]}
    for match, argv in cases.items():
        assert script.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "source_affinity"), err
    assert not out.exists() and not (tmp_path / "typo.sqlite").exists()
