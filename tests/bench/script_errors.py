"""What the bench scripts' tests check of an error report (imported as ``tests.bench.script_errors``)."""

from pathlib import Path
from types import ModuleType


def one_line_error(err: str, script: str) -> bool:
    """A bad-input report of a bench script: one line, prefixed with the script's name, no traceback."""
    return err.startswith(f"{script}: error: ") and err.count("\n") == 1 and "Traceback" not in err


def refused_before_work(script: ModuleType, argv: list[str], tmp_path: Path, capsys, name: str, out: str) -> str:
    """Run ``script.main(argv)`` with ``{tmp}`` in ``argv`` read as ``tmp_path`` and ``--out tmp_path/out`` added
    when ``argv`` has none; check it exits 2 with one error line and writes no ``out``; return the error line.
    (Each caller makes the script's work fail its test first, so "before any work" is checked too.)"""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / out)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err
    assert one_line_error(err, name), err
    assert not (tmp_path / out).exists()
    return err
