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

    space = load_space(args.space)
    models = {m: model_from_id(m, args.pretraining) for m in args.models}
    added = space.add_models(models)
    save_space(space, args.space or default_space_dir())
    for m in args.models:
        state = "added (cold start)" if m in added else "already in the space"
        print(f"{m}: {state}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from fennec.space.store import load_space

    space = load_space(args.space)
    for m in space.model_ids_:
        print(f"{m}\t{'records' if space.has_records(m) else 'cold start'}\t{space.model_info_[m].get('architecture')}")
    return 0
