"""The end of a runner command (`score-zoo`, `finetune`): new records to stdout when nothing else got them, a
one-line summary on stderr, and the exit code."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any


def finish_run(command: str, res: Any, out: str | None, store: str | None) -> int:
    """Print a :class:`fennec.zoo.runner.RunResult` and return the exit code (1 when some model failed)."""
    from fennec.zoo import COLUMNS

    if out is None and store is None:
        w = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        for r in res.records:
            w.writerow(r)
    # only what exists: a run whose every model failed wrote no file
    where = " and ".join(str(x) for x in (out, store) if x and Path(x).exists())
    print(f"{command}: {len(res.records)} new record(s), {len(res.skipped)} already present, "
          f"{len(res.failures)} failure(s)" + (f"; wrote {where}" if where else "; wrote nothing" if out or store
                                               else ""), file=sys.stderr)
    return 1 if res.failures else 0


def check_run_outputs(out: str | None, store: str | None) -> None:
    """The ``--out`` CSV and ``--store`` of a runner command, checked before any model runs (a run can take
    hours; a path that cannot be written must not fail at its end): not empty, not a directory, in a folder that
    exists or can be made, and ``--out`` a ``.csv``.

    Raises:
        FennecInputError: naming the option.
    """
    from fennec.validation import check_output_file

    if out is not None:
        check_output_file(out, "--out", suffix=".csv")
    if store is not None:
        check_output_file(store, "--store")
