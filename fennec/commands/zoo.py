"""`fennec zoo`: grow, trim or list the zoo of a trained space without retraining.

    fennec zoo add ID [ID ...] [--pretraining TEXT] [--replace] [--space DIR]
    fennec zoo remove ID [ID ...] [--space DIR]
    fennec zoo list [--space DIR]

``add`` gives each new model its cold-start vector (archi2vec of its architecture and its pre-training text
through the trained model tower), appends it to the space and its FAISS index, and saves the space atomically;
``--replace`` makes the vector of a model added before anew. ``remove`` takes models added with ``add`` out
again (a model with records is part of the trained space: retrain to drop it). Both hold the space's lock from
loading to saving (:func:`fennec.space.zoo.locked_space`), so commands run at once on one space each see the
other's change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `zoo` command."""
    p = subparsers.add_parser("zoo", help="add models to a trained space (cold start), remove or list them")
    sub = p.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add models by id; they are ranked at once, with no retraining")
    a.add_argument("models", nargs="+", metavar="ID", help="source:id, e.g. timm:convnext_tiny.fb_in22k")
    a.add_argument("--pretraining", default=None, help="what the weights were pre-trained on (free text)")
    a.add_argument("--replace", action="store_true",
                   help="make the vector of a model added before anew (e.g. with a corrected --pretraining)")
    a.add_argument("--space", metavar="DIR", default=None)
    a.set_defaults(func=run_add)
    rm = sub.add_parser("remove", help="remove models added with `zoo add` (models with records need a retraining)")
    rm.add_argument("models", nargs="+", metavar="ID", help="an id as `zoo list` shows it (a local: path in any "
                    "spelling)")
    rm.add_argument("--space", metavar="DIR", default=None)
    rm.set_defaults(func=run_remove)
    ls = sub.add_parser("list", help="list the models of a space")
    ls.add_argument("--space", metavar="DIR", default=None)
    ls.set_defaults(func=run_list)


def _space_dir(value: str | None) -> Path:
    """The space directory of ``--space`` (the shipped one when left out), refused at once when it holds no space:
    before its lock file is made beside it."""
    from fennec.space.store import default_space_dir, load_space
    from fennec.validation import path_or_default

    # `--space ""` is an error, never the shipped space (an empty string is falsy: `or` would take the default)
    where = path_or_default(value, "--space", default_space_dir, what="a space directory")
    if not (where / "manifest.json").is_file():
        load_space(where)  # raises its one-line error for a missing, file or empty --space
    return where


def _checked_ids(models: list[str], characters: bool = True) -> list[str]:
    """The ids given, each once, their form (and with ``characters``, what they hold:
    :func:`~fennec.space.zoo.check_id_characters`) checked before any work."""
    from fennec.space.zoo import check_id_characters
    from fennec.validation import check_model_id

    ids = list(dict.fromkeys(models))
    for m in ids:
        check_model_id(m, f"model {m!r}")
        if characters:
            check_id_characters(m)
    return ids


def run_add(args: argparse.Namespace) -> int:
    """``fennec zoo add``: cold-start vectors for models new to the space (``--replace``: anew for added ones)."""
    from fennec.space.store import load_space, save_space
    from fennec.space.zoo import (
        check_pretraining,
        find_model,
        locked_space,
        model_from_id,
        removal_problem,
        remove_added_models,
    )
    from fennec.validation import FennecInputError

    pretraining = check_pretraining(args.pretraining, "--pretraining")
    ids = _checked_ids(args.models)
    where = _space_dir(args.space)
    with locked_space(where):  # from load to save: a concurrent add is seen, not overwritten
        space = load_space(where)
        held = {m: find_model(space, m) for m in ids}  # a model the space has, under the spelling it has it
        redo = list(dict.fromkeys(h for m in ids if args.replace and (h := held[m]) is not None))
        for h in redo:  # every refusal before any change
            if (problem := removal_problem(space, h)) is not None:
                raise FennecInputError(f"model {h!r}: --replace: {problem}")
        # a model the space already has (any source, hf: and parc: ids of published records too) is not read again
        metas: dict[str, Any] = {}
        first: dict[str, str] = {}  # one spelling -> the id given first for it
        spelling: dict[str, str] = {}  # id given -> the id the space holds it under
        for m in ids:
            if held[m] is not None and not args.replace:
                spelling[m] = held[m]
                continue
            meta = model_from_id(m, pretraining)  # reads and checks it: bad input is refused before any change
            spelling[m] = meta.id
            first.setdefault(meta.id, m)
            metas.setdefault(meta.id, meta)
        removed = remove_added_models(space, redo)
        added = space.add_models(metas)
        if added or removed:  # nothing new: the space stays as it was, not rewritten
            save_space(space, where, "--space")
    for m in ids:
        c = spelling[m]
        as_c = f" as {c}" if c != m else ""
        if c not in metas:
            state = f"already in the space{as_c}"
            if pretraining:  # a model keeps the vector it has: the text given is not read
                state += " (--pretraining not applied: a model keeps its vector; --replace makes it anew)"
        elif first[c] != m:
            state = f"the same model as {first[c]} ({c}), given once"
        elif held[m] is not None:
            state = f"replaced (new cold-start vector){as_c}"
        else:
            state = f"added (cold start){as_c}"
        print(f"{m}: {state}", file=sys.stderr)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """``fennec zoo remove``: take models added with ``zoo add`` out of the space."""
    from fennec.space.store import load_space, save_space
    from fennec.space.zoo import find_model, locked_space, remove_added_models
    from fennec.validation import FennecInputError

    ids = _checked_ids(args.models, characters=False)  # a model added before ids were checked can go too
    where = _space_dir(args.space)
    with locked_space(where):
        space = load_space(where)
        held = {m: find_model(space, m) for m in ids}
        missing = [m for m in ids if held[m] is None]
        if missing:
            raise FennecInputError(f"model {missing[0]!r}: not in the space {str(where)!r}; `fennec zoo list "
                                   "--space DIR` lists its models")
        remove_added_models(space, [h for h in dict.fromkeys(held.values()) if h is not None])  # refuses first
        save_space(space, where, "--space")
    for m in ids:
        print(f"{m}: removed" + (f" ({held[m]})" if held[m] != m else ""), file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``fennec zoo list``: one tab-separated line per model: id, records or cold start, architecture."""
    from fennec.commands.recommend import space_option
    from fennec.space.store import load_space

    space = load_space(space_option(args.space))
    for m in space.model_ids_:
        arch = space.model_info_[m].get("architecture") or "-"  # "-": none known (a local: id without a checkpoint)
        print(f"{m}\t{'records' if space.has_records(m) else 'cold start'}\t{arch}")
    return 0
