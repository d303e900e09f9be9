"""What the bench scripts' tests check of an error report (imported as ``tests.bench.script_errors``)."""


def one_line_error(err: str, script: str) -> bool:
    """A bad-input report of a bench script: one line, prefixed with the script's name, no traceback."""
    return err.startswith(f"{script}: error: ") and err.count("\n") == 1 and "Traceback" not in err
