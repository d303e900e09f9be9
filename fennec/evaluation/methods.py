"""Ranking methods and the interface every method implements (baselines now, the learned transfer space later).

The method interface
--------------------
A method is a class registered in :data:`METHODS` (``@METHODS.register("name")``) whose constructor takes only
keyword hyper-parameters (scikit-learn style). The harness creates a fresh instance per fold and calls::

    method.fit(train: Sequence[Record], context: FitContext) -> method
    method.score(task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray   # shape (M,) or (D, M)

- ``train`` holds every record the method may learn from (all benchmarks, fields ``model``, ``dataset``
  (canonical task name), ``benchmark``, ``metric``, ``value``). Under ``lodo`` no record of the held-out dataset is
  in it, in any benchmark or alias spelling; under ``lomo`` no record of the held-out models is in it.
- ``context`` (:class:`FitContext`) says which benchmark is evaluated, which of its datasets are training
  datasets, and gives metadata: ``context.models`` (every model's architecture and pre-training text, including
  the held-out models of ``lomo``) and ``context.tasks`` (task cards of the visible tasks; never the held-out
  dataset's card in ``lodo``). Normalisation statistics must be computed from ``train`` only.
- ``score`` is called once per target dataset with that dataset's task card (name, class names, description,
  size) -- under ``lodo`` a dataset the method has never seen -- and the models to rank (:class:`ModelInfo`:
  ``id``, ``architecture``, ``pretraining``). It returns one score per model, higher = better transfer; NaN means
  "cannot score this model" (the harness ranks NaN last, tied). A stochastic method may return D draws of shape
  (D, M); every metric is then averaged over the draws.

Baselines: ``prior`` (each model's mean published fine-tuned result over the evaluated benchmark's training
datasets), ``random`` (seeded, 100 draws), ``imagenet`` (ImageNet top-1 where the records give it), ``params``
(parameter count of the architecture, for cold start).

The transfer-space package registers ``fennec`` / ``fennec-nmf`` here when imported. :data:`METHODS` imports
:mod:`fennec.space.methods` itself the first time a name is missing or all names are listed, so
``evaluate(..., "fennec")`` works without importing it first, while ``import fennec.evaluation`` stays free of the
space (and of torch).

Example (a learned method)::

    from fennec.evaluation.methods import METHODS, FitContext, Method
    from fennec.records import record_matrix

    @METHODS.register("my-method")
    class MyMethod(Method):
        def __init__(self, rank: int = 5) -> None:
            self.rank = rank

        def fit(self, train, context: FitContext) -> "MyMethod":
            mine = [r for r in train if r.benchmark == context.record_benchmark]
            self.models_, self.datasets_, self.matrix_ = record_matrix(mine)   # (M, D), NaN gaps
            self.cards_ = context.tasks          # texts of the training tasks
            self.meta_ = context.models          # architecture / pre-training text of every model
            return self

        def score(self, task, models):           # task: TaskCard of a dataset maybe never seen
            return np.array([...])               # (len(models),), NaN where a model cannot be scored

    evaluate("sfda_supervised", "my-method", protocol="lodo")
"""

from __future__ import annotations

import csv
import functools
import math
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fennec.records.aliases import data_dir
from fennec.records.cards import TaskCard
from fennec.records.metrics import oriented
from fennec.records.record import ModelInfo, Record
from fennec.registry import Registry
from fennec.validation import check_positive_int


@dataclass(frozen=True)
class FitContext:
    """What a method knows besides its training records.

    Attributes:
        benchmark: Evaluated benchmark (``sfda_supervised``; ``transfergraph``).
        record_benchmark: The benchmark label its records carry in the store (``transfergraph_records``).
        protocol: ``lodo``, ``lomo`` or ``none``.
        train_datasets: The evaluated benchmark's datasets the method may learn from (held-out dataset removed).
        models: Metadata of every model in the store, by id (cold-start models included).
        tasks: Task cards of the tasks visible in training, by canonical name (held-out dataset removed).
        seed: Seed for anything random.
        held_out_models: Under ``lomo``, the ids of the models whose records are hidden.
    """

    benchmark: str
    record_benchmark: str
    protocol: str
    train_datasets: tuple[str, ...]
    models: Mapping[str, ModelInfo] = field(default_factory=dict)
    tasks: Mapping[str, TaskCard] = field(default_factory=dict)
    seed: int = 0
    held_out_models: tuple[str, ...] = ()


class Method:
    """Base class of ranking methods (see the module docstring for the contract)."""

    def fit(self, train: Sequence[Record], context: FitContext) -> Method:
        """Learn from ``train``; return self."""
        self.context_ = context
        return self

    def score(self, task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray:
        """Scores of shape (M,) or (D, M) for ``models`` on ``task``; higher is better, NaN = unknown."""
        raise NotImplementedError


#: The method registry: name -> Method subclass. The space's methods live in a higher layer, imported on demand.
METHODS: Registry[type[Method]] = Registry("method", plugins=("fennec.space.methods",))


def create_method(name: str, **params: Any) -> Method:
    """A fresh instance of the method registered as ``name`` with hyper-parameters ``params``.

    Raises:
        UnknownNameError: listing close matches, if ``name`` is not registered.
        FennecInputError: if that method does not accept one of ``params``.
    """
    method: Method = METHODS.create(name, **params)
    return method


@METHODS.register("prior")
class PriorMethod(Method):
    """Each model's mean published result over the evaluated benchmark's training datasets (REFERENCE.md section 3),
    higher is better (an error rate counts negated).

    Only the evaluated benchmark's own records count: benchmarks report on different scales and protocols (e.g.
    SFDA's and LogME's tables differ for the same pairs), so they are never mixed.
    """

    def fit(self, train: Sequence[Record], context: FitContext) -> PriorMethod:
        allowed = set(context.train_datasets)
        sums: dict[str, list[float]] = defaultdict(list)
        for r in train:
            if r.benchmark == context.record_benchmark and r.dataset in allowed:
                sums[r.model].append(oriented(r.value, r.metric))
        self.mean_ = {m: float(np.mean(v)) for m, v in sums.items()}
        self.context_ = context
        return self

    def score(self, task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray:
        return np.array([self.mean_.get(m.id, math.nan) for m in models], dtype=np.float64)


@METHODS.register("random")
class RandomMethod(Method):
    """Uniform random scores, ``n_draws`` draws per dataset; seeded by the context seed and the task name.

    Args:
        n_draws: Number of random rankings the metrics are averaged over.
    """

    def __init__(self, n_draws: int = 100) -> None:
        self.n_draws = n_draws

    def score(self, task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray:
        n_draws = check_positive_int(self.n_draws, "n_draws")
        seed = getattr(getattr(self, "context_", None), "seed", 0)
        # One stream per (task, model): the draws do not depend on evaluation order or on the lomo folds.
        task_key = zlib.crc32(task.name.encode())
        cols = [np.random.default_rng([seed, task_key, zlib.crc32(m.id.encode())]).random(n_draws)
                for m in models]
        return np.stack(cols, axis=1) if cols else np.zeros((n_draws, 0))


@METHODS.register("imagenet")
class ImageNetMethod(Method):
    """ImageNet top-1 accuracy from the training records (``dataset == imagenet``, a top-1 metric); NaN if none."""

    def fit(self, train: Sequence[Record], context: FitContext) -> ImageNetMethod:
        acc: dict[str, float] = {}
        for r in train:
            if r.dataset != "imagenet":
                continue
            metric = r.metric.lower()
            if "top1" in metric and "acc" in metric:
                acc[r.model] = r.value
            elif "top1" in metric and "err" in metric:
                acc.setdefault(r.model, 100.0 - r.value)
        self.top1_ = acc
        self.context_ = context
        return self

    def score(self, task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray:
        return np.array([self.top1_.get(m.id, math.nan) for m in models], dtype=np.float64)


@functools.lru_cache(maxsize=2)
def _param_table(path: str) -> dict[str, int]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["architecture"]: int(r["n_params"]) for r in csv.DictReader(fh)}


def param_count(architecture: str) -> float:
    """Parameter count of an architecture: the shipped table ``data/aliases/params.csv`` (the published
    benchmarks' architectures), else counted the way that table was, from timm (NaN if timm cannot build it)."""
    known = _param_table(str(data_dir() / "aliases" / "params.csv")).get(architecture)
    return float(known) if known is not None else counted_params(architecture)


@functools.cache
def counted_params(architecture: str) -> float:
    """Sum of parameter sizes of a timm architecture with a 1000-class head, built on the meta device (no memory,
    no weights); NaN for a name timm cannot build."""
    import timm
    import torch

    if not architecture:
        return math.nan
    try:
        with torch.device("meta"):
            model = timm.create_model(architecture, pretrained=False, num_classes=1000)
    except Exception:  # an unknown name, or one timm cannot build without downloads: the count is unknown
        return math.nan
    return float(sum(p.numel() for p in model.parameters()))


@METHODS.register("params")
class ParamsMethod(Method):
    """Bigger is better: the architecture's parameter count (needs only metadata, so it works for cold start)."""

    def score(self, task: TaskCard, models: Sequence[ModelInfo]) -> np.ndarray:
        return np.array([param_count(m.architecture) for m in models], dtype=np.float64)
