"""Warnings reach CLI users as one line, without the source location of the code that raised them."""

from __future__ import annotations

import warnings

from fennec.cli import _one_line_warnings


def test_warnings_are_one_line_inside_a_command_and_restored_after() -> None:
    original = warnings.formatwarning
    with _one_line_warnings("fennec train"):
        text = warnings.formatwarning(UserWarning("archi2vec could not embed 'x'"), UserWarning, "/a/b.py", 12,
                                      "    warnings.warn(...)")
    assert text == "fennec train: warning: archi2vec could not embed 'x'\n"
    assert warnings.formatwarning is original
    assert "/a/b.py:12" in warnings.formatwarning(UserWarning("m"), UserWarning, "/a/b.py", 12)


def test_formatter_is_restored_when_the_command_fails() -> None:
    original = warnings.formatwarning
    try:
        with _one_line_warnings("fennec x"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert warnings.formatwarning is original
