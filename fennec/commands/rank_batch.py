"""`fennec rank-batch`: rank the zoo for many tasks with one index search.

    fennec rank-batch TASK [TASK ...] [--manifest FILE.csv] [--space DIR] [--top-k 10] [--format csv|json]
                      [--out FILE] [--proxy ID | --no-images]

A manifest is a CSV with a ``task`` column (a path, or a comma list of class names) and optional ``classes`` and
``description`` columns (header names in any case); a relative path in it is read from the manifest's folder, as
in a path,label manifest. Tasks with images but without class names are seen through the proxy as in
``recommend``, and a space trained on image statistics reads those of every image task (``--no-images`` skips
both).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fennec.commands._manifest import manifest_rows, task_from_manifest
from fennec.commands.recommend import add_image_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rank-batch` command."""
    p = subparsers.add_parser("rank-batch", help="rank the zoo for many tasks at once",
                              description="Rank the zoo for many tasks with a single FAISS search.")
    p.add_argument("tasks", nargs="*", metavar="TASK", help="image folders, manifests, .npz files or class lists")
    p.add_argument("--manifest", metavar="FILE.csv", default=None,
                   help="CSV with a `task` column (and optional `classes`, `description`): an image folder, "
                   "manifest or .npz (a relative path is read from the manifest's folder) or a comma list of "
                   "class names")
    p.add_argument("--space", metavar="DIR", default=None, help="trained space (default: the shipped data/space)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE", default=None, help="write here (atomically) instead of stdout")
    add_image_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fennec.commands._ranking_output import render
    from fennec.commands.recommend import space_option, space_view, with_visual
    from fennec.io import atomic_open
    from fennec.space.recommend import rank_batch
    from fennec.space.store import load_index, load_space
    from fennec.tasks import read_task
    from fennec.validation import FennecInputError, check_output_file, check_path_option, check_positive_int

    top_k = check_positive_int(args.top_k, "--top-k")
    space_dir = space_option(args.space)
    if args.out is not None:  # `--out ""` is an error, not stdout; a path that cannot be written fails now
        check_path_option(args.out, "--out", what="a file", left_out="stdout")
        check_output_file(args.out, "--out")
    rows = [{"task": t} for t in args.tasks]
    if args.manifest is not None:
        rows += [{**r, "task": task_from_manifest(r.get("task", ""), args.manifest)}
                 for r in manifest_rows(args.manifest)]
    if not rows:
        if args.manifest is not None:
            raise FennecInputError(f"--manifest {args.manifest!r}: holds no tasks; give one row per task under a "
                                   "'task' header")
        raise FennecInputError("TASK: give at least one task or --manifest FILE.csv")
    tasks = [read_task(r["task"], r.get("classes") or None, description=r.get("description") or None)
             for r in rows]
    tasks = _distinct_names(tasks)
    space = load_space(space_dir)
    views = [space_view(t, not args.no_images, args.proxy, space.image_proxy) for t in tasks]
    results = rank_batch(space, [card for card, _ in views], top_k=top_k, index=load_index(space))
    results = [with_visual(r, visual, card) for r, (card, visual) in zip(results, views, strict=True)]
    text = render(results, args.format, single=False)
    if args.out is not None:
        with atomic_open(args.out, "w", name="--out") as fh:
            fh.write(text)
        print(f"ranked {len(results)} task(s) -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _distinct_names(tasks: list[Any]) -> list[Any]:
    """Tasks whose names two of them share (two folders both called ``task``) are named by what was given for them
    instead, so that the rows of the output can be told apart; one given twice is ranked twice under one name."""
    import dataclasses

    sources: dict[str, set[str]] = {}
    for t in tasks:
        sources.setdefault(t.name, set()).add(t.source or t.name)
    shared = {n for n, given in sources.items() if len(given) > 1}
    return [dataclasses.replace(t, name=str(t.source)) if t.name in shared and t.source else t for t in tasks]
