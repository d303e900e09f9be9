"""bench/archi2vec.py: bad options and an empty cache are one-line errors with exit code 2 before any work."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.bench.conftest import BENCH
from tests.bench.script_errors import one_line_error, refused_before_work


@pytest.fixture
def script() -> ModuleType:
    """bench/archi2vec.py under another name: as ``archi2vec`` in ``sys.modules`` (the ``bench_script`` fixture)
    it would hide the package it imports, here and in every later test."""
    spec = importlib.util.spec_from_file_location("archi2vec_bench_script", BENCH / "archi2vec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("argv", "match"), [
    (["--sample", "-1"], "--sample: expected a positive integer, got -1"),
    (["--sample", "0"], "--sample: expected a positive integer, got 0"),
    (["--workers-sample", "0"], "--workers-sample: expected a positive integer, got 0"),
    (["--workers", "1", "0"], "--workers: expected a positive integer, got 0"),
    (["--out", "{tmp}"], "is a directory"),
])
def test_bad_options_exit_2_with_one_line_before_any_work(script, tmp_path, capsys, argv, match):
    assert match in refused_before_work(script, argv, tmp_path, capsys, "archi2vec", "a.json")


def test_an_empty_cache_is_a_one_line_error(script, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(cache))
    assert script.main(["--out", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err
    assert "no extracted architecture graph in" in err and one_line_error(err, "archi2vec"), err
    assert not (tmp_path / "a.json").exists()
