"""What the space's target standardisations do to the shared records (issue 6): outliers, clipping, and how well
each model's mean standardised result ranks a held-out dataset.

    python bench/targets.py [--store PATH] [--out bench/results/targets.json]

Per benchmark label, over its fine-tuning groups (one per dataset, its main metric; :func:`main_metric_records`):
how many groups hold a result more than 3 standard deviations from the group's mean, the median over groups of the
largest |z|, and how many results the default targets hold at -4 / +4 (``fennec.space.fit.standardize`` with
``"clipped"``, the space's own code). Then, per evaluation benchmark, lodo (the harness of ``fennec evaluate``) of
a prior computed on each standardisation: a model's score is its mean standardised result over the benchmark's
training datasets (the ``prior`` method averages raw results). No learning: this isolates what the targets alone
do to the per-model average under the space's baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Run as `python bench/targets.py`, this folder is first on sys.path and bench/archi2vec.py would shadow the
# archi2vec package: look modules up from the project instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from fennec.validation import FennecInputError, check_output_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "targets.json"
BENCHMARKS = ("sfda_supervised", "logme_tllib", "parc_controlled", "parc_external", "transfergraph")


def standardised(records: Sequence[Any], kind: str, spread: bool = False) -> tuple[list[Any], np.ndarray]:
    """The main-metric transfer records of ``records`` and their within-(benchmark, dataset) targets under
    ``kind`` (``fennec.space.fit.standardize``); records of groups it leaves out get NaN. With ``spread``, also
    each record's group weight under ``baseline_weight="spread"`` (``fennec.space.fit.spread_weights``)."""
    from fennec.records.metrics import is_transfer, main_metric_records, oriented
    from fennec.space.fit import Batch, spread_weights, standardize

    rows = [r for r in main_metric_records(records) if is_transfer(r)]
    keys = sorted({(r.benchmark, r.dataset) for r in rows})
    pos = {k: i for i, k in enumerate(keys)}
    group = np.array([pos[(r.benchmark, r.dataset)] for r in rows], dtype=int)
    n = len(rows)
    batch = Batch(model=np.zeros(n, int), task=np.zeros(n, int), bench=np.zeros(n, int), group=group,
                  value=np.array([oriented(r.value, r.metric) for r in rows]), group_weight=np.ones(len(keys)),
                  group_dataset=np.arange(len(keys)), standardization=kind)
    z, keep = standardize(batch)
    if spread:
        return rows, np.where(keep, z, np.nan), spread_weights(batch)[group]
    return rows, np.where(keep, z, np.nan)


def outlier_table(records: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Per benchmark label: groups, groups with a result beyond 3 sd, median largest |z|, results held at -4 / +4."""
    from fennec.space.fit import CLIP_SIGMA

    rows, z = standardised(records, "z")
    _, clipped = standardised(records, "clipped")
    largest: dict[str, dict[str, float]] = defaultdict(dict)
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"held_low": 0, "held_high": 0})
    for r, zz, cc in zip(rows, z, clipped, strict=True):
        if np.isnan(zz):
            continue
        largest[r.benchmark][r.dataset] = max(largest[r.benchmark].get(r.dataset, 0.0), abs(zz))
        out[r.benchmark]["held_low"] += int(cc <= -CLIP_SIGMA)
        out[r.benchmark]["held_high"] += int(cc >= CLIP_SIGMA)
    for bench, per_ds in largest.items():
        big = np.array(list(per_ds.values()))
        out[bench].update(groups=len(big), groups_beyond_3sd=int((big > 3).sum()),
                          median_largest_abs_z=float(np.median(big)))
    return dict(out)


def standardised_prior(kind: str, spread: bool = False) -> type:
    """A harness method: each model's mean ``kind``-standardised result over the benchmark's training datasets,
    with ``spread`` weighted by each dataset's relative spread (the space's ``baseline_weight="spread"``)."""
    from fennec.evaluation.methods import FitContext, PriorMethod

    class StandardisedPrior(PriorMethod):
        name = f"prior_{kind}" + ("_spread" if spread else "")

        def fit(self, train: Sequence[Any], context: FitContext) -> StandardisedPrior:
            allowed = set(context.train_datasets)
            mine = [r for r in train if r.benchmark == context.record_benchmark and r.dataset in allowed]
            rows, z, *w = standardised(mine, kind, spread)
            weights = w[0] if spread else np.ones(len(rows))
            sums: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for r, zz, ww in zip(rows, z, weights, strict=True):
                if not np.isnan(zz):
                    sums[r.model].append((float(zz), float(ww)))
            self.mean_ = {m: float(np.average([z for z, _ in v], weights=[w for _, w in v]))
                          for m, v in sums.items()}
            self.context_ = context
            return self

    return StandardisedPrior


def main(argv: list[str] | None = None) -> int:
    """Print the tables and write them as JSON; bad input is one line on stderr and exit code 2."""
    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"targets: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=None, help="records store (default: the user's)")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    # checked before the evaluations: an --out that cannot be written was found after the tables were printed
    out = check_output_file(args.out, "--out")
    from fennec.commands.records import open_store
    from fennec.evaluation.protocols import evaluate
    from fennec.io import atomic_open
    from fennec.space.fit import STANDARDIZATIONS

    # a --store typo must not become a new store of the shipped records, counted as if it were the user's
    with open_store(args, must_exist=True) as store:
        outliers = outlier_table(store.records())
        kinds = {k: standardised_prior(k) for k in STANDARDIZATIONS}
        kinds["clipped, spread-weighted"] = standardised_prior("clipped", spread=True)
        priors = {b: {k: evaluate(b, method, "lodo", store=store)["mean"]["weighted_tau"]
                      for k, method in kinds.items()} for b in BENCHMARKS}
    print("| benchmark label | groups | groups with a result beyond 3 sd | median largest abs(z) | held at -4 / +4 |")
    print("| --- | --- | --- | --- | --- |")
    for b, row in sorted(outliers.items()):
        print(f"| {b} | {row['groups']} | {row['groups_beyond_3sd']} | {row['median_largest_abs_z']:.2f} | "
              f"{row['held_low']} / {row['held_high']} |")
    print()
    print("| benchmark | " + " | ".join(f"prior on {k}" for k in kinds) + " |")
    print("| --- |" + " --- |" * len(kinds))
    for b, row in priors.items():
        print(f"| {b} | " + " | ".join(f"{row[k]:.3f}" for k in kinds) + " |")
    with atomic_open(out, "w", name="--out") as fh:
        json.dump({"command": "python bench/targets.py", "outliers": outliers, "lodo_weighted_tau": priors}, fh,
                  indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
