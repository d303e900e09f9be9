"""`fennec tasks`: task cards (class names, size, description) in the records store.

    fennec tasks add NAME --classes FILE|"a,b,c" [--description TEXT] [--alias OTHER_NAME ...] [--n-images N]
    fennec tasks list
    fennec tasks show NAME [--format text|json]
"""

from __future__ import annotations

import argparse
import json

from fennec.commands.records import add_store_argument, open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `tasks` command."""
    p = subparsers.add_parser("tasks", help="task cards: class names, size and description of datasets",
                              description="Task cards describe a task by text when its images are not at hand.")
    sub = p.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=run)

    q = sub.add_parser("add", help="add or replace a task card")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--classes", required=True, metavar='FILE|"a,b,c"',
                   help="file with one class name per line (or a JSON list), or a comma-separated list")
    q.add_argument("--description", default="", metavar="TEXT", help="one line: what the images show")
    q.add_argument("--alias", action="append", default=[], metavar="OTHER_NAME",
                   help="another spelling of the task (repeatable)")
    q.add_argument("--n-images", type=int, default=0, metavar="N", help="number of images")
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
        print("fennec tasks: choose a sub-command: add, list, show (see fennec tasks --help)", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        if cmd == "add":
            name = normalize_name(args.name)
            if not name:
                raise FennecInputError("NAME: empty task name")
            if args.n_images < 0:
                raise FennecInputError(f"--n-images: expected a non-negative integer, got {args.n_images}")
            classes = parse_classes(args.classes)
            canon = store.canonical_task(name)
            card = TaskCard(name=canon, n_classes=len(classes), n_images=args.n_images, class_names=tuple(classes),
                            description=args.description, classes_complete=True,
                            aliases=tuple(normalize_name(a) for a in args.alias))
            store.add_task(card)
            print(f"task {canon}: {len(classes)} classes" + (f" (aliases: {', '.join(card.aliases)})"
                                                            if card.aliases else ""))
        elif cmd == "list":
            cards = store.task_cards()
            counts = dict(store.conn.execute("SELECT task, COUNT(*) FROM records GROUP BY task").fetchall())
            print("task\tclasses\timages\trecords\taliases")
            for n, c in cards.items():
                print(f"{n}\t{c.n_classes}{'' if c.classes_complete else '*'}\t{c.n_images}\t{counts.get(n, 0)}\t"
                      f"{','.join(c.aliases)}")
        elif cmd == "show":
            card = store.task_card(args.name)
            if args.format == "json":
                print(json.dumps(card.to_json(), indent=2))
            else:
                print(f"{card.name} ({card.task_type}): {card.description}")
                print(f"classes: {card.n_classes}{'' if card.classes_complete else ' (list partial)'}, "
                      f"images: {card.n_images}, aliases: {', '.join(card.aliases) or '-'}")
                print(", ".join(card.class_names))
                if card.notes:
                    print(f"notes: {card.notes}")
    finally:
        store.close()
    return 0
