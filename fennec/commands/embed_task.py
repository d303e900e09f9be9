"""`fennec embed-task`: not built yet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `embed-task` command (placeholder until its issue lands)."""
