"""The ``fennec`` command line: ``fennec <command> ...``.

Each command lives in its own module under :mod:`fennec.commands` and exposes ``register(subparsers)``, which
adds a sub-parser whose ``func`` default is the handler ``run(args) -> int``. Command modules import heavy
libraries (torch, timm, faiss) inside ``run`` so that ``fennec --help`` stays fast.

Bad input never shows a traceback: :class:`~fennec.validation.FennecInputError` (and unknown registry names)
print one line on stderr and exit with code 2. Ctrl-C prints one line too and exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sqlite3
import sys
import warnings
from collections.abc import Iterator, Sequence

from fennec.registry import UnknownNameError
from fennec.validation import FennecInputError

# Order is the order of `fennec --help`.
COMMAND_MODULES = (
    "score",
    "records",
    "tasks",
    "evaluate",
    "embed_task",
    "score_zoo",
    "finetune",
    "train",
    "recommend",
    "rank_batch",
    "zoo",
)


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we keep the promise of a one-line message and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command registered."""
    parser = _OneLineParser(prog="fennec", description="Rank pre-trained models for a new task without "
                            "running them (transfer space, archi2vec, transferability scores).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"fennec.commands.{name}").register(sub)
    return parser


@contextlib.contextmanager
def _one_line_warnings(prefix: str) -> Iterator[None]:
    """Warnings as one line (``fennec train: warning: ...``), without the file, line and source line of the
    code that raised them, which mean nothing to someone running a command; restored on exit."""
    original = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"{prefix}: warning: {message}\n"
    try:
        yield
    finally:
        warnings.formatwarning = original


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (tests call this directly)."""
    # Model hubs are out of reach here and in most clusters: fail fast instead of hanging on the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with _one_line_warnings(f"fennec {args.command}"):
            return int(args.func(args) or 0)
    except (FennecInputError, UnknownNameError) as exc:
        print(f"fennec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `fennec ... | head` is not an error
        return 0
    except sqlite3.DatabaseError as exc:
        # raised past the store's own checks when a page of its file is damaged ("database disk image is
        # malformed") or its text is not UTF-8: the store's file, not fennec, is what needs mending
        print(f"fennec {args.command}: error: the records store cannot be read ({exc}); if its file is damaged, "
              "restore a copy or make a new store with `fennec records init --store NEW.sqlite`", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C is the user's choice, not a failure to explain with a traceback; 130 is the shell's 128 + SIGINT.
        # a command that keeps what it finished says so when it registers (``set_defaults(resumable=True)``)
        again = "; rerun the same command to resume" if getattr(args, "resumable", False) else ""
        print(f"fennec {args.command}: interrupted{again}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
