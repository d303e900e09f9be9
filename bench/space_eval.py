"""Evaluate the transfer space next to its baselines on every shared benchmark (lodo and lomo).

    python bench/space_eval.py [--benchmark NAME ...] [--protocol lodo|lomo ...] [--store PATH]

Runs the harness of `fennec evaluate` in one process (so a training set shared by two benchmarks is fitted once),
prints a table of mean metrics and writes ``bench/results/space_eval.json`` and one bar plot per benchmark and
protocol in ``bench/results/``. The same numbers come from
``fennec evaluate --benchmark NAME --method fennec --method prior ... --protocol P``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

# Run as `python bench/space_eval.py`, this folder is first on sys.path, and bench/archi2vec.py would shadow the
# archi2vec package: look modules up from the project instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

BENCHMARKS = ("sfda_supervised", "logme_tllib", "parc_controlled", "parc_external", "transfergraph")
METHODS = {"lodo": ("fennec", "fennec-nmf", "prior", "imagenet", "random"),
           "lomo": ("fennec", "params", "random")}
from fennec.io import atomic_open  # noqa: E402
from fennec.validation import (  # noqa: E402
    FennecInputError,
    check_output_file,
    check_positive_int,
    check_seed,
)

if TYPE_CHECKING:
    from fennec.records import RecordStore

KEYS = ("weighted_tau", "weighted_tau_ms", "pearson", "pearson_parc", "spearman", "rel1", "rel3")


def markdown_table(results: dict) -> str:
    """One row per (benchmark, protocol): weighted tau of every method (and PARC's Pearson x 100 where defined)."""
    methods = ("fennec", "fennec-nmf", "prior", "imagenet", "params", "random")
    lines = ["| benchmark | protocol | " + " | ".join(methods) + " |", "| --- | --- |" + " --- |" * len(methods)]
    for bench in BENCHMARKS:
        for protocol in ("lodo", "lomo"):
            reps = results.get(bench, {}).get(protocol)
            if not reps:
                continue
            cells = []
            for m in methods:
                mean = reps.get(m, {}).get("mean", {})
                tau, parc = mean.get("weighted_tau"), mean.get("pearson_parc")
                cell = "" if m not in reps else ("-" if tau is None else f"{tau:.3f}")
                if parc is not None:
                    cell += f" / {parc:.1f}"
                cells.append(cell)
            lines.append(f"| {bench} | {protocol} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


PAIRS = {"lodo": ("prior", "fennec-nmf"), "lomo": ("params",)}


def paired_table(results: dict) -> str:
    """fennec minus each baseline, per (benchmark, protocol): mean per-dataset difference [90% bootstrap CI]
    and datasets won / lost; weighted tau, and PARC's Pearson x 100 on the PARC benchmarks."""
    from fennec.evaluation.report import paired_cells, paired_differences

    lines = ["| benchmark | protocol | versus | metric | fennec - baseline [90% CI] | won / lost |",
             "| --- | --- | --- | --- | --- | --- |"]
    for bench in BENCHMARKS:
        for protocol, baselines in PAIRS.items():
            reps = results.get(bench, {}).get(protocol, {})
            for other in (b for b in baselines if "fennec" in reps and b in reps):
                for d in paired_differences(reps["fennec"], reps[other]):
                    lines.append(f"| {bench} | {protocol} | {other} | {d['key']} | {paired_cells(d)} |")
    return "\n".join(lines)


def seeds_table(runs: list[dict], protocol: str = "lomo", baseline: str = "params") -> str:
    """Several runs of one protocol (``--seed`` 0, 1, 2, ...) as one table: per benchmark, fennec's weighted tau
    (/ PARC Pearson x 100) at each seed and its mean, the baseline's mean, and fennec minus the baseline on each
    dataset's mean over the seeds (mean [90% bootstrap CI], datasets won / lost)."""
    from fennec.evaluation.report import average_reports, paired_cells, paired_difference

    def cell(mean: dict) -> str:
        tau, parc = mean.get("weighted_tau"), mean.get("pearson_parc")
        return ("-" if tau is None else f"{tau:.3f}") + ("" if parc is None else f" / {parc:.1f}")

    lines = [f"| benchmark | fennec at each seed | fennec, mean | {baseline}, mean | fennec - {baseline} "
             "[90% CI] | won / lost |", "| --- | --- | --- | --- | --- | --- |"]
    for bench in BENCHMARKS:
        have = [r[bench][protocol] for r in runs if "fennec" in r.get(bench, {}).get(protocol, {})]
        if not have:
            continue
        seeds_seen = [h["fennec"].get("seed") for h in have]
        if None not in seeds_seen and len(set(seeds_seen)) < len(seeds_seen):
            raise FennecInputError(f"the runs of {bench} repeat seed(s) {sorted(seeds_seen)}; give files of "
                                   "distinct --seed runs")
        ours = average_reports([h["fennec"] for h in have])
        theirs = average_reports([h[baseline] for h in have]) if all(baseline in h for h in have) else None
        seeds = " ; ".join(cell(h["fennec"]["mean"]) for h in have)
        diff = paired_difference(ours, theirs) if theirs else None
        lines.append(f"| {bench} | {seeds} | {cell(ours['mean'])} | {cell(theirs['mean']) if theirs else ''} | "
                     + (paired_cells(diff) if diff else " | ") + " |")
    return "\n".join(lines)


def runs_table(first: dict | list[dict], second: dict | list[dict], method: str = "fennec") -> str:
    """Two result files' runs of ``method`` (e.g. the default and a ``--fennec-param`` variant) compared per target
    dataset: the first's mean, the second's, and first minus second (mean [90% bootstrap CI], won / lost), for
    each benchmark and protocol both ran it on. Either side may be several result files (runs at ``--seed`` 0,
    1, ...): its runs are averaged first (:func:`fennec.evaluation.report.average_reports`), as the table over
    seeds does."""
    from fennec.evaluation.report import average_reports, paired_cells, paired_differences

    def run(side: dict | list[dict], bench: str, protocol: str) -> dict | None:
        files = side if isinstance(side, list) else [side]
        have = [f.get(bench, {}).get(protocol, {}).get(method) for f in files]
        if not have or any(h is None for h in have):
            return None
        return have[0] if len(have) == 1 else average_reports(have)

    lines = ["| benchmark | protocol | metric | first | second | first - second [90% CI] | won / lost |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for bench in BENCHMARKS:
        for protocol in ("lodo", "lomo"):
            a, b = run(first, bench, protocol), run(second, bench, protocol)
            if a is None or b is None:
                continue
            for d in paired_differences(a, b):
                key = d["key"]
                fmt = ".1f" if key == "pearson_parc" else ".3f"
                lines.append(f"| {bench} | {protocol} | {key} | {a['mean'][key]:{fmt}} | {b['mean'][key]:{fmt}} | "
                             f"{paired_cells(d)} |")
    return "\n".join(lines)


def read_results(path: str | Path) -> dict:
    """A result file of this script, or a one-line error that says what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise FennecInputError(f"{path}: no such result file; write one with `python bench/space_eval.py --out "
                               f"{path}`")
    try:
        results = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FennecInputError(f"{path}: not a result file of bench/space_eval.py (not JSON: {err})") from None
    if not isinstance(results, dict):
        raise FennecInputError(f"{path}: not a result file of bench/space_eval.py (expected a JSON object of "
                               "benchmarks)")
    check_results(results, path)
    return results


def check_results(results: dict, path: str | Path) -> None:
    """Refuse a JSON object that is not ``{benchmark: {protocol: {method: report}}}``: another script's result
    file would otherwise be merged into (and overwritten by ``--out``) or fail in the tables with a traceback."""
    for bench, by_protocol in results.items():
        where = f"{path}: not a result file of bench/space_eval.py"
        if bench not in BENCHMARKS:
            raise FennecInputError(f"{where} (its key {bench!r} is not a benchmark; expected one of "
                                   f"{', '.join(BENCHMARKS)})")
        if not isinstance(by_protocol, dict) or not set(by_protocol) <= {"lodo", "lomo"}:
            raise FennecInputError(f"{where} (expected {{{bench!r}: {{'lodo' or 'lomo': {{method: report}}}}}})")
        for by_method in by_protocol.values():
            if not isinstance(by_method, dict) or not all(isinstance(rep, dict) for rep in by_method.values()):
                raise FennecInputError(f"{where} (expected each method's report to be a JSON object)")


def parse_params(items: list[str]) -> dict:
    """``--fennec-param KEY=VALUE`` options as keyword arguments: VALUE is read as JSON (``0.5``, ``true``,
    ``"spread"``), and a VALUE that is not JSON as the text itself (``baseline_weight=spread``)."""
    params = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise FennecInputError(f"--fennec-param {item!r}: expected KEY=VALUE, e.g. learned_scale=0 or "
                                   "baseline_weight=spread")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def check_names(benchmarks: list[str] | None, methods: list[str] | None, store: RecordStore) -> None:
    """Refuse an unknown ``--benchmark`` or ``--methods`` name, or a benchmark the store has no records of, before
    the first fit: each would otherwise fail after the other runs had taken their minutes.

    Raises:
        FennecInputError: naming the input, with the close matches of an unknown name.
    """
    from fennec.evaluation.methods import METHODS as REGISTERED
    from fennec.evaluation.protocols import check_benchmarks
    from fennec.registry import UnknownNameError

    check_benchmarks(benchmarks or list(BENCHMARKS), store, given=bool(benchmarks))
    for name in methods or ():
        try:
            REGISTERED.get(name)
        except UnknownNameError as err:
            raise FennecInputError(f"--methods: {err}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation (or print tables of result files); bad input is one line on stderr and exit code 2."""
    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"space_eval: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", action="append", default=None)
    ap.add_argument("--protocol", action="append", default=None, choices=("lodo", "lomo"))
    ap.add_argument("--store", default=None)
    ap.add_argument("--out", default="bench/results/space_eval.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the harness (the cold-start folds) and of the methods (the space's, unless "
                    "--fennec-param seed=N gives its own)")
    ap.add_argument("--fennec-param", action="append", default=[], metavar="KEY=VALUE",
                    help="hyper-parameter of the fennec method (e.g. n_members=1, epochs=300, val_fraction=0)")
    ap.add_argument("--methods", nargs="+", default=None, help="methods to run (default: all for the protocol)")
    ap.add_argument("--table", nargs="+", metavar="JSON", default=None,
                    help="only print the README tables (means; paired differences) from result files "
                    "(e.g. space_eval_lodo.json ...)")
    ap.add_argument("--seeds-table", nargs="+", metavar="JSON", default=None,
                    help="only print the table over seeds of result files of one protocol run with --seed 0, 1, ...")
    ap.add_argument("--versus", nargs=2, metavar=("FIRST", "SECOND"), default=None,
                    help="only compare fennec's runs in two result files (a variant against the default), paired "
                    "over target datasets; FIRST or SECOND may be several files joined by commas (runs at --seed 0,1,"
                    "...), averaged over their seeds first")
    args = ap.parse_args(argv)
    if args.versus:
        first, second = ([read_results(f) for f in side.split(",")] for side in args.versus)
        table = runs_table(first, second)
        if table.count("\n") < 2:  # the header alone
            raise FennecInputError(f"--versus {' '.join(args.versus)}: nothing to compare (the two sides share no "
                                   "benchmark and protocol that fennec ran on in every file)")
        print(table)
        return 0
    if args.seeds_table:
        runs = [read_results(p) for p in args.seeds_table]
        protocols = sorted({p for r in runs for by in r.values() for p in by})
        if len(protocols) != 1:
            raise FennecInputError(f"--seeds-table: expected runs of one protocol, the files hold "
                                   f"{' and '.join(protocols) if protocols else 'no runs'}")
        protocol = protocols[0]
        print(seeds_table(runs, protocol, "params" if protocol == "lomo" else "prior"))
        return 0
    if args.table:
        merged: dict = {}
        for path in args.table:
            for bench, by_protocol in read_results(path).items():
                for protocol, by_method in by_protocol.items():
                    merged.setdefault(bench, {}).setdefault(protocol, {}).update(by_method)
        print(markdown_table(merged))
        print()
        print(paired_table(merged))
        return 0
    # every check comes before the first fit: torch refuses 0 threads, and an --out that cannot be written was
    # found only when the first result was written, after that run's minutes
    threads = check_positive_int(args.threads, "--threads")
    check_seed(args.seed, "--seed")
    out = check_output_file(args.out, "--out")
    results = read_results(out) if out.exists() else {}

    from fennec.commands.records import open_store
    from fennec.evaluation import evaluate
    from fennec.evaluation.plot import plot_reports
    from fennec.space.methods import SpaceMethod  # registers fennec, fennec-nmf

    params = parse_params(args.fennec_param)
    from fennec.registry import unknown_name_message
    from fennec.space import TransferSpace

    known = list(TransferSpace().get_params())
    for key in params:
        if key not in known:  # found now, not as a skipped method after minutes of other methods' runs
            message = unknown_name_message("TransferSpace hyper-parameter", key, known)
            raise FennecInputError(f"--fennec-param: {message}")
    try:  # the values too (dim=-3), not only the names: fit checks them only after the other methods' runs
        TransferSpace(**params)._check_params()
    except FennecInputError as err:
        raise FennecInputError(f"--fennec-param: {err}") from None
    # a --store typo must not become a new store of the shipped records, evaluated as if it were the user's
    store = open_store(args, must_exist=True)
    check_names(args.benchmark, args.methods, store)
    torch.set_num_threads(threads)
    failed: list[str] = []
    for protocol in args.protocol or ["lodo", "lomo"]:
        for bench in args.benchmark or BENCHMARKS:
            reports = []
            for method in args.methods or METHODS[protocol]:
                t0 = time.perf_counter()
                spec = method
                if method == "fennec" and params:
                    def spec(params=params):
                        return SpaceMethod(**params)
                try:
                    rep = evaluate(bench, spec, protocol, store=store, seed=args.seed)
                    rep["method"] = method if not params or method != "fennec" else f"fennec{params}"
                except Exception as exc:  # the other runs go on; the exit code says that one failed
                    print(f"{bench} {protocol} {method}: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
                    failed.append(f"{bench} {protocol} {method}")
                    continue
                rep["seconds"] = round(time.perf_counter() - t0, 1)
                rep["seed"] = args.seed  # a result file may gather runs: each says which draw it is
                reports.append(rep)
                results.setdefault(bench, {}).setdefault(protocol, {})[method] = rep
                mean = rep["mean"]
                cells = " ".join(f"{k}={mean[k]:.3f}" for k in KEYS if mean.get(k) is not None)
                print(f"{bench:16s} {protocol} {method:11s} {cells} ({rep['seconds']} s)", flush=True)
                out.parent.mkdir(parents=True, exist_ok=True)
                with atomic_open(out, "w") as fh:  # a run stopped while writing keeps the previous results
                    fh.write(json.dumps(results, indent=1))
            if reports:
                # every method of the result file, not only those of this run
                plot_reports(list(results[bench][protocol].values()), out.parent / f"space_eval_{bench}_{protocol}.png")
    if failed:
        print(f"{len(failed)} run(s) failed and are not in {out}: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
