"""FAISS retrieval over folded model vectors, always exact.

A model row is ``[u_m, k_d p_m, k_n p_m, b_m]`` and a task row ``[v_t, d_t, n_t, 1]``, so the inner product is the
predicted score with the bias folded in: maximum inner-product search ranks the zoo. Every search returns what
brute force returns (scores descending, ties broken by model order):

- batches of tasks go through an exact flat index (one BLAS product from :data:`BATCH_BLAS_MIN` tasks);
- a single task over a large zoo (from ``filter_min`` models) first scans 8-bit codes of the vectors, split in
  one shard per thread (a quarter of the bytes of float32, the scan bound by memory bandwidth), keeps the best
  candidates, re-scores them exactly, and *certifies* the result: no model outside the candidates can beat the
  k-th one, since a code's score differs from the exact one by at most ``|t| * max_m |u_m - decode(code_m)|``
  (Cauchy-Schwarz) plus float rounding. When the certificate fails, more candidates are taken, and in the end the
  flat scan answers. The codes are built when they pay (``codes="auto"``: after :data:`CODES_AFTER` single
  tasks, about their build cost in flat scans), not saved: a command that ranks one task never builds them.

An inverted-file index (FAISS IVF) was used for large zoos before: on vectors without cluster structure it found
about a quarter of the true top 10 at ``nprobe=64`` (``bench/recommend.py`` at commit d627846), so a ranking
could silently miss the best model.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from fennec.validation import FennecInputError, check_choice, check_matrix

BATCH_BLAS_MIN = 20  # queries from which a search is one BLAS product instead of per-query scans
FILTER_MIN = 100_000  # zoo size from which single tasks can be answered through the 8-bit codes
# Single-task flat scans after which "auto" builds the codes: building them costs about 130 flat scans at 10^6
# models (bench/recommend.py: 2.3 s vs 17.5 ms), so paying for them after that many (ski rental) costs at most
# twice the better of the two choices made in hindsight.
CODES_AFTER = 130
_LEVELS = 255
# FAISS's SIMD scan of 8-bit codes needs the dimension to be a multiple of 16 (10x slower otherwise); at multiples
# of 32, faiss 1.15.1 on AVX512 takes a byte-domain kernel that truncates a float query (wrong scores), so the codes
# are padded to an odd multiple of 16, and every filter checks its kernel when built (_CodeFilter.check).
_PAD = 16
_BLAS_LOCK = threading.Lock()
_CHUNK = 65_536  # vectors encoded at a time, to bound the temporary float copies


def _one_openmp_thread_after_fork() -> None:
    # libgomp's thread pool does not survive fork(): a FAISS search in the child of a process that has searched
    # before hangs (measured with faiss 1.15.1), unless the child runs OpenMP on one thread.
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_one_openmp_thread_after_fork)


class FilterKernelError(RuntimeError):
    """FAISS's 8-bit code scan does not compute what decoding the codes gives (CPU- and build-dependent)."""


class _CodeFilter:
    """8-bit codes of (M, D) model vectors, per-dimension ranges, in contiguous shards.

    Args:
        vectors: (M, D) float32 model vectors.
        n_shards: Shards searched in parallel threads (FAISS releases the GIL while scanning).
    """

    def __init__(self, vectors: np.ndarray, n_shards: int) -> None:
        import faiss

        self.dim = vectors.shape[1]
        self.padded = self.dim + (-self.dim % _PAD)
        if self.padded % (2 * _PAD) == 0:
            self.padded += _PAD
        self.max_error = 0.0
        self.lo = vectors.min(axis=0).astype(np.float64)
        span = vectors.max(axis=0).astype(np.float64) - self.lo
        self.step = np.where(span > 0, span / _LEVELS, 1.0)
        self.shards: list = []
        self.offsets: list[int] = []
        bounds = np.linspace(0, len(vectors), max(1, min(n_shards, len(vectors))) + 1).astype(int)
        for start, stop in itertools.pairwise(bounds):
            self.offsets.append(int(start))
            self.shards.append(faiss.IndexScalarQuantizer(self.padded, faiss.ScalarQuantizer.QT_8bit_direct,
                                                          faiss.METRIC_INNER_PRODUCT))
            self._append(self.shards[-1], vectors[start:stop])
        self.check()
        self.pid = os.getpid()
        # one thread each: a worker's scan would otherwise start an OpenMP team of its own (threads x threads)
        self._pool = (ThreadPoolExecutor(len(self.shards), initializer=faiss.omp_set_num_threads, initargs=(1,))
                      if len(self.shards) > 1 else None)

    @property
    def size(self) -> int:
        return sum(int(s.ntotal) for s in self.shards)

    def check(self) -> None:
        """Raise :class:`FilterKernelError` when FAISS's code scan disagrees with decoding the codes.

        The certificate is only as good as the code scores, and which SIMD kernel FAISS picks depends on the
        CPU, the build and the dimension.
        """
        shard = self.shards[0]
        task = np.random.default_rng(0).standard_normal((1, self.padded)).astype(np.float32)
        scores, pos = shard.search(task, min(256, shard.ntotal))
        expected = shard.reconstruct_batch(pos[0]).astype(np.float64) @ task[0].astype(np.float64)
        if not np.allclose(scores[0], expected, rtol=0, atol=self.rounding(task[0])):
            raise FilterKernelError(f"FAISS's 8-bit scan at dimension {self.padded} gives scores off by up to "
                                    f"{float(np.abs(scores[0] - expected).max()):.3g}")

    def _append(self, shard, vectors: np.ndarray) -> bool:
        """Encode and add ``vectors``; False when some fell outside the ranges (their codes are clipped: the
        result stays exact, but the error bound, and so the candidate count, grows)."""
        inside = True
        for s in range(0, len(vectors), _CHUNK):
            v = vectors[s:s + _CHUNK].astype(np.float64)
            raw = np.rint((v - self.lo) / self.step)
            inside = inside and bool(np.all((raw >= 0) & (raw <= _LEVELS)))
            codes = np.clip(raw, 0, _LEVELS)
            err = np.sqrt(((v - (self.lo + self.step * codes)) ** 2).sum(axis=1))
            self.max_error = max(self.max_error, float(err.max()))
            padded = np.zeros((len(codes), self.padded), np.float32)
            padded[:, :self.dim] = codes
            shard.add(padded)
        return inside

    def add(self, vectors: np.ndarray) -> bool:
        """Append models at the end of the last shard (positions stay contiguous); False as for :meth:`_append`."""
        return self._append(self.shards[-1], vectors)

    def search(self, task: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
        """The ``k`` best models by code score for one (D,) task.

        Returns:
            code scores (k,) float64 descending, positions (k,) int64, and the slack: every model's exact score
            lies within it of its code score.
        """
        t = task.astype(np.float64)
        scaled = np.zeros((1, self.padded), np.float32)
        scaled[0, :self.dim] = t * self.step
        offset = float(t @ self.lo)

        def one(shard):
            return shard.search(scaled, min(k, shard.ntotal))

        found = list(self._pool.map(one, self.shards)) if self._pool else [one(s) for s in self.shards]
        scores = np.concatenate([s[0] for s, _ in found]).astype(np.float64)
        pos = np.concatenate([p[0] + off for (_, p), off in zip(found, self.offsets, strict=True)])
        top = np.argsort(-scores, kind="stable")[:k]
        slack = float(np.linalg.norm(t)) * self.max_error + self.rounding(scaled[0]) + 1e-9 * abs(offset)
        return scores[top] + offset, pos[top], slack

    def rounding(self, scaled: np.ndarray) -> float:
        """Bound on FAISS's float32 error for a (padded,) scaled query: at most ``padded`` terms of size up to
        |scaled_d| * 255 accumulated in float32, and the query itself rounded to float32."""
        return 4 * self.padded * float(np.finfo(np.float32).eps) * _LEVELS * float(np.abs(scaled).sum())


class ModelIndex:
    """Exact inner-product index over (M, D) folded model vectors.

    Args:
        vectors: (M, D) finite folded model vectors.
        filter_min: Zoo size from which single tasks can be answered through certified 8-bit codes.
        threads: Shards of the codes, scanned in parallel (default: FAISS's OpenMP thread count).
        codes: When to build the codes of a zoo of ``filter_min`` models or more: ``"auto"`` once single-task
            searches have cost about what building them costs (:data:`CODES_AFTER` flat scans; a command that
            ranks one task never pays for them, a service that ranks many pays once, at most twice the best
            choice made in hindsight), ``"now"``, or ``"never"``.
    """

    def __init__(self, vectors: np.ndarray, filter_min: int = FILTER_MIN, threads: int | None = None,
                 codes: str = "auto") -> None:
        import faiss

        vectors = check_matrix(vectors, "model vectors", dtype=np.float32)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        self._setup(flat, filter_min, threads, codes)

    def _setup(self, flat: Any, filter_min: int, threads: int | None, codes: str) -> None:
        """State of a new or loaded index around its flat FAISS index."""
        self.index = flat
        self.filter_min, self.threads = filter_min, threads
        self.codes = check_choice(codes, "codes", ("auto", "now", "never"))
        self._filter: _CodeFilter | None = None
        self._kernel_failed = False
        self._single_scans = 0
        if codes == "now":
            self._filter = self._build_filter()

    def _build_filter(self) -> _CodeFilter | None:
        import faiss

        if self.size < self.filter_min or self._kernel_failed:
            return None
        try:
            return _CodeFilter(self.vectors, self.threads or faiss.omp_get_max_threads())
        except FilterKernelError as err:
            self._kernel_failed = True  # the same FAISS build will not do better on the next add
            warnings.warn(f"{err}; single tasks over {self.size} models use the exact flat scan (slower, same "
                          "result)", RuntimeWarning, stacklevel=3)
            return None

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def filtered(self) -> bool:
        """Whether single tasks are answered through the 8-bit codes (built now or by now)."""
        return self._filter is not None

    @property
    def vectors(self) -> np.ndarray:
        """(M, D) float32 view of the flat index's vectors (no copy; invalid after :meth:`add`)."""
        import faiss

        d = self.index.d
        return faiss.rev_swig_ptr(self.index.get_xb(), self.size * d).reshape(self.size, d)

    def add(self, vectors: np.ndarray) -> None:
        """Append models (zoo growth without retraining)."""
        vectors = check_matrix(vectors, "model vectors", dtype=np.float32)
        self.index.add(vectors)
        if self._filter is not None and not self._filter.add(vectors):
            # outside the codes' ranges: still exact, but a wide error bound would send every task to the
            # fallback scan; new ranges cost one build
            self._filter = self._build_filter()
        elif self._filter is None and self.codes == "now":
            self._filter = self._build_filter()

    def search(self, task_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k models for each task: what brute force returns, scores descending, ties by model position.

        Args:
            task_vectors: (Q, D) folded task vectors.
            k: Models per task (clipped to the zoo size).

        Returns:
            scores (Q, k) float32 and model positions (Q, k) int64, best first.
        """
        q = check_matrix(np.atleast_2d(task_vectors), "task vectors", dtype=np.float32)
        k = max(0, min(int(k), self.size))
        if k == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if self._filter is not None and self._filter.pid != os.getpid():
            # a forked child: the parent's pool threads are gone; it builds codes of its own
            self._filter, self._single_scans = None, 0
        if len(q) < BATCH_BLAS_MIN and self._filter is None and self.codes == "auto" and self.size >= self.filter_min:
            self._single_scans += len(q)
            if self._single_scans >= CODES_AFTER:
                self._filter = self._build_filter()
        if self._filter is None or len(q) >= BATCH_BLAS_MIN:
            return self._flat(q, k)
        found = [self._certified(t, k) for t in q]
        return np.stack([s for s, _ in found]), np.stack([p for _, p in found])

    def _flat(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        # FAISS's default switches to one BLAS product only from 128000 queries; for a batch that product is
        # ~10x faster than per-query scans (bench/recommend.py), while a single query stays on the scan.
        if len(q) >= BATCH_BLAS_MIN:
            with _BLAS_LOCK:  # the threshold is a FAISS global: concurrent searches must not restore it mid-way
                old = faiss.cvar.distance_compute_blas_threshold
                faiss.cvar.distance_compute_blas_threshold = BATCH_BLAS_MIN
                try:
                    scores, pos = self.index.search(q, k)
                finally:
                    faiss.cvar.distance_compute_blas_threshold = old
        else:
            scores, pos = self.index.search(q, k)
        # FAISS keeps the lowest positions among ties at the cut but may list tied rows in any order
        order = np.lexsort((pos, -scores), axis=1)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(pos, order, 1)

    def _certified(self, task: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_candidates = max(4 * k, 64)
        while n_candidates <= self.size // 8:  # beyond that, the flat scan costs less than more candidates
            code_scores, pos, slack = self._filter.search(task, n_candidates)
            exact = self.vectors[pos].astype(np.float64) @ task.astype(np.float64)
            best = np.lexsort((pos, -exact))[:k]
            # a model outside the candidates scores at most the last candidate's code score + slack
            if code_scores[-1] + slack < exact[best[-1]]:
                return exact[best].astype(np.float32), pos[best].astype(np.int64)
            n_candidates *= 8
        scores, pos = self._flat(task[None], k)
        return scores[0], pos[0]

    def save(self, path: str) -> None:
        """Write the flat index (the codes are built again when a loaded index needs them)."""
        import faiss

        faiss.write_index(self.index, path)

    @classmethod
    def load(cls, path: str, filter_min: int = FILTER_MIN, threads: int | None = None,
             codes: str = "auto") -> ModelIndex:
        """Read an index :meth:`save` wrote."""
        import faiss

        flat = faiss.read_index(path)
        if not isinstance(flat, faiss.IndexFlat):
            raise FennecInputError(f"{path}: expected a flat FAISS index written by fennec; retrain the space "
                                   "with `python train.py --out DIR` to rebuild it")
        obj = cls.__new__(cls)
        obj._setup(flat, filter_min, threads, codes)
        return obj

