"""How much source/target affinity do the records show, and how much would a held-out target need? (issue 6)

    python bench/source_affinity.py [--benchmark parc_controlled] [--store PATH]
                                    [--out bench/results/source_affinity.json]

For a benchmark whose zoo crosses architectures with pre-training sources (PARC's controlled zoo: 4 architectures x
8 sources, Bolya et al. 2021), each target dataset's results are standardised within each architecture and
averaged over the architectures: z(source, target) says how many standard deviations a source's models do better on
a target than the same architecture's other models, so architecture quality drops out.

- swing(source, target) = z(source, target) - mean z(source, other targets): how far a target lifts a source above
  what its other results say. A transfer space can only predict it from the affinity of the source's pre-training
  data with the target (the rest of the score is the model's quality, common to all targets).
- For a target held out (lodo), "needed" is the swing of the source that is best on it (with the mean over the
  other targets), and "in-fold evidence" the largest swing of any pair the other targets show (each swing then
  computed without the held-out target): the most the training records ever show a matched source gaining.

When "needed" is far above the in-fold evidence, no model fitted to the in-fold records has reason to rank that
source first, whatever its form.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

# Run as `python bench/source_affinity.py`, this folder is first on sys.path and bench/archi2vec.py would shadow
# the archi2vec package: look modules up from the project instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "source_affinity.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmark", default="parc_controlled")
    p.add_argument("--store", default=None, help="records store (default: the user's, created from the shipped "
                                                 "records)")
    p.add_argument("--out", default=str(OUT))
    return p.parse_args(argv)


def affinity_table(records, models) -> tuple[list[str], list[str], np.ndarray]:
    """(sources, targets, Z): Z[s, t] the mean over architectures of the within-architecture z of source s's
    model on target t (NaN where no architecture has that pair); per target its main metric, oriented."""
    from fennec.records.metrics import main_metric_records, oriented

    cells: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)  # (target, arch) -> source -> value
    for r in main_metric_records(records):
        info = models.get(r.model)
        if info is None or not info.architecture or not info.pretraining:
            continue
        cells[(r.dataset, info.architecture)][info.pretraining] = oriented(r.value, r.metric)
    sources = sorted({s for row in cells.values() for s in row})
    targets = sorted({t for t, _ in cells})
    sums = np.zeros((len(sources), len(targets)))
    counts = np.zeros_like(sums)
    for (target, _), row in cells.items():
        if len(row) < 3:
            continue
        values = np.array(list(row.values()))
        if values.std() == 0:
            continue
        for source, v in row.items():
            i, j = sources.index(source), targets.index(target)
            sums[i, j] += (v - values.mean()) / values.std()
            counts[i, j] += 1
    with np.errstate(invalid="ignore"):
        return sources, targets, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def swings(z: np.ndarray, columns: list[int]) -> np.ndarray:
    """(S, len(columns)) swing of each source on each of ``columns``, its mean taken over the other ``columns``."""
    out = np.full((z.shape[0], len(columns)), np.nan)
    for k, j in enumerate(columns):
        others = z[:, [c for c in columns if c != j]]
        n = (~np.isnan(others)).sum(axis=1)
        mean = np.where(n > 0, np.nansum(others, axis=1) / np.maximum(n, 1), np.nan)
        out[:, k] = z[:, j] - mean
    return out


def lodo_rows(sources: list[str], targets: list[str], z: np.ndarray) -> list[dict]:
    rows = []
    for j, target in enumerate(targets):
        if np.all(np.isnan(z[:, j])):
            continue
        best = int(np.nanargmax(z[:, j]))
        needed = swings(z, list(range(len(targets))))[best, j]
        fold = [c for c in range(len(targets)) if c != j]
        evidence = swings(z, fold)
        i, k = np.unravel_index(np.nanargmax(evidence), evidence.shape)
        rows.append({"target": target, "best_source": sources[best], "z_best": round(float(z[best, j]), 2),
                     "needed_swing": round(float(needed), 2), "in_fold_max_swing": round(float(evidence[i, k]), 2),
                     "in_fold_max_pair": [sources[i], targets[fold[k]]]})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the affinity table and write the JSON; bad input is one line on stderr and exit code 2."""
    args = parse_args(argv)
    from fennec.validation import FennecInputError

    try:
        return run(args)
    except FennecInputError as err:
        print(f"source_affinity: error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    from fennec.commands.records import open_store
    from fennec.evaluation.protocols import get_benchmark
    from fennec.io import write_json
    from fennec.validation import FennecInputError, check_output_file

    bench = get_benchmark(args.benchmark)
    check_output_file(args.out, "--out")
    store = open_store(args, must_exist=True)  # a --store typo is not a new store of the shipped records
    records = [r for r in store.records() if r.benchmark == bench.record_benchmark]
    if not records:
        raise FennecInputError(f"--benchmark {args.benchmark!r} has no records in the store")
    sources, targets, z = affinity_table(records, {m.id: m for m in store.models()})
    if len(sources) < 2 or np.all(np.isnan(z)):
        found = f"only one pre-training source ({sources[0]!r})" if len(sources) == 1 else \
            "no architecture with 3 or more pre-training sources" if sources else "no model with both an " \
            "architecture and a pre-training source"
        raise FennecInputError(f"--benchmark {args.benchmark!r}: {found}; nothing to compare (the table needs "
                               "architectures trained on several sources, e.g. --benchmark parc_controlled)")
    rows = lodo_rows(sources, targets, z)
    res = {"benchmark": args.benchmark, "sources": sources, "targets": targets,
           "z": [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in z], "lodo": rows}
    write_json(args.out, res)
    # the pre-training texts share their opening words ("supervised on "): show what tells them apart
    words = [src.split(" ") for src in sources]
    shared = 0
    while len(sources) > 1 and all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
        shared += 1
    prefix = " ".join(words[0][:shared]) + " " if shared else ""

    def short(text: str, width: int = 22) -> str:
        text = text[len(prefix):] if text.startswith(prefix) else text
        return text if len(text) <= width else text[: width - 1] + "~"

    print(f"{args.benchmark}: within-architecture z of each source's models, mean over architectures"
          + (f" (sources: {prefix!r} ...)" if prefix else ""))
    print(f"  {'source':<24} " + " ".join(f"{short(t, 9):>9}" for t in targets))
    for s, row in zip(sources, z, strict=True):
        print(f"  {short(s):<24} " + " ".join("        -" if np.isnan(v) else f"{v:9.2f}" for v in row))
    print("held-out target: best source, its z, the swing it needs, the largest swing the other targets show")
    for r in rows:
        print(f"  {r['target']:<14} {short(r['best_source']):<24} z {r['z_best']:+.2f}  needs {r['needed_swing']:+.2f}"
              f"  in-fold max {r['in_fold_max_swing']:+.2f} ({short(r['in_fold_max_pair'][0], 14)} on "
              f"{r['in_fold_max_pair'][1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
