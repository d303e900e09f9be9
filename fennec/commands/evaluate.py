"""`fennec evaluate`: judge ranking methods on a benchmark of published records.

    fennec evaluate --benchmark NAME --method METHOD [--method M2 ...] [--protocol lodo|lomo [--folds K]]
                    [--format table|json] [--plot FILE.png] [--dataset NAME ...] [--seed N] [--store PATH]

With several methods the table ends with the first one minus each other one, per target dataset (mean,
90% bootstrap interval, datasets won / lost); a method given twice is evaluated once. ``--format json`` prints
one object whatever the number of methods (:func:`fennec.evaluation.report.make_summary`)::

    {"benchmark", "protocol", "seed", "folds", "reports": [one per method], "paired": [first minus each other]}

Methods come from :data:`fennec.evaluation.methods.METHODS`
(``prior``, ``random``, ``imagenet``, ``params``, and the transfer space's methods when
:mod:`fennec.space.methods` is installed).
"""

from __future__ import annotations

import argparse
import json

from fennec.commands.records import add_store_argument, open_store

# The harness's fennec.evaluation.protocols.LOMO_FOLDS, not imported from it: the harness loads scipy (2 s) and
# this parser is built for every command; tests/evaluation/test_evaluate_cli_probe.py keeps the two equal.
LOMO_FOLDS = 5



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
                   help="ranking method (repeatable; the first is compared with each other one; a repeated one "
                   "counts once): prior, random, imagenet, params, ...")
    p.add_argument("--protocol", choices=("lodo", "lomo"), default="lodo")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="json: one object {benchmark, protocol, seed, folds, reports: [per method], paired: [...]}")
    p.add_argument("--plot", metavar="FILE.png", help="bar chart of every method per dataset")
    p.add_argument("--dataset", action="append", default=None, metavar="NAME",
                   help="evaluate only these target datasets (repeatable; default: the benchmark's)")
    p.add_argument("--seed", type=int, default=0, help="seed of random methods and of the lomo folds")
    p.add_argument("--folds", type=int, default=None, metavar="K",
                   help=f"lomo only: folds of held-out models (default {LOMO_FOLDS}; at least 2, at most the "
                   "number of models)")
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
    """Run the evaluation and print a table or JSON.

    Every check that needs no records (methods, --folds, --seed, --plot, which must be writable) runs before
    the store is opened; the benchmark's own checks run before any method is fitted.

    Args:
        args: The parsed ``evaluate`` arguments.

    Returns:
        The exit code, 0.

    Raises:
        FennecInputError: on bad input (the CLI prints one line and exits with code 2).
    """
    from fennec.evaluation import METHODS, evaluate
    from fennec.evaluation.report import format_paired, format_table, make_summary
    from fennec.validation import check_output_file, check_seed

    load_methods()
    methods = list(dict.fromkeys(args.method))  # `--method prior --method prior` is one method, as --dataset is
    for m in methods:
        METHODS.get(m)  # unknown name -> one-line error with close matches
    folds = _check_folds(args.folds, args.protocol)
    check_seed(args.seed, "--seed")
    if args.plot is not None:  # `--plot ""` and a path that cannot be written fail before the evaluation runs
        check_output_file(args.plot, "--plot", suffix=".png")
    store = open_store(args, must_exist=True)
    try:
        reports = [evaluate(args.benchmark, m, args.protocol, store=store, seed=args.seed, datasets=args.dataset,
                            n_folds=LOMO_FOLDS if folds is None else folds) for m in methods]
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(make_summary(reports, seed=args.seed, folds=folds), indent=2))
    else:
        print(format_table(reports), end="")
        if len(reports) > 1:
            print(f"\npaired over target datasets (bootstrap, seeded):\n{format_paired(reports)}", end="")
    if args.plot is not None:
        from fennec.evaluation.plot import plot_reports

        metric = plot_reports(reports, args.plot, name="--plot")
        if args.format != "json":
            print(f"wrote {args.plot} ({metric})")
    return 0


def _check_folds(folds: int | None, protocol: str) -> int | None:
    """lomo's number of folds (``LOMO_FOLDS`` when not given); None under lodo, which refuses ``--folds``.

    Args:
        folds: ``--folds`` as given, None when left out.
        protocol: ``--protocol``.

    Returns:
        The number of folds under lomo, None otherwise.

    Raises:
        FennecInputError: for ``--folds`` with another protocol than lomo, or fewer than 2 folds.
    """
    from fennec.validation import FennecInputError, check_positive_int

    if protocol != "lomo":
        if folds is not None:
            raise FennecInputError(f"--folds {folds}: --folds applies to --protocol lomo (folds of held-out "
                                   f"models); {protocol} holds out one dataset at a time, so drop --folds or add "
                                   "--protocol lomo")
        return None
    if folds is None:
        return LOMO_FOLDS
    if check_positive_int(folds, "--folds") < 2:
        raise FennecInputError(f"--folds {folds}: expected at least 2 folds of held-out models")
    return folds
