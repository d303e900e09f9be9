"""Fine-tune many zoo models on a task and record one result per model, resuming what an earlier run did.

A record's ``source`` starts with the settings it was measured under (every hyper-parameter and the task's content
fingerprint). A rerun skips a model whose record is there under the same settings and refuses, with a one-line
error, one measured under others: a benchmark holds one protocol and one setting, and a changed setting must go
to another benchmark rather than be silently mixed in or silently skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from fennec.tasks.task import Task
from fennec.validation import FennecInputError, check_text_option
from fennec.zoo.extract import check_zoo_models, record_id
from fennec.zoo.finetune import Finetuner, FinetuneResult, ModelLoader, load_zoo_model
from fennec.zoo.finetune_data import TaskImageError
from fennec.zoo.runner import (
    RunResult,
    insert_records,
    model_columns,
    one_line,
    open_store,
    read_records_table,
    same_settings,
    task_in_store,
    write_records_csv,
)

DEFAULT_BENCHMARK = "fennec_finetune"
_TOOL = "fennec finetune: "


def metric_name(protocol: str) -> str:
    """The records' metric of a protocol's result (``finetune_top1_acc_pct``, ``linear_probe_top1_acc_pct``)."""
    return f"{protocol}_top1_acc_pct"


def settings_text(finetuner: Finetuner, task: Task) -> str:
    """The settings a result is measured under: every hyper-parameter and the task's content."""
    params = ", ".join(f"{k}={v}" for k, v in finetuner.get_params().items())
    return f"{params}, task {task.fingerprint[:16]}"


def _source(settings: str, res: FinetuneResult) -> str:
    extra = "".join(f", {k} {v}" for k, v in res.details.items())
    return (f"{_TOOL}{settings} | {res.n_train} train / {res.n_test} test images, weights {res.weights}{extra}"
            + (f", resumed at epoch {res.resumed_from}" if res.resumed_from else ""))


def finetune_zoo(models: list[str], task: Task, finetuner: Finetuner, *, out: str | Path | None = None,
                 store: str | Path | None = None, benchmark: str = DEFAULT_BENCHMARK, dataset: str | None = None,
                 checkpoints: str | Path | None = None, fail_fast: bool = False, loader: ModelLoader = load_zoo_model,
                 log: Callable[[str], None] | None = None, save_to: str | Path | None = None,
                 pretraining: str | None = None) -> RunResult:
    """Fine-tune every model on a task and write one record per model as soon as it is measured.

    A model recorded under the same settings in every output given is skipped; one recorded in one output only
    is copied to the other (the CSV is rewritten atomically, the store inserts a model with its record in one
    transaction), so a stop between the two writes loses nothing. An interrupted model resumes from its last
    epoch's checkpoint under ``checkpoints``, which is removed once its record is written.

    Args:
        models: Zoo model ids (``timm:NAME``, ``timm:NAME:/path/weights.pth``, ``local:PATH``); repeats count once.
            With the default ``loader`` they are checked before any model runs
            (:func:`fennec.zoo.extract.check_zoo_models`); a substituted loader reads ids of its own.
        task: A task with images and labels.
        finetuner: The protocol and hyper-parameters.
        out: Tidy records CSV (:data:`fennec.zoo.runner.COLUMNS`, the protocol included, so that ingesting it
            stores what ``store`` stores), resumed if it exists; its other rows and columns are kept whole.
        store: A records store file; records go in with the finetuner's protocol.
        benchmark: The ``benchmark`` column: one protocol and one setting per benchmark.
        dataset: The ``dataset`` column (default: the task's name).
        checkpoints: Directory of per-epoch checkpoints.
        fail_fast: Re-raise the first failure instead of reporting it and going on.
        loader: Model loader of :meth:`Finetuner.run`.
        log: Where per-model progress and failures go (default: stderr).
        save_to: Keep the fine-tuned model as a checkpoint (one model only; :meth:`Finetuner.run`).
        pretraining: The saved model's pre-training text.

    Returns:
        A :class:`fennec.zoo.runner.RunResult` (new records, skipped (model, metric) pairs, failures, out).

    Raises:
        FennecInputError: bad settings, model ids, an empty benchmark or dataset, a task image that cannot be read
            (bad input for every model), or a record of the same key measured under other settings.
    """
    if log is None:

        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)

    finetuner.check(save_to, checkpoints, pretraining)
    if not models:
        raise FennecInputError("--models: give at least one model id such as timm:tf_efficientnet_lite0")
    # record ids, loadable too (a timm id keeps its weights file); what they name is the loader's to say
    ids = (check_zoo_models(models) if loader is load_zoo_model
           else list(dict.fromkeys(record_id(m) for m in models)))
    benchmark = check_text_option(benchmark, "--benchmark", what="a benchmark name",
                                  left_out=f"{DEFAULT_BENCHMARK!r}") or DEFAULT_BENCHMARK
    dataset = check_text_option(dataset, "--dataset", what="a dataset name", left_out="the task's name") or task.name
    finetuner.check_task(task)  # what would fail every model is bad input, said once
    if save_to is not None and len(ids) != 1:
        raise FennecInputError(f"--save-to: keeps one model; give one --models id, not {len(ids)}")
    metric = metric_name(finetuner.protocol)
    settings = settings_text(finetuner, task)
    result = RunResult(out=Path(out) if out is not None else None)
    columns, rows = read_records_table(out) if out is not None else ([], [])
    key = (benchmark, dataset, metric)
    in_csv = {r["model"]: r for r in rows if (r["benchmark"], r["dataset"], r["metric"]) == key}
    db = open_store(store) if store is not None else None
    try:
        db_task = task_in_store(db, dataset, task) if db is not None else ""
        for model in ids:
            where = f"--benchmark {benchmark!r}, model {model}, dataset {dataset!r}"
            stored = db.find_record(benchmark, model, db_task, metric) if db is not None else None
            have = in_csv.get(model)
            if have is not None or stored is not None:
                same_settings(_TOOL, have["source"] if have is not None else stored[1], settings, where)
                if have is None and out is not None:  # recorded in the store only: copy it to the CSV
                    info = db.model(model)  # the model as stored: the CSV's route stores the same
                    have = {"benchmark": benchmark, "model": model, "dataset": dataset, "metric": metric,
                            "value": stored[0], "source": stored[1], "protocol": stored[2],
                            "architecture": info.architecture, "pretraining": info.pretraining}
                    rows.append(have)
                    write_records_csv(out, rows, columns)
                if stored is None and db is not None:  # in the CSV only: copy it to the store
                    # a row of a file written before these columns were: the settings matched, so the protocol
                    # is this run's; the weights are unknown (a random start is said in the source only)
                    filled = {"protocol": finetuner.protocol, **model_columns(model, ""),
                              **{k: v for k, v in have.items() if v}}
                    insert_records(db, [filled], db_task)
                result.skipped.append((model, metric))
                continue
            try:
                res = finetuner.run(model, task, checkpoints=checkpoints, loader=loader, save_to=save_to,
                                    pretraining=pretraining,
                                    on_epoch=lambda e, loss, m=model: log(f"finetune: {m}: epoch {e}/"
                                                                          f"{finetuner.epochs} loss {loss:.4f}"))
                row = {"benchmark": benchmark, "model": model, "dataset": dataset, "metric": metric,
                       "value": round(res.top1, 4), "source": _source(settings, res), "protocol": res.protocol,
                       **model_columns(model, res.weights)}
                # the store first: a record it refuses (a model stored otherwise) is in neither output, and a
                # record in the store only is copied to the CSV by a rerun
                if db is not None:
                    insert_records(db, [row], db_task)
                if out is not None:
                    write_records_csv(out, [*rows, row], columns)
            except TaskImageError:
                raise  # the task is bad for every model: bad input, not one model's failure
            except Exception as exc:
                if fail_fast:
                    raise
                msg = one_line(exc)
                result.failures.append((model, metric, msg))
                log(f"finetune: {model}: skipped ({msg})")
                continue
            rows.append(row)
            in_csv[model] = row
            result.records.append(row)
            if res.checkpoint is not None:
                res.checkpoint.unlink(missing_ok=True)  # only now: a stop before the record resumes, not retrains
            log(f"finetune: {model}: top-1 {res.top1:.2f}% on {res.n_test} test images ({res.seconds:.0f} s"
                + (f", resumed at epoch {res.resumed_from}" if res.resumed_from else "") + ")")
    finally:
        if db is not None:
            db.close()
    return result
