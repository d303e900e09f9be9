"""`fennec evaluate`: judge ranking methods on a benchmark of published records.

    fennec evaluate --benchmark NAME --method METHOD [--method M2 ...] [--protocol lodo|lomo]
                    [--format table|json] [--plot FILE.png] [--dataset NAME ...] [--seed N] [--store PATH]

With several methods the table ends with the first one minus each other one, per target dataset (mean,
90% bootstrap interval, datasets won / lost). Methods come from :data:`fennec.evaluation.methods.METHODS`
(``prior``, ``random``, ``imagenet``, ``params``, and the transfer space's methods when
:mod:`fennec.space.methods` is installed).
"""

from __future__ import annotations

import argparse
import json

from fennec.commands.records import add_store_argument, open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `evaluate` command."""
    p = subparsers.add_parser("evaluate", help="evaluate ranking methods on published records (lodo / lomo)",
                              description="Leave-one-dataset-out (lodo) or leave-models-out (lomo, cold start) "
                              "evaluation: weighted Kendall tau (two conventions), Pearson, Spearman, rel@1, "
                              "rel@3 per dataset and their mean; PARC's Pearson x 100 on PARC benchmarks.")
    p.add_argument("--benchmark", required=True, metavar="NAME",
                   help="sfda_supervised, logme_tllib, modelspider_single_source, parc_controlled, parc_external, "
                   "transfergraph, or any benchmark label in the store")
    p.add_argument("--method", action="append", required=True, metavar="METHOD",
                   help="ranking method (repeatable): prior, random, imagenet, params, ...")
    p.add_argument("--protocol", choices=("lodo", "lomo"), default="lodo")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--plot", metavar="FILE.png", help="bar chart of every method per dataset")
    p.add_argument("--dataset", action="append", default=None, metavar="NAME",
                   help="evaluate only these target datasets (repeatable; default: the benchmark's)")
    p.add_argument("--seed", type=int, default=0, help="seed of random methods and of the lomo folds")
    p.add_argument("--folds", type=int, default=5, metavar="K",
                   help="lomo: folds of held-out models (default 5; at least 2, at most the number of models)")
    add_store_argument(p)
    p.set_defaults(func=run)


def load_methods() -> None:
    """Import optional packages that register methods (the transfer space)."""
    import importlib
    import importlib.util
    import sys

    if importlib.util.find_spec("fennec.space.methods") is not None:
        try:
            importlib.import_module("fennec.space.methods")
        except Exception as exc:  # a broken optional package must not take the baselines down with it
            print(f"fennec evaluate: warning: fennec.space.methods not loaded ({type(exc).__name__}: {exc}); "
                  "its methods are unavailable", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print a table or JSON."""
    from fennec.evaluation import METHODS, evaluate
    from fennec.evaluation.report import format_paired, format_table
    from fennec.validation import FennecInputError, check_output_file, check_positive_int, check_seed

    load_methods()
    if check_positive_int(args.folds, "--folds") < 2:
        raise FennecInputError(f"--folds {args.folds}: expected at least 2 folds of held-out models")
    for m in args.method:
        METHODS.get(m)  # unknown name -> one-line error with close matches
    check_seed(args.seed, "--seed")
    if args.plot is not None:  # `--plot ""` and a path that cannot be written fail before the evaluation runs
        check_output_file(args.plot, "--plot", suffix=".png")
    store = open_store(args, must_exist=True)
    try:
        reports = [evaluate(args.benchmark, m, args.protocol, store=store, seed=args.seed, datasets=args.dataset,
                            n_folds=args.folds) for m in args.method]
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    else:
        print(format_table(reports), end="")
        if len(reports) > 1:
            print(f"\npaired over target datasets (bootstrap, seeded):\n{format_paired(reports)}", end="")
    if args.plot is not None:
        from fennec.evaluation.plot import plot_reports

        metric = plot_reports(reports, args.plot)
        if args.format != "json":
            print(f"wrote {args.plot} ({metric})")
    return 0
