"""bench/proxy.py and bench/make_example_task.py: bad options are one-line errors with exit code 2 before any work."""

from __future__ import annotations

import pytest

from tests.bench.script_errors import one_line_error, refused_before_work


@pytest.mark.parametrize(("argv", "match"), [
    (["--threads", "0"], "--threads: expected a positive integer, got 0"),
    (["--images", "0"], "--images: expected a positive integer, got 0"),
    (["--models", "0", "--images", "1"], "--images 1: give at least 10"),
    (["--models", "-1"], "--models -1: give a number from 0"),
    (["--models", "11"], "--models 11: give a number from 0"),
    (["--out", "{tmp}"], "is a directory"),
])
def test_proxy_bad_options_exit_2_with_one_line_before_any_work(bench_script, monkeypatch, tmp_path, capsys,
                                                                argv, match):
    script = bench_script("proxy")
    monkeypatch.setattr(script, "make_task", lambda *a, **k: pytest.fail("ran before the options were checked"))
    assert match in refused_before_work(script, argv, tmp_path, capsys, "proxy", "p.json")


def test_make_example_task_refuses_a_directory_out(bench_script, monkeypatch, tmp_path, capsys):
    script = bench_script("make_example_task")
    monkeypatch.setattr(script, "make_task", lambda: pytest.fail("the task was built before --out was checked"))
    assert script.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and one_line_error(err, "make_example_task"), err
