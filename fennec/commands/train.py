"""`fennec train` (and `python train.py`): learn the transfer space from the records store and write it.

    python train.py [--store PATH] [--out DIR] [--no-warm-start] [--seed N] [--epochs N] [--dim N]

By default it rebuilds the shipped default space (``data/space``). Retraining after new records warm-starts
from the space already in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fennec.commands.records import add_store_argument, open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` command."""
    p = subparsers.add_parser("train", help="train the transfer space from the records store",
                              description="Learn model and task vectors from every record in the store and write "
                              "the space (vectors, towers, FAISS index, manifest) atomically to --out.")
    add_store_argument(p)
    p.add_argument("--out", metavar="DIR", default=None, help="output directory (default: the shipped data/space)")
    p.add_argument("--no-warm-start", action="store_true", help="ignore the space already in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the space's default)")
    p.add_argument("--dim", type=int, default=None,
                   help="width of the learned vectors (default: the previous space's when warm-starting, else 8)")
    p.add_argument("--images", choices=("auto", "off"), default="auto",
                   help="read the image statistics of the store's tasks when 3 or more share a proxy (auto, the "
                   "default) or train a space that reads text only (off)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fennec.space.space import TransferSpace
    from fennec.space.store import check_space_dir, default_space_dir, load_space, save_space
    from fennec.validation import FennecInputError, check_positive_int, check_seed, path_or_default

    params: dict[str, int | str] = {"seed": check_seed(args.seed, "--seed"), "images": args.images}
    if args.epochs is not None:
        params["epochs"] = check_positive_int(args.epochs, "--epochs")
    if args.dim is not None:
        params["dim"] = check_positive_int(args.dim, "--dim")
    # before minutes of training, not after; `--out ""` is an error, never the shipped space
    out = check_space_dir(path_or_default(args.out, "--out", default_space_dir, what="a directory"))
    from fennec.space.zoo import locked_space

    t0 = time.perf_counter()
    # the store first: a bad --store is refused before anything (the space's lock file) is made
    with open_store(args, must_exist=True) as store:
        records = store.records()
        models = {m.id: m for m in store.models()}
        tasks = dict(store.task_cards(images=True))  # with the image statistics the space may train on
    # from reading the previous space to writing the new one: a `zoo add` meanwhile would be lost
    with locked_space(out, "--out"):
        init = None
        if not args.no_warm_start:
            try:
                init = load_space(out, name="--out")
            except FennecInputError as exc:
                init = None  # nothing (usable) there yet: a cold training
                if Path(out, "manifest.json").exists():  # a space is there, but not one this version can start from
                    print(f"note: not warm-starting: {exc}", file=sys.stderr)
        if init is not None:
            # models added with `fennec zoo add` (marked so in the space): keep them in the retrained space (cold
            # start). The previous space's other models come from the store or not at all: another store trained into
            # the same folder must not inherit the old zoo, nor the old store's models without records
            from fennec.space.zoo import ZooModel

            for m, meta in init.model_info_.items():
                # spaces saved before the flag: a model without records there was one zoo add gave
                if meta.get("added", not init.has_records(m)):
                    models.setdefault(m, ZooModel(m, meta.get("architecture"), meta.get("pretraining"), added=True))
        if init is not None:
            # retraining keeps the previous space's widths unless asked for others (they fell back to the defaults
            # and trained from scratch; found by a probe): the two the warm start compares
            for width in ("dim", "text_components"):
                params.setdefault(width, getattr(init, width))
        space = TransferSpace(**params).fit(records, models, tasks, init=init)
        path = save_space(space, out)
    info = space.train_info_
    print(f"trained on {info['n_records']} records in {info['n_groups']} (benchmark, dataset) groups, "
          f"{len(space.model_ids_)} models, {len(space.task_names_)} tasks, {info['epochs']} epochs"
          f"{' (warm start)' if info.get('warm_start') else ''} in {time.perf_counter() - t0:.1f} s -> {path}",
          file=sys.stderr)
    if not space.reads_task_text and space.image_proxy is None:
        print("note: the space reads no task text (its tasks have no class names or descriptions, and its models' "
              "pre-training texts are all alike), so it tells tasks apart by their size alone; give the tasks cards "
              "with `fennec tasks add` and train again", file=sys.stderr)
    elif space.interaction_scale_ == 0:
        print("note: the cross-validation kept none of what the space learned about tasks (scale 0): it ranks the "
              "models of every task by their overall quality", file=sys.stderr)
    described = sum(bool(c.image_parts) for c in tasks.values())
    if space.image_proxy is not None:
        print(f"reads image statistics from {space.image_proxy} ({info['image_tasks']} of {len(space.task_names_)} "
              f"training tasks have them)", file=sys.stderr)
    elif described:
        why = "--images off" if args.images == "off" else f"fewer than {space.min_image_tasks} share a proxy"
        print(f"reads text only ({why}), though {described} task(s) carry image statistics", file=sys.stderr)
    return 0
