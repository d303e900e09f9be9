"""Time every transferability scorer on N=4000, D=1024, C=40 (Cs=1000 source classes) with 1 and 2 BLAS threads.

    python bench/scores.py [--repeats 3] [--threads 1 2] [--out bench/results/scores.json]

Prints a table (median and minimum seconds per scorer and thread count, next to the fastest public reference measured on
this machine with 1 thread, from issue 2) and writes it as JSON. The data are synthetic but shaped like CNN
features: 40 classes in a 64-dim latent space, lifted to 1024 dims through a random ReLU layer, plus noise;
``probs`` are the softmax of a random 1000-way linear "source head" on the features; ``grads`` (for lgc) are
2048-dim per-example gradients of a random linear head, (e_z - p) x h projected by a fixed random matrix.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from fennec.io import write_json
from fennec.scores import create_scorer, get_scorer_class, list_scorers
from fennec.validation import FennecInputError, check_output_file, check_positive_int

#: Fastest public reference implementation measured on this machine, 1 thread (seconds; issue 2).
REFERENCE_1T = {"logme": 0.96, "parc": 3.7, "sfda": 1.7, "hscore": 0.8, "gbc": 2.6, "nleep": 2.1,
                "transrate": 1.6, "reg_hscore": 2.7}
OUT = Path(__file__).resolve().parent / "results" / "scores.json"


def make_data(n: int = 4000, d: int = 1024, c: int = 40, cs: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic CNN-like task (see module docstring); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(c), n // c)
    latent = rng.normal(size=(c, 64))[labels] * 0.6 + rng.normal(size=(n, 64))
    lift = rng.normal(size=(64, d)) / 8.0
    features = np.maximum(latent @ lift + 0.2 * rng.normal(size=(n, d)), 0.0)
    logits = features @ rng.normal(size=(d, cs)) * 0.5
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    head = rng.normal(size=(d, c)) / np.sqrt(d)
    out = features @ head
    p = np.exp(out - out.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    err = -p
    err[np.arange(n), out.argmax(axis=1)] += 1.0  # d log p(z) / d logits, z = predicted class
    proj_h = features @ (rng.normal(size=(d, 64)) / np.sqrt(d))  # gradients (e_z - p) x h, projected
    grads = (err[:, :, None] * proj_h[:, None, :]).reshape(n, -1)[:, :2048]
    return {"features": features, "labels": labels, "probs": probs, "grads": grads}


def time_scorer(name: str, data: dict[str, np.ndarray], repeats: int) -> tuple[float, float, float]:
    """Median and minimum wall time over ``repeats`` runs, and the score."""
    scorer = create_scorer(name)
    inputs = {k: data[k] for k in get_scorer_class(name).requires}
    times, value = [], float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        value = scorer.score(labels=data["labels"], **inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), value


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before the first scorer is timed: a bad --repeats or --methods was a traceback, and an
    --out that cannot be written was found only after the whole run.

    Raises:
        FennecInputError: naming the option, what was expected and how to fix it.
    """
    from fennec.registry import UnknownNameError

    check_positive_int(args.repeats, "--repeats")
    for threads in args.threads:
        check_positive_int(threads, "--threads")
    for name in args.methods or ():
        try:
            get_scorer_class(name)
        except UnknownNameError as err:
            raise FennecInputError(f"--methods: {err}") from None
    check_output_file(args.out, "--out")


def main(argv: list[str] | None = None) -> int:
    """Time the scorers, print the table and write the JSON; bad input is one line on stderr and exit code 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--methods", nargs="+", default=None, help="subset of scorers (default: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        check_args(args)
    except FennecInputError as err:
        print(f"scores: error: {err}", file=sys.stderr)
        return 2

    load_before = os.getloadavg()  # the machine is shared: record how busy it was
    data = make_data()
    methods = args.methods or list_scorers()
    rows: dict[str, dict[str, float | None]] = {m: {"reference_1t": REFERENCE_1T.get(m)} for m in methods}
    for threads in args.threads:
        with threadpool_limits(limits=threads):
            for name in methods:
                seconds, fastest, value = time_scorer(name, data, args.repeats)
                rows[name][f"seconds_{threads}t"] = round(seconds, 3)
                rows[name][f"min_seconds_{threads}t"] = round(fastest, 3)
                rows[name]["score"] = value
                print(f"  {name:<11} {threads} thread(s): median {seconds:7.3f} s  min {fastest:7.3f} s", flush=True)

    load_after = os.getloadavg()
    header = ["method", *[f"{t} thread(s) s (median / min)" for t in args.threads], "reference 1t s", "score"]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for name, row in rows.items():
        ref = row["reference_1t"]
        cells = [name, *[f"{row[f'seconds_{t}t']:.2f} / {row[f'min_seconds_{t}t']:.2f}" for t in args.threads],
                 "" if ref is None else f"{ref:.2f}", f"{row['score']:.4g}"]
        print("| " + " | ".join(cells) + " |")
    blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()]
    write_json(args.out, {"config": {"n": 4000, "d": 1024, "classes": 40, "source_classes": 1000,
                                     "repeats": args.repeats, "threads": args.threads,
                                     "machine": platform.machine(), "python": platform.python_version(),
                                     "blas": blas, "load_average_before": load_before,
                                     "load_average_after": load_after},
                          "results": rows})
    print(f"\nload average (1, 5, 15 min) before {load_before}, after {load_after}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
