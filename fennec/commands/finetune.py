"""`fennec finetune`: fine-tune zoo models on a task and record their test accuracy (the space's ground truth).

    fennec finetune --models ID [ID ...] --task TASK [--protocol finetune|linear_probe] [--epochs N] [--lr LR]
                    [--out FILE.csv] [--store FILE.sqlite] [--checkpoints DIR] [--max-train N] [--fail-fast]
                    [--save-to FILE.pt [--pretraining TEXT]]

One record per model (``<protocol>_top1_acc_pct`` on the task's test split, or a seeded 80/20 split of a task
without splits), with its protocol, so ``fennec records ingest`` of the ``--out`` CSV stores what ``--store`` does;
an existing ``--out`` keeps its other rows and columns. Model ids and names are checked before any work (exit 2).
Rerunning with the same ``--out``/``--store`` skips finished models and resumes an interrupted one from its last
epoch (``--checkpoints``), so a long sweep can run under ``nohup`` and survive a stop.
``--save-to`` keeps the fine-tuned model as a checkpoint, a zoo model ``local:FILE.pt`` (a zoo pre-trained here).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `finetune` command."""
    import inspect

    from fennec.zoo.finetune import PROTOCOLS, Finetuner
    from fennec.zoo.finetune_sweep import DEFAULT_BENCHMARK

    d = {k: v.default for k, v in inspect.signature(Finetuner).parameters.items()}
    p = subparsers.add_parser(
        "finetune", help="fine-tune zoo models on a task and record their test accuracy (resumable)",
        description="Fine-tune each timm model on the task's training images (or train a logistic regression on "
                    "its frozen features, --protocol linear_probe), measure top-1 accuracy on the test images and "
                    "write one record per model.")
    p.add_argument("--models", nargs="+", required=True, metavar="ID",
                   help="timm:NAME, timm:NAME.TAG, timm:NAME:/path/to/weights.pth or local:FILE.pt (a model "
                        "trained here, --save-to); weights are found offline")
    p.add_argument("--task", required=True, metavar="TASK",
                   help="image folder or manifest (.csv with path,label[,split]); splits train and test (or val)")
    p.add_argument("--classes", default=None, metavar="NAMES", help="class names in label order (comma list/file)")
    p.add_argument("--protocol", default=d["protocol"], choices=PROTOCOLS,
                   help="finetune: train every weight; linear_probe: frozen body, logistic regression")
    p.add_argument("--epochs", type=int, default=d["epochs"], help=f"training epochs (default: {d['epochs']})")
    p.add_argument("--lr", type=float, default=d["lr"],
                   help=f"learning rate of the pre-trained body (default: {d['lr']})")
    p.add_argument("--head-lr-mult", type=float, default=d["head_lr_mult"],
                   help=f"head learning rate / --lr (default: {d['head_lr_mult']})")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"],
                   help=f"SGD weight decay (default: {d['weight_decay']})")
    p.add_argument("--batch-size", type=int, default=d["batch_size"], metavar="N",
                   help=f"examples per step (default: {d['batch_size']})")
    p.add_argument("--image-size", type=int, default=None, metavar="PX", help="input side (default: the model's)")
    p.add_argument("--max-train", type=int, default=None, metavar="N", help="class-balanced cap on training images")
    p.add_argument("--max-test", type=int, default=None, metavar="N", help="class-balanced cap on test images")
    p.add_argument("--seed", type=int, default=d["seed"], help="seed of splits, head init, batch order, dropout")
    p.add_argument("--out", default=None, metavar="FILE.csv", help="tidy records CSV (resumed if it exists)")
    p.add_argument("--store", default=None, metavar="FILE.sqlite", help="also insert the records into this store")
    p.add_argument("--benchmark", default=DEFAULT_BENCHMARK,
                   help=f"benchmark column, one per protocol and setting (default: {DEFAULT_BENCHMARK})")
    p.add_argument("--dataset", default=None, help="dataset column (default: the task name)")
    p.add_argument("--checkpoints", default=None, metavar="DIR",
                   help="per-epoch checkpoints, so an interrupted model resumes (removed once it is recorded)")
    p.add_argument("--save-to", default=None, metavar="FILE.pt",
                   help="keep the fine-tuned model (one --models id) as a checkpoint, a zoo model local:FILE.pt: how "
                        "a zoo is pre-trained here on a source task")
    p.add_argument("--pretraining", default=None, metavar="TEXT",
                   help="the saved model's pre-training text (default: 'supervised on TASK: N classes (...)')")
    p.add_argument("--allow-random", action="store_true",
                   help="fine-tune models without pretrained weights from a seeded random init (marked in 'source')")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing model")
    p.set_defaults(func=run, resumable=True)  # picks up where it stopped when rerun (Ctrl-C says so)


def run(args: argparse.Namespace) -> int:
    """Handler of `fennec finetune`; returns the exit code (1 when some model failed)."""
    from fennec.commands._run_output import check_run_outputs, finish_run
    from fennec.tasks import read_task
    from fennec.validation import check_path_option, check_seed, check_text_option
    from fennec.zoo.extract import check_zoo_models
    from fennec.zoo.finetune import Finetuner
    from fennec.zoo.finetune_sweep import finetune_zoo

    check_seed(args.seed, "--seed")
    check_run_outputs(args.out, args.store)
    check_text_option(args.benchmark, "--benchmark", what="a benchmark name", left_out="the default")
    check_text_option(args.dataset, "--dataset", what="a dataset name", left_out="the task's name")
    check_path_option(args.checkpoints, "--checkpoints")  # an empty path is the current directory: refused
    check_path_option(args.save_to, "--save-to")
    tuner = Finetuner(protocol=args.protocol, epochs=args.epochs, lr=args.lr, head_lr_mult=args.head_lr_mult,
                      weight_decay=args.weight_decay, batch_size=args.batch_size, image_size=args.image_size,
                      max_train=args.max_train, max_test=args.max_test, seed=args.seed,
                      allow_random=args.allow_random)
    tuner.check(args.save_to, args.checkpoints, args.pretraining)  # bad settings fail before the task is read
    check_zoo_models(args.models)  # likewise; finetune_zoo checks them again (a library entry)
    task = read_task(args.task, args.classes)
    res = finetune_zoo(args.models, task, tuner, out=args.out, store=args.store, benchmark=args.benchmark,
                       dataset=args.dataset, checkpoints=args.checkpoints, fail_fast=args.fail_fast,
                       save_to=args.save_to, pretraining=args.pretraining)
    return finish_run("finetune", res, args.out, args.store)
