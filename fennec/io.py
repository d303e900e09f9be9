"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one behind."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from fennec.validation import FennecInputError, check_output_file


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", *, name: str = "output file",
                **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and rename it over ``path`` only if the block succeeds.

    Args:
        path: Destination file. Its parent directory is created if needed.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        name: The option or argument that gave ``path``, for error messages (e.g. ``--out``).
        **kwargs: Passed to :func:`open` (e.g. ``encoding``, ``newline``).

    Raises:
        FennecInputError: when ``path`` is a directory or its folder cannot be made or written
            (:func:`~fennec.validation.check_output_file`).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', got {mode!r}")
    # a directory, or a parent that is a file, is caught before anything is written, in words
    path = check_output_file(path, name, create=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FennecInputError(f"{name} {str(path)!r}: cannot write in {str(path.parent)!r} "
                               f"({exc.strerror or exc}); give a path in a writable folder") from None
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


def write_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """Write arrays to an ``.npz`` file, atomically."""
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
