"""`fennec score-zoo`: not built yet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `score-zoo` command (placeholder until its issue lands)."""
