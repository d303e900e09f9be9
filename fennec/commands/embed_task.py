"""`fennec embed-task`: describe a task as a fixed-size vector (proxy image embeddings + class-name text).

    fennec embed-task TASK [--proxy ID] [--text-encoder ID] [--classes NAMES] [--description TEXT]
                           [--max-images N] [--seed S] [--no-cache] [--out FILE.npz]

TASK is an image folder, a manifest (.csv/.parquet), an .npz of features, a class-name file (.txt) or a comma list
of class names. Bad input prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fennec.tasks import TaskDescriptor


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `embed-task` command."""
    p = subparsers.add_parser(
        "embed-task", help="describe a task as a vector (proxy image embeddings + class-name text embedding)",
        description="Read a task and compute its descriptor: mean/spread and class-prototype geometry of a proxy "
                    "model's embeddings of a class-balanced probe set, plus the text embedding of the class names. "
                    "Cached under $FENNEC_CACHE (default ~/.cache/fennec).")
    p.add_argument("task", metavar="TASK",
                   help="image folder, manifest (.csv/.parquet), features (.npz), class names (.txt) or 'cat,dog,...'")
    p.add_argument("--proxy", default=None, metavar="ID",
                   help="image encoder, e.g. timm:tf_efficientnet_lite0 or open_clip:ViT-B-32:TAG "
                        "(default: timm:tf_efficientnet_lite0)")
    p.add_argument("--text-encoder", default=None, metavar="ID",
                   help="class-name text encoder (default: sentence:all-MiniLM-L6-v2, offline)")
    p.add_argument("--classes", default=None, metavar="NAMES",
                   help="class names in label order (comma list or a file, one per line)")
    p.add_argument("--description", default=None, metavar="TEXT", help="free text describing the task")
    p.add_argument("--max-images", type=int, default=500, metavar="N", help="probe-set size (default: 500)")
    p.add_argument("--seed", type=int, default=0, help="probe-set seed (default: 0)")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write the descriptor cache")
    p.add_argument("--out", default=None, metavar="FILE.npz", help="write the descriptor here (.npz)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of `fennec embed-task`; returns the exit code."""
    from fennec.encoders import check_encoder_id
    from fennec.tasks import describe_task, read_task
    from fennec.validation import check_output_file, check_positive_int, check_seed

    check_positive_int(args.max_images, "--max-images")
    check_seed(args.seed, "--seed")
    # None is the default; anything given, an empty id included, must name an encoder, before any image is read
    proxy = None if args.proxy is None else check_encoder_id(args.proxy, "image", name="--proxy")
    text_encoder = (None if args.text_encoder is None
                    else check_encoder_id(args.text_encoder, "text", name="--text-encoder"))
    if args.out is not None:  # before the proxy has looked at any image
        check_output_file(args.out, "--out", suffix=".npz")
    task = read_task(args.task, args.classes, description=args.description)
    d = describe_task(task, proxy=proxy, text_encoder=text_encoder, max_images=args.max_images,
                      seed=args.seed, use_cache=not args.no_cache)
    if args.out is not None:
        d.save(args.out)
    print(f"{task.summary()}")
    print(f"descriptor: {d.dim} dims ({describe_parts(d)}); {describe_encoders(d, task.kind)}"
          f"{' (cached)' if d.info.get('cached') else ''}" + (f"; wrote {args.out}" if args.out else ""),
          file=sys.stdout)
    return 0


_KIND_WORDS = {"features": "a features task", "names": "a text-only task"}


def describe_parts(d: TaskDescriptor) -> str:
    """``text 768, image 2568, meta 6``: each part's size, ``-`` for a part the task does not have."""
    return ", ".join(f"{k} {'-' if v is None else v.shape[0]}" for k, v in d.parts.items())


def describe_encoders(d: TaskDescriptor, kind: str) -> str:
    """Which encoders made the descriptor's parts, and the probe set the proxy saw.

    An encoder whose part is missing is not named as if it had run: a features task's vector has the proxy's
    width (its image block is zeros) but no image went through the proxy.

    Args:
        d: The descriptor.
        kind: The task's kind (``images``, ``features``, ``names``), for why a part is missing.
    """
    if d.parts.get("image") is not None:
        n_skipped = d.info.get("n_skipped") or 0
        skipped = f", skipped {n_skipped} unreadable image(s)" if n_skipped else ""
        image = f"proxy {d.proxy}; probe {d.info.get('n_probe', 0)} images{skipped}"
    else:
        image = f"no proxy run ({_KIND_WORDS.get(kind, f'a {kind} task')} has no images)"
    if d.parts.get("text") is not None:
        text = f"text {d.text_encoder}"
    else:
        text = "no text encoder run (no class names or description)"
    return f"{image}; {text}"
