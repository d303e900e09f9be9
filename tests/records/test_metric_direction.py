"""Metric direction and the metric that speaks for a dataset."""

from __future__ import annotations

import pytest

from fennec.records import Record
from fennec.records.metrics import higher_is_better, is_percent_metric, main_metric, oriented


@pytest.mark.parametrize("metric", ["finetune_top1_acc", "finetune_voc07_11pt_mAP", "oracle_finetune_acc_pct",
                                    "test_accuracy_fraction_0_1", "imagenet_top1_acc_derived_as_100_minus_error",
                                    "regression_finetune_score_as_given_higher_better", "parc", "logme",
                                    "finetune_acc_metric_unstated", "Top-1 Accuracy", "neg_log_loss",
                                    "neg_mean_squared_error", "error_reduction", "100-error", "1 - error",
                                    "acc_100_minus_top1_error", "balanced_accuracy", "AUROC", "leep", "nce",
                                    "hscore", "gbc", "transrate", "f1-score", "mean_per_class_acc", "psnr"])
def test_higher_is_better(metric):
    assert higher_is_better(metric)
    assert oriented(71.5, metric) == 71.5


@pytest.mark.parametrize("metric", ["imagenet_top1_error_1crop_224", "top1_err", "Top-1 Error (%)", "test_loss",
                                    "val-nll", "rmse", "age_MAE", "score_lower_is_better", "errors_pct", "top1err",
                                    "top5error", "errorrate", "top1-err", "top-5 error", "cross_entropy", "logloss",
                                    "brier", "fid", "fpr95", "false_positive_rate", "miss_rate", "ECE",
                                    "bits_per_dim", "kl_divergence", "mean_rank"])
def test_lower_is_better(metric):
    assert not higher_is_better(metric)
    assert oriented(28.5, metric) == -28.5


def rec(model: str, metric: str, value: float = 1.0) -> Record:
    return Record(model=model, dataset="d", benchmark="b", metric=metric, value=value)


def test_main_metric_covers_most_models_then_prefers_the_headline():
    assert main_metric([rec("a", "map"), rec("b", "map"), rec("a", "top1_acc")]) == "map"
    # a table of errors and the accuracies derived from them: one tie, always the accuracy, in any order
    rows = [rec(m, "top1_error", 20.0) for m in "abc"] + [rec(m, "top1_acc_derived_as_100_minus_error", 80.0)
                                                           for m in "abc"]
    assert main_metric(rows) == main_metric(rows[::-1]) == "top1_acc_derived_as_100_minus_error"
    assert main_metric([rec("a", "zeta_acc"), rec("b", "alpha_acc")]) == "alpha_acc"
    with pytest.raises(ValueError):
        main_metric([])


def test_main_metric_records_keep_one_metric_per_dataset_among_transfer_results():
    from fennec.records.metrics import main_metric_records

    rows = [rec("a", "top1_error", 20.0), rec("a", "top1_acc", 80.0), rec("b", "top1_acc", 70.0),
            Record(model="a", dataset="d", benchmark="b", metric="myscore", value=3.0, protocol="score"),
            Record(model="a", dataset="e", benchmark="b", metric="myscore", value=3.0, protocol="score")]
    kept = main_metric_records(rows)
    # dataset d: accuracies speak (2 models), the score is no ground truth; dataset e has only a score
    assert sorted((r.dataset, r.model, r.metric) for r in kept) == [("d", "a", "top1_acc"), ("d", "b", "top1_acc"),
                                                                   ("e", "a", "myscore")]


@pytest.mark.parametrize(("metric", "share"), [
    ("finetune_top1_acc", True), ("oracle_finetune_acc_pct", True), ("finetune_voc07_11pt_mAP", True),
    ("test_accuracy_fraction_0_1", True), ("imagenet_top1_error_1crop_224", True), ("Top-1 Accuracy", True),
    ("finetune_acc_metric_unstated", True), ("mean_per_class_acc", True), ("top1acc", True),
    ("regression_finetune_score_as_given_higher_better", False), ("logme", False), ("leep", False),
    ("test_loss", False), ("top1_acc_gain", False), ("acc_delta", False)])
def test_is_percent_metric(metric, share):
    assert is_percent_metric(metric) is share
