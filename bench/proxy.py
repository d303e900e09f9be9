"""Benchmark: the default proxy over 500 images, and zoo feature extraction for 10 small timm models.

    .venv/bin/python bench/proxy.py [--threads 2] [--images 500] [--models 10] [--compare-layouts]

Images are generated from scikit-image's photos (random crops, flips and colour jitter, saved as 224 px JPEGs in a
temporary image folder with 10 classes), so the timings include decoding and preprocessing. Goals (issue 5):
500 images through the default proxy in < 20 s; 10 small models over 500 images in < 2 min. Models without
pretrained weights available offline run with seeded random weights (the ``weights`` column says which); timing
does not depend on the weights. Wall-clock seconds depend on what else runs on the machine; ``cpu s`` (process CPU
time) does much less, so both are reported. Prints a table and writes ``bench/results/proxy.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

SMALL_MODELS = [
    "timm:tf_efficientnet_lite0",
    "timm:mobilenetv3_small_100",
    "timm:mobilenetv3_large_100",
    "timm:mobilenetv2_100",
    "timm:lcnet_050",
    "timm:regnetx_002",
    "timm:regnety_002",
    "timm:ghostnet_100",
    "timm:efficientnet_b0",
    "timm:resnet18",
]
PHOTOS = ["astronaut", "chelsea", "coffee", "camera", "rocket", "coins", "hubble_deep_field",
          "immunohistochemistry", "moon", "page"]


def make_task(root: Path, n_images: int, size: int = 224, seed: int = 0) -> Path:
    """An image folder with one class per scikit-image photo: random crops, flips and colour jitter."""
    from PIL import Image, ImageEnhance
    from skimage import data

    rng = np.random.default_rng(seed)
    per_class = int(np.ceil(n_images / len(PHOTOS)))
    for c, name in enumerate(PHOTOS):
        arr = getattr(data, name)()
        src = Image.fromarray(arr).convert("RGB")
        out = root / name
        out.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            if c * per_class + i >= n_images:
                break
            w, h = src.size
            side = int(rng.uniform(0.4, 1.0) * min(w, h))
            x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            img = src.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BICUBIC)
            if rng.random() < 0.5:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.6, 1.4)))
            img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.8, 1.2)))
            img.save(out / f"{i:04d}.jpg", quality=90)
    return root


def bench_proxy(task, n_images: int, channels_last: bool) -> dict:
    from fennec.encoders.base import DEFAULT_PROXY
    from fennec.encoders.timm_proxy import TimmImageEncoder
    from fennec.tasks import sample_probe_set

    enc = TimmImageEncoder(DEFAULT_PROXY, channels_last=channels_last)
    t0 = time.perf_counter()
    _ = enc.model
    t_load = time.perf_counter() - t0
    enc.encode_images(sample_probe_set(task, max_images=8, seed=99).iter_images())  # warm-up (allocator, kernels)
    probe = sample_probe_set(task, max_images=n_images)
    t1, c1 = time.perf_counter(), time.process_time()
    emb = enc.encode_images(probe.iter_images(min_size=512))
    t_run, c_run = time.perf_counter() - t1, time.process_time() - c1
    return {"proxy": DEFAULT_PROXY, "weights": enc.weights.source, "input_size": enc.preprocessing["input_size"],
            "channels_last": channels_last, "images": int(emb.shape[0]), "dim": int(emb.shape[1]),
            "seconds_load": round(t_load, 2), "seconds": round(t_run, 2), "cpu_seconds": round(c_run, 2),
            "images_per_s": round(emb.shape[0] / t_run, 1)}


def bench_zoo(task, models: list[str], n_images: int) -> list[dict]:
    from fennec.zoo import extract_features

    rows = []
    for m in models:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            ext = extract_features(m, task, max_images=n_images, allow_random=True, use_cache=False)
        except Exception as exc:  # report, keep benchmarking the others
            rows.append({"model": m, "error": str(exc).splitlines()[0]})
            continue
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append({"model": m, "weights": ext.weights.source, "input_size": ext.preprocessing["input_size"],
                     "dim": int(ext.features.shape[1]), "images": int(ext.features.shape[0]),
                     "seconds_load": ext.info["seconds_load"], "seconds_forward": ext.info["seconds_forward"],
                     "seconds": round(total, 2), "cpu_seconds": round(cpu, 2)})
        print(f"  {m}: {total:.1f} s ({rows[-1]['weights']} weights)", file=sys.stderr, flush=True)
    return rows


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before torch is imported and anything is timed: torch refused 0 threads with a
    RuntimeError, too few images made a task with empty classes, and an --out that cannot be written was found
    only after the whole run.

    Raises:
        FennecInputError: naming the option, what was expected and how to fix it.
    """
    from fennec.validation import FennecInputError, check_output_file, check_positive_int

    check_positive_int(args.threads, "--threads")
    check_positive_int(args.images, "--images")
    if args.images < len(PHOTOS):
        raise FennecInputError(f"--images {args.images}: give at least {len(PHOTOS)}, one image per class of the "
                               "generated task")
    if isinstance(args.models, bool) or not 0 <= args.models <= len(SMALL_MODELS):
        raise FennecInputError(f"--models {args.models}: give a number from 0 (the proxy only) to "
                               f"{len(SMALL_MODELS)} (all the small models)")
    check_output_file(args.out, "--out")


def main(argv: list[str] | None = None) -> int:
    """Run the bench, print its tables and write the JSON; bad input is one line on stderr and exit code 2."""
    from fennec.validation import FennecInputError

    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"proxy: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the speed goals' setting)")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--models", type=int, default=len(SMALL_MODELS), help="how many of the 10 small models")
    ap.add_argument("--compare-layouts", action="store_true", help="also time the proxy without channels_last")
    ap.add_argument("--out", default=str(ROOT / "results" / "proxy.json"))
    args = ap.parse_args(argv)
    check_args(args)

    import torch

    torch.set_num_threads(args.threads)
    from fennec.io import write_json
    from fennec.tasks import read_task

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fennec_bench_") as tmp:
        t0 = time.perf_counter()
        task = read_task(make_task(Path(tmp) / "skimage10", args.images))
        t_make = time.perf_counter() - t0
        proxy = [bench_proxy(task, args.images, channels_last=True)]
        print(f"  proxy channels_last: {proxy[-1]['seconds']} s", file=sys.stderr, flush=True)
        if args.compare_layouts:
            proxy.append(bench_proxy(task, args.images, channels_last=False))
            print(f"  proxy contiguous: {proxy[-1]['seconds']} s", file=sys.stderr, flush=True)
        zoo = bench_zoo(task, SMALL_MODELS[: args.models], args.images)
    zoo_total = round(sum(r.get("seconds", 0.0) for r in zoo), 2)
    result = {
        "command": "python bench/proxy.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    "threads": args.threads, "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "task": {"images": task.n_examples, "classes": task.n_classes, "seconds_to_generate": round(t_make, 2)},
        "proxy": proxy,
        "proxy_goal_s": 20.0,
        "zoo": zoo,
        "zoo_total_seconds": zoo_total,
        "zoo_total_cpu_seconds": round(sum(r.get("cpu_seconds", 0.0) for r in zoo), 2),
        "zoo_goal_s": 120.0,
    }
    write_json(args.out, result)

    print(f"proxy: {args.images} images at 224 px, {args.threads} threads (goal < 20 s)")
    print(f"{'proxy':32s} {'layout':14s} {'weights':8s} {'seconds':>8s} {'cpu s':>8s} {'img/s':>7s}")
    for r in proxy:
        print(f"{r['proxy']:32s} {'channels_last' if r['channels_last'] else 'contiguous':14s} {r['weights']:8s} "
              f"{r['seconds']:8.2f} {r['cpu_seconds']:8.2f} {r['images_per_s']:7.1f}")
    print(f"\nzoo extraction: {args.images} images per model (goal < 120 s for 10 models)")
    print(f"{'model':32s} {'weights':8s} {'input':>6s} {'dim':>5s} {'load s':>7s} {'fwd s':>7s} {'total s':>8s} "
          f"{'cpu s':>7s}")
    for r in zoo:
        if "error" in r:
            print(f"{r['model']:32s} error: {r['error']}")
            continue
        print(f"{r['model']:32s} {r['weights']:8s} {r['input_size'][-1]:6d} {r['dim']:5d} {r['seconds_load']:7.2f} "
              f"{r['seconds_forward']:7.2f} {r['seconds']:8.2f} {r['cpu_seconds']:7.2f}")
    zoo_cpu = sum(r.get("cpu_seconds", 0.0) for r in zoo)
    print(f"{'total':32s} {'':8s} {'':6s} {'':5s} {'':7s} {'':7s} {zoo_total:8.2f} {zoo_cpu:7.2f}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
