"""The planted world of :mod:`fennec.space.planted` as a session fixture, and ``run_cli`` for the command tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fennec.cli import main
from fennec.space.planted import World, make_world


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``run_cli(*argv)``: ``fennec ARGV`` in-process, returning (exit code, stdout, stderr).

    A fixture rather than a function because conftest modules are not importable from tests; argparse's
    SystemExit becomes its exit code, as the command line would report it.
    """

    def run(*argv: object) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors exit through the parser
            code = exc.code if isinstance(exc.code, int) else 1
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run
