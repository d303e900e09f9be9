"""Evaluation protocols over the records store: leave-one-dataset-out (``lodo``) and leave-models-out (``lomo``).

``lodo``: for each target dataset of a benchmark, the method is fit on every stored record except those of the
target dataset -- from any benchmark, in any alias spelling (records carry canonical task names) -- and then ranks
the benchmark's models on the target, given only its task card. Normalisation statistics can only come from the
training records, since nothing else is passed.

``lomo``: the benchmark's models are split into 5 seeded folds; for each fold every record of its models (any
benchmark, any dataset) is hidden, the method is fit on the rest, and it scores the held-out models on each of
the benchmark's datasets from their metadata alone (cold start). The out-of-fold scores of all models are pooled
per dataset and judged against the published results, so each dataset's ranking covers the whole zoo.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fennec.evaluation.methods import FitContext, Method, create_method
from fennec.evaluation.metrics import METRIC_KEYS, all_metrics
from fennec.records.cards import TaskCard
from fennec.records.metrics import higher_is_better, main_metric_records, oriented
from fennec.records.record import ModelInfo, Record
from fennec.records.store import RecordStore, default_store_path
from fennec.registry import unknown_name_message
from fennec.validation import FennecInputError, check_choice, check_positive_int, check_seed

PROTOCOLS = ("lodo", "lomo")


@dataclass(frozen=True)
class Benchmark:
    """An evaluation benchmark: a set of records (one published table) and its target datasets.

    Attributes:
        name: Name used on the command line.
        record_benchmark: The ``benchmark`` label of its records in the store.
        datasets: Target datasets (canonical names), or None for every dataset of the table. Records of other
            datasets of the table are not part of the benchmark (e.g. PARC's voc2007, off by default).
        parc: Also report PARC's Pearson x 100 on models with oracle > 0.
        parc_excluded_sources: Models whose oracle PARC's evaluation overrides to -1 (excluded from
            ``pearson_parc`` only), matched by the suffix ``/<source>`` of the model id.
        description: One line.
    """

    name: str
    record_benchmark: str
    datasets: tuple[str, ...] | None = None
    parc: bool = False
    parc_excluded_sources: tuple[str, ...] = ()
    description: str = ""


_PARC_TARGETS = ("cifar10", "pets", "cub200", "caltech101", "stanford_dogs", "nabird")

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("sfda_supervised", "sfda_supervised",
              description="11 ImageNet-supervised torchvision CNNs x 11 datasets (SFDA's table)"),
    Benchmark("logme_tllib", "logme_tllib", description="10 ImageNet CNNs x 9 datasets incl. birdsnap (LogME/TLlib)"),
    Benchmark("modelspider_single_source", "modelspider_single_source",
              datasets=("aircraft", "caltech101", "cars", "cifar10", "cifar100", "dtd", "pets", "sun397"),
              description="Model Spider's single-source table, its 8 classification datasets (regression "
              "datasets dsprites/utkface left out)"),
    Benchmark("parc_controlled", "parc_controlled", datasets=_PARC_TARGETS, parc=True,
              description="PARC's 32 controlled models x its 6 default targets (voc2007 off)"),
    # PARC's add_oracle() sets these self-supervised sources' oracle to -1, i.e. out of its Pearson.
    Benchmark("parc_external", "parc_external", datasets=_PARC_TARGETS, parc=True,
              parc_excluded_sources=("swav_imagenet", "deepclusterv2_imagenet", "npid_imagenet", "moco_imagenet",
                                     "simclr_imagenet"),
              description="PARC's 38 crowd-sourced models (with results) x its 6 default targets"),
    Benchmark("transfergraph", "transfergraph_records",
              description="TransferGraph: 180 Hugging Face models x 13 datasets, test accuracy"),
)}
_BENCHMARK_ALIASES = {"transfergraph_records": "transfergraph", "modelspider": "modelspider_single_source"}


def get_benchmark(name: str, store: RecordStore | None = None) -> Benchmark:
    """The benchmark called ``name``; any other benchmark label present in the store is accepted as is.

    Raises:
        FennecInputError: ``--benchmark 'x': unknown benchmark 'x'; did you mean ...?`` (close matches ignore
            case, as the registries' do).
    """
    name = _BENCHMARK_ALIASES.get(name, name)
    if name in BENCHMARKS:
        return BENCHMARKS[name]
    known = sorted(BENCHMARKS)
    if store is not None:
        labels = set(store.benchmarks())
        if name in labels:
            return Benchmark(name, name)
        # the built-in benchmarks this store has records of, and its own labels: not benchmarks it cannot evaluate
        known = sorted({b for b in known if BENCHMARKS[b].record_benchmark in labels} | labels)
    raise FennecInputError(f"--benchmark {name!r}: {unknown_name_message('benchmark', name, known)}")


def check_benchmarks(names: Sequence[str], store: RecordStore, *, given: bool = True) -> list[Benchmark]:
    """The benchmarks ``names``, refused up front when unknown or when ``store`` has no records of them, so that
    a run over several benchmarks fails before its first fit rather than after the ones before it.

    Args:
        names: Benchmark names, as given to ``--benchmark``.
        store: The records store the runs will read.
        given: False when ``names`` are a script's defaults rather than the user's ``--benchmark`` (the message
            then says so).

    Raises:
        FennecInputError: naming the benchmark, with the close matches or the labels the store has.
    """
    labels = set(store.benchmarks())
    out = []
    for name in names:
        bench = get_benchmark(name, store)
        if bench.record_benchmark not in labels:
            what = f"--benchmark {name!r}" if given else f"benchmark {name!r} (run by default)"
            raise FennecInputError(f"{what}: the store {str(store.path)!r} has no records labelled "
                                   f"{bench.record_benchmark!r}; ingest them, or pick others with --benchmark "
                                   f"(it has: {', '.join(sorted(labels)) or 'none'})")
        out.append(bench)
    return out


MethodSpec = str | type[Method] | Callable[[], Method]


def _factory(method: MethodSpec) -> tuple[str, Callable[[], Method]]:
    if isinstance(method, str):
        create_method(method)  # fail early on an unknown name
        return method, lambda: create_method(method)
    if not callable(method):  # an instance would be shared by every fold: each fold needs a fresh method
        raise FennecInputError(f"method: expected a registered method name, a Method class or a zero-argument "
                               f"factory, got a {type(method).__name__} instance; pass the class, or a factory "
                               "such as lambda: MyMethod(...)")
    name = getattr(method, "name", None) or getattr(method, "__name__", type(method).__name__)
    return str(name), method  # a class or a zero-argument factory


def _benchmark_records(bench: Benchmark, recs: Sequence[Record],
                       datasets: Sequence[str] | None) -> tuple[list[str], dict[str, list[Record]]]:
    """Targets and the ground-truth records of each (one per model, of the dataset's
    :func:`~fennec.records.metrics.main_metric`; their values are read oriented, higher is better)."""
    mine = [r for r in recs if r.benchmark == bench.record_benchmark]
    if not mine:
        raise FennecInputError(f"--benchmark {bench.name!r}: the store has no records labelled "
                               f"{bench.record_benchmark!r}; run `fennec records init` or ingest them")
    present = sorted({r.dataset for r in mine})
    targets = list(datasets if datasets is not None else (bench.datasets or present))
    missing = [d for d in targets if d not in present]
    if missing:
        raise FennecInputError(f"datasets {missing} have no {bench.record_benchmark!r} records (have: "
                               f"{', '.join(present)})")
    by_ds: dict[str, list[Record]] = {}
    for d in targets:
        # the ground truth is a transfer result when there is one (not a cheap score nor pre-training accuracy)
        by_ds[d] = sorted(main_metric_records(r for r in mine if r.dataset == d), key=lambda r: r.model)
    _check_rankable(bench, by_ds)
    return targets, by_ds


def _check_rankable(bench: Benchmark, by_ds: dict[str, list[Record]]) -> None:
    """Refuse targets where fewer than 2 models have a result: a ranking of one model measures nothing (every
    correlation is undefined and rel@k is 1 whatever the method), so reporting it would read as a perfect score,
    and lomo has no model to hold out against another."""
    zoo = sorted({r.model for rows in by_ds.values() for r in rows})
    if len(zoo) < 2:
        which = f"1 model ({zoo[0]})" if zoo else "no model"
        raise FennecInputError(f"--benchmark {bench.name!r}: results of {which} on its target datasets; ranking "
                               "methods needs at least 2 models (a ranking of one model measures nothing); ingest "
                               "results of more models")
    counts = {d: len({r.model for r in rows}) for d, rows in by_ds.items()}
    few = [d for d, n in counts.items() if n < 2]
    if few:
        others = [d for d in by_ds if d not in few]
        listed = ", ".join(f"{d!r} ({counts[d]} model{'' if counts[d] == 1 else 's'})" for d in few)
        fix = "ingest results of more models on " + ("it" if len(few) == 1 else "them")
        if others:
            picks = " ".join(f"--dataset {d}" for d in others[:3]) + (" ..." if len(others) > 3 else "")
            fix = f"evaluate the others ({picks}) or {fix}"
        raise FennecInputError(f"--benchmark {bench.name!r}: target dataset{'s' if len(few) > 1 else ''} {listed}: "
                               "ranking needs results of at least 2 models per dataset (a ranking of one model "
                               f"measures nothing); {fix}")


def _as_draws(scores: object, n_models: int, method: str, dataset: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_models:
        raise ValueError(f"method {method!r} returned scores of shape {np.shape(scores)} on {dataset!r}; "
                         f"expected ({n_models},) or (draws, {n_models})")
    return arr


def _fill_missing(row: np.ndarray) -> np.ndarray:
    """NaN/inf scores rank last, tied (a method that cannot score a model does not get to guess)."""
    ok = np.isfinite(row)
    if ok.all():
        return row
    if not ok.any():
        return np.zeros_like(row)
    out = row.copy()
    out[~ok] = row[ok].min() - 1.0
    return out


def score_metrics(draws: np.ndarray, gt: np.ndarray, *, parc: bool = False,
                  parc_mask: np.ndarray | None = None, higher_is_better: bool = True) -> dict[str, float]:
    """Metrics of every draw (rows of ``draws``, shape (D, M)) against ``gt`` (M,), averaged over draws; ``gt``
    oriented, ``higher_is_better`` False when that negated a lower-is-better metric (an error rate)."""
    per_draw = []
    for row in draws:
        filled = _fill_missing(row)
        m = all_metrics(filled, gt, parc=False, higher_is_better=higher_is_better)
        if parc:
            from fennec.evaluation.metrics import pearson_parc

            keep = parc_mask if parc_mask is not None else np.ones(gt.size, dtype=bool)
            m["pearson_parc"] = pearson_parc(filled[keep], gt[keep])
        per_draw.append(m)
    keys = list(per_draw[0])
    return {k: _nanmean([d[k] for d in per_draw]) for k in keys}


def _nanmean(values: Sequence[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _parc_mask(bench: Benchmark, models: Sequence[str]) -> np.ndarray:
    return np.array([not any(m.endswith("/" + s) for s in bench.parc_excluded_sources) for m in models], dtype=bool)


def _fit(factory: Callable[[], Method], train: list[Record], ctx: FitContext, what: str) -> Method:
    """A method fitted on one fold's training records; a bad-input error names the fold, since the records that
    are too few may be the fold's, not the store's."""
    try:
        return factory().fit(train, ctx)
    except FennecInputError as err:
        raise FennecInputError(f"{what}: {err}") from None


def run_lodo(store: RecordStore, bench: Benchmark, factory: Callable[[], Method], method_name: str, *,
             seed: int = 0, datasets: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Leave-one-dataset-out; returns per-dataset metrics."""
    recs = store.records()
    targets, by_ds = _benchmark_records(bench, recs, datasets)
    train_scope = list(bench.datasets or sorted({r.dataset for r in recs if r.benchmark == bench.record_benchmark}))
    meta = {m.id: m for m in store.models()}
    cards = store.task_cards(images=True)  # with the image statistics: a method may read them (the space does)
    out: dict[str, dict[str, float]] = {}
    for d in targets:
        train = [r for r in recs if r.dataset != d]
        ctx = FitContext(benchmark=bench.name, record_benchmark=bench.record_benchmark, protocol="lodo",
                         train_datasets=tuple(t for t in train_scope if t != d), models=meta,
                         tasks={k: v for k, v in cards.items() if k != d}, seed=seed)
        method = _fit(factory, train, ctx, f"lodo with {d!r} held out")
        gt_recs = by_ds[d]
        models = [meta[r.model] for r in gt_recs]
        draws = _as_draws(method.score(cards.get(d, TaskCard(name=d)), models), len(models), method_name, d)
        gt = np.array([oriented(r.value, r.metric) for r in gt_recs])
        out[d] = score_metrics(draws, gt, parc=bench.parc, parc_mask=_parc_mask(bench, [m.id for m in models]),
                               higher_is_better=higher_is_better(gt_recs[0].metric))
    return out


#: lomo's folds of held-out models when none are asked for (the harness, `fennec evaluate`, bench scripts).
LOMO_FOLDS = 5


def run_lomo(store: RecordStore, bench: Benchmark, factory: Callable[[], Method], method_name: str, *,
             seed: int = 0, n_folds: int = LOMO_FOLDS,
             datasets: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Leave-models-out (cold start), ``n_folds`` seeded folds over the benchmark's models; per-dataset metrics."""
    recs = store.records()
    targets, by_ds = _benchmark_records(bench, recs, datasets)
    zoo = sorted({r.model for rows in by_ds.values() for r in rows})
    if len(zoo) < n_folds:  # _benchmark_records saw to at least 2 models, so --folds 2 always fits
        fix = "--folds 2" if len(zoo) == 2 else f"--folds {len(zoo)} or fewer"
        raise FennecInputError(f"--benchmark {bench.name!r}: {len(zoo)} models, fewer than {n_folds} folds; "
                               f"use {fix} (each fold holds out at least one model)")
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(np.array(zoo, dtype=object)), n_folds)
    meta = {m.id: m for m in store.models()}
    cards = store.task_cards(images=True)  # with the image statistics: a method may read them (the space does)
    train_scope = tuple(bench.datasets or sorted({r.dataset for r in recs if r.benchmark == bench.record_benchmark}))
    pooled: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for fold in folds:
        held = {str(m) for m in fold}
        train = [r for r in recs if r.model not in held]
        ctx = FitContext(benchmark=bench.name, record_benchmark=bench.record_benchmark, protocol="lomo",
                         train_datasets=train_scope, models=meta, tasks=cards, seed=seed,
                         held_out_models=tuple(sorted(held)))
        method = _fit(factory, train, ctx, f"lomo with the fold of {len(held)} models {sorted(held)[:3]}"
                      f"{', ...' if len(held) > 3 else ''} held out")
        for d in targets:
            models = [meta[r.model] for r in by_ds[d] if r.model in held]
            if not models:
                continue
            draws = _as_draws(method.score(cards.get(d, TaskCard(name=d)), models), len(models), method_name, d)
            for j, m in enumerate(models):
                pooled[d][m.id] = draws[:, j]
    out: dict[str, dict[str, float]] = {}
    for d in targets:
        ids = [r.model for r in by_ds[d]]
        cols = [pooled[d][i] for i in ids]
        n_draws = {c.size for c in cols}
        if len(n_draws) != 1:
            raise ValueError(f"method {method_name!r} returned different numbers of draws across folds")
        draws = np.stack(cols, axis=1)
        gt = np.array([oriented(r.value, r.metric) for r in by_ds[d]])
        out[d] = score_metrics(draws, gt, parc=bench.parc, parc_mask=_parc_mask(bench, ids),
                               higher_is_better=higher_is_better(by_ds[d][0].metric))
    return out


def evaluate(benchmark: str, method: MethodSpec, protocol: str = "lodo", *,
             store: RecordStore | str | os.PathLike[str] | None = None,
             seed: int = 0, datasets: Sequence[str] | None = None, n_folds: int = LOMO_FOLDS) -> dict[str, Any]:
    """Evaluate one method on one benchmark.

    Args:
        benchmark: Benchmark name (``sfda_supervised``, ``logme_tllib``, ``modelspider_single_source``,
            ``parc_controlled``, ``parc_external``, ``transfergraph``, or any benchmark label in the store).
        method: A registered method name, a :class:`Method` subclass, or a zero-argument factory.
        protocol: ``lodo`` or ``lomo``.
        store: Records store, or the path of a store file (default: the user's store).
        seed: Seed passed to the method (and the lomo folds).
        datasets: Target datasets, a list of names (default: the benchmark's).
        n_folds: Folds of ``lomo`` (at least 2).

    Returns:
        ``{"benchmark", "protocol", "method", "per_dataset": {name: {"weighted_tau", "weighted_tau_ms", "pearson",
        "spearman", "rel1", "rel3"[, "pearson_parc"]}}, "mean": {same keys}}``; undefined values are None.
    """
    from fennec.evaluation.report import make_report

    check_choice(protocol, "--protocol", PROTOCOLS)
    check_seed(seed, "--seed")
    if check_positive_int(n_folds, "n_folds") < 2:
        raise FennecInputError(f"n_folds: expected an integer >= 2 (lomo holds out one fold of models and trains on "
                               f"the rest), got {n_folds!r}")
    if isinstance(datasets, str | bytes):  # iterated, a name was read as one dataset per character
        raise FennecInputError(f"datasets: expected a list of dataset names, got the string {datasets!r}; "
                               f"pass [{datasets!r}]")
    if store is not None and isinstance(store, str | os.PathLike) and not os.path.exists(store):
        # a typo would make and seed a new store of the shipped records, evaluated as if it were the caller's
        raise FennecInputError(f"store {str(store)!r}: no such store; give an existing store file, or "
                               "RecordStore(path) to make one")
    if store is None or isinstance(store, str | os.PathLike):
        with RecordStore(default_store_path() if store is None else store) as own:
            return evaluate(benchmark, method, protocol, store=own, seed=seed, datasets=datasets, n_folds=n_folds)
    if not isinstance(store, RecordStore):
        raise FennecInputError(f"store: expected a RecordStore or the path of a store file, got "
                               f"{type(store).__name__}; e.g. RecordStore('records.sqlite')")
    name, factory = _factory(method)
    bench = get_benchmark(benchmark, store)
    if datasets is not None:  # each once, in the order given (aliases of one task are one task)
        datasets = list(dict.fromkeys(store.canonical_task(d) for d in datasets))
    runner = run_lodo if protocol == "lodo" else run_lomo
    kwargs: dict[str, Any] = {"seed": seed, "datasets": datasets}
    if protocol == "lomo":
        kwargs["n_folds"] = n_folds
    per_dataset = runner(store, bench, factory, name, **kwargs)
    return make_report(bench.name, protocol, name, per_dataset)


__all__ = ["BENCHMARKS", "METRIC_KEYS", "PROTOCOLS", "Benchmark", "ModelInfo", "check_benchmarks", "evaluate",
           "get_benchmark"]
