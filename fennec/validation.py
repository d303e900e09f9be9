"""Input validation shared by every entry point (library functions, scorers, the CLI).

Every check raises :class:`FennecInputError` with a one-line message that names the input, says what was
expected and how to fix it. The CLI prints that line and exits with code 2.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np


class FennecInputError(ValueError):
    """Bad user input: the message is one line naming the input, the expectation and the fix."""


class OutputPathError(FennecInputError):
    """An output path that cannot be written (a directory, a file in the way, a folder that refuses new entries).

    Attributes:
        reason: Why, without the path or the fix (e.g. ``"permission denied"``), for callers that word their own
            message, such as a cache that goes on without writing.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _output_error(name: str, path: str | os.PathLike[str], reason: str, fix: str) -> OutputPathError:
    """``NAME 'PATH': REASON; FIX``, the one wording of every output-path error."""
    return OutputPathError(f"{name} {str(path)!r}: {reason}; {fix}", reason=reason)


class FennecInputWarning(UserWarning):
    """Input that is unusual but still gives a defined result (e.g. fewer samples than dimensions)."""


def check_matrix(value: object, name: str, *, dtype: type = np.float64, min_rows: int = 1) -> np.ndarray:
    """Check a finite (N, D) matrix of at least ``min_rows`` rows; return it C-contiguous in ``dtype`` (no copy
    when it already is)."""
    try:  # rows of different lengths: numpy's own error, inside iscomplexobj, would escape as a traceback
        complex_values = np.iscomplexobj(value)
    except ValueError as exc:
        raise FennecInputError(f"{name}: rows of different lengths do not form an (N, D) array ({exc}); give every "
                               "example the same number of values") from None
    if complex_values:  # numpy would drop the imaginary parts with a warning and go on
        raise FennecInputError(f"{name}: complex values; give real-valued features (e.g. the magnitudes)")
    try:
        arr = np.ascontiguousarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise FennecInputError(f"{name}: expected a numeric array of shape (N, D), got {type(value).__name__}"
                               f" that does not convert to float ({exc})") from None
    if arr.ndim != 2:
        raise FennecInputError(f"{name}: expected a 2-D array of shape (N, D), got shape {arr.shape}; "
                               "reshape to one row per example")
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise FennecInputError(f"{name}: expected at least {min_rows} row{'s' if min_rows > 1 else ''} and 1 "
                               f"column, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise FennecInputError(f"{name}: {bad} row(s) contain NaN or inf; drop or impute them first")
    return arr


# the largest |feature| the scores accept: its square summed over millions of rows stays far from float64's 1.8e308
MAX_FEATURE = 1e100


def check_features(features: object, name: str = "features", *, warn_n_lt_d: bool = True) -> np.ndarray:
    """Check a feature matrix and return it as a C-contiguous float64 array.

    Args:
        features: Array-like of shape (N, D).
        name: Name used in error messages.
        warn_n_lt_d: Warn (FennecInputWarning) when N < D: scores stay defined but covariances are singular.

    Returns:
        float64 array of shape (N, D).
    """
    arr = check_matrix(features, name, min_rows=2)
    largest = float(np.abs(arr).max())
    if largest > MAX_FEATURE:
        # squares and covariances of such values overflow float64, and the scores would come out inf or nan
        raise FennecInputError(f"{name}: values as large as {largest:.3g} (more than {MAX_FEATURE:.0e}) overflow "
                               "the scores' arithmetic; divide the features by a constant first")
    if warn_n_lt_d and arr.shape[0] < arr.shape[1]:
        warnings.warn(f"{name}: N={arr.shape[0]} < D={arr.shape[1]}; covariance-based scores use a "
                      "pseudo-inverse or PCA and are less reliable", FennecInputWarning, stacklevel=2)
    return arr


def check_labels(labels: object, n: int | None = None, name: str = "labels", *,
                 min_classes: int = 2, min_per_class: int = 1, rows_of: str = "features") -> np.ndarray:
    """Check class labels and return them re-indexed to 0..C-1 (int64), keeping the sorted order of values.

    Args:
        labels: Array-like of shape (N,), any hashable values (ints or strings).
        n: Expected length (the number of feature rows), or None.
        name: Name used in error messages.
        min_classes: Fewest distinct classes allowed.
        min_per_class: Fewest examples allowed in every class.
        rows_of: The array whose rows ``n`` counts, for the message (``grads`` when a scorer reads no features).

    Returns:
        int64 array of shape (N,) with values in [0, C).
    """
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as exc:
        raise FennecInputError(f"{name}: expected one label per example, a 1-D array of shape (N,), got nested "
                               f"sequences numpy cannot make an array of ({exc})") from None
    if arr.ndim != 1:
        raise FennecInputError(f"{name}: expected a 1-D array of shape (N,), got shape {arr.shape}")
    if arr.dtype == object and (n_none := sum(v is None for v in arr)):
        raise FennecInputError(f"{name}: {n_none} of {arr.shape[0]} labels are None; every example needs a class "
                               "label (drop the unlabelled examples)")
    if n is not None and arr.shape[0] != n:
        raise FennecInputError(f"{name}: length {arr.shape[0]} does not match the {n} rows of {rows_of}; give one "
                               f"label per example (or check the shape of {rows_of})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise FennecInputError(f"{name}: contains NaN or inf; every example needs a class label")
    if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        # 0.5, 1.5 are regression targets, not classes: each distinct value would become a class of its own
        raise FennecInputError(f"{name}: holds fractional values such as {float(arr[arr != np.round(arr)][0])!r}; "
                               "class labels are integers or strings")
    try:
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
    except TypeError:  # values numpy cannot order (ints mixed with strings)
        kinds = sorted({type(v).__name__ for v in arr.tolist()})
        what = f"mixes values of types {', '.join(kinds)}" if len(kinds) > 1 else f"holds values of type {kinds[0]}"
        raise FennecInputError(f"{name}: {what} that cannot be sorted into classes; give labels of one sortable "
                               "type, ints or strings (e.g. convert every label with str())") from None
    if len(values) < min_classes:
        raise FennecInputError(f"{name}: found {len(values)} class(es), need at least {min_classes}; "
                               "a ranking needs examples of several classes")
    if counts.min() < min_per_class:
        small = values[counts < min_per_class][:5].tolist()
        raise FennecInputError(f"{name}: class(es) {small} have fewer than {min_per_class} examples; "
                               "add examples or drop those classes")
    return inverse.astype(np.int64).reshape(-1)


def check_probs(probs: object, n: int | None = None, name: str = "probs", *, atol: float = 1e-3) -> np.ndarray:
    """Check a matrix of per-example source-class probabilities.

    Args:
        probs: Array-like of shape (N, Cs), non-negative rows summing to one.
        n: Expected number of rows, or None.
        name: Name used in error messages.
        atol: Tolerance on the row sums.

    Returns:
        float64 array of shape (N, Cs).
    """
    arr = check_features(probs, name, warn_n_lt_d=False)
    if n is not None and arr.shape[0] != n:
        raise FennecInputError(f"{name}: {arr.shape[0]} rows do not match the {n} labels")
    if (arr < 0).any():
        raise FennecInputError(f"{name}: has negative entries; expected probabilities (apply softmax to logits)")
    sums = arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=atol):
        worst = float(sums[np.argmax(np.abs(sums - 1.0))])
        raise FennecInputError(f"{name}: rows must sum to 1 (worst row sums to {worst:.4g}); "
                               "apply softmax to logits first")
    return arr


def check_same_rows(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Check that two arrays describe the same examples (same first dimension)."""
    if a.shape[0] != b.shape[0]:
        raise FennecInputError(f"{name_b}: {b.shape[0]} rows do not match the {a.shape[0]} rows of {name_a}")


def check_positive_int(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """Check that ``value`` is a positive integer (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise FennecInputError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_positive_number(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite number > 0 (>= 0 with ``allow_zero``): learning rates, penalties."""
    bound = "a number >= 0" if allow_zero else "a positive number"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise FennecInputError(f"{name}: expected {bound}, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise FennecInputError(f"{name}: expected {bound}, got {value!r}")
    return v


#: The largest seed: every consumer accepts [0, 2**32 - 1] (sklearn's random_state and numpy's legacy
#: RandomState stop there; numpy's default_rng and torch take more).
MAX_SEED = 2**32 - 1


def check_seed(value: object, name: str = "seed") -> int:
    """Check that ``value`` is an integer in [0, 2**32 - 1] (what every generator fennec seeds accepts)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= MAX_SEED:
        raise FennecInputError(f"{name}: expected an integer in [0, {MAX_SEED}], got {value!r}")
    return int(value)


def check_fraction(value: object, name: str, *, low: float = 0.0, high: float = 1.0) -> float:
    """Check that ``value`` is a finite number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise FennecInputError(f"{name}: expected a number in [{low}, {high}], got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise FennecInputError(f"{name}: expected a number in [{low}, {high}], got {value!r}")
    return value


def check_flag(value: object, name: str) -> bool:
    """Check that ``value`` is a bool (a string such as "false" would otherwise read as true)."""
    if not isinstance(value, bool | np.bool_):
        raise FennecInputError(f"{name}: expected true or false, got {value!r}")
    return bool(value)


def check_choice(value: object, name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise FennecInputError(f"{name}: expected one of {', '.join(map(str, choices))}, got {value!r}")
    return str(value)


def check_file(path: str | os.PathLike[str], name: str, *, suffixes: tuple[str, ...] = ()) -> Path:
    """Check that ``path`` is an existing readable file, optionally with one of ``suffixes``."""
    p = Path(path)
    if not p.exists():
        raise FennecInputError(f"{name}: file {str(p)!r} does not exist; check the path")
    if not p.is_file():
        raise FennecInputError(f"{name}: {str(p)!r} is not a file")
    if suffixes and not str(p).lower().endswith(tuple(s.lower() for s in suffixes)):
        raise FennecInputError(f"{name}: {str(p)!r} should end with {' or '.join(suffixes)}")
    return p


def check_dir(path: str | os.PathLike[str], name: str) -> Path:
    """Check that ``path`` is an existing directory."""
    p = Path(path)
    if not p.is_dir():
        raise FennecInputError(f"{name}: directory {str(p)!r} does not exist; check the path")
    return p


def check_model_id(model_id: object, name: str = "model") -> tuple[str, str]:
    """Split a ``source:id`` model id (``timm:resnet50.a1_in1k``, ``open_clip:ViT-B-32:laion2b_s34b_b79k``,
    ``local:PATH``) into (source, id)."""
    if not isinstance(model_id, str) or ":" not in model_id:
        raise FennecInputError(f"{name}: expected 'source:id' such as 'timm:resnet50.a1_in1k', got {model_id!r}")
    source, _, rest = model_id.partition(":")
    if not source or not rest:
        raise FennecInputError(f"{name}: expected 'source:id' such as 'timm:resnet50.a1_in1k', got {model_id!r}")
    return source, rest


def split_timm_id(rest: str) -> tuple[str, str | None]:
    """Split the part after ``timm:`` into (model name, weights file or None): ``NAME`` or ``NAME:/path``, where
    NAME is ``arch`` or ``arch.tag``.

    Raises:
        FennecInputError: for an empty name.
    """
    name, sep, path = rest.partition(":")
    name = name.strip()
    if not name:
        raise FennecInputError(f"model: expected 'timm:NAME' or 'timm:NAME:/path/to/weights', got 'timm:{rest}'")
    return name, (path.strip() or None) if sep else None


def check_text_option(value: object, name: str, *, what: str, left_out: str) -> str | None:
    """A text option (a name, a pre-training text) stripped, None when it was left out; empty, blank or not text
    is refused: ``--benchmark ""`` or ``--pretraining "  "`` fell back to a default here, stored blanks there.

    Args:
        value: The option's value (None when not given).
        name: The option, e.g. ``--benchmark``.
        what: What to give, e.g. ``a benchmark name``.
        left_out: What leaving the option out gives, e.g. ``the file's benchmark column``.

    Raises:
        FennecInputError: ``NAME: expected WHAT, got VALUE; give one or leave NAME out for LEFT_OUT``.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FennecInputError(f"{name}: expected {what}, got {value!r}; give one or leave {name} out for {left_out}")
    return value.strip()


def check_path_option(value: str | os.PathLike[str] | None, name: str, *, what: str = "a path",
                      left_out: str = "") -> Path | None:
    """A path option as a :class:`Path`, None when it was left out; an explicitly empty value is an error.

    An empty string must never fall back to a default: ``--out ""`` taken as "the default" once overwrote the
    shipped space, and ``Path("")`` means the current directory.

    Args:
        value: The option's value (None when not given).
        name: The option, e.g. ``--out``.
        what: What to give instead, e.g. ``a directory``.
        left_out: What leaving the option out does, for the message (e.g. ``the default``, ``stdout``).

    Raises:
        FennecInputError: for an empty or blank value.
    """
    if value is None:
        return None
    if not str(value).strip():
        fix = f" or leave the option out for {left_out}" if left_out else ""
        raise FennecInputError(f"{name}: empty path; give {what}{fix}")
    return Path(value)


def path_or_default(value: str | os.PathLike[str] | None, name: str, default: Callable[[], Path], *,
                    what: str = "a path") -> Path:
    """``value`` as a path, ``default()`` only when the option was left out (see :func:`check_path_option`)."""
    path = check_path_option(value, name, what=what, left_out="the default")
    return default() if path is None else path


def check_output_parent(path: str | os.PathLike[str], name: str, *, create: bool = False) -> Path:
    """Check that the folder of ``path`` exists or can be made, before anything is computed or written.

    Args:
        path: A file or directory to write.
        name: The option or argument that gave it, e.g. ``--out``.
        create: Make the missing folders (else only check that they could be made).

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        FennecInputError: when an ancestor is a file, the folder is not writable or cannot be made.
    """
    check_path_option(path, name)  # Path("") is the current directory: refused, not written into
    p = Path(path)
    parent = p.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:  # the nearest ancestor that exists decides
        existing = existing.parent
    if not existing.is_dir():
        raise _output_error(name, p, f"{str(existing)!r} is a file, not a folder",
                            "give a path in a folder (or move the file away)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _output_error(name, p, f"cannot write in {str(existing)!r} (permission denied)",
                            "give a path in a writable folder")
    if create:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _output_error(name, p, f"cannot create the folder {str(parent)!r} ({exc.strerror or exc})",
                                "give a path in a writable folder") from None
    return p


def check_output_file(path: str | os.PathLike[str], name: str, *, create: bool = False,
                      suffix: str | None = None, try_write: bool = True) -> Path:
    """Check that a file can be written at ``path``: not a directory, in a folder that exists or can be made
    (made with ``create``; see :func:`check_output_parent`) and takes a new entry (:func:`check_can_write_in`;
    ``try_write=False`` for a writer about to make its temporary file there, which is the same test), and named
    ``*suffix`` when one is given."""
    p = check_output_parent(path, name, create=create)
    if suffix is not None and not str(path).lower().endswith(suffix):
        raise FennecInputError(f"{name} {str(path)!r}: should end with {suffix}")
    if p.is_dir():  # caught before anything is written: a rename over a directory fails only at the end
        raise _output_error(name, p, "is a directory", "give a file path to write")
    return check_can_write_in(p, name) if try_write else p


def write_refused(name: str, path: str | os.PathLike[str], folder: str | os.PathLike[str],
                  exc: OSError) -> OutputPathError:
    """The one wording of "this folder takes no new entry", for every writer that found it out by trying."""
    return _output_error(name, path, f"cannot write in {str(folder)!r} ({exc.strerror or exc})",
                         "give a path in a writable folder")


def check_can_write_in(path: str | os.PathLike[str], name: str) -> Path:
    """Check that a new entry can be made where ``path`` will be written, by making and removing one.

    Permission bits do not tell that /proc, a read-only mount or a full disk refuses a new entry (as root,
    ``os.access`` says yes to all of them), so :func:`check_output_parent`'s check passes and the write fails
    only after the work. This makes and removes a temporary folder in the nearest existing folder on the way to
    ``path`` (its parent, or the ancestor a write would create the missing folders in); nothing is left behind.

    Args:
        path: A file or directory to write.
        name: The option or argument that gave it, e.g. ``--plot``.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        FennecInputError: when no entry can be made there (naming the folder and the system's reason).
    """
    import tempfile

    p = Path(path)
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():  # an ancestor that is a file: check_output_parent words that case
        return p
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".fennec-write-check-", dir=folder))
    except OSError as exc:
        raise write_refused(name, p, folder, exc) from None
    return p


def read_csv_text(path: str | os.PathLike[str], name: str) -> str:
    """The text of a CSV file read as UTF-8 (a leading byte-order mark is dropped), for :mod:`csv` to parse
    with ``io.StringIO(text, newline="")``.

    Args:
        path: The file.
        name: The option or argument that gave it, e.g. ``--manifest``.

    Raises:
        FennecInputError: when the file cannot be read or is not UTF-8 text.
    """
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise FennecInputError(f"{name} {str(path)!r}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line "
                               f"{line}); save the file as UTF-8") from None
    except OSError as exc:
        raise FennecInputError(f"{name} {str(path)!r}: cannot read the file ({exc.strerror or exc})") from None
