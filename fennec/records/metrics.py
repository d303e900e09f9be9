"""What a record's metric says: which way is better, and which metric speaks for a dataset.

Published tables report accuracies, mAP and transferability scores (higher is better) next to error rates and
losses (lower is better). Everything that ranks or learns from records reads them oriented, higher is better, so
an error-rate benchmark is neither dropped nor ranked upside down. The direction comes from the metric's name:

- an explicit ``higher_better`` / ``higher_is_better`` / ``lower_better`` / ``lower_is_better`` decides;
- otherwise the first lower-is-better word decides: one of :data:`LOWER_IS_BETTER` (``error``, ``loss``, ``mse``,
  ``fid``, ...), a word that contains ``err`` or ``loss`` (``top5error``, ``errorrate``, ``logloss``), or
  the start of a phrase of :data:`LOWER_PHRASES` (``false_positive_rate``, ``mean_rank``); it is read the other
  way after a negation anywhere before it (``neg_log_loss``, ``top1_acc_derived_as_100_minus_error``) or before a
  gain word (``error_reduction``);
- anything else (``top1_acc``, ``map``, ``oracle_finetune_acc_pct``, ``logme``, ``parc``) is higher-is-better.

Which metrics are percentages (or fractions) of a whole, and so lie in [0, 100], also comes from the name
(:func:`is_percent_metric`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

#: Protocol of a result on the model's own pre-training task (ImageNet top-1 of ImageNet weights): model metadata,
#: not a transfer record.
PRETRAIN = "pretrain"
#: The protocols a record may carry: fine-tuning and linear-probe results (transfer), results on the model's own
#: pre-training data, and cheap scores computed by ``fennec score-zoo``.
PROTOCOLS = ("finetune", "linear_probe", PRETRAIN, "score")


@functools.lru_cache(maxsize=1)
def _scorer_names() -> frozenset[str]:
    from fennec.scores import list_scorers

    return frozenset(list_scorers())


def is_cheap_metric(metric: str) -> bool:
    """True for forward-pass scores (``parc``, ``logme``, ...) as ``fennec score-zoo`` names them."""
    return metric in _scorer_names()


def is_transfer(record: Any) -> bool:
    """A transfer result: not a cheap score and not a result on the model's own pre-training data."""
    return not is_cheap_metric(record.metric) and getattr(record, "protocol", "finetune") not in (PRETRAIN, "score")


#: Words that make a metric lower-is-better (error rates, losses, divergences, calibration and ranking errors).
LOWER_IS_BETTER = frozenset({"error", "errors", "err", "loss", "nll", "mse", "rmse", "mae", "perplexity", "ece",
                             "mce", "wer", "cer", "eer", "fid", "brier", "fpr", "fpr95", "bpd", "kl", "divergence",
                             "crossentropy", "xent", "miss", "regret"})
#: Word parts that make a metric lower-is-better inside a longer word (``top5error``, ``errorrate``, ``logloss``).
LOWER_STEMS = ("err", "loss")
#: Words that turn the meaning of what follows (``neg_log_loss``, ``100_minus_error``, ``negative_mse``).
NEGATIONS = frozenset({"neg", "negative", "minus"})
#: Words after a lower-is-better word that make the whole a gain (``error_reduction``).
GAINS = frozenset({"reduction", "decrease", "drop", "improvement", "gain"})
#: Phrases that make a lower-is-better reading of the words next to them (``false_positive_rate``, ``mean_rank``).
LOWER_PHRASES = ("false_positive", "false_negative", "miss_rate", "mean_rank", "bits_per_dim", "cross_entropy")


def _words(metric: str) -> list[str]:
    # "100-error": a number alone before a hyphen is a subtraction (in "top1-err" the 1 belongs to a word)
    text = re.sub(r"(?:^|(?<=[^a-z0-9.]))(\d+(?:\.\d+)?)\s*-\s*", r"\1 minus ", metric.lower())
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


@functools.lru_cache(maxsize=4096)  # called for every record read; a store holds a handful of metric names
def higher_is_better(metric: str) -> bool:
    """Whether larger values of ``metric`` are better (see the module docstring for the rules)."""
    words = _words(metric)
    joined = "_".join(words)
    for phrase, answer in (("higher_is_better", True), ("higher_better", True), ("lower_is_better", False),
                           ("lower_better", False)):
        if phrase in joined:
            return answer
    for i, w in enumerate(words):
        lower = w in LOWER_IS_BETTER or any(stem in w for stem in LOWER_STEMS)
        lower = lower or any(phrase.startswith(w + "_") and joined.find(phrase) >= 0 for phrase in LOWER_PHRASES)
        if lower:
            flipped = any(v in NEGATIONS for v in words[:i]) or any(v in GAINS for v in words[i + 1:])
            return flipped
    return True


#: Words of a metric that is a share of the test set, in percent or as a fraction: accuracies, mAP, IoU, F1 (and
#: the error rates of a top-k accuracy, ``top1_error``).
PERCENT_WORDS = frozenset({"acc", "accuracy", "top1", "top5", "map", "iou", "miou", "f1", "pct", "percent",
                           "percentage"})
#: Words that make a metric a difference of shares (``acc_gain``, ``top1_delta``), which may be negative.
DIFFERENCE_WORDS = GAINS | {"delta", "diff", "difference", "change"}


@functools.lru_cache(maxsize=4096)
def is_percent_metric(metric: str) -> bool:
    """Whether ``metric`` is a share in [0, 100] (or [0, 1] as a fraction): one of its words is an accuracy
    word (:data:`PERCENT_WORDS`, or a word that starts or ends with ``acc`` or starts with ``top1``/``top5``,
    as ``top1acc``), and none makes it a difference (:data:`DIFFERENCE_WORDS`)."""
    words = _words(metric)
    if any(w in DIFFERENCE_WORDS for w in words):
        return False
    return any(w in PERCENT_WORDS or w.startswith(("acc", "top1", "top5")) or w.endswith("acc") for w in words)


def oriented(value: float, metric: str) -> float:
    """``value`` with higher meaning better: negated for a lower-is-better metric (ranks and z-scores keep their
    meaning; the scale is the metric's own)."""
    return float(value) if higher_is_better(metric) else -float(value)


def main_metric(records: Iterable[Any]) -> str:
    """The metric that speaks for one (benchmark, dataset): the one most of its models have a record of; on a tie
    a higher-is-better one (the number a table headlines), then the first by name, so the choice never depends on
    the records' order.

    Raises:
        ValueError: no records.
    """
    models: dict[str, set[str]] = {}
    for r in records:
        models.setdefault(r.metric, set()).add(r.model)
    if not models:
        raise ValueError("main_metric: no records")
    counts = Counter({m: len(v) for m, v in models.items()})
    return min(counts, key=lambda m: (-counts[m], not higher_is_better(m), m))


def main_metric_records(records: Iterable[Any]) -> list[Any]:
    """The records that speak for their (benchmark, dataset): those of its :func:`main_metric`, chosen among its
    transfer records (:func:`is_transfer`; all its records when it has none). What the evaluation takes as ground
    truth and what the transfer space and ``fennec-nmf`` learn from."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in records:
        groups.setdefault((r.benchmark, r.dataset), []).append(r)
    out = []
    for rows in groups.values():
        speaking = [r for r in rows if is_transfer(r)] or rows
        metric = main_metric(speaking)
        out += [r for r in speaking if r.metric == metric]
    return out
