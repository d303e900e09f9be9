"""`fennec recommend` (and `python recommend.py`): rank the zoo for a new task, without a forward pass.

    python recommend.py TASK [--classes FILE|"a,b,c"] [--space DIR] [--top-k 10] [--format table|json|csv]
                        [--candidates ID ...] [--description TEXT] [--proxy ID | --no-images]
    python recommend.py --classes "cat,dog,horse"        # a task known only by its class names

TASK is an image folder (a sub-folder per class), a CSV/Parquet manifest, an ``.npz`` of features, or omitted
with ``--classes`` for a text-only task. For a task with images whose class names are placeholders (``0``, ``1``,
``class_3``), the proxy's ImageNet classifier names a probe set of them (:mod:`fennec.tasks.visual`) and those
names stand in for the class names (and a missing description). A space trained on image statistics
(``fennec tasks add-images``) also reads those of the task's images, computed with the space's own proxy.
``--no-images`` skips both.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from fennec.records.cards import TaskCard
    from fennec.tasks import ImageStatistics, Task
    from fennec.tasks.visual import VisualLabels


def add_task_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classes", metavar='FILE|"a,b,c"', default=None,
                   help="class names: a text file (one per line) or a comma list; alone, a text-only task")
    p.add_argument("--description", default=None, help="one line describing the task (helps the text encoder)")
    p.add_argument("--space", metavar="DIR", default=None, help="trained space (default: the shipped data/space)")
    p.add_argument("--top-k", type=int, default=10, help="models to list (default 10)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    add_image_arguments(p)


def add_image_arguments(p: argparse.ArgumentParser) -> None:
    """``--proxy ID | --no-images``: how a task's images are looked at (recommend, rank-batch)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--proxy", metavar="ID", default=None,
                   help="image model that names the images of a task without class names (default: the offline "
                   "timm:tf_efficientnet_lite0); a space trained on image statistics always reads them with its "
                   "own proxy")
    g.add_argument("--no-images", action="store_true",
                   help="do not look at the task's images: no proxy names for a task without class names, no "
                   "image statistics for a space that reads them; rank it from its text and size")


def check_image_options(args: argparse.Namespace) -> None:
    """``--proxy`` checked against the encoder registry before any task is read, as embed-task checks it: an
    empty, malformed or unknown id, or an encoder without an image tower, is one line naming the option."""
    if getattr(args, "proxy", None) is not None:
        from fennec.encoders import check_encoder_id

        check_encoder_id(args.proxy, "image", name="--proxy")


def space_option(value: str | None) -> Path | None:
    """The ``--space`` option of the commands that read a space: None for the shipped one; ``--space ""`` is an
    error, not the current directory."""
    from fennec.validation import check_path_option

    return check_path_option(value, "--space", what="a space directory", left_out="the shipped space")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `recommend` command."""
    p = subparsers.add_parser("recommend", help="rank the zoo for a new task (no forward pass through the zoo)",
                              description="Rank pre-trained models for a task by their predicted fine-tuning "
                              "result in the transfer space, with the nearest historical tasks as explanation.")
    p.add_argument("task", nargs="?", default=None, metavar="TASK",
                   help="image folder, CSV/Parquet manifest or .npz of features (omit with --classes)")
    add_task_arguments(p)
    p.add_argument("--candidates", nargs="+", metavar="ID", default=None,
                   help="rank only these models (source:id; models new to the space get cold-start vectors)")
    p.set_defaults(func=run)


def read_user_task(spec: str | None, classes: str | None, description: str | None):  # -> Task
    """A task from the command line: a path, or class names alone."""
    from fennec.tasks import read_task
    from fennec.validation import FennecInputError

    if spec is None and classes is None:
        raise FennecInputError("TASK: give an image folder, a manifest or an .npz, or --classes FILE|\"a,b,c\" "
                               "for a task known by its class names")
    if classes is not None and not classes.strip():
        raise FennecInputError("--classes: empty; give a file of class names or the names as \"a,b,c\"")
    if spec is None:
        return read_task(classes, description=description, reader="names")
    return read_task(spec, classes, description=description)


def candidate_ids(values: list[str] | None) -> list[str] | None:
    """``--candidates`` ids, also when given as one comma list (``timm:a,timm:b``; no model id has a comma).

    Raises:
        FennecInputError: ``--candidates ""`` (an empty shell variable), which would rank the whole zoo.
    """
    from fennec.validation import FennecInputError

    if values is None:
        return None
    ids = [part.strip() for v in values for part in v.split(",") if part.strip()]
    if not ids:
        raise FennecInputError("--candidates: no model id given (an empty value); give ids such as "
                               "timm:resnet50.a1_in1k, or leave --candidates out to rank the whole zoo")
    return ids


def space_view(task: Task, images: bool = True, proxy: str | None = None,
               image_proxy: str | None = None) -> tuple[TaskCard, VisualLabels | None]:
    """What the space reads of a task: its text, filled in from its images by the proxy when it has no class
    names (placeholders such as ``0``, ``1``), and, for a space trained on image statistics (``image_proxy``,
    :attr:`TransferSpace.image_proxy`), the statistics of a probe set of its images under that proxy
    (``image_parts`` of the card).

    A task with real class names is read as it is: on the shared benchmarks a held-out task's description, on
    top of its class names, is not shown to help (README, ``bench/task_text.py``), and looking at the
    images costs a proxy forward pass over a probe set (seconds, the first time). With the default proxy, a
    task whose images cannot be labelled (unreadable files, no proxy weights) is ranked from its text with a
    warning: looking at the images refines a ranking, it is not required for one. A proxy the user asked for
    fails loudly. Image statistics are only read with the space's own proxy (the towers know no other), and a
    failure there also falls back to text with a warning. When the proxy that names the images is the space's
    own, its one pass over the probe images gives both the statistics and the names.
    """
    import warnings

    from fennec.encoders import resolve_proxy_id
    from fennec.tasks.visual import label_task_images, text_card
    from fennec.validation import FennecInputError, FennecInputWarning

    looks = images and task.kind == "images"
    name_images = looks and not task.named_classes
    if proxy is not None and task.kind == "images" and task.named_classes:
        warnings.warn(f"--proxy {proxy}: not used, task {task.name!r} has class names (the proxy names the images "
                      "of tasks without them)", FennecInputWarning, stacklevel=2)
    stats = None
    if image_proxy is not None and looks:
        # the statistics come first so that, from the same proxy, their pass keeps the classifier's view for the
        # names (label_task_images(seen=...)) and the images are decoded and run through the proxy once
        same = name_images and resolve_proxy_id(proxy) == resolve_proxy_id(image_proxy)
        stats = _image_statistics(task, image_proxy, classify=same)
    visual = None
    if name_images:
        try:
            visual = label_task_images(task, proxy, seen=None if stats is None else stats.outputs)
        except FennecInputError as exc:
            if proxy is not None:
                raise
            warnings.warn(f"{exc}; ranking task {task.name!r} from its text alone (--no-images skips the images)",
                          FennecInputWarning, stacklevel=2)
    card = text_card(task, visual)
    if stats is not None:
        card = dataclasses.replace(card, image_parts={image_proxy: stats.part})
    return card, visual


def _image_statistics(task: Task, proxy: str, classify: bool = False) -> ImageStatistics | None:
    """The image part of the task's descriptor under ``proxy`` (``part``, (2 * di + 8,)) and, with ``classify``,
    the proxy classifier's view of the same pass; None with a warning when the images cannot be read.

    Only the image part is computed (:func:`fennec.tasks.describe_images`): the space embeds the class names
    itself (:func:`fennec.space.features.task_features`), so the text part of a whole descriptor would be
    thrown away.
    """
    import warnings

    from fennec.tasks import describe_images
    from fennec.validation import FennecInputError, FennecInputWarning

    try:
        return describe_images(task, proxy=proxy, classify=classify)
    except (FennecInputError, OSError, RuntimeError, ValueError) as exc:
        warnings.warn(f"could not read the images of task {task.name!r} with the space's proxy {proxy} ({exc}); "
                      "ranking it without image statistics", FennecInputWarning, stacklevel=3)
        return None


def with_visual(result: dict[str, Any], visual: VisualLabels | None, card: TaskCard) -> dict[str, Any]:
    """A ranking result with what the proxy saw in the task's images (``images``: None without images) and the
    proxy whose image statistics the space read (``image_statistics``: None when it read text only).

    Args:
        result: One ranking (:func:`fennec.space.recommend.recommend`).
        visual: The proxy's names for the task's images, as :func:`space_view` returned them.
        card: The card the space ranked, as :func:`space_view` returned it (its ``image_parts`` name the proxy).
    """
    proxies = sorted(card.image_parts)
    return {**result, "images": None if visual is None else {**visual.to_dict(), "description": visual.description()},
            "image_statistics": {"proxy": proxies[0]} if proxies else None}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fennec.commands._ranking_output import render
    from fennec.space.recommend import recommend
    from fennec.space.store import load_index, load_space
    from fennec.validation import FennecInputError, check_positive_int

    top_k = check_positive_int(args.top_k, "--top-k")
    space_dir = space_option(args.space)
    check_image_options(args)
    candidates = candidate_ids(args.candidates)
    if args.task is None and args.classes is None and candidates and Path(candidates[-1]).exists():
        raise FennecInputError(f"TASK: none given; --candidates took {candidates[-1]!r} for a model id: put TASK "
                               "before --candidates")
    task = read_user_task(args.task, args.classes, args.description)
    space = load_space(space_dir)  # a bad --space fails before the proxy has looked at any image
    card, visual = space_view(task, not args.no_images, args.proxy, space.image_proxy)
    index = None if candidates else load_index(space)
    result = recommend(space, card, top_k=top_k, candidates=candidates, index=index)
    sys.stdout.write(render([with_visual(result, visual, card)], args.format, single=True))
    return 0
