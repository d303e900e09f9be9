"""bench/scores.py: bad options are one-line errors with exit code 2 before any scorer is timed."""

from __future__ import annotations

import pytest

from tests.bench.script_errors import one_line_error


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

    def no_work(*args: object, **kwargs: object) -> dict:
        pytest.fail("the bench ran before the options were checked")

    monkeypatch.setattr(script, "make_data", no_work)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "s.json")]
    assert script.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and one_line_error(err, "scores"), err
    assert not (tmp_path / "s.json").exists()
