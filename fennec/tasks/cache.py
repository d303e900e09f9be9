"""The on-disk cache directory and cache keys shared by descriptors and zoo feature extraction."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def cache_dir(sub: str | None = None) -> Path:
    """``$FENNEC_CACHE`` or ``~/.cache/fennec`` (optionally a sub-folder); not created here.

    Raises:
        FennecInputError: ``$FENNEC_CACHE`` names a file: said before anything is computed for the cache, which
            could not keep it.
    """
    root = Path(os.environ.get("FENNEC_CACHE") or Path.home() / ".cache" / "fennec").expanduser()
    if root.exists() and not root.is_dir():
        from fennec.validation import FennecInputError

        raise FennecInputError(f"$FENNEC_CACHE {str(root)!r}: is a file, not a folder; point FENNEC_CACHE at a "
                               "folder (or unset it for ~/.cache/fennec)")
    return root / sub if sub else root


def file_stamp(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """``(path, size, mtime_ns)``: what a cache key holds of a file whose content decides the entry, so that an
    edit the task's fingerprint cannot see (it reads each file's first 64 KiB and size; an uncompressed image
    changed further in keeps both) still misses the cache. A file that is gone is ``(path, -1, -1)``."""
    try:
        st = os.stat(path)
    except OSError:
        return str(path), -1, -1
    return str(path), st.st_size, st.st_mtime_ns


def cache_key(*parts: Any) -> str:
    """A short hex digest of JSON-serialisable parts (order matters)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


_UNWRITABLE: set[str] = set()  # cache folders already warned about in this process


@contextlib.contextmanager
def writing_cache(path: str | os.PathLike[str], *, env: str = "FENNEC_CACHE",
                  category: type[Warning] | None = None) -> Iterator[None]:
    """Run a write of the cache entry ``path``; if the cache cannot be written (a read-only folder, a full disk, a
    file in the way), warn once per folder and go on: a cache that cannot keep a result costs the next run the
    work again, not this run its answer.

    Args:
        path: The entry written in the block.
        env: The variable that points the cache elsewhere, for the warning's fix (archi2vec's: ARCHI2VEC_CACHE).
        category: The warning's class (default :class:`~fennec.validation.FennecInputWarning`).
    """
    from fennec.validation import FennecInputWarning, OutputPathError

    try:
        yield
    except (OSError, OutputPathError) as exc:
        folder = str(Path(path).parent)
        if folder not in _UNWRITABLE:
            _UNWRITABLE.add(folder)
            why = exc.reason if isinstance(exc, OutputPathError) else (exc.strerror or str(exc))
            warnings.warn(f"cache {folder!r}: cannot write ({why}); going on without caching, so the next run "
                          f"repeats this work (point ${env} at a writable folder)", category or FennecInputWarning,
                          stacklevel=3)
