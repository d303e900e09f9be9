"""`fennec records`: load, ingest, export and list transfer records.

    fennec records init [--store PATH]                      # load the shipped records and task cards (idempotent)
    fennec records ingest FILE.csv [FILE ...] [--benchmark NAME]
    fennec records export FILE.csv [--benchmark NAME]
    fennec records list [--benchmark NAME] [--dataset NAME] [--model ID] [--limit N]
    fennec records stats
    fennec records models [--format table|json]

Every sub-command takes ``--store PATH`` (default ``$FENNEC_STORE`` or ``~/.local/share/fennec/records.sqlite``;
a new store is created from the shipped records).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """The shared ``--store PATH`` option."""
    parser.add_argument("--store", metavar="PATH", default=None,
                        help="records store (default: $FENNEC_STORE or ~/.local/share/fennec/records.sqlite, "
                        "created from the shipped records on first use; a new store: `fennec records init --store "
                        "PATH [--empty]`)")


def open_store(args: argparse.Namespace, *, must_exist: bool = False, seed: bool = True):  # -> RecordStore
    """Open (and on first use create and, with ``seed``, fill with the shipped records) the store named by
    ``args.store``.

    With ``must_exist`` (commands that only read it), a store named by ``--store`` or ``$FENNEC_STORE`` must be
    there already: a typo would otherwise create a new store of the shipped records and answer from it as if it
    were the user's. The default store (neither given) is still created on first use.
    """
    import os
    from pathlib import Path

    from fennec.records import RecordStore, default_store_path  # imported here to keep --help fast
    from fennec.validation import FennecInputError, check_output_parent, path_or_default

    # `--store ""` is an error, not the default store (an empty string is falsy: `or` would take the default)
    path = path_or_default(args.store, "--store", default_store_path, what="a store file such as records.sqlite")
    # errors name what gave the path: the option, the variable, or the default
    name = ("--store" if args.store is not None else "$FENNEC_STORE" if os.environ.get("FENNEC_STORE")
            else "the default store")
    if must_exist and name != "the default store" and not Path(path).expanduser().exists():
        check_output_parent(Path(path).expanduser(), name)  # a file where a folder should be says so first
        left_out = "leave --store out" if name == "--store" else "unset FENNEC_STORE"
        raise FennecInputError(f"{name} {str(path)!r}: no such store; create it with `fennec records init --store "
                               f"{path}` (the shipped records; --empty for none), or {left_out} for the default "
                               "store")
    return RecordStore(path, seed=seed, name=name)


def _say_why_none_matched(store, args: argparse.Namespace) -> None:
    """A note on stderr when ``records list`` finds nothing and a filter names a model or dataset the store does
    not hold (with the close matches): an empty list read as "no records" where the filter had a typo."""
    from fennec.registry import close_matches

    for option, value, known in (("--model", args.model, lambda: [m.id for m in store.models()]),
                                 ("--dataset", args.dataset, store.task_names)):
        if value is None:
            continue
        names = known()
        if option == "--dataset" and store.canonical_task(value) in names:
            continue
        if option == "--model" and value in names:
            continue
        close = close_matches(value, names) or [n for n in names if n.partition(":")[2].startswith(value)][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        print(f"fennec records list: note: {option} {value!r} is not in the store{hint}", file=sys.stderr)


def _check_benchmark(store, name: str) -> None:
    """An unknown ``--benchmark`` is an error naming the close ones: it would list or write nothing and exit 0, as
    if the benchmark had no records."""
    from fennec.registry import unknown_name_message
    from fennec.validation import FennecInputError

    known = store.benchmarks()
    if name not in known:
        raise FennecInputError(f"--benchmark: {unknown_name_message('benchmark', name, known)}")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `records` command."""
    p = subparsers.add_parser("records", help="load, ingest, export and list transfer records",
                              description="Transfer records: published fine-tuning results in a SQLite store.")
    sub = p.add_subparsers(dest="records_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=run)

    q = sub.add_parser("init", help="load the shipped records and task cards into the store (idempotent)")
    q.add_argument("--empty", action="store_true",
                   help="create the store without the shipped records, for a store of one's own records only")
    add_store_argument(q)

    q = sub.add_parser("ingest", help="ingest tidy CSV (benchmark,model,dataset,metric,value,source"
                       "[,architecture][,pretraining]) or PARC oracle CSV")
    q.add_argument("files", nargs="+", metavar="FILE.csv")
    q.add_argument("--benchmark", metavar="NAME", help="benchmark of rows without one (PARC files: all rows)")
    q.add_argument("--protocol", metavar="NAME", default=None,
                   help="protocol of tidy rows without one (default finetune; 'pretrain' for results on the models' "
                        "own pre-training data, which the transfer space does not learn from)")
    add_store_argument(q)

    q = sub.add_parser("export", help="write the records as tidy CSV")
    q.add_argument("file", metavar="FILE.csv")
    q.add_argument("--benchmark", metavar="NAME", help="only this benchmark")
    add_store_argument(q)

    q = sub.add_parser("list", help="print records")
    q.add_argument("--benchmark", metavar="NAME")
    q.add_argument("--dataset", metavar="NAME", help="any alias spelling")
    q.add_argument("--model", metavar="ID")
    q.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (0: all; default 50)")
    add_store_argument(q)

    q = sub.add_parser("stats", help="counts per benchmark")
    add_store_argument(q)

    q = sub.add_parser("models", help="models with their architecture and pre-training text")
    q.add_argument("--format", choices=("table", "json"), default="table")
    add_store_argument(q)


def run(args: argparse.Namespace) -> int:
    """Dispatch `fennec records SUBCOMMAND`."""
    from fennec.records import ingest_file, seed_shipped

    cmd = getattr(args, "records_command", None)
    if cmd is None:
        print("fennec records: choose a sub-command: init, ingest, export, list, stats, models "
              "(see fennec records --help)", file=sys.stderr)
        return 2
    if cmd == "export":  # a path that cannot be written fails before the store is opened
        from fennec.validation import FennecInputError, check_output_file

        check_output_file(args.file, "FILE.csv")
        if not str(args.file).lower().endswith(".csv"):  # what `records ingest` reads back
            raise FennecInputError(f"FILE.csv {str(args.file)!r}: should end with .csv, which `fennec records "
                                   "ingest` reads back")
    # init fills the store itself (so its counts say what it added); the commands that only read need a store
    store = open_store(args, must_exist=cmd in ("export", "list", "stats", "models"), seed=cmd != "init")
    try:
        if cmd in ("export", "list") and args.benchmark is not None:
            _check_benchmark(store, args.benchmark)
        if cmd == "init":
            if not args.empty:
                for res in seed_shipped(store):
                    print(res.summary())
            n = store.stats()["records"]
            # --empty makes a store without records; one that has some keeps them (nothing is removed)
            kept = " (--empty: it already held them; none were added or removed)" if args.empty and n else ""
            print(f"store {store.path}: {n} records{kept}")
        elif cmd == "ingest":
            with store.transaction():  # several files: all or nothing
                results = [ingest_file(store, f, benchmark=args.benchmark, protocol=args.protocol)
                           for f in args.files]
            for res in results:
                print(res.summary())
        elif cmd == "export":
            n = store.export_csv(args.file, benchmark=args.benchmark)
            print(f"wrote {n} records to {args.file}")
        elif cmd == "list":
            from fennec.validation import check_positive_int

            recs = store.records(args.benchmark, dataset=args.dataset, model=args.model)
            limit = args.limit if args.limit == 0 else check_positive_int(args.limit, "--limit")
            print("benchmark\tmodel\tdataset\tmetric\tvalue")
            if not recs:
                _say_why_none_matched(store, args)
            for r in recs[: limit or None]:
                print(f"{r.benchmark}\t{r.model}\t{r.dataset}\t{r.metric}\t{r.value:g}")
            if limit and len(recs) > limit:
                print(f"... {len(recs) - limit} more (use --limit 0)")
        elif cmd == "stats":
            st = store.stats()
            print(f"store {st['path']} (schema v{st['schema_version']}): {st['records']} records, "
                  f"{st['models']} models, {st['tasks']} tasks ({st['task_cards']} with a card)")
            for b, c in st["benchmarks"].items():
                print(f"  {b}: {c['records']} records, {c['models']} models, {c['datasets']} datasets")
        elif cmd == "models":
            models = store.models()
            if args.format == "json":
                print(json.dumps([{"id": m.id, "name": m.name, "architecture": m.architecture,
                                   "pretraining": m.pretraining} for m in models], indent=2))
            else:
                for m in models:
                    print(f"{m.id}\t{m.architecture}\t{m.pretraining}")
    finally:
        store.close()
    return 0
