"""What a record's metric says: which way is better, and which metric speaks for a dataset.

Published tables report accuracies, mAP and transferability scores (higher is better) next to error rates and
losses (lower is better). Everything that ranks or learns from records reads them oriented, higher is better, so
an error-rate benchmark is neither dropped nor ranked upside down. The direction comes from the metric's name:

- an explicit ``higher_better`` / ``higher_is_better`` / ``lower_better`` / ``lower_is_better`` decides;
- otherwise a word of :data:`LOWER_IS_BETTER` (``error``, ``err``, ``loss``, ``mse``, ...) makes it lower-is-better,
  unless it follows ``minus`` (``top1_acc_derived_as_100_minus_error`` is an accuracy);
- anything else (``top1_acc``, ``map``, ``oracle_finetune_acc_pct``, ``logme``, ``parc``) is higher-is-better.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

#: Words that make a metric lower-is-better (error rates, losses, regression errors, calibration error).
LOWER_IS_BETTER = frozenset({"error", "errors", "err", "loss", "nll", "mse", "rmse", "mae", "perplexity", "ece",
                             "wer", "cer"})


def _words(metric: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", metric.lower()) if w]


def higher_is_better(metric: str) -> bool:
    """Whether larger values of ``metric`` are better (see the module docstring for the rules)."""
    words = _words(metric)
    joined = "_".join(words)
    for phrase, answer in (("higher_is_better", True), ("higher_better", True), ("lower_is_better", False),
                           ("lower_better", False)):
        if phrase in joined:
            return answer
    return not any(w in LOWER_IS_BETTER and (i == 0 or words[i - 1] != "minus") for i, w in enumerate(words))


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
