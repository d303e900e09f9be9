"""CSV manifests of many tasks (``rank-batch --manifest``, ``tasks add-images --manifest``)."""

from __future__ import annotations

import csv


def manifest_rows(path: str, required: tuple[str, ...] = ("task",)) -> list[dict[str, str]]:
    """The rows of a CSV manifest as dicts of stripped strings; one-line errors for a missing file or column.

    Args:
        path: The ``--manifest`` file (``.csv``).
        required: Columns every manifest of this command must have.
    """
    from fennec.validation import FennecInputError, check_file

    p = check_file(path, "--manifest", suffixes=(".csv",))
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise FennecInputError(f"--manifest: {path!r} needs the column(s) {', '.join(missing)} "
                                   f"(got {reader.fieldnames})")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
