"""`fennec tasks`: task cards (class names, size, description) and image statistics in the records store.

    fennec tasks add NAME --classes FILE|"a,b,c" [--description TEXT] [--alias OTHER_NAME ...] [--n-images N]
    fennec tasks add-images NAME PATH [--proxy ID] [--max-images N] [--seed S]
    fennec tasks add-images --manifest FILE.csv [--proxy ID] ...      # columns task,path: many tasks, one proxy load
    fennec tasks list
    fennec tasks show NAME [--format text|json]

``add-images`` describes the task's images with a proxy (an image folder or a manifest at PATH) and stores the
image part of the descriptor with the task, so a transfer space can learn from what its historical tasks look like.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING

from fennec.commands.records import add_store_argument, open_store
from fennec.tasks.sampler import DEFAULT_PROBE_SIZE

if TYPE_CHECKING:
    from fennec.records import RecordStore
    from fennec.tasks import Task


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `tasks` command."""
    p = subparsers.add_parser("tasks", help="task cards: class names, size and description of datasets",
                              description="Task cards describe a task by text when its images are not at hand.")
    sub = p.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=run)

    q = sub.add_parser("add", help="add a task card, or change a task's class names (what is not given is kept)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--classes", required=True, metavar='FILE|"a,b,c"',
                   help="file with one class name per line (or a JSON list), or a comma-separated list")
    q.add_argument("--description", default=None, metavar="TEXT",
                   help="one line: what the images show (default: a known task's own, else none)")
    q.add_argument("--alias", action="append", default=[], metavar="OTHER_NAME",
                   help="another spelling of the task (repeatable)")
    q.add_argument("--n-images", type=int, default=None, metavar="N",
                   help="number of images (default: a known task's own, else unknown)")
    add_store_argument(q)

    q = sub.add_parser("add-images", help="store a proxy's statistics of a task's images (for the transfer space)",
                       description="Describe the images of a task already in the store with a proxy model (mean, "
                                   "spread and class-prototype geometry of its embeddings of a class-balanced probe "
                                   "set) and store them with the task; a second run with the same proxy replaces them.")
    q.add_argument("name", metavar="NAME", nargs="?", default=None,
                   help="a task in the store (add it first with `fennec tasks add`)")
    q.add_argument("path", metavar="PATH", nargs="?", default=None,
                   help="the task's images: an image folder or a manifest (.csv/.parquet)")
    q.add_argument("--manifest", metavar="FILE.csv", default=None,
                   help="many tasks at once: a CSV with `task` and `path` columns (a relative path is read from "
                   "the manifest's folder); every row is checked before any image is read")
    q.add_argument("--proxy", default=None, metavar="ID",
                   help="image encoder, e.g. timm:tf_efficientnet_lite0 or open_clip:ViT-B-32:TAG "
                        "(default: timm:tf_efficientnet_lite0)")
    q.add_argument("--max-images", type=int, default=DEFAULT_PROBE_SIZE, metavar="N",
                   help=f"probe-set size (default: {DEFAULT_PROBE_SIZE}, what recommend uses for a new task)")
    q.add_argument("--seed", type=int, default=0, help="probe-set seed (default: 0)")
    add_store_argument(q)

    q = sub.add_parser("list", help="list tasks")
    add_store_argument(q)

    q = sub.add_parser("show", help="show a task card")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--format", choices=("text", "json"), default="text")
    add_store_argument(q)


def run(args: argparse.Namespace) -> int:
    """Dispatch `fennec tasks SUBCOMMAND`."""
    import sys

    from fennec.records.aliases import normalize_name
    from fennec.records.cards import TaskCard, parse_classes
    from fennec.validation import FennecInputError

    cmd = getattr(args, "tasks_command", None)
    if cmd is None:
        print("fennec tasks: choose a sub-command: add, add-images, list, show (see fennec tasks --help)",
              file=sys.stderr)
        return 2
    if cmd == "add-images":
        _check_image_options(args)  # before a store is opened (and, on first use, made)
    store = open_store(args, must_exist=cmd in ("list", "show"))
    try:
        if cmd == "add":
            name = normalize_name(args.name)
            if not name:
                raise FennecInputError("NAME: empty task name")
            if args.n_images is not None and args.n_images < 0:
                raise FennecInputError(f"--n-images: expected a non-negative integer, got {args.n_images}")
            classes = parse_classes(args.classes)
            canon = store.canonical_task(name)
            # a known task keeps what the command does not give: its size, description, type and notes were wiped
            # by a change of class names (a probe: cifar10's 60000 images became 0)
            old = store.task_card(canon) if canon in store.task_names() else TaskCard(name=canon)
            card = dataclasses.replace(
                old, n_classes=len(classes), class_names=tuple(classes), classes_complete=True,
                n_images=old.n_images if args.n_images is None else args.n_images,
                description=old.description if args.description is None else args.description,
                aliases=tuple(normalize_name(a) for a in args.alias), image_parts={})
            store.add_task(card)
            kept = [what for what, given, had in (("images", args.n_images, old.n_images),
                                                  ("description", args.description, old.description))
                    if given is None and had]
            print(f"task {canon}: {len(classes)} classes" + (f" (aliases: {', '.join(card.aliases)})"
                                                            if card.aliases else "")
                  + (f"; kept its {' and '.join(kept)}" if kept else ""))
        elif cmd == "add-images":
            _add_images(store, args)
        elif cmd == "list":
            cards = store.task_cards()
            counts = dict(store.conn.execute("SELECT task, COUNT(*) FROM records GROUP BY task").fetchall())
            print("task\tclasses\timages\trecords\taliases")
            for n, c in cards.items():
                print(f"{n}\t{c.n_classes}{'' if c.classes_complete else '*'}\t{c.n_images}\t{counts.get(n, 0)}\t"
                      f"{','.join(c.aliases)}")
        elif cmd == "show":
            card = store.task_card(args.name)
            images = store.task_image_info(card.name)
            if args.format == "json":
                print(json.dumps({**card.to_json(), "image_statistics": images}, indent=2))
            else:
                print(f"{card.name} ({card.task_type}): {card.description}")
                print(f"classes: {card.n_classes}{'' if card.classes_complete else ' (list partial)'}, "
                      f"images: {card.n_images}, aliases: {', '.join(card.aliases) or '-'}")
                print(", ".join(card.class_names))
                if card.notes:
                    print(f"notes: {card.notes}")
                print("image statistics: " + (", ".join(f"{p} ({i['n_probe']} probe images, {i['dim']} dims)"
                                                        for p, i in images.items()) or "-"))
    finally:
        store.close()
    return 0


def _check_image_options(args: argparse.Namespace) -> None:
    """The options of `fennec tasks add-images` that need no store: probe size, seed, NAME PATH or --manifest."""
    from fennec.validation import FennecInputError, check_path_option, check_positive_int, check_seed

    check_positive_int(args.max_images, "--max-images")
    check_seed(args.seed, "--seed")
    # `--manifest ""` is an error, not "no manifest"
    check_path_option(args.manifest, "--manifest", what="a .csv file with task,path columns")
    if args.manifest is not None and (args.name or args.path):
        raise FennecInputError("add-images: give NAME PATH or --manifest FILE.csv, not both")


def _add_images(store: RecordStore, args: argparse.Namespace) -> None:
    """`fennec tasks add-images`: describe the images of one task (NAME PATH) or of every row of a manifest with
    the proxy and store the image part of each descriptor.

    Every task and path is checked before the first image is read (describing a task can take minutes); each
    task's statistics are stored as soon as they are computed, so an interrupted run keeps what it finished, and
    a rerun finds the descriptors already computed in the cache.
    """
    from fennec.commands._manifest import manifest_lines, path_from_manifest
    from fennec.tasks import describe_images
    from fennec.validation import FennecInputError

    if args.manifest is not None:
        rows = manifest_lines(args.manifest, ("task", "path"), optional=())
        jobs = [(r["task"], path_from_manifest(r["path"], args.manifest), f"--manifest {args.manifest!r} line {i}")
                for i, r in rows]
        if not jobs:
            raise FennecInputError(f"--manifest {args.manifest!r}: no rows; expected task,path lines")
    elif args.name and args.path:
        jobs = [(args.name, args.path, "")]
    else:
        raise FennecInputError("add-images: give NAME PATH (a task in the store and its images) or --manifest "
                               "FILE.csv with task,path columns")
    tasks = []
    first: dict[str, str] = {}
    for name, path, where in jobs:
        try:
            tasks.append(_image_task(store, name, path))
        except FennecInputError as exc:
            raise FennecInputError(f"{where}: {exc}" if where else str(exc)) from None
        canon = tasks[-1][0]
        if canon in first:  # computed twice and the last kept, without a word (a probe)
            raise FennecInputError(f"{where}: task {canon!r} again (first at {first[canon].rpartition(' ')[2]}); "
                                   "a task has one set of image statistics per proxy: keep one row for it")
        first[canon] = where
    for canon, _path, task in tasks:
        # the image part alone: the class names of the folder are not what the store's card says of the task
        s = describe_images(task, proxy=args.proxy, max_images=args.max_images, seed=args.seed)
        n_probe = int(s.info.get("n_probe", 0))
        store.add_task_image(canon, s.proxy, s.part, n_probe=n_probe, fingerprint=task.fingerprint)
        skipped = f"; skipped {s.info['n_skipped']} unreadable image(s)" if s.info.get("n_skipped") else ""
        print(f"task {canon}: image statistics from {s.proxy} ({n_probe} probe images, {s.part.shape[0]} dims) "
              f"stored in {store.path}{skipped}")


def _image_task(store: RecordStore, name: str, path: str) -> tuple[str, str, Task]:
    """A task of the store and its images at ``path``, checked: the task exists, ``path`` holds images."""
    import warnings
    from pathlib import Path

    from fennec.tasks import read_task
    from fennec.tasks.readers import MANIFEST_SUFFIXES
    from fennec.validation import FennecInputError, FennecInputWarning

    card = store.task_card(name)
    p = Path(path)
    wanted = "an image folder or a manifest (.csv, .tsv, .parquet) of the task's images"
    if not p.exists():
        raise FennecInputError(f"PATH {path!r}: no such file or directory; give {wanted}")
    if not (p.is_dir() or p.name.lower().endswith(MANIFEST_SUFFIXES)):
        raise FennecInputError(f"PATH {path!r}: must be {wanted}")
    task = read_task(p)
    if task.kind != "images":
        raise FennecInputError(f"PATH {path!r}: must be {wanted}, not {task.kind}")
    if card.n_classes and task.n_classes != card.n_classes:
        warnings.warn(f"PATH {path!r}: {task.n_classes} classes, but task {card.name!r} has {card.n_classes}; "
                      "storing its statistics anyway (check that PATH holds this task's images)",
                      FennecInputWarning, stacklevel=3)
    return card.name, path, task
