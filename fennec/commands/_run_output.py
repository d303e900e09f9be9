"""The end of a runner command (`score-zoo`, `finetune`): new records to stdout when nothing else got them, a
one-line summary on stderr, and the exit code."""

from __future__ import annotations

import csv
import sys
from typing import Any


def finish_run(command: str, res: Any, out: str | None, store: str | None) -> int:
    """Print a :class:`fennec.zoo.runner.RunResult` and return the exit code (1 when some model failed)."""
    from fennec.zoo import COLUMNS

    if out is None and store is None:
        w = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        for r in res.records:
            w.writerow(r)
    where = " and ".join(x for x in (out, store) if x)
    print(f"{command}: {len(res.records)} new record(s), {len(res.skipped)} already present, "
          f"{len(res.failures)} failure(s)" + (f"; wrote {where}" if where else ""), file=sys.stderr)
    return 1 if res.failures else 0
