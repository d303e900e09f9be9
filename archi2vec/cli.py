"""``archi2vec`` command line.

    archi2vec embed NAME [NAME ...] [--format text|json] [--workers N]
    archi2vec graph NAME --stats [--format text|json]
    archi2vec catalog [--retry-failures] [--timeout S] [--list] [--workers N]
    archi2vec failures [--format text|json]
    archi2vec train [--epochs N] [--dim D] [--time-budget S] [--out DIR] [--allow-fewer]
    archi2vec export [--out DIR] [--allow-fewer]

Exit codes: 0 success, 1 failure (a graph could not be extracted, training diverged, no shipped data), 2 bad
input (an unknown name, a bad option, an unwritable output, a damaged data file), 130 interrupted. Every error is
one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import Counter
from collections.abc import Sequence


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _number(text: str, *, allow_zero: bool) -> float:
    from fennec.validation import FennecInputError, check_positive_number

    try:
        # finite and > 0 (>= 0), the project's one rule for it; float() alone takes nan, inf and -5
        return check_positive_number(float(text), "value", allow_zero=allow_zero)
    except (ValueError, FennecInputError):
        bound = "a number >= 0" if allow_zero else "a positive number"
        raise argparse.ArgumentTypeError(f"expected {bound}, got {text!r}") from None


def _positive_float(text: str) -> float:
    return _number(text, allow_zero=False)


def _weight(text: str) -> float:
    return _number(text, allow_zero=True)


def _seed(text: str) -> int:
    from fennec.validation import MAX_SEED, FennecInputError, check_seed

    try:
        return check_seed(int(text), "value")  # the range every generator fennec seeds accepts
    except (ValueError, FennecInputError):
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {MAX_SEED}], got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    # fennec's parser: a bad option is one line (not argparse's usage block) and exit code 2, as for `fennec`
    from fennec.cli import _OneLineParser

    p = _OneLineParser(prog="archi2vec", description="Architecture graphs and GNN embeddings.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    e = sub.add_parser("embed", help="print one vector per architecture name")
    e.add_argument("names", nargs="+", metavar="NAME", help="e.g. resnet50, timm:vit_base_patch16_224.augreg_in1k, "
                   "torchvision:alexnet; surrounding spaces are ignored and a name given twice is printed once")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--no-precomputed", action="store_true", help="ignore the shipped embeddings")
    e.add_argument("--no-cache", action="store_true", help="neither read nor write the on-disk caches")
    e.add_argument("--workers", type=_positive_int, default=1,
                   help="processes extracting the graphs that are not cached (default 1; at most one per core)")

    g = sub.add_parser("graph", help="extract one architecture's graph")
    g.add_argument("name", metavar="NAME")
    g.add_argument("--stats", action="store_true", help="print node / edge counts by op type and the trace path")
    g.add_argument("--format", choices=("text", "json"), default="text")
    g.add_argument("--no-cache", action="store_true")

    c = sub.add_parser("catalog", help="extract and cache the graph of every architecture (resumable)")
    c.add_argument("--retry-failures", action="store_true")
    c.add_argument("--timeout", type=_positive_int, default=240, help="seconds per architecture (default 240)")
    c.add_argument("--list", action="store_true", help="only list the catalog names")
    c.add_argument("--limit", type=_positive_int, default=None, help="only the first N architectures (catalog order)")
    c.add_argument("--workers", type=_positive_int, default=1,
                   help="extraction processes, one torch thread each (default 1; at most one per core)")

    f = sub.add_parser("failures", help="list architectures whose graph extraction failed, with the reason")
    f.add_argument("--format", choices=("text", "json"), default="text")

    fewer = ("write embeddings.npz even when it would hold fewer architectures than the file already in the "
             "output folder (by default that is refused: the local cache may hold fewer graphs than the shipped "
             "file was made from; run `archi2vec catalog` first to extract them)")
    t = sub.add_parser("train", help="train the encoder on the cached graphs and write data/archi2vec",
                       description="Train the encoder on the cached graphs (run `archi2vec catalog` first), then "
                       "write encoder.pt, embeddings.npz (every cached graph) and failures.json. Options are "
                       "checked before any work; training that diverges (a loss that is not finite) stops "
                       "with exit 1 and writes nothing.")
    t.add_argument("--epochs", type=_positive_int, default=30)
    t.add_argument("--dim", type=_positive_int, default=64)
    t.add_argument("--hidden", type=_positive_int, default=32)
    t.add_argument("--layers", type=_positive_int, default=2)
    t.add_argument("--lr", type=_positive_float, default=5e-3)
    t.add_argument("--w-contrast", type=_weight, default=0.5, help="weight (>= 0) of the contrastive loss")
    t.add_argument("--w-family", type=_weight, default=2.0, help="weight (>= 0) of the family classification loss")
    t.add_argument("--w-reg", type=_weight, default=2.0,
                   help="weight (>= 0) of the params / FLOPs / depth regression loss")
    t.add_argument("--w-desc", type=_weight, default=3.0, help="weight (>= 0) of the descriptor regression loss")
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--time-budget", type=_positive_float, default=None, help="stop training after this many seconds")
    t.add_argument("--out", default=None, help="output directory (default $ARCHI2VEC_DATA or data/archi2vec)")
    t.add_argument("--allow-fewer", action="store_true", help=fewer)

    x = sub.add_parser("export", help="re-embed every cached graph with the trained encoder (no training)",
                       description="Embed every cached graph with the encoder.pt of the output folder and rewrite "
                       "its embeddings.npz and failures.json. A file that would lose architectures is not "
                       "written unless --allow-fewer is given.")
    x.add_argument("--out", default=None,
                   help="directory holding encoder.pt (default $ARCHI2VEC_DATA or data/archi2vec)")
    x.add_argument("--allow-fewer", action="store_true", help=fewer)
    return p


def _cmd_embed(args: argparse.Namespace) -> int:
    from archi2vec.api import embed

    # ' resnet50' is resnet50 (a shell quoting slip); a JSON object holds a key once, so every format prints a
    # name once, in the order first given, and says so rather than returning fewer vectors than names silently
    given = [n.strip() for n in args.names]
    names = list(dict.fromkeys(given))
    # embed checks every name before any work
    vecs = embed(names, use_precomputed=not args.no_precomputed, use_cache=not args.no_cache, workers=args.workers)
    repeated = [n for n, k in Counter(given).items() if k > 1]
    if repeated:  # said once the names are known good, so that an error stays the only line on stderr
        print(f"archi2vec embed: note: {', '.join(map(repr, repeated))} given more than once, printed once",
              file=sys.stderr)
    if args.format == "json":
        print(json.dumps({n: [round(float(v), 6) for v in vec] for n, vec in zip(names, vecs, strict=True)}))
    else:
        for n, vec in zip(names, vecs, strict=True):
            print(n + "\t" + " ".join(f"{float(v):.6g}" for v in vec))
    return 0


def graph_stats(data: object) -> dict[str, object]:
    """Node counts by op type, edge counts by (source op -> target op), and the trace path of a graph."""
    from archi2vec.ops import op_types_of

    ops = op_types_of(data.x)  # type: ignore[attr-defined]
    ei = data.edge_index.numpy()  # type: ignore[attr-defined]
    edges = Counter(f"{ops[s]}->{ops[t]}" for s, t in zip(ei[0], ei[1], strict=True))
    return {"name": getattr(data, "name", ""), "trace_path": getattr(data, "trace_path", ""),
            "family": getattr(data, "family", ""), "nodes": int(data.num_nodes),  # type: ignore[attr-defined]
            "edges": int(ei.shape[1]), "depth": int(getattr(data, "depth", 0) or 0),
            "n_params": float(getattr(data, "n_params", float("nan"))),
            "flops": float(getattr(data, "flops", float("nan"))),
            "input_size": list(getattr(data, "input_size", []) or []),
            "nodes_by_op": dict(Counter(ops).most_common()), "edges_by_op": dict(edges.most_common())}


def _cmd_graph(args: argparse.Namespace) -> int:
    from archi2vec.catalog import get_graph

    data = get_graph(args.name, use_cache=not args.no_cache)
    stats = graph_stats(data)
    if not args.stats:
        stats = {k: stats[k] for k in ("name", "trace_path", "family", "nodes", "edges", "depth")}
    if args.format == "json":
        print(json.dumps(stats))
        return 0
    print(f"{stats['name']}  path={stats['trace_path']}  family={stats['family']}  nodes={stats['nodes']}  "
          f"edges={stats['edges']}  depth={stats['depth']}")
    if args.stats:
        print(f"params={stats['n_params']:.4g}  flops={stats['flops']:.4g}  input_size={stats['input_size']}")
        print("nodes by op type:")
        for op, n in stats["nodes_by_op"].items():  # type: ignore[union-attr]
            print(f"  {op:<14} {n}")
        print("edges by op type (source->target), top 15:")
        for k, n in list(stats["edges_by_op"].items())[:15]:  # type: ignore[union-attr]
            print(f"  {k:<28} {n}")
    return 0


def _cmd_catalog(args: argparse.Namespace) -> int:
    from archi2vec.catalog import build_catalog, catalog_order

    names = catalog_order()
    if args.limit is not None:
        names = names[:args.limit]
    if args.list:
        print("\n".join(names))
        return 0
    summary = build_catalog(names, timeout=args.timeout, retry_failures=args.retry_failures, workers=args.workers)
    return 0 if summary["done"] + summary["skipped"] > 0 else 1


def _cmd_failures(args: argparse.Namespace) -> int:
    from archi2vec.catalog import catalog_status

    st = catalog_status()  # reads every entry: a damaged file counts as pending, never as extracted
    if args.format == "json":
        print(json.dumps({"failures": st["failures"], "n_ok": len(st["ok"]), "pending": len(st["pending"]),
                          "damaged": st["damaged"]}))
        return 0
    total = len(st["ok"]) + len(st["failures"]) + len(st["pending"])
    damaged = f" ({len(st['damaged'])} with a damaged cache file)" if st["damaged"] else ""
    print(f"{len(st['ok'])}/{total} graphs extracted, {len(st['failures'])} failed, {len(st['pending'])} pending"
          f"{damaged}")
    for n, r in sorted(st["failures"].items()):
        print(f"{n}\t{r}")
    for n, r in sorted(st["damaged"].items()):
        print(f"{n}\t{r}; `archi2vec catalog` extracts it again")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from archi2vec.api import train_and_export

    torch.set_num_threads(1)
    summary = train_and_export(args.out, epochs=args.epochs, dim=args.dim, hidden=args.hidden,
                               num_layers=args.layers, seed=args.seed, time_budget=args.time_budget,
                               lr=args.lr, w_contrast=args.w_contrast, w_family=args.w_family,
                               w_reg=args.w_reg, w_desc=args.w_desc, allow_fewer=args.allow_fewer, option="--out")
    print(json.dumps(summary))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import torch

    from archi2vec.api import export_embeddings

    torch.set_num_threads(1)
    # a missing encoder.pt in the user's --out is bad input, said by the API with the fix
    print(json.dumps(export_embeddings(args.out, allow_fewer=args.allow_fewer, option="--out")))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated")  # timm import noise
    args = _parser().parse_args(list(argv) if argv is not None else None)
    from archi2vec.graph import GraphExtractionError
    from archi2vec.train import TrainingDivergedError
    from fennec.cli import _one_line_warnings  # the fennec CLI's one-line warnings, shared rather than copied
    from fennec.registry import UnknownNameError
    from fennec.validation import FennecInputError

    handlers = {"embed": _cmd_embed, "graph": _cmd_graph, "catalog": _cmd_catalog, "failures": _cmd_failures,
                "train": _cmd_train, "export": _cmd_export}
    try:
        with _one_line_warnings(f"archi2vec {args.command}"):
            return handlers[args.command](args)
    except (FennecInputError, UnknownNameError) as exc:  # bad input: options, paths, damaged data files
        print(f"archi2vec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (GraphExtractionError, TrainingDivergedError, FileNotFoundError) as exc:
        # a failed trace, a run that diverged, an install without its data
        print(f"archi2vec {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `archi2vec catalog --list | head` is not an error
        return 0
    except KeyboardInterrupt:  # Ctrl-C: one line and the shell's 128 + SIGINT, as `fennec` does
        again = "; rerun the same command to resume" if args.command == "catalog" else ""
        print(f"archi2vec {args.command}: interrupted{again}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
