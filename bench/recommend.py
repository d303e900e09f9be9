"""Speed of ranking the zoo with the transfer space (issue 6, speed goal).

    python bench/recommend.py [--space DIR] [--threads 1] [--models 1000000] [--queries 100]
                              [--batch-tasks 10000] [--batch-models 100000] [--images 500]
                              [--skip-e2e] [--out bench/results/recommend.json]

(a) With the task vector known, rank ``--models`` synthetic folded model vectors (dimension: the space's
    ``vector_dim`` when ``--space`` is given, else 73 = 8 + 32 + 32 + 1) for ``--queries`` synthetic tasks: time per
    task, one query at a time (latency) and in one batch (amortised), of the exact flat FAISS index, the certified
    8-bit code scan that ``ModelIndex`` uses for single tasks from 10^5 models once it has built the codes
    (``codes="auto"`` builds them after ``CODES_AFTER`` single tasks; here ``codes="now"``; with ``--threads``
    shards, the default, and with one shard per core) and numpy brute force (``V @ t`` + argpartition), side by
    side in one run; recall@10 against the flat index, and whether the positions are the flat index's, in order.
    Model vectors are i.i.d. Gaussian with the bias as the last coordinate and task vectors Gaussian with a last
    coordinate of 1 (``--distribution clustered``: 1000 families of models).
(b) ``--batch-tasks`` tasks x ``--batch-models`` models in one batched top-10 search: total seconds.
(c) ``python recommend.py DIR --space SPACE --format json`` wall time (subprocess, so imports and loading the space
    count) on a folder of ``--images`` generated images in 10 class-named folders, the first run with an empty
    cache (``FENNEC_CACHE`` in a temporary directory), then warm runs; then on the same images in numbered
    folders (``0`` ... ``9``), whose class names are placeholders, so the proxy names a probe set of the images
    (:mod:`fennec.tasks.visual`) on the first run and its labels come from the cache after. The space is ``--space``,
    else ``data/space`` when it exists, else a small space trained first from the planted test world (said so in
    the output).
(d) The same on a space that reads image statistics (built here: six historical tasks of colour photos, three
    warm and three cool, described with the offline proxy by ``fennec tasks add-images --manifest``, planted
    records, ``train.py``): ``recommend.py`` on the class-named folder of (c) now runs the proxy over a probe set
    of its images (up to 500) the first time; then its descriptor comes from the cache.

Goals (issue 6): < 10 ms per task at 10^6 models; 10^4 x 10^5 < 30 s. Threads are pinned (``--threads``) for BLAS
(threadpoolctl), OpenMP and FAISS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "recommend.json"
DEFAULT_DIM = 73
K = 10
CLASSES = ["sparrow", "eagle", "owl", "parrot", "heron", "rose", "tulip", "daisy", "sunflower", "orchid"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--space", default=None, help="trained space (its vector_dim; used for the end-to-end run)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100, help="tasks timed in (a)")
    p.add_argument("--batch-tasks", type=int, default=10_000)
    p.add_argument("--batch-models", type=int, default=100_000)
    p.add_argument("--images", type=int, default=500)
    p.add_argument("--distribution", choices=("gaussian", "clustered"), default="gaussian",
                   help="synthetic model vectors: i.i.d. Gaussian, or 1000 Gaussian families (centre + 0.5 noise)")
    p.add_argument("--e2e-repeats", type=int, default=3, help="warm end-to-end runs after the cold one")
    p.add_argument("--skip-e2e", action="store_true")
    p.add_argument("--out", default=str(OUT))
    return p.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before the first index is built: a bad count was a traceback from deep inside the
    bench, and an --out that cannot be written was found only after the whole run.

    Raises:
        FennecInputError: naming the option, what was expected and how to fix it.
    """
    from fennec.space.index import FILTER_MIN
    from fennec.validation import FennecInputError, check_output_file, check_path_option, check_positive_int

    for option in ("models", "queries", "batch_tasks", "batch_models", "images"):
        check_positive_int(getattr(args, option), "--" + option.replace("_", "-"))
    if args.models < FILTER_MIN:  # (a) times the certified scan, which a smaller zoo never builds
        raise FennecInputError(f"--models {args.models}: the certified 8-bit scan timed in (a) needs a zoo of at "
                               f"least {FILTER_MIN:,} models (FILTER_MIN); give --models {FILTER_MIN} or more")
    if args.batch_models < K:  # (b) is a top-K search: argpartition needs K models
        raise FennecInputError(f"--batch-models {args.batch_models}: the batched search (b) is a top-{K} search; "
                               f"give --batch-models {K} or more")
    if args.e2e_repeats < 1:
        raise FennecInputError(f"--e2e-repeats {args.e2e_repeats}: give at least 1 (the warm time is a median of "
                               "these runs)")
    if not args.skip_e2e and args.images < len(CLASSES):
        raise FennecInputError(f"--images {args.images}: give at least {len(CLASSES)}, one image per class folder "
                               "(or --skip-e2e)")
    check_path_option(args.space, "--space", what="a trained space folder", left_out="the default")
    check_output_file(args.out, "--out")


def pin_threads(n: int) -> None:
    """Before numpy/faiss/torch are imported: every thread pool gets ``n`` threads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def space_dim(space: str | None) -> tuple[int, str]:
    if space is None:
        return DEFAULT_DIM, "default (8 + 32 + 32 + 1)"
    from fennec.validation import FennecInputError

    manifest = Path(space) / "manifest.json"
    if not manifest.is_file():
        raise FennecInputError(f"--space {space!r}: holds no manifest.json; give a space written by train.py")
    try:
        return int(json.loads(manifest.read_text())["vector_dim"]), f"vector_dim of {space}"
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise FennecInputError(f"--space {space!r}: manifest.json gives no vector_dim ({type(err).__name__}: "
                               f"{err}); give a space written by train.py") from None


def synthetic(n_models: int, n_tasks: int, dim: int, seed: int, distribution: str = "gaussian"):
    import numpy as np

    rng = np.random.default_rng(seed)
    models = rng.standard_normal((n_models, dim), dtype=np.float32)
    if distribution == "clustered":  # families of models: a shared centre plus a smaller individual part
        centres = rng.standard_normal((1000, dim), dtype=np.float32)
        models *= 0.5
        models += centres[rng.integers(0, len(centres), n_models)]
    tasks = rng.standard_normal((n_tasks, dim), dtype=np.float32)
    tasks[:, -1] = 1.0  # the folded bias coordinate
    return models, tasks


def numpy_topk(models, tasks, k: int, chunk: int = 256):
    """Brute force: scores in chunks of tasks, top-k by argpartition then sort."""
    import numpy as np

    out = np.empty((len(tasks), k), np.int64)
    for s in range(0, len(tasks), chunk):
        sc = tasks[s:s + chunk] @ models.T
        part = np.argpartition(-sc, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sc, part, 1), axis=1, kind="stable")
        out[s:s + chunk] = np.take_along_axis(part, order, 1)
    return out


BLAS_THRESHOLD = 20  # faiss 1.15.1's default distance_compute_blas_threshold is 128000


def blas(search):
    """``search`` with ``faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD`` (restored after), so that
    the exhaustive search of a batch of tasks runs as a BLAS matrix product; with faiss 1.15.1's default a batch of
    100 or 10^4 tasks is scanned one task at a time. (Measured: single tasks get slower with it.)"""
    import faiss

    def run(q):
        old = faiss.cvar.distance_compute_blas_threshold
        faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD
        try:
            return search(q)
        finally:
            faiss.cvar.distance_compute_blas_threshold = old

    return run


def per_task_ms(search, tasks, batched: bool):
    """(median, p90) ms per task one query at a time, or (amortised, amortised) ms in one batch; and the (Q, k)
    positions found. ``search`` returns FAISS-style (scores, positions) or positions. Both quantiles are numpy's
    interpolated percentiles: a p90 read off one sorted position fell below the median with few queries."""
    import numpy as np

    def positions(found):
        return found[1] if isinstance(found, tuple) else found

    if batched:
        t0 = time.perf_counter()
        found = positions(search(tasks))
        ms = (time.perf_counter() - t0) * 1e3 / len(tasks)
        return ms, ms, found
    search(tasks[:1])  # warm-up
    times, found = [], []
    for q in tasks:
        t0 = time.perf_counter()
        found.append(positions(search(q[None]))[0])
        times.append((time.perf_counter() - t0) * 1e3)
    median, p90 = np.percentile(times, (50, 90))
    return float(median), float(p90), found


def recall(found, truth) -> float:
    return float(sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
                 / truth.size)


def bench_large(args: argparse.Namespace, dim: int) -> dict:
    import numpy as np

    from fennec.space.index import ModelIndex

    models, tasks = synthetic(args.models, args.queries, dim, seed=0, distribution=args.distribution)
    t0 = time.perf_counter()
    flat = ModelIndex(models, codes="never")
    flat_build = time.perf_counter() - t0
    _, truth = flat.search(tasks, K)
    methods = [("faiss flat (exact)", lambda q: flat.search(q, K), flat_build),
               (f"faiss flat (exact), blas_threshold={BLAS_THRESHOLD}", blas(lambda q: flat.search(q, K)),
                flat_build)]
    for shards in sorted({args.threads, os.cpu_count() or 1}):
        t0 = time.perf_counter()
        coded = ModelIndex(models, threads=shards, codes="now")  # what "auto" builds after CODES_AFTER tasks
        build = time.perf_counter() - t0
        if not coded.filtered:  # --models is checked against FILTER_MIN up front: the kernel failed to build
            sys.exit("bench/recommend.py: the certified 8-bit scan could not be built (see the warning above)")
        label = f"certified 8-bit scan, {shards} shard(s)" + (" (default)" if shards == args.threads else "")
        methods.append((label, lambda q, index=coded: index.search(q, K), build))
    methods.append(("numpy brute force", lambda q: numpy_topk(models, q, K), 0.0))
    rows = {}
    for name, search, build in methods:
        one_med, one_p90, single = per_task_ms(search, tasks, batched=False)
        batch_ms, _, batched = per_task_ms(search, tasks, batched=True)
        rows[name] = {"ms_per_task_single_median": round(one_med, 3), "ms_per_task_single_p90": round(one_p90, 3),
                      "ms_per_task_batched": round(batch_ms, 3), "build_s": round(build, 2),
                      "recall_at_10": round(recall(single, truth), 4),
                      "same_order_as_flat": bool(np.array_equal(np.stack(single), truth)
                                                 and np.array_equal(batched, truth))}
    return {"n_models": args.models, "dim": dim, "n_tasks": args.queries, "k": K, "methods": rows}


def bench_batch(args: argparse.Namespace, dim: int) -> dict:
    from fennec.space.index import ModelIndex

    models, tasks = synthetic(args.batch_models, args.batch_tasks, dim, seed=1, distribution=args.distribution)
    t0 = time.perf_counter()
    index = ModelIndex(models)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, pos = index.search(tasks, K)
    search = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, pos_blas = blas(lambda q: index.search(q, K))(tasks)
    search_blas = time.perf_counter() - t0
    t0 = time.perf_counter()
    np_pos = numpy_topk(models, tasks, K, chunk=512)
    numpy_s = time.perf_counter() - t0
    return {"n_tasks": args.batch_tasks, "n_models": args.batch_models, "dim": dim, "k": K,
            "build_s": round(build, 3), "search_s": round(search, 3), "total_s": round(build + search, 3),
            "search_blas_s": round(search_blas, 3), "blas_threshold": BLAS_THRESHOLD,
            "blas_recall_at_10": round(recall(pos_blas, pos), 4),
            "numpy_brute_force_s": round(numpy_s, 3), "numpy_recall_at_10": round(recall(np_pos, pos), 4)}


def make_images(root: Path, n_images: int, classes: list[str]) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    per = n_images // len(classes)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per):
            arr = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / c / f"{c}_{i:03d}.jpg", quality=85)
    return root


def train_planted_space(out: Path, env: dict[str, str]) -> float:
    """A small space from the planted world of :mod:`fennec.space.planted` (no shipped space here)."""
    from fennec.space.planted import make_world, write_world_store

    store_path = out.parent / "records.sqlite"
    write_world_store(store_path, make_world())
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--store", str(store_path), "--out", str(out),
                    "--epochs", "60"], check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def build_image_space(root: Path, env: dict[str, str]) -> dict:
    """A space that reads image statistics, from six colour-photo tasks and planted records (timings of its
    parts): the tasks are described in one ``fennec tasks add-images --manifest`` run with the default proxy."""
    import numpy as np
    from PIL import Image

    from fennec.records.cards import TaskCard
    from fennec.records.record import ModelInfo
    from fennec.space.planted import planted_records, write_world_store

    looks = {"warm": [(230, 40, 30), (240, 140, 20), (220, 80, 60)],
             "cool": [(30, 60, 230), (20, 160, 200), (90, 40, 210)]}
    rng = np.random.default_rng(0)
    store_path = root / "image_records.sqlite"
    rows = ["task,path"]
    models = {m: ModelInfo(id=m, name=m, architecture="", pretraining=f"pre-trained on {text}")
              for m, text in (("bench:warm", "photos at sunset"), ("bench:cool", "underwater photos"),
                              ("bench:generic", "photos"))}
    tasks, best = {}, {}
    for look, colours in looks.items():
        for j in range(3):
            name = f"{look}{j}"
            tasks[name] = TaskCard(name=name, n_classes=3, n_images=30, class_names=("a", "b", "c"))
            best[name] = f"bench:{look}"
            for c, rgb in zip("abc", colours, strict=True):
                (root / name / c).mkdir(parents=True)
                for i in range(10):
                    shift = rng.normal(0, 20, 3)
                    arr = np.clip(np.asarray(rgb) + shift + rng.normal(0, 15, (64, 64, 3)), 0, 255)
                    Image.fromarray(arr.astype(np.uint8)).save(root / name / c / f"{i}.png")
            rows.append(f"{name},{root / name}")
    records = planted_records(best, models, "bench:generic", "bench_colours", rng)
    write_world_store(store_path, (records, models, tasks))
    (root / "tasks.csv").write_text("\n".join(rows) + "\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fennec.cli", "tasks", "add-images", "--manifest", str(root / "tasks.csv"),
                    "--store", str(store_path)], check=True, env=env, cwd=ROOT, capture_output=True)
    described_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--store", str(store_path), "--out",
                    str(root / "image_space")], check=True, env=env, cwd=ROOT, capture_output=True)
    return {"space": str(root / "image_space"), "describe_6_tasks_s": round(described_s, 2),
            "train_s": round(time.perf_counter() - t0, 2)}


def bench_e2e(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="fennec-bench-recommend-"))
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
        note = None
        space = args.space
        if space is None and (ROOT / "data" / "space" / "manifest.json").is_file():
            space = str(ROOT / "data" / "space")
        if space is None:
            trained_s = train_planted_space(tmp / "space", env)
            space = str(tmp / "space")
            note = (f"no --space and no data/space: trained a small space from the planted test world "
                    f"(7 models, 6 tasks, {trained_s:.1f} s) into a temporary directory")
        named = make_images(tmp / "my_task", args.images, CLASSES)
        unnamed = make_images(tmp / "numbered", args.images, [str(i) for i in range(len(CLASSES))])
        run_env = {**env, "FENNEC_CACHE": str(tmp / "cache")}  # empty at the first run, then filled

        def run(folder: Path, where: str = space) -> tuple[float, dict]:
            cmd = [sys.executable, str(ROOT / "recommend.py"), str(folder), "--space", where, "--format", "json"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=run_env, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed")
            try:
                return time.perf_counter() - t0, json.loads(proc.stdout)
            except ValueError as exc:
                raise RuntimeError(f"recommend.py printed no JSON ({exc})") from None

        # named classes: the usual path, text only (first with an empty cache, then warm); numbered classes: the
        # proxy names a probe set of the images (first run), then its labels come from the cache
        try:
            runs = [run(named) for _ in range(1 + args.e2e_repeats)]
            unnamed_runs = [run(unnamed) for _ in range(1 + args.e2e_repeats)]
            image = build_image_space(tmp / "image_world", {**env, "FENNEC_CACHE": str(tmp / "cache_build")})
            run_env["FENNEC_CACHE"] = str(tmp / "cache_images")  # empty again: the first run describes the images
            image_runs = [run(named, image["space"]) for _ in range(1 + args.e2e_repeats)]
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            return {"error": [str(exc)], "space": space, "note": note}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import fennec.cli, numpy, torch, faiss"], env=env, check=True)
        import_s = time.perf_counter() - t0
        seen = unnamed_runs[0][1].get("images") or {}
        return {"space": space, "note": note, "n_images": args.images, "n_classes": len(CLASSES),
                "cold_cache_s": round(runs[0][0], 2), "warm_s_median": round(statistics.median(
                    r for r, _ in runs[1:]), 2), "warm_runs_s": [round(r, 2) for r, _ in runs[1:]],
                "unnamed_first_s": round(unnamed_runs[0][0], 2),
                "unnamed_warm_s_median": round(statistics.median(r for r, _ in unnamed_runs[1:]), 2),
                "images_labelled": seen.get("n_images"), "unnamed_description": seen.get("description"),
                "python_imports_s": round(import_s, 2), "top_model": runs[0][1]["ranking"][0]["model"],
                "unnamed_top_model": unnamed_runs[0][1]["ranking"][0]["model"],
                "image_space": {**image, "first_s": round(image_runs[0][0], 2),
                                "warm_s_median": round(statistics.median(r for r, _ in image_runs[1:]), 2),
                                "read_with": (image_runs[0][1].get("image_statistics") or {}).get("proxy")},
                "command": " ".join(["python", "recommend.py", "DIR", "--space", space, "--format", "json"])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the bench, print its table and write the JSON; bad input is one line on stderr and exit code 2."""
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    if args.threads < 1 or args.threads > cores:
        # refused before the pins (libgomp reads OMP_NUM_THREADS=0 as an error and 50000 as out of memory; 100000
        # segfaults), which come before numpy loads, and fennec.validation imports numpy
        print(f"recommend: error: --threads: expected a positive integer of at most {cores} (the cores "
              f"of this machine), got {args.threads}", file=sys.stderr)
        return 2
    pin_threads(args.threads)
    from fennec.validation import FennecInputError

    try:
        return run(args)
    except FennecInputError as err:
        print(f"recommend: error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """The bench, with ``--threads`` already pinned."""
    check_args(args)
    dim, dim_from = space_dim(args.space)
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(args.threads)
    res: dict = {"threads": args.threads, "dim": dim, "distribution": args.distribution,
                 "faiss_blas_threshold_default": int(faiss.cvar.distance_compute_blas_threshold),
                 "dim_from": dim_from, "machine": platform.machine(),
                 "cpu_count": os.cpu_count(), "python": platform.python_version(), "faiss": faiss.__version__,
                 "load_avg_before": load_avg(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "goals": {"ms_per_task_at_1e6": 10.0, "batch_1e4x1e5_s": 30.0}}
    with threadpool_limits(limits=args.threads):
        res["large"] = bench_large(args, dim)
        res["batch"] = bench_batch(args, dim)
    res["end_to_end"] = None if args.skip_e2e else bench_e2e(args)
    res["load_avg_after"] = load_avg()
    from fennec.io import write_json

    write_json(args.out, res)  # checked up front (check_args); makes the folder
    print_table(res)
    return 0


def print_table(res: dict) -> None:
    lg = res["large"]
    print(f"(a) rank {lg['n_models']:,} {res['distribution']} models (dim {lg['dim']}, {res['dim_from']}), "
          f"top-{lg['k']}, "
          f"{lg['n_tasks']} tasks, {res['threads']} thread(s), load avg {res['load_avg_before']}")
    print(f"    {'method':<46} {'ms/task 1-by-1 (med/p90)':>26} {'ms/task batched':>16} {'recall@10':>10} "
          f"{'= flat':>7} {'build s':>8}")
    for name, r in lg["methods"].items():
        print(f"    {name:<46} {r['ms_per_task_single_median']:>12.2f} / {r['ms_per_task_single_p90']:<11.2f} "
              f"{r['ms_per_task_batched']:>16.3f} {r['recall_at_10']:>10.3f} {r['same_order_as_flat']!s:>7} "
              f"{r['build_s']:>8.1f}")
    print(f"    goal: < {res['goals']['ms_per_task_at_1e6']:.0f} ms per task")
    b = res["batch"]
    print(f"(b) {b['n_tasks']:,} tasks x {b['n_models']:,} models, one batched top-{b['k']} search "
          f"(exact flat): search {b['search_s']:.2f} s + build {b['build_s']:.2f} s "
          f"= {b['total_s']:.2f} s (goal < {res['goals']['batch_1e4x1e5_s']:.0f} s); with BLAS (threshold "
          f"{b['blas_threshold']}) search {b['search_blas_s']:.2f} s; numpy brute force "
          f"{b['numpy_brute_force_s']:.2f} s")
    e = res["end_to_end"]
    if e is None:
        print("(c) end to end: skipped")
    elif "error" in e:
        print(f"(c) end to end: recommend.py failed: {e['error']}")
    else:
        if e["note"]:
            print(f"(c) note: {e['note']}")
        print(f"(c) {e['command']} on {e['n_images']} images in {e['n_classes']} class folders: "
              f"{e['cold_cache_s']:.2f} s with an empty cache, {e['warm_s_median']:.2f} s warm (median of "
              f"{len(e['warm_runs_s'])}; top model {e['top_model']}); the same images in numbered folders, "
              f"where the proxy names {e['images_labelled']} of them: {e['unnamed_first_s']:.2f} s the first "
              f"time, {e['unnamed_warm_s_median']:.2f} s with its labels cached; bare imports "
              f"{e['python_imports_s']:.2f} s")
        i = e["image_space"]
        print(f"(d) the same class-named folder on a space that reads image statistics (read with {i['read_with']}; "
              f"its six tasks described in {i['describe_6_tasks_s']:.1f} s, trained in {i['train_s']:.1f} s): "
              f"{i['first_s']:.2f} s the first time, {i['warm_s_median']:.2f} s with the descriptor cached")


if __name__ == "__main__":
    sys.exit(main())
