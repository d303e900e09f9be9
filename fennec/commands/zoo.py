"""`fennec zoo`: grow or list the zoo of a trained space without retraining.

    fennec zoo add timm:NAME [timm:NAME ...] [--pretraining TEXT] [--space DIR]
    fennec zoo list [--space DIR]

``add`` gives each new model its cold-start vector (archi2vec of its architecture and its pre-training text
through the trained model tower), appends it to the space and its FAISS index, and saves the space atomically.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `zoo` command."""
    p = subparsers.add_parser("zoo", help="add models to a trained space (cold start) or list them")
    sub = p.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add models by id; they are ranked at once, with no retraining")
    a.add_argument("models", nargs="+", metavar="ID", help="source:id, e.g. timm:convnext_tiny.fb_in22k")
    a.add_argument("--pretraining", default=None, help="what the weights were pre-trained on (free text)")
    a.add_argument("--space", metavar="DIR", default=None)
    a.set_defaults(func=run_add)
    ls = sub.add_parser("list", help="list the models of a space")
    ls.add_argument("--space", metavar="DIR", default=None)
    ls.set_defaults(func=run_list)


def run_add(args: argparse.Namespace) -> int:
    from fennec.space.store import default_space_dir, load_space, save_space
    from fennec.space.zoo import model_from_id
    from fennec.validation import path_or_default

    # `--space ""` is an error, never the shipped space (an empty string is falsy: `or` would take the default)
    where = path_or_default(args.space, "--space", default_space_dir, what="a space directory")
    space = load_space(where)
    ids = list(dict.fromkeys(args.models))  # a model named twice is added once
    known = space.model_positions()
    # a model the space already has (any source, hf: and parc: ids of published records too) is not read again
    added = space.add_models({m: model_from_id(m, args.pretraining) for m in ids if m not in known})
    if added:  # nothing new: the space stays as it was, not rewritten
        save_space(space, where, "--space")
    for m in ids:
        state = "added (cold start)" if m in added else "already in the space"
        if m not in added and args.pretraining:  # a model keeps the vector it has: the text given is not read
            state += " (--pretraining not applied: a model keeps its vector; add it under another id)"
        print(f"{m}: {state}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from fennec.commands.recommend import space_option
    from fennec.space.store import load_space

    space = load_space(space_option(args.space))
    for m in space.model_ids_:
        arch = space.model_info_[m].get("architecture") or "-"  # "-": none known (open_clip, local: ids)
        print(f"{m}\t{'records' if space.has_records(m) else 'cold start'}\t{arch}")
    return 0
