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
  flat scan answers.

An inverted-file index (FAISS IVF) was used for large zoos before: on vectors without cluster structure it found
about a quarter of the true top 10 at ``nprobe=64`` (``bench/recommend.py``), so a ranking could silently miss the
best model.
"""

from __future__ import annotations

import itertools
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fennec.validation import FennecInputError

BATCH_BLAS_MIN = 20  # queries from which a search is one BLAS product instead of per-query scans
FILTER_MIN = 100_000  # zoo size from which single tasks are answered through the 8-bit codes
_LEVELS = 255
# FAISS's SIMD scan of 8-bit codes needs the dimension to be a multiple of 16 (10x slower otherwise); at multiples
# of 32, faiss 1.15.1 on AVX512 takes a byte-domain kernel that truncates a float query (wrong scores), so the codes
# are padded to an odd multiple of 16, and every filter checks its kernel when built (_CodeFilter.check).
_PAD = 16
_CHUNK = 65_536  # vectors encoded at a time, to bound the temporary float copies


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

        self._setup(vectors.shape[1])
        self.lo = vectors.min(axis=0).astype(np.float64)
        span = vectors.max(axis=0).astype(np.float64) - self.lo
        self.step = np.where(span > 0, span / _LEVELS, 1.0)
        bounds = np.linspace(0, len(vectors), max(1, n_shards) + 1).astype(int)
        for start, stop in itertools.pairwise(bounds):
            self.offsets.append(int(start))
            self.shards.append(faiss.IndexScalarQuantizer(self.padded, faiss.ScalarQuantizer.QT_8bit_direct,
                                                          faiss.METRIC_INNER_PRODUCT))
            self._append(self.shards[-1], vectors[start:stop])
        self._ready()

    def _setup(self, dim: int) -> None:
        self.dim = dim
        self.padded = self.dim + (-self.dim % _PAD)
        if self.padded % (2 * _PAD) == 0:
            self.padded += _PAD
        self.max_error = 0.0
        self.shards: list = []
        self.offsets: list[int] = []

    def _ready(self) -> None:
        self.check()
        self._pool = ThreadPoolExecutor(len(self.shards)) if len(self.shards) > 1 else None

    @property
    def size(self) -> int:
        return sum(int(s.ntotal) for s in self.shards)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`restore` turns back into this filter (codes as serialized FAISS shards)."""
        import faiss

        out = {"dim": np.int64(self.dim), "lo": self.lo, "step": self.step, "max_error": np.float64(self.max_error),
               "offsets": np.array(self.offsets, np.int64)}
        for i, shard in enumerate(self.shards):
            out[f"shard_{i}"] = faiss.serialize_index(shard)
        return out

    @classmethod
    def restore(cls, state: dict[str, np.ndarray]) -> _CodeFilter:
        """The filter :meth:`state` describes (raises FilterKernelError like a new one)."""
        import faiss

        obj = cls.__new__(cls)
        obj._setup(int(state["dim"]))
        obj.lo, obj.step, obj.max_error = state["lo"], state["step"], float(state["max_error"])
        obj.offsets = [int(o) for o in state["offsets"]]
        obj.shards = [faiss.deserialize_index(state[f"shard_{i}"]) for i in range(len(obj.offsets))]
        obj._ready()
        return obj

    def check(self) -> None:
        """Raise :class:`FilterKernelError` when FAISS's code scan disagrees with decoding the codes.

        The certificate is only as good as the code scores, and which SIMD kernel FAISS picks depends on the
        CPU, the build and the dimension.
        """
        shard = self.shards[0]
        task = np.random.default_rng(0).standard_normal((1, self.padded)).astype(np.float32)
        scores, pos = shard.search(task, min(256, shard.ntotal))
        expected = shard.reconstruct_batch(pos[0]).astype(np.float64) @ task[0].astype(np.float64)
        tol = 1e-4 * _LEVELS * float(np.abs(task).sum())
        if not np.allclose(scores[0], expected, rtol=0, atol=tol):
            raise FilterKernelError(f"FAISS's 8-bit scan at dimension {self.padded} gives scores off by up to "
                                    f"{float(np.abs(scores[0] - expected).max()):.3g}")

    def _append(self, shard, vectors: np.ndarray) -> None:
        for s in range(0, len(vectors), _CHUNK):
            v = vectors[s:s + _CHUNK].astype(np.float64)
            # Vectors added after the ranges were set may fall outside them; clipping only widens max_error.
            codes = np.clip(np.rint((v - self.lo) / self.step), 0, _LEVELS)
            err = np.sqrt(((v - (self.lo + self.step * codes)) ** 2).sum(axis=1))
            self.max_error = max(self.max_error, float(err.max()))
            padded = np.zeros((len(codes), self.padded), np.float32)
            padded[:, :self.dim] = codes
            shard.add(padded)

    def add(self, vectors: np.ndarray) -> None:
        """Append models at the end of the last shard (positions stay contiguous)."""
        self._append(self.shards[-1], vectors)

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
        # float32 accumulation of at most `padded` terms of size <= |scaled_d| * 255, and the float32 query
        rounding = 4 * self.padded * np.finfo(np.float32).eps * _LEVELS * float(np.abs(scaled).sum())
        slack = float(np.linalg.norm(t)) * self.max_error + rounding + 1e-9 * abs(offset)
        return scores[top] + offset, pos[top], slack


class ModelIndex:
    """Exact inner-product index over (M, D) folded model vectors.

    Args:
        vectors: (M, D) folded model vectors.
        filter_min: Zoo size from which single tasks are answered through certified 8-bit codes.
        threads: Shards of the codes, scanned in parallel (default: FAISS's OpenMP thread count).
    """

    def __init__(self, vectors: np.ndarray, filter_min: int = FILTER_MIN, threads: int | None = None) -> None:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) == 0:
            raise FennecInputError(f"model vectors: expected a non-empty (M, D) array, got shape {vectors.shape}")
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.filter_min = filter_min
        self.threads = threads
        self._filter = self._build_filter()

    def _build_filter(self) -> _CodeFilter | None:
        import faiss

        if self.size < self.filter_min:
            return None
        try:
            return _CodeFilter(self.vectors, self.threads or faiss.omp_get_max_threads())
        except FilterKernelError as err:
            warnings.warn(f"{err}; single tasks over {self.size} models use the exact flat scan (slower, same "
                          "result)", RuntimeWarning, stacklevel=3)
            return None

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def filtered(self) -> bool:
        """Whether single tasks are answered through the 8-bit codes."""
        return self._filter is not None

    @property
    def vectors(self) -> np.ndarray:
        """(M, D) float32 view of the flat index's vectors (no copy; invalid after :meth:`add`)."""
        import faiss

        d = self.index.d
        return faiss.rev_swig_ptr(self.index.get_xb(), self.size * d).reshape(self.size, d)

    def add(self, vectors: np.ndarray) -> None:
        """Append models (zoo growth without retraining)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index.add(vectors)
        if self._filter is not None:
            self._filter.add(vectors)
        elif self.size >= self.filter_min:
            self._filter = self._build_filter()

    def search(self, task_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k models for each task.

        Args:
            task_vectors: (Q, D) folded task vectors.
            k: Models per task (clipped to the zoo size).

        Returns:
            scores (Q, k) float32 and model positions (Q, k) int64, best first.
        """
        q = np.ascontiguousarray(np.atleast_2d(task_vectors), dtype=np.float32)
        k = min(int(k), self.size)
        if self._filter is None or len(q) >= BATCH_BLAS_MIN:
            return self._flat(q, k)
        found = [self._certified(t, k) for t in q]
        return np.stack([s for s, _ in found]), np.stack([p for _, p in found])

    def _flat(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        # FAISS's default switches to one BLAS product only from 128000 queries; for a batch that product is
        # ~10x faster than per-query scans (bench/recommend.py), while a single query stays on the scan.
        old = faiss.cvar.distance_compute_blas_threshold
        if len(q) >= BATCH_BLAS_MIN:
            faiss.cvar.distance_compute_blas_threshold = BATCH_BLAS_MIN
        try:
            return self.index.search(q, k)
        finally:
            faiss.cvar.distance_compute_blas_threshold = old

    def _certified(self, task: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_candidates = max(4 * k, 64)
        while n_candidates < self.size:
            code_scores, pos, slack = self._filter.search(task, n_candidates)
            exact = self.vectors[pos].astype(np.float64) @ task.astype(np.float64)
            best = np.lexsort((pos, -exact))[:k]
            # a model outside the candidates scores at most the last candidate's code score + slack
            if code_scores[-1] + slack < exact[best[-1]]:
                return exact[best].astype(np.float32), pos[best].astype(np.int64)
            n_candidates *= 8
        return self._exact_scan(task, k)

    def _exact_scan(self, task: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every model in float64, ties broken by position like the certified path (FAISS's heap does not)."""
        t = task.astype(np.float64)
        best_s, best_p = np.empty(0), np.empty(0, np.int64)
        vectors = self.vectors
        for s in range(0, len(vectors), _CHUNK):
            scores = np.concatenate([best_s, vectors[s:s + _CHUNK].astype(np.float64) @ t])
            pos = np.concatenate([best_p, np.arange(s, min(s + _CHUNK, len(vectors)))])
            keep = np.lexsort((pos, -scores))[:k]
            best_s, best_p = scores[keep], pos[keep]
        return best_s.astype(np.float32), best_p

    def save(self, path: str) -> None:
        """Write the flat index to ``path`` and, for a zoo with codes, the codes beside it (:func:`codes_path`):
        building them costs seconds per 10^6 models, reading them a fraction of that."""
        import faiss

        from fennec.io import write_npz

        faiss.write_index(self.index, path)
        if self._filter is not None:
            write_npz(codes_path(path), **self._filter.state())

    @classmethod
    def load(cls, path: str, filter_min: int = FILTER_MIN, threads: int | None = None) -> ModelIndex:
        """Read an index :meth:`save` wrote; its codes are read when they are there and match, else rebuilt."""
        import faiss

        obj = cls.__new__(cls)
        obj.index = faiss.read_index(path)
        if not isinstance(obj.index, faiss.IndexFlat):
            raise FennecInputError(f"{path}: expected a flat FAISS index written by fennec; retrain the space "
                                   "with `python train.py --out DIR` to rebuild it")
        obj.filter_min, obj.threads = filter_min, threads
        obj._filter = obj._read_filter(codes_path(path)) if obj.size >= filter_min else None
        if obj._filter is None:
            obj._filter = obj._build_filter()
        return obj

    def _read_filter(self, path: Path) -> _CodeFilter | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                codes = _CodeFilter.restore(dict(z))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None  # damaged or from another faiss: rebuilt from the vectors
        return codes if codes.size == self.size and codes.dim == self.index.d else None


def codes_path(index_path: str | Path) -> Path:
    """Where :meth:`ModelIndex.save` keeps the 8-bit codes of the index at ``index_path``."""
    p = Path(index_path)
    return p.with_name(p.stem + ".codes.npz")
