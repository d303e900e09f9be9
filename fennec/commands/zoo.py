"""`fennec zoo`: not built yet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `zoo` command (placeholder until its issue lands)."""
