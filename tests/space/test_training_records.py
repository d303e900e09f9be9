"""Which records the space trains on (fennec.space.training_records): one copy of each published number, no
results on a model's own pre-training data, reprinting benchmarks, the manifest's hash, the accuracy ranges."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fennec.records import Record
from fennec.space.training_records import (
    benchmark_aliases,
    records_hash,
    result_history,
    usable_records,
)


def test_exact_duplicate_records_across_benchmarks_count_once(world):
    records, _, _ = world
    copies = [replace(r, benchmark="copycat") for r in records]
    kept, dropped = usable_records(records + copies)
    assert len(kept) == len(records) and len(dropped) == len(records)
    assert set(dropped) == {("planted", "copycat")}  # the first benchmark by name keeps its records
    # cheap scores that happen to equal each other, or an accuracy, are no copies: every one is kept
    r = records[0]
    scores = [replace(r, benchmark="scores", metric=m, protocol="score") for m in ("parc", "logme")]
    kept, dropped = usable_records([r, *scores])
    assert len(kept) == 3 and dropped == []


def test_results_on_the_models_own_pretraining_data_are_not_learned(store):
    """torchvision's ImageNet top-1 table (protocol pretrain): neither its errors nor the derived accuracies."""
    from fennec.records.metrics import PRETRAIN

    recs = store.records()
    kept, _ = usable_records(recs)
    assert any(r.protocol == PRETRAIN for r in recs)
    assert kept and not any(r.protocol == PRETRAIN or r.benchmark == "torchvision_imagenet" for r in kept)


def test_non_finite_results_are_not_usable():
    ok = Record(model="m", dataset="d", benchmark="b", metric="top1_acc", value=80.0)
    bad = [replace(ok, model=f"m{i}", value=v) for i, v in enumerate((float("nan"), float("inf")))]
    assert usable_records([ok, *bad])[0] == [ok]


def test_a_benchmark_is_an_alias_only_when_most_of_it_is_copies(world):
    records, _, _ = world
    half = len(records) // 2
    reprint = [replace(r, benchmark="reprint") for r in records[: half + 1]]
    reprint += [replace(r, benchmark="reprint", value=r.value + 1.0) for r in records[half + 1:]]
    shares = [replace(r, benchmark="shares") for r in records[:2]]
    shares += [replace(r, benchmark="shares", value=r.value + 2.0) for r in records[2:]]
    assert benchmark_aliases(*usable_records(records + reprint + shares)) == {"reprint": "planted"}


def test_records_hash_is_order_free_and_sees_every_value(world):
    records, _, _ = world
    h = records_hash(records)
    assert records_hash(list(reversed(records))) == h
    assert records_hash([replace(records[0], value=records[0].value + 1e-9), *records[1:]]) != h
    assert records_hash(records[1:]) != h


def test_history_keeps_accuracies_in_percent_and_leaves_out_errors_and_scores():
    acc = Record(model="a", dataset="x", benchmark="b", metric="top1_acc", value=81.0)
    frac = Record(model="a", dataset="y", benchmark="b", metric="top1_acc_fraction", value=0.5)
    again = replace(acc, benchmark="c", value=83.0)
    err = Record(model="b", dataset="x", benchmark="b", metric="top1_err", value=20.0)
    score = Record(model="b", dataset="y", benchmark="b", metric="parc", value=0.3, protocol="score")
    h = result_history([acc, frac, again, err, score], ["a", "b"], ["x", "y"])
    np.testing.assert_allclose(h[0], [82.0, 50.0])  # the mean of two papers' runs; a fraction as percent
    assert np.isnan(h[1]).all()


def test_history_leaves_out_regression_scores_and_failed_runs_and_reads_units_per_table():
    """A probe found "published (%)" ranges of -384.6-75.0 (Model Spider's regression scores of utkface) and
    1.0-92.0 (TransferGraph's runs that failed at chance on Food-101, which training sets aside)."""
    models = [f"m{i}" for i in range(40)]
    regression = [Record(model="m0", dataset="age", benchmark="b",
                         metric="regression_finetune_score_as_given_higher_better", value=-384.6)]
    # a table in fractions: 39 runs near 0.8 and one that failed at chance (0.0099, i.e. 0.99 %, not 99 %)
    fractions = [Record(model=m, dataset="food", benchmark="tg", metric="test_accuracy",
                        value=0.0099 if m == "m0" else 0.80 + 0.001 * i) for i, m in enumerate(models)]
    h = result_history(regression + fractions, models, ["age", "food"])
    assert np.isnan(h[:, 0]).all()  # not an accuracy: no range
    assert np.isnan(h[0, 1])  # the failed run is set aside, as sigma clipping does in training
    np.testing.assert_allclose(h[1:, 1], [80.0 + 0.1 * i for i in range(1, 40)])


def test_history_leaves_out_runs_at_chance_even_when_most_runs_failed():
    """TransferGraph's Food-101 table holds 0.99 % (chance for 101 classes) for most of its models: sigma
    clipping keeps those, so chance is what sets them aside."""
    models = [f"m{i}" for i in range(40)]
    recs = [Record(model=m, dataset="food", benchmark="tg", metric="test_accuracy",
                   value=0.0099 if i < 30 else 0.85 + 0.001 * i) for i, m in enumerate(models)]
    h = result_history(recs, models, ["food"], [101])[:, 0]
    assert np.isnan(h[:30]).all()
    np.testing.assert_allclose(h[30:], [85.0 + 0.1 * i for i in range(30, 40)])
    assert np.isfinite(result_history(recs, models, ["food"])[:, 0]).sum() == 40  # classes unknown: no chance level
