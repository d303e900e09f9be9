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

from fennec.commands._manifest import manifest_lines, task_from_manifest
from fennec.commands.recommend import add_image_arguments

#: The columns of a ``--manifest`` besides ``task``.
MANIFEST_COLUMNS = ("classes", "description")


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
    p.add_argument("--format", choices=("csv", "json"), default=None,
                   help="csv or json (default: as the --out file's suffix says, else csv)")
    p.add_argument("--out", metavar="FILE", default=None, help="write here (atomically) instead of stdout")
    add_image_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fennec.commands._ranking_output import render
    from fennec.commands.recommend import check_image_options, space_option, space_view, with_visual
    from fennec.io import atomic_open
    from fennec.space.recommend import rank_batch
    from fennec.space.store import load_index, load_space
    from fennec.tasks import read_task
    from fennec.validation import FennecInputError, check_output_file, check_path_option, check_positive_int

    top_k = check_positive_int(args.top_k, "--top-k")
    space_dir = space_option(args.space)
    check_image_options(args)
    if args.out is not None:  # `--out ""` is an error, not stdout; a path that cannot be written fails now
        check_path_option(args.out, "--out", what="a file", left_out="stdout")
        check_output_file(args.out, "--out")
    fmt = _output_format(args.format, args.out)
    rows: list[tuple[str, dict[str, str]]] = [("", {"task": t}) for t in args.tasks]
    if args.manifest is not None:
        rows += [(f"--manifest {args.manifest!r} line {line}: ", {**r, "task": task_from_manifest(r["task"],
                                                                                                 args.manifest)})
                 for line, r in manifest_lines(args.manifest, optional=MANIFEST_COLUMNS)]
    if not rows:
        if args.manifest is not None:
            raise FennecInputError(f"--manifest {args.manifest!r}: holds no tasks; give one row per task under a "
                                   "'task' header")
        raise FennecInputError("TASK: give at least one task or --manifest FILE.csv")
    tasks = []
    for where, r in rows:
        try:
            tasks.append(read_task(r["task"], r.get("classes") or None, description=r.get("description") or None))
        except FennecInputError as exc:
            raise FennecInputError(f"{where}{exc}") from None
    tasks = _distinct_names(tasks)
    space = load_space(space_dir)
    views = [space_view(t, not args.no_images, args.proxy, space.image_proxy) for t in tasks]
    results = rank_batch(space, [card for card, _ in views], top_k=top_k, index=load_index(space))
    results = [with_visual(r, visual, card) for r, (card, visual) in zip(results, views, strict=True)]
    text = render(results, fmt, single=False)
    if args.out is not None:
        with atomic_open(args.out, "w", name="--out") as fh:
            fh.write(text)
        print(f"ranked {len(results)} task(s) -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _output_format(fmt: str | None, out: str | None) -> str:
    """``--format``, else what the ``--out`` file's suffix says (``.json``, ``.csv``), else csv; a suffix that
    says the other format is refused (CSV text in ``rankings.json`` would be read as broken JSON)."""
    from pathlib import Path

    from fennec.validation import FennecInputError

    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    said = suffix if suffix in ("csv", "json") else None
    if fmt is not None and said is not None and fmt != said:
        raise FennecInputError(f"--out {out!r}: a .{said} file, but --format {fmt}; name the file .{fmt} or drop "
                               "--format")
    return fmt or said or "csv"


def _distinct_names(tasks: list[Any]) -> list[Any]:
    """Tasks that share a name but differ in what was given for them (two folders both called ``task``, or one
    folder given twice with other class names) are named apart, so that the rows of the output can be told
    apart: by what was given when that differs, else by their position in the batch (``task #3``). A task given
    twice alike is ranked twice under one name."""
    import dataclasses

    given: dict[str, dict[tuple[Any, ...], None]] = {}
    for t in tasks:
        given.setdefault(t.name, {})[(t.source or t.name, t.class_names, t.description)] = None
    out = []
    for i, t in enumerate(tasks):
        kinds = given[t.name]
        if len(kinds) == 1:
            out.append(t)
            continue
        by_source = len({k[0] for k in kinds}) == len(kinds)
        out.append(dataclasses.replace(t, name=str(t.source or t.name) if by_source else f"{t.name} #{i + 1}"))
    return out
