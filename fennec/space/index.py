"""FAISS retrieval over folded model vectors.

A model row is ``[u_m, k_d p_m, k_n p_m, b_m]`` and a task row ``[v_t, d_t, n_t, 1]``, so the inner product is the
predicted score with the bias folded in: maximum inner-product search ranks the zoo. Zoos up to
``exact_limit`` models use an exact flat index (it returns what brute force returns, ties broken by model
order); larger ones an inverted-file index (approximate; ``nprobe`` trades recall for speed).
"""

from __future__ import annotations

import numpy as np

from fennec.validation import FennecInputError

BATCH_BLAS_MIN = 20  # queries from which a search is one BLAS product instead of per-query scans


class ModelIndex:
    """Inner-product index over (M, D) folded model vectors.

    Args:
        vectors: (M, D) folded model vectors.
        exact_limit: Largest zoo served by the exact flat index.
        nprobe: Inverted lists visited per query by the approximate index.
    """

    def __init__(self, vectors: np.ndarray, exact_limit: int = 200_000, nprobe: int = 64) -> None:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) == 0:
            raise FennecInputError(f"model vectors: expected a non-empty (M, D) array, got shape {vectors.shape}")
        self.exact = len(vectors) <= exact_limit
        dim = vectors.shape[1]
        if self.exact:
            self.index = faiss.IndexFlatIP(dim)
        else:
            nlist = int(4 * np.sqrt(len(vectors)))
            quantizer = faiss.IndexFlatIP(dim)
            self.index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = vectors[rng.choice(len(vectors), size=min(len(vectors), 64 * nlist), replace=False)]
            self.index.train(sample)
            self.index.nprobe = nprobe
        self.index.add(vectors)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Append models (zoo growth without retraining)."""
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, task_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k models for each task.

        Args:
            task_vectors: (Q, D) folded task vectors.
            k: Models per task (clipped to the zoo size).

        Returns:
            scores (Q, k) float32 and model positions (Q, k) int64, best first.
        """
        import faiss

        q = np.ascontiguousarray(np.atleast_2d(task_vectors), dtype=np.float32)
        # FAISS's default switches to one BLAS product only from 128000 queries; for a batch that product is
        # ~10x faster than per-query scans (bench/recommend.py), while a single query stays on the scan.
        old = faiss.cvar.distance_compute_blas_threshold
        if len(q) >= BATCH_BLAS_MIN:
            faiss.cvar.distance_compute_blas_threshold = BATCH_BLAS_MIN
        try:
            return self.index.search(q, min(int(k), self.size))
        finally:
            faiss.cvar.distance_compute_blas_threshold = old

    def save(self, path: str) -> None:
        import faiss

        faiss.write_index(self.index, path)

    @classmethod
    def load(cls, path: str) -> ModelIndex:
        import faiss

        obj = cls.__new__(cls)
        obj.index = faiss.read_index(path)
        obj.exact = isinstance(obj.index, faiss.IndexFlat)
        return obj
