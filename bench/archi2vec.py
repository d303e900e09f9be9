"""Benchmark of archi2vec: coverage, extraction speed, graph sizes, embedding speed, and quality vs a baseline.

Usage (after `archi2vec catalog` and `archi2vec train`)::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python bench/archi2vec.py [--sample 30] [--catalog-log LOG] \
        [--workers-sample 48] [--workers 1 2]

From-scratch speed with worker processes: the same fixed sample (``--workers-sample`` timm names of the seeded
catalog order, after the ``--sample`` ones) is embedded through ``archi2vec.embed(..., use_precomputed=False,
workers=N)`` once per N, each time with a new empty cache and cold meta memo, so every graph is extracted; wall-clock
time includes starting the workers, encoding and cache writes. Starting the fork server (once per process: it imports
torch and timm) is timed apart and added once to the projection for 1,000. The runs are side by side in one process,
under the same machine load (recorded with each run).

Quality is measured on the architectures held out from encoder training (crc32 split by name, 20%):
* family retrieval: 1-NN (cosine on z-scored vectors, train architectures as the gallery) accuracy of the family;
* R^2 of log10 params and log10 FLOPs from a ridge regression (alpha chosen by CV on the training split).
The same for the hand-crafted baseline (archi2vec.baseline). Writes bench/results/archi2vec.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# This script is named like the package: drop its own directory from sys.path so `import archi2vec` finds the
# package, not this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


@contextlib.contextmanager
def _empty_cache() -> Iterator[None]:
    """Point ``$ARCHI2VEC_CACHE`` at a new empty directory for the block, then restore it."""
    old = os.environ.get("ARCHI2VEC_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHI2VEC_CACHE"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("ARCHI2VEC_CACHE", None)
            else:
                os.environ["ARCHI2VEC_CACHE"] = old


def _zscore(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0) + 1e-8
    return (train - mu) / sd, (test - mu) / sd


def family_1nn(train: np.ndarray, ytr: list[str], test: np.ndarray, yte: list[str]) -> float:
    a, b = _zscore(train, test)
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    nn_idx = (b @ a.T).argmax(1)
    return float(np.mean([ytr[j] == y for j, y in zip(nn_idx, yte, strict=True)]))


def ridge_r2(train: np.ndarray, ytr: np.ndarray, test: np.ndarray, yte: np.ndarray) -> float:
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    a, b = _zscore(train, test)
    oktr, okte = np.isfinite(ytr), np.isfinite(yte)
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(a[oktr], ytr[oktr])
    return float(r2_score(yte[okte], model.predict(b[okte])))


def parse_catalog_log(path: str) -> dict[str, float]:
    """Per-architecture seconds from the `archi2vec catalog` log."""
    pat = re.compile(r"^\[\d+/\d+\] (\S+) (?:fx|hooks) nodes=\d+ edges=\d+ ([0-9.]+)s$")
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = pat.match(line.strip())
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before torch is imported and anything is timed: a bad count was accepted (``--sample
    -1`` sliced the whole catalog but its last name, ``--workers 0`` ran) and an --out that cannot be written was
    an error after the whole run.

    Raises:
        FennecInputError: naming the option, what was expected and how to fix it.
    """
    from fennec.validation import check_output_file, check_positive_int

    check_positive_int(args.sample, "--sample")
    check_positive_int(args.workers_sample, "--workers-sample")
    for workers in args.workers:
        check_positive_int(workers, "--workers")
    check_output_file(args.out, "--out")


def main(argv: list[str] | None = None) -> int:
    """Run the bench and write the JSON; bad input is one line on stderr and exit code 2."""
    from fennec.validation import FennecInputError

    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"archi2vec: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=30, help="architectures extracted from scratch for timing")
    ap.add_argument("--catalog-log", default=None, help="log of `archi2vec catalog` for whole-catalog timings")
    ap.add_argument("--workers-sample", type=int, default=48,
                    help="architectures embedded from scratch for the worker comparison")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts compared (default 1 2)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "archi2vec.json"))
    args = ap.parse_args(argv)
    check_args(args)

    import torch

    torch.set_num_threads(1)
    import timm

    import archi2vec
    from archi2vec import cache
    from archi2vec.api import load_embeddings, load_encoder
    from archi2vec.baseline import handcrafted_matrix
    from archi2vec.catalog import catalog_order, catalog_status, extract
    from archi2vec.train import regression_targets, split_names
    from fennec.io import write_json

    res: dict[str, object] = {"timm_version": timm.__version__, "archi2vec_version": archi2vec.__version__}

    # ---- coverage
    st = catalog_status()
    ok, fails, pending = st["ok"], st["failures"], st["pending"]
    if not ok:  # the graph sizes and the quality need extracted graphs: say so, not `max() arg is an empty sequence`
        from fennec.validation import FennecInputError

        where = os.environ.get("ARCHI2VEC_CACHE") or "the archi2vec cache"
        raise FennecInputError(f"no extracted architecture graph in {where}; run `archi2vec catalog` (and "
                               "`archi2vec train`) first, or point ARCHI2VEC_CACHE at a cache that has them")
    attempted = len(ok) + len(fails)
    timm_ok = [n for n in ok if n.startswith("timm:")]
    timm_att = timm_ok + [n for n in fails if n.startswith("timm:")]
    timm_total = len(archi2vec.names.timm_architectures())
    graphs = [cache.load_graph(cache.graph_path(n)) for n in ok]
    paths = [g.trace_path for g in graphs]
    nodes = [g.num_nodes for g in graphs]
    res["coverage"] = {
        "catalog_size": attempted + len(pending), "attempted": attempted, "ok": len(ok), "failed": len(fails),
        "pending": len(pending), "coverage_attempted": len(ok) / max(attempted, 1),
        "coverage_catalog": len(ok) / max(attempted + len(pending), 1),
        "timm_ok": len(timm_ok), "timm_attempted": len(timm_att),
        "timm_total": timm_total, "timm_coverage": len(timm_ok) / max(timm_total, 1),
        "fx": paths.count("fx"), "hooks": paths.count("hooks"),
        "with_flops": int(sum(np.isfinite(g.flops) for g in graphs)),
    }
    res["graph_size"] = {"median_nodes": float(np.median(nodes)), "mean_nodes": float(np.mean(nodes)),
                         "max_nodes": int(max(nodes)), "median_edges": float(np.median([g.edge_index.shape[1]
                                                                                         for g in graphs]))}

    # ---- whole-catalog extraction time (from the catalog log, when given)
    if args.catalog_log and Path(args.catalog_log).exists():
        secs = parse_catalog_log(args.catalog_log)
        res["catalog_log"] = {"graphs_timed": len(secs), "median_s_per_graph": statistics.median(secs.values()),
                              "mean_s_per_graph": statistics.mean(secs.values()),
                              "sum_s": round(sum(secs.values()), 1)}
    elif Path(args.out).exists():  # no log this time: keep the numbers of the last run that had one
        try:
            previous = json.loads(Path(args.out).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            previous = None  # not a result of this script: nothing to keep
        if isinstance(previous, dict) and "catalog_log" in previous:
            res["catalog_log"] = previous["catalog_log"]

    # ---- from-scratch timing on a fixed sample (graph extraction + encoding, empty caches)
    enc = load_encoder()
    sample = [n for n in catalog_order(seed=123) if n.startswith("timm:")][: args.sample]
    with _empty_cache():
        per, sample_graphs = [], []
        for n in sample:
            t = time.perf_counter()
            try:
                sample_graphs.append(extract(n))
            except Exception:
                continue
            per.append(time.perf_counter() - t)
        t = time.perf_counter()
        enc.embed_graphs(sample_graphs)
        t_enc = (time.perf_counter() - t) / max(len(sample_graphs), 1)
        # end-to-end through the public API with empty caches
        t = time.perf_counter()
        archi2vec.embed(sample[:10], use_precomputed=False)
        t_api_scratch = (time.perf_counter() - t) / 10
        t = time.perf_counter()
        archi2vec.embed(sample[:10], use_precomputed=False)
        t_api_cached10 = time.perf_counter() - t
    mean_s = float(np.mean(per))
    names_all, _ = load_embeddings()
    t = time.perf_counter()
    archi2vec.embed(names_all[:1000])
    t_pre = time.perf_counter() - t
    res["speed"] = {
        "sample": len(per), "median_s_per_graph": float(np.median(per)), "mean_s_per_graph": mean_s,
        "encode_s_per_graph": t_enc, "api_scratch_s_per_arch": t_api_scratch,
        "api_embedding_cache_s_for_10": t_api_cached10,
        "estimated_1000_from_scratch_min": (mean_s + t_enc) * 1000 / 60,
        "estimated_catalog_extraction_min": mean_s * (attempted + len(pending)) / 60,
        "precomputed_1000_s": t_pre,
    }

    # ---- from scratch with 1 vs N worker processes, side by side (each run with its own empty cache)
    from archi2vec.catalog import extract_many
    from archi2vec.trace_fx import clear_caches

    # names after the first timing sample, so that no run profits from graphs this process has already seen
    wsample = [n for n in catalog_order(seed=123) if n.startswith("timm:")][args.sample: args.sample
                                                                            + args.workers_sample]
    runs = []
    for w in args.workers:
        start_s = 0.0
        if w > 1:  # once per process: the fork server imports torch and timm (timed apart, paid once per 1000)
            t = time.perf_counter()
            list(extract_many(["torchvision:alexnet", "timm:resnet10t"], workers=w))
            start_s = time.perf_counter() - t
        clear_caches()  # this process's memo would otherwise be warm, the workers' never is
        with _empty_cache():
            load = os.getloadavg()[0]
            t = time.perf_counter()
            archi2vec.embed(wsample, use_precomputed=False, workers=w)
            secs = time.perf_counter() - t
        runs.append({"workers": w, "seconds": round(secs, 2), "s_per_arch": secs / len(wsample),
                     "fork_server_start_s": round(start_s, 2),
                     "projected_1000_min": (secs / len(wsample) * 1000 + start_s) / 60,
                     "load_avg_1min_before": load})
    res["from_scratch_workers"] = {"sample": len(wsample), "first_name": wsample[0], "cpu_count": os.cpu_count(),
                                   "runs": runs, "speedup": runs[0]["seconds"] / runs[-1]["seconds"]}

    # ---- quality on held-out architectures
    ok_set = {n: g for n, g in zip(ok, graphs, strict=True)}
    train_n, test_n = split_names(ok)
    ckpt = torch.load(archi2vec.api.data_dir() / "encoder.pt", map_location="cpu", weights_only=True)
    trained_on = ckpt["info"].get("n_graphs")
    gtr = [ok_set[n] for n in train_n]
    gte = [ok_set[n] for n in test_n]
    ztr = enc.embed_graphs(gtr).numpy().astype(np.float64)
    zte = enc.embed_graphs(gte).numpy().astype(np.float64)
    btr, bte = handcrafted_matrix(gtr), handcrafted_matrix(gte)
    ftr = [g.family for g in gtr]
    fte = [g.family for g in gte]
    train_families = set(ftr)
    ytr = np.stack([regression_targets(g) for g in gtr])
    yte = np.stack([regression_targets(g) for g in gte])
    quality = {"n_train": len(gtr), "n_held_out": len(gte), "encoder_trained_on": trained_on,
               "held_out_with_family_in_train": sum(f in train_families for f in fte),
               "n_families": len(train_families | set(fte))}
    for label, a, b in (("gnn", ztr, zte), ("baseline", btr, bte), ("gnn+baseline", np.hstack([ztr, btr]),
                                                                     np.hstack([zte, bte]))):
        quality[label] = {"family_1nn_acc": family_1nn(a, ftr, b, fte),
                          "r2_log_params": ridge_r2(a, ytr[:, 0], b, yte[:, 0]),
                          "r2_log_flops": ridge_r2(a, ytr[:, 1], b, yte[:, 1]),
                          "dim": int(a.shape[1])}
    # majority-family reference
    maj = max(set(ftr), key=ftr.count)
    quality["majority_family_acc"] = float(np.mean([f == maj for f in fte]))
    res["quality"] = quality
    write_json(args.out, res)

    c, s, q = res["coverage"], res["speed"], res["quality"]
    print("archi2vec benchmark")
    print(f"coverage: {c['ok']}/{c['catalog_size']} graphs ({100 * c['coverage_catalog']:.1f}% of catalog, "
          f"{100 * c['coverage_attempted']:.1f}% of attempted); timm {c['timm_ok']}/{c['timm_total']} "
          f"({100 * c['timm_coverage']:.1f}%); fx={c['fx']} hooks={c['hooks']}; failed={c['failed']} "
          f"pending={c['pending']}")
    gs = res["graph_size"]
    print(f"graph size: median {gs['median_nodes']:.0f} nodes (mean {gs['mean_nodes']:.0f}, max {gs['max_nodes']})")
    if "catalog_log" in res:
        cl = res["catalog_log"]
        print(f"catalog run: {cl['graphs_timed']} graphs, median {cl['median_s_per_graph']:.2f} s/graph, "
              f"total {cl['sum_s'] / 60:.1f} min")
    print(f"speed: {s['median_s_per_graph']:.2f} s/graph median ({s['mean_s_per_graph']:.2f} mean) over "
          f"{s['sample']}; encode {1000 * s['encode_s_per_graph']:.1f} ms/graph; 1000 archs from scratch "
          f"~{s['estimated_1000_from_scratch_min']:.1f} min; 1000 precomputed {s['precomputed_1000_s']:.3f} s; "
          f"10 from embedding cache {s['api_embedding_cache_s_for_10']:.3f} s")
    fw = res["from_scratch_workers"]
    for r in fw["runs"]:
        print(f"from scratch, {r['workers']} worker(s): {fw['sample']} architectures in {r['seconds']:.1f} s = "
              f"{r['s_per_arch']:.3f} s/arch (+ {r['fork_server_start_s']:.1f} s fork server start), 1000 in "
              f"~{r['projected_1000_min']:.1f} min "
              f"(load average before: {r['load_avg_1min_before']:.2f} on {fw['cpu_count']} cores)")
    print(f"quality on {q['n_held_out']} held-out architectures ({q['held_out_with_family_in_train']} with a family "
          f"seen in training; majority-family acc {q['majority_family_acc']:.3f})")
    print(f"{'method':<14}{'dim':>5}{'family 1-NN':>13}{'R2 log params':>15}{'R2 log FLOPs':>14}")
    for label in ("gnn", "baseline", "gnn+baseline"):
        r = q[label]
        print(f"{label:<14}{r['dim']:>5}{r['family_1nn_acc']:>13.3f}{r['r2_log_params']:>15.3f}"
              f"{r['r2_log_flops']:>14.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
