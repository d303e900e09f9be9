"""Whole-catalog graph extraction, resumable: one cache file per architecture, a rerun skips what is done.

Run it in the background with one thread::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nohup archi2vec catalog > catalog.log 2>&1 &
"""

from __future__ import annotations

import contextlib
import gc
import random
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from torch_geometric.data import Data

from archi2vec import cache
from archi2vec.graph import graph_from_timm, graph_from_torchvision
from archi2vec.names import canonical_name, catalog_names


class _TimeoutError(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise _TimeoutError after ``seconds`` (main thread only; elsewhere no limit)."""
    def handler(signum: int, frame: Any) -> None:
        raise _TimeoutError(f"timed out after {seconds} s")

    try:
        old = signal.signal(signal.SIGALRM, handler)
    except ValueError:  # not the main thread
        yield
        return
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def extract(name: str, **kwargs: Any) -> Data:
    """Graph of a canonical or bare architecture name, without the cache."""
    canonical = canonical_name(name)
    source, arch = canonical.split(":", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source == "timm":
            return graph_from_timm(arch, **kwargs)
        return graph_from_torchvision(arch, **kwargs)


def get_graph(name: str, *, use_cache: bool = True) -> Data:
    """Graph of an architecture, from the cache when present (a hit costs a few ms), else extracted and cached."""
    canonical = canonical_name(name)
    path = cache.graph_path(canonical)
    if use_cache and path.exists():
        return cache.load_graph(path)
    data = extract(canonical)
    if use_cache:
        cache.save_graph(path, data)
    return data


def catalog_order(names: list[str] | None = None, seed: int = 0) -> list[str]:
    """torchvision first (few, used by fennec's records), then timm in a seeded random order, so that a partial
    run covers every family evenly."""
    names = list(names) if names is not None else catalog_names()
    tv = [n for n in names if n.startswith("torchvision:")]
    rest = [n for n in names if not n.startswith("torchvision:")]
    random.Random(seed).shuffle(rest)
    return tv + rest


def build_catalog(names: list[str] | None = None, *, timeout: int = 240, retry_failures: bool = False,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Extract and cache the graph of every architecture (default: timm's catalog plus torchvision's).

    Args:
        names: Canonical names; default all.
        timeout: Seconds allowed per architecture before it counts as a failure.
        retry_failures: Retry architectures that failed in an earlier run.
        log: Progress sink (default: print to stdout, flushed).

    Returns:
        Summary dict: ``done``, ``failed``, ``skipped`` counts, ``seconds``, ``failures`` {name: reason}.
    """
    if log is None:
        def log(msg: str) -> None:
            print(msg, flush=True)
            sys.stdout.flush()

    order = catalog_order(names)
    t_all = time.time()
    done = failed = skipped = 0
    failures: dict[str, str] = {}
    for i, name in enumerate(order):
        path = cache.graph_path(name)
        if path.exists():
            skipped += 1
            continue
        prior = cache.load_failure(name)
        if prior is not None and not retry_failures:
            failures[name] = prior["reason"]
            skipped += 1
            continue
        t0 = time.time()
        try:
            with _time_limit(timeout):
                data = extract(name)
            cache.save_graph(path, data)
            if prior is not None:
                cache.failure_path(name).unlink(missing_ok=True)
            done += 1
            log(f"[{i + 1}/{len(order)}] {name} {data.trace_path} nodes={data.num_nodes} "
                f"edges={data.edge_index.shape[1]} {time.time() - t0:.2f}s")
        except Exception as exc:
            reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:400]
            cache.save_failure(name, reason, time.time() - t0)
            failures[name] = reason
            failed += 1
            log(f"[{i + 1}/{len(order)}] {name} FAILED {reason}")
        gc.collect()
    summary = {"done": done, "failed": failed, "skipped": skipped, "seconds": round(time.time() - t_all, 1),
               "failures": failures}
    log(f"catalog: {done} extracted, {failed} failed, {skipped} skipped in {summary['seconds']} s")
    return summary


def catalog_status(names: list[str] | None = None) -> dict[str, Any]:
    """Which architectures have a cached graph, a recorded failure, or nothing yet."""
    names = list(names) if names is not None else catalog_names()
    ok, failures, pending = [], {}, []
    for n in names:
        if cache.graph_path(n).exists():
            ok.append(n)
        elif (f := cache.load_failure(n)) is not None:
            failures[n] = f["reason"]
        else:
            pending.append(n)
    return {"ok": ok, "failures": failures, "pending": pending}
