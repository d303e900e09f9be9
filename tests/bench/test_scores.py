"""bench/scores.py: bad options are one-line errors with exit code 2 before any scorer is timed."""

from __future__ import annotations

import pytest

from tests.bench.script_errors import refused_before_work


@pytest.mark.parametrize(("argv", "match"), [
    (["--repeats", "0"], "--repeats: expected a positive integer, got 0"),
    (["--repeats", "-2"], "--repeats: expected a positive integer, got -2"),
    (["--threads", "0"], "--threads: expected a positive integer, got 0"),
    (["--threads", "1", "-1"], "--threads: expected a positive integer, got -1"),
    (["--methods", "nosuch"], "--methods: "),
    (["--methods", "logm"], "logme"),
    (["--out", "{tmp}"], "is a directory"),
])
def test_bad_options_exit_2_with_one_line_before_any_work(bench_script, monkeypatch, tmp_path, capsys, argv, match):
    script = bench_script("scores")
    monkeypatch.setattr(script, "make_data", lambda *a, **k: pytest.fail("ran before the options were checked"))
    assert match in refused_before_work(script, argv, tmp_path, capsys, "scores", "s.json")
