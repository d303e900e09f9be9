"""How much of the space's ranking of a new task comes from the task's text, and how much a proxy's labels recover.

    python bench/task_text.py [--benchmark NAME ...] [--store PATH] [--out bench/results/task_text.json]

The transfer space reads a task's text; a user's image task may have placeholder class names (``0``, ``1``) and
no description, in which case ``recommend.py`` fills the text with the proxy's ImageNet labels for its images
(:mod:`fennec.tasks.visual`). The historical tasks come without images, so the proxy cannot be run on them here;
this bench measures the text side of that path under leave-one-dataset-out, training on full task cards and
changing only the held-out task's card:

- ``card``: the full card (class names, description, sizes): the ``fennec`` row of ``bench/space_eval.py``;
- ``names``: class names and sizes, no description (what ``recommend.py`` reads of a folder of named classes);
- ``none``: sizes only (numbered folders with ``--no-images``): the models' overall quality and what the task's
  size says;
- ``labels``: what the bridge makes of a placeholder task, with a *text stand-in for the proxy*: each class name
  is mapped to the ImageNet label whose prompt embedding is nearest to its own, and those labels go through the
  bridge's own summary (:func:`fennec.tasks.visual.summarize_labels`, :func:`fennec.tasks.visual.text_card`).
  The real proxy labels images, which no text mapping reproduces (it cannot tell a "737-800" from its name alone
  as the proxy can from a photo): read this row as an indication, not as the bridge's measured accuracy.

The space reads descriptions whenever a card has one (``description="keep"``; by default the space decides
that on its training folds). It is fitted once per training set (the fits are shared by the four views), so the
bench costs one lodo run of ``fennec``. Prints a table of mean weighted tau (PARC's Pearson x 100 on the PARC
benchmarks) with the prior next to it, then paired per-dataset differences between views (mean, 90% bootstrap
interval, datasets won / lost; the views share their fits, so the pairing removes the seed's share of the
noise), and writes JSON.
``--table FILE`` prints both tables from a result file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from fennec.validation import FennecInputError, check_file, check_output_file, check_path_option  # noqa: E402

BENCHMARKS = ("sfda_supervised", "logme_tllib", "parc_controlled", "parc_external", "transfergraph")
VIEWS = ("card", "names", "none", "labels")


@lru_cache(maxsize=1)
def _imagenet_prompts() -> tuple[list[str], np.ndarray]:
    from fennec.encoders.base import first_synonym, imagenet_label_names
    from fennec.space.features import encode_texts

    names = imagenet_label_names("imagenet-1k")
    return names, encode_texts([f"a photo of a {first_synonym(n)}." for n in names])


def label_standin(card):  # -> TaskCard
    """The card a placeholder-named task gets from the bridge, with class names standing in for its images."""
    from fennec.records.cards import TaskCard
    from fennec.space.features import encode_texts
    from fennec.tasks.visual import summarize_labels

    classes = list(card.class_names)
    if not classes:
        return TaskCard(name=card.name, n_classes=card.n_classes, n_images=card.n_images)
    names, label_emb = _imagenet_prompts()
    sims = encode_texts([f"a photo of a {c}." for c in classes]) @ label_emb.T  # (C, 1000) cosines
    probs = np.zeros_like(sims)
    probs[np.arange(len(classes)), sims.argmax(axis=1)] = 1.0  # one "image" per class, labelled by its nearest
    visual = summarize_labels(probs, np.arange(len(classes)), len(classes), names, "text-standin")
    return TaskCard(name=card.name, n_classes=card.n_classes, n_images=card.n_images,
                    class_names=visual.class_names(), description=visual.description())


def view(card, mode: str):  # -> TaskCard
    from fennec.records.cards import TaskCard

    if mode == "card":
        return card
    if mode == "names":
        return TaskCard(name=card.name, n_classes=card.n_classes, n_images=card.n_images,
                        class_names=tuple(card.class_names))
    if mode == "none":
        return TaskCard(name=card.name, n_classes=card.n_classes, n_images=card.n_images)
    return label_standin(card)


def viewed(mode: str):
    """A factory of the ``fennec`` method that scores the held-out task through ``view(card, mode)``, with the
    space told to read descriptions (``description="keep"``): the views, not the folds, decide what it reads."""
    from fennec.space.methods import SpaceMethod

    class Viewed(SpaceMethod):
        def __init__(self, **params):
            super().__init__(**{"description": "keep", **params})

        def score(self, task, models):
            return super().score(view(task, mode), models)

    return Viewed


def read_results(path: str) -> dict:
    """The ``results`` of a result file of this script (``--table``), or a one-line error that says what is wrong
    with it: a file of another shape would end in a TypeError or KeyError halfway through the table."""
    check_path_option(path, "--table", what="a result file of bench/task_text.py")  # Path("") is the folder "."
    file = check_file(path, "--table")
    what = f"--table {path!r}: not a result file of bench/task_text.py"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FennecInputError(f"{what} (not JSON: {err})") from None
    except OSError as err:
        raise FennecInputError(f"--table {path!r}: cannot read the file ({err.strerror or err})") from None

    def is_report(rep: object) -> bool:
        return (isinstance(rep, dict) and isinstance(rep.get("mean"), dict)
                and isinstance(rep["mean"].get("weighted_tau"), int | float)
                and isinstance(rep.get("per_dataset"), dict)
                and all(isinstance(v, dict) for v in rep["per_dataset"].values()))

    results = data.get("results") if isinstance(data, dict) else None
    cols = (*VIEWS, "prior")
    if not isinstance(results, dict) or not results or not all(
            isinstance(reps, dict) and all(is_report(reps.get(c)) for c in cols) for reps in results.values()):
        raise FennecInputError(f"{what} (expected {{\"results\": {{benchmark: {{view: report}}}}}} with a report "
                               f"for each of {', '.join(cols)}); write one with `python bench/task_text.py --out "
                               f"{path}`")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the bench (or print the tables of a result file); bad input is one line on stderr and exit code 2."""
    try:
        return _main(argv)
    except FennecInputError as err:
        print(f"task_text: error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmark", nargs="+", default=list(BENCHMARKS))
    p.add_argument("--store", default=None)
    p.add_argument("--out", default="bench/results/task_text.json")
    p.add_argument("--table", metavar="FILE", default=None, help="print the tables of a result file and exit")
    args = p.parse_args(argv)
    if args.table is not None:  # `--table ""` is an error, not "no table"
        results = read_results(args.table)
        print(table(results) + "\n\n" + paired_table(results))
        return 0
    # checked before the first fit: a directory or an unwritable --out was found only when the results were written
    check_output_file(args.out, "--out")
    import torch

    torch.set_num_threads(1)
    from fennec.commands.records import open_store
    from fennec.evaluation import evaluate
    from fennec.evaluation.protocols import check_benchmarks
    from fennec.io import write_json

    results: dict = {}
    # a --store typo must not become a new store of the shipped records, evaluated as if it were the user's
    with open_store(args, must_exist=True) as store:
        check_benchmarks(args.benchmark, store)  # before the first fit
        for bench in args.benchmark:
            results[bench] = {}
            for mode in VIEWS:
                t0 = time.perf_counter()
                rep = evaluate(bench, viewed(mode), "lodo", store=store)
                rep["seconds"] = round(time.perf_counter() - t0, 1)
                results[bench][mode] = rep
                print(f"{bench} {mode}: {rep['mean']['weighted_tau']:.3f} ({rep['seconds']} s)", file=sys.stderr)
            results[bench]["prior"] = evaluate(bench, "prior", "lodo", store=store)
    write_json(args.out, {"views": VIEWS, "results": results, "command": "python bench/task_text.py"})
    print(table(results) + "\n\n" + paired_table(results))
    return 0


def cell(rep: dict) -> str:
    mean = rep["mean"]
    out = f"{mean['weighted_tau']:.3f}"
    if mean.get("pearson_parc") is not None:  # already x 100
        out += f" / {mean['pearson_parc']:.1f}"
    return out


PAIRS = (("names", "card"), ("none", "card"), ("names", "none"), ("labels", "none"))


def paired_table(results: dict) -> str:
    """View minus view per benchmark: mean per-dataset difference [90% bootstrap CI] and datasets won / lost."""
    from fennec.evaluation.report import paired_cells, paired_differences

    lines = ["| benchmark | views | metric | difference [90% CI] | won / lost |", "| --- | --- | --- | --- | --- |"]
    for bench, reps in results.items():
        for a, b in PAIRS:
            for d in paired_differences(reps[a], reps[b]):
                lines.append(f"| {bench} | {a} - {b} | {d['key']} | {paired_cells(d)} |")
    return "\n".join(lines)


def table(results: dict) -> str:
    cols = (*VIEWS, "prior")
    lines = ["| benchmark | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    for bench, reps in results.items():
        lines.append(f"| {bench} | " + " | ".join(cell(reps[c]) for c in cols) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
