"""`fennec score`: transferability scores of one model on one labelled task, from an ``.npz`` file.

    fennec score --features FILE.npz --method NAME [--method NAME ...] [--format table|json]

The npz holds ``features`` (N, D), ``labels`` (N,), and optionally ``probs`` (N, Cs) source-class
probabilities and ``grads`` (N, P) per-example gradients. ``--method all`` runs every scorer whose inputs the
file has. Bad input prints one line on stderr and exits with code 2.

Under ``--method all`` two failures differ. A malformed input (wrong shape, NaN, probabilities that do not sum
to one, row counts that disagree) is bad input, as it is for a named method: one line, exit 2. Well-formed
inputs on which one scorer is undefined (it raises :class:`fennec.scores.ScoreUndefinedError`, e.g. constant
features for a correlation) leave that scorer "undefined" in the output, with a warning, and the rest run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: Shown in --help without importing the scorers (kept equal to fennec.scores.list_scorers() by a test).
METHODS = ("gbc", "hscore", "knn", "leep", "lfc", "lgc", "logme", "nce", "nleep", "parc", "reg_hscore", "sfda",
           "transrate")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `score` command."""
    p = subparsers.add_parser(
        "score", help="transferability scores (LogME, PARC, LEEP, ...) of features on a labelled task",
        description="Score how well a model's features (and optionally its source-class probabilities or "
                    "per-example gradients) transfer to a labelled task. Higher = better for every method.")
    p.add_argument("--features", required=True, metavar="FILE.npz",
                   help="npz with 'features' (N x D), 'labels' (N), optionally 'probs' (N x Cs) and 'grads'")
    p.add_argument("--method", action="append", required=True, metavar="NAME",
                   help="scorer name (repeatable): " + ", ".join(METHODS)
                   + "; or 'all' for every scorer the file has inputs for")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.set_defaults(func=run)


def _load(path: Any) -> dict[str, Any]:
    from fennec.io import NpzError, load_npz
    from fennec.validation import FennecInputError

    try:
        return load_npz(path)
    except NpzError as exc:
        raise FennecInputError(f"--features: {str(path)!r} is not a readable .npz file ({exc}); write it with "
                               "numpy.savez") from None


def run(args: argparse.Namespace) -> int:
    """Handler of `fennec score`; returns the exit code."""
    import json
    import math
    import warnings

    from fennec.scores import INPUTS, ScoreUndefinedError, get_scorer_class, list_scorers
    from fennec.validation import FennecInputError, check_file

    path = check_file(args.features, "--features", suffixes=(".npz",))
    data = _load(path)
    keys = ", ".join(sorted(data)) or "none"
    if "labels" not in data:
        raise FennecInputError(f"--features: {str(path)!r} has no 'labels' array (keys: {keys}); "
                               "save one label per example under 'labels'")
    available = {k for k in INPUTS if k in data}

    methods: list[str] = []
    via_all: set[str] = set()  # scorers only "all" asked for: one undefined on these inputs must not stop the rest
    for name in args.method:
        if name == "all":
            picked = [m for m in list_scorers() if get_scorer_class(m).requires <= available]
            if not picked:
                raise FennecInputError(f"--method all: {str(path)!r} has none of {', '.join(INPUTS)} "
                                       f"(keys: {keys})")
            via_all.update(picked)
        else:
            picked = [name]
        methods.extend(m for m in picked if m not in methods)
    via_all -= set(args.method)

    scorers = []
    for name in methods:
        cls = get_scorer_class(name)  # unknown names raise UnknownNameError with close matches
        missing = sorted(cls.requires - available)
        if missing:
            raise FennecInputError(f"--method {name}: needs {', '.join(missing)}, but {str(path)!r} has no "
                                   f"{' or '.join(repr(m) for m in missing)} array (keys: {keys})")
        scorers.append((name, cls()))

    results: dict[str, float] = {}
    undefined: dict[str, str] = {}  # method -> why, for the scorers only "all" asked for
    notes: list[str] = []  # warnings, printed once every scorer has run: an error must stay the only line
    for name, scorer in scorers:
        option = f"--method all ({name})" if name in via_all else f"--method {name}"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inputs = {k: data[k] for k in scorer.requires}
            try:
                results[name] = scorer.score(labels=data["labels"], **inputs)
            except ScoreUndefinedError as exc:
                # Valid inputs this one scorer has no value on: reported, the other scorers still run.
                if name not in via_all:
                    raise FennecInputError(f"{option}: {exc}") from None
                results[name] = math.nan
                undefined[name] = str(exc)
            except FennecInputError as exc:
                # A malformed array is bad input whichever scorer read it first, "all" or not.
                raise FennecInputError(f"{option}: {exc}") from None
        for w in caught:
            msg = str(w.message).splitlines()[0] if str(w.message) else type(w.message).__name__
            if msg not in notes:
                notes.append(msg)

    if undefined and not any(math.isfinite(v) for v in results.values()):
        # every scorer is undefined on these inputs: that is bad input, not a table of undefined scores (exit 0)
        name, why = next(iter(undefined.items()))
        raise FennecInputError(f"--method all: no scorer is defined on {str(path)!r} ({name}: {why})")
    for msg in notes:
        print(f"fennec score: warning: {msg}", file=sys.stderr)
    for name, why in undefined.items():
        print(f"fennec score: warning: --method {name} is undefined here ({why})", file=sys.stderr)
    if args.format == "json":
        clean = {k: (v if math.isfinite(v) else None) for k, v in results.items()}
        print(json.dumps(clean))
    else:
        width = max(len("method"), *(len(k) for k in results))
        print(f"{'method':<{width}}  score")
        for name, value in results.items():
            print(f"{name:<{width}}  {value:.6g}" if math.isfinite(value) else f"{name:<{width}}  undefined")
    return 0
