"""`fennec records`: not built yet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `records` command (placeholder until its issue lands)."""
