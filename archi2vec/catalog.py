"""Whole-catalog graph extraction, resumable: one cache file per architecture, a rerun skips what is done.

Run it in the background with one thread per process (``--workers N`` extracts in N processes)::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nohup archi2vec catalog --workers 2 > catalog.log 2>&1 &
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import random
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from archi2vec import cache
from archi2vec.graph import GraphExtractionError, exception_line, graph_from_timm, graph_from_torchvision
from archi2vec.names import canonical_name, catalog_names, name_list


class _TimeoutError(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int | None) -> Iterator[None]:
    """Raise _TimeoutError after ``seconds`` (main thread only; elsewhere, or with ``None``, no limit)."""
    def handler(signum: int, frame: Any) -> None:
        raise _TimeoutError(f"timed out after {seconds} s")

    if seconds is None:
        yield
        return
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
    """Graph of an architecture, from the cache when present (a hit costs a few ms), else extracted and cached.

    A damaged cache entry is treated as missing: extracted again and overwritten, with a warning naming the file.
    """
    canonical = canonical_name(name)
    if use_cache and (data := cache.cached_graph(canonical)) is not None:
        return data
    data = extract(canonical)
    if use_cache:
        cache.write_entry(cache.graph_path(canonical), lambda p: cache.save_graph(p, data))
    return data


def _extract_timed(name: str, timeout: int | None) -> tuple[str, Data | None, str, float]:
    """Extract one graph, never raising: (name, graph or None, failure reason or "", seconds). Runs in the calling
    process or in a worker."""
    t0 = time.time()
    try:
        with _time_limit(timeout):
            data = extract(name)
        return name, data, "", time.time() - t0
    except Exception as exc:
        return name, None, exception_line(exc, 400), time.time() - t0
    finally:
        gc.collect()


def _init_worker() -> None:
    torch.set_num_threads(1)  # one process per core: intra-op threads would only compete with the other workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which terminates the pool


def _to_plain(data: Data) -> dict[str, Any]:
    """A graph as numpy arrays and Python values, to cross a process boundary. A torch tensor would be sent through
    torch's shared-memory reducers, whose file descriptor the receiver fetches from the sender afterwards: when a
    worker exits right after its last task (``maxtasksperchild``) that fetch fails, the pool's result thread quits
    silently and the run hangs."""
    return {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in data.to_dict().items()}


def _from_plain(plain: dict[str, Any]) -> Data:
    return Data.from_dict({k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in plain.items()})


def _extract_task(task: tuple[str, int | None]) -> tuple[str, dict[str, Any] | None, str, float]:
    name, data, reason, seconds = _extract_timed(*task)
    return name, None if data is None else _to_plain(data), reason, seconds


def extract_many(names: Iterable[str], *, workers: int = 1, timeout: int | None = None,
                 max_tasks_per_worker: int = 100) -> Iterator[tuple[str, Data | None, str, float]]:
    """Extract graphs, without the cache, yielding ``(name, graph or None, failure reason, seconds)`` per name.

    Args:
        names: Canonical names.
        workers: Processes; 1 extracts in this process, in order. More yields in completion order; each worker
            uses one torch thread.
        timeout: Seconds allowed per architecture (``None``: no limit); a time-out is a failure.
        max_tasks_per_worker: Architectures a worker extracts before it is replaced by a fresh process, which
            bounds the memory that timm's and torch's caches can accumulate.

    Yields:
        ``(name, graph, "", seconds)`` or ``(name, None, failure reason, seconds)``; this process receives plain
        arrays from the workers, and writing the cache is left to the caller.

    Raises:
        ValueError: if ``workers < 1``.
    """
    names = list(names)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(names) <= 1:
        for n in names:
            yield _extract_timed(n, timeout)
        return
    # forkserver: workers are forked from a clean server process that has imported torch and timm once, so they
    # start fast (also after maxtasksperchild), and never inherit this process's threads (OpenMP is not fork-safe).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["archi2vec.catalog"])
    pool = ctx.Pool(min(workers, len(names)), initializer=_init_worker, maxtasksperchild=max_tasks_per_worker)
    finished = False
    try:
        for name, plain, reason, seconds in pool.imap_unordered(_extract_task, [(n, timeout) for n in names]):
            yield name, None if plain is None else _from_plain(plain), reason, seconds
        finished = True
    finally:
        # all done: let the workers exit on their own; interrupted (an exception, the caller stopped iterating):
        # kill them. Joining either way releases the pool's queues and semaphores before this returns.
        if finished:
            pool.close()
        else:
            pool.terminate()
        pool.join()


def get_graphs(names: Sequence[str], *, use_cache: bool = True, workers: int = 1) -> list[Data]:
    """Graphs of several architectures, in the order of ``names``: cache hits are read, the others extracted
    (in ``workers`` processes when more than one) and cached.

    Args:
        names: Architecture names (any spelling :func:`~archi2vec.names.canonical_name` accepts; duplicates are
            extracted once).
        use_cache: Read and write the graph cache.
        workers: Extraction processes, one torch thread each.

    Returns:
        One graph per name.

    Raises:
        UnknownNameError: for a name that is not an architecture, before any extraction.
        GraphExtractionError: with ``workers > 1``, after every other graph has been extracted and cached, naming
            each architecture that failed and why (with one worker, the first failure's own exception).
    """
    names = name_list(names)
    canon = [canonical_name(n) for n in names]  # every name checked before any extraction
    if workers <= 1:
        return [get_graph(c, use_cache=use_cache) for c in canon]
    found: dict[str, Data] = {}
    if use_cache:
        for c in set(canon):
            if (data := cache.cached_graph(c)) is not None:
                found[c] = data
    todo = sorted(set(canon) - set(found))
    errors: list[str] = []
    for name, data, reason, _ in extract_many(todo, workers=workers):
        if data is None:
            errors.append(f"{name} ({reason})")
            continue
        if use_cache:
            cache.write_entry(cache.graph_path(name), lambda p, d=data: cache.save_graph(p, d))
        found[name] = data
    if errors:
        raise GraphExtractionError(f"{len(errors)} of {len(todo)} graphs failed: " + "; ".join(sorted(errors)))
    return [found[c] for c in canon]


def catalog_order(names: list[str] | None = None, seed: int = 0) -> list[str]:
    """torchvision first (few, used by fennec's records), then timm in a seeded random order, so that a partial
    run covers every family evenly."""
    names = list(names) if names is not None else catalog_names()
    tv = [n for n in names if n.startswith("torchvision:")]
    rest = [n for n in names if not n.startswith("torchvision:")]
    random.Random(seed).shuffle(rest)
    return tv + rest


def build_catalog(names: Sequence[str] | str | None = None, *, timeout: int = 240, retry_failures: bool = False,
                  workers: int = 1, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Extract and cache the graph of every architecture (default: timm's catalog plus torchvision's).

    A damaged cache entry (a graph or failure record that cannot be read) is extracted again and overwritten.

    Args:
        names: Architecture names in any spelling :func:`~archi2vec.names.canonical_name` accepts (one string is
            one name); default all.
        timeout: Seconds allowed per architecture before it counts as a failure.
        retry_failures: Retry architectures that failed in an earlier run.
        workers: Extraction processes (one torch thread each); this process writes every cache file.
        log: Progress sink (default: print to stdout, flushed).

    Returns:
        Summary dict: ``done``, ``failed``, ``skipped`` counts, ``seconds``, ``failures`` {name: reason}.

    Raises:
        UnknownNameError: for a name that is not an architecture, before any work (bad input is not an
            extraction failure, so it is never recorded as one).
        FennecInputError: when the cache folder cannot be written (``$ARCHI2VEC_CACHE``), before any work.
    """
    if log is None:
        def log(msg: str) -> None:
            print(msg, flush=True)

    canon = None if names is None else list(dict.fromkeys(canonical_name(n) for n in name_list(names)))
    cache.check_writable()  # the cache is this command's only output: a folder that refuses it is said up front
    order = catalog_order(canon)
    position = {n: i for i, n in enumerate(order)}
    t_all = time.time()
    done = failed = skipped = 0
    failures: dict[str, str] = {}
    todo: list[str] = []
    for name in order:
        graph, prior, damage = _entry(name)
        if damage:
            cache.warn_damaged(cache.DamagedCacheError(damage), stacklevel=2)
        if graph is not None:
            skipped += 1
            continue
        if prior is not None and not retry_failures:
            failures[name] = prior["reason"]
            skipped += 1
            continue
        todo.append(name)
    for name, data, reason, seconds in extract_many(todo, workers=workers, timeout=timeout):
        tag = f"[{position[name] + 1}/{len(order)}] {name}"
        if data is not None:
            cache.save_graph(cache.graph_path(name), data)
            # a failure recorded by an earlier run (or a damaged record of one) no longer holds
            cache.failure_path(name).unlink(missing_ok=True)
            done += 1
            log(f"{tag} {data.trace_path} nodes={data.num_nodes} edges={data.edge_index.shape[1]} {seconds:.2f}s")
        else:
            cache.save_failure(name, reason, seconds)
            cache.graph_path(name).unlink(missing_ok=True)  # a damaged graph file would contradict the record
            failures[name] = reason
            failed += 1
            log(f"{tag} FAILED {reason}")
    summary = {"done": done, "failed": failed, "skipped": skipped, "seconds": round(time.time() - t_all, 1),
               "failures": failures}
    log(f"catalog: {done} extracted, {failed} failed, {skipped} skipped in {summary['seconds']} s")
    return summary


def _entry(name: str) -> tuple[Data | None, dict[str, Any] | None, str]:
    """What the cache holds for a canonical name: (graph or None, failure record or None, why a file of it is
    damaged or ""). A damaged file counts as absent, so that the name is extracted again."""
    damage = ""
    try:
        return cache.load_graph(cache.graph_path(name)), None, ""
    except FileNotFoundError:
        pass
    except cache.DamagedCacheError as exc:
        damage = str(exc)
    try:
        prior = cache.load_failure(name)
    except cache.DamagedCacheError as exc:
        prior, damage = None, damage or str(exc)
    return None, prior, damage


def scan(names: Sequence[str] | str | None = None, *,
         keep_graphs: bool = False) -> tuple[dict[str, Any], dict[str, Data]]:
    """Read the cache entry of every architecture: the status of :func:`catalog_status` and, with
    ``keep_graphs``, the graphs read on the way ({name: graph}, else empty), so that a caller needing both reads
    each file once."""
    names = [canonical_name(n) for n in name_list(names)] if names is not None else catalog_names()
    ok: list[str] = []
    failures: dict[str, str] = {}
    pending: list[str] = []
    damaged: dict[str, str] = {}
    graphs: dict[str, Data] = {}
    for n in names:
        graph, prior, damage = _entry(n)
        if damage:
            damaged[n] = damage
        if graph is not None:
            ok.append(n)
            if keep_graphs:
                graphs[n] = graph
        elif prior is not None:
            failures[n] = prior["reason"]
        else:
            pending.append(n)
    return {"ok": ok, "failures": failures, "pending": pending, "damaged": damaged}, graphs


def catalog_status(names: Sequence[str] | str | None = None) -> dict[str, Any]:
    """Which architectures have a cached graph, a recorded failure, or nothing yet.

    Every file is read and checked, so a damaged one is never counted as extracted or failed.

    Returns:
        ``ok`` (names with a readable graph), ``failures`` ({name: reason}), ``pending`` (neither; names whose
        files are damaged are here, since ``archi2vec catalog`` extracts them again) and ``damaged`` ({name: which
        file is damaged and why}).
    """
    return scan(names)[0]
