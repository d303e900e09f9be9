"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one behind; and reading an
``.npz`` archive whatever state it is in."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from fennec.validation import check_output_file, write_refused


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
    # no trial entry: the temporary file made next is the trial, so each write (cache entries come by the thousand)
    # costs one file, not a folder made and removed first
    path = check_output_file(path, name, create=True, try_write=False)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_refused(name, path, path.parent, exc) from None
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


def lock_path(target: str | os.PathLike[str]) -> str:
    """The lock file of ``target`` (a file or a directory): ``.NAME.lock`` beside it, links resolved, so every
    spelling shares it; never inside a directory, which a writer may replace whole."""
    real = os.path.realpath(target)
    return os.path.join(os.path.dirname(real), f".{os.path.basename(real)}.lock")


@contextlib.contextmanager
def exclusive_lock(target: str | os.PathLike[str], name: str, what: str) -> Iterator[str]:
    """Hold ``target``'s inter-process lock (:func:`lock_path`) for the block, so that commands which read,
    change and rewrite the same file or directory take turns instead of losing one another's change.

    Waits for the lock, saying so on stderr when another process holds it. The lock file is left in place:
    removing it would let a third process lock a new file while a second still holds the old one. Without
    ``fcntl`` (not POSIX) the block runs unlocked.

    Args:
        target: What is changed (it need not exist yet); the folder it goes in is made.
        name: The option that gave it, for the messages (``--out``).
        what: What it is, for the waiting message (``the space``, ``the records file``).

    Yields:
        The lock file's path.

    Raises:
        FennecInputError: when the lock file cannot be made beside ``target``.
    """
    path = lock_path(target)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks in the standard library worth the name
        yield path
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise write_refused(name, target, os.path.dirname(path), exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"fennec: waiting for another command changing {what} {str(target)!r} (lock {path!r})",
                  file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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


class NpzError(ValueError):
    """An ``.npz`` file that cannot be read as one: not a zip archive, truncated, or holding pickled objects."""


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, never unpickling anything.

    Raises:
        FileNotFoundError: no such file.
        NpzError: anything else that keeps it from being read, with why in one line: numpy reads a file that is not
            a zip archive as a pickle, and a damaged archive raises ``zipfile.BadZipFile``, ``EOFError`` or
            ``KeyError``, none of which says "not an .npz".
    """
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    if not zipfile.is_zipfile(path):
        raise NpzError("not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise NpzError(f"holds an array that needs pickle, which is never loaded ({_first_line(exc)})") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise NpzError(f"a damaged archive ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]
