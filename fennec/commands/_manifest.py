"""CSV manifests of many tasks (``rank-batch --manifest``, ``tasks add-images --manifest``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def manifest_rows(path: str, required: tuple[str, ...] = ("task",),
                  optional: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """The rows of a CSV manifest as dicts of stripped strings (:func:`manifest_lines` without line numbers)."""
    return [row for _, row in manifest_lines(path, required, optional)]


def manifest_lines(path: str, required: tuple[str, ...] = ("task",),
                   optional: tuple[str, ...] | None = None) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV manifest, each with its line number in the file, as dicts of stripped strings; one-line
    errors for a missing file or column, an unknown column, a row with more cells than the header, text that is
    not UTF-8 and malformed CSV.

    Column names are matched stripped and case-insensitively (``Task``, `` task ``; a UTF-8 byte-order mark
    is dropped), and the rows' keys are the lower-cased names.

    Args:
        path: The ``--manifest`` file (``.csv``).
        required: Columns every manifest of this command must have (lower case).
        optional: The other columns the command reads; any further column is refused (a misspelt
            ``descripton`` would otherwise be ignored without a word). None: any column is let through.
    """
    from fennec.registry import unknown_name_message
    from fennec.validation import FennecInputError, check_file, check_path_option, read_csv_text

    check_path_option(path, "--manifest", what="a .csv file")  # Path("") is the current directory
    p = check_file(path, "--manifest", suffixes=(".csv",))
    reader = csv.reader(io.StringIO(read_csv_text(p, "--manifest"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise FennecInputError(f"--manifest {path!r}: needs the column(s) {', '.join(missing)} "
                                   f"(got {header}); add a header line such as {','.join(required)}")
        if optional is not None:
            for column in header:
                if column and column not in (*required, *optional):
                    raise FennecInputError(f"--manifest {path!r}: "
                                           + unknown_name_message("column", column, (*required, *optional)))
        rows = []
        for fields in reader:
            if not fields:  # a blank line is no row
                continue
            if any(cell.strip() for cell in fields[len(header):]):
                raise FennecInputError(f"--manifest {path!r} line {reader.line_num}: {len(fields)} cells under a "
                                       f"header of {len(header)}; quote a cell that holds commas "
                                       '("sparrow,eagle,owl")')
            cells = (fields + [""] * len(header))[: len(header)]  # short rows are filled with ""
            rows.append((reader.line_num, {k: v.strip() for k, v in zip(header, cells, strict=True) if k}))
        return rows
    except csv.Error as exc:
        raise FennecInputError(f"--manifest {path!r}: malformed CSV on line {reader.line_num} ({exc})") from None


def path_from_manifest(path: str, manifest: str | Path) -> str:
    """A manifest's relative ``path`` cell resolved against the manifest's folder (as the paths of a path,label
    manifest are), or taken from the current directory when only that one exists (manifests written before
    paths were read from their folder named them so); absolute paths and "" stay as they are."""
    if not path or Path(path).is_absolute():
        return path
    resolved = str(Path(manifest).parent / path)
    return path if not Path(resolved).exists() and Path(path).exists() else resolved


def task_from_manifest(task: str, manifest: str | Path) -> str:
    """A manifest's ``task`` cell, a relative path resolved against the manifest's folder (as the paths of a
    path,label manifest are; one found only from the current directory is taken from there); class names
    (``a,b,c``) and absolute paths stay as they are.

    What is a path and what are class names is :func:`fennec.tasks.readers.detect_reader`'s rule: an existing
    file or folder (resolved) is a path, else the cell as written decides (text with a comma, no file suffix and
    not rooted like a path is class names); anything else is a path that does not exist, which the task reader
    then names.
    """
    from fennec.tasks.readers import detect_reader
    from fennec.validation import FennecInputError

    resolved = path_from_manifest(task, manifest)
    if resolved == task:  # absolute, "", or found from the current directory only
        return task
    try:
        # the cell as written decides (a resolved path is rooted, which reads as a folder, never as names)
        names = not Path(resolved).exists() and detect_reader(task) == "names"
    except FennecInputError:  # neither an existing path nor class names: the reader words the error
        names = False
    return task if names else resolved
