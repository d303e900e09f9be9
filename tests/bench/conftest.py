"""The bench scripts are files, not modules of the package: tests load them by path."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_script() -> Callable[[str], ModuleType]:
    """``bench_script("real_tasks")``: bench/real_tasks.py as a module, registered in ``sys.modules`` (dataclasses
    look their module up there)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def no_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any evaluation fails the test: argument checks must come before the first one (both import paths)."""

    def refuse(*args: object, **kwargs: object) -> dict:
        pytest.fail("an evaluation ran before the options were checked")

    monkeypatch.setattr("fennec.evaluation.evaluate", refuse)
    monkeypatch.setattr("fennec.evaluation.protocols.evaluate", refuse)


@pytest.fixture
def afile(tmp_path: Path) -> Path:
    """A plain file, where a folder or a store is expected."""
    path = tmp_path / "afile"
    path.write_text("not a folder, not a database")
    return path
