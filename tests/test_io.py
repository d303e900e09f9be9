"""Atomic writes: all or nothing, and a clear error for a path that cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from fennec.cli import main
from fennec.io import atomic_open
from fennec.validation import FennecInputError


def test_atomic_open_writes_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_open(target) as fh:
        fh.write("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "first"  # the old file is intact, no temporary file is left behind
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_a_directory_is_not_a_file_to_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(tmp_path.parent.iterdir())  # where a temporary file for tmp_path would go
    with pytest.raises(FennecInputError, match="is a directory; give a file path"), atomic_open(tmp_path) as fh:
        fh.write("x")
    assert sorted(tmp_path.parent.iterdir()) == before and list(tmp_path.iterdir()) == []
    # through the CLI: one line and exit code 2, not a traceback
    out = tmp_path / "out"
    out.mkdir()
    assert main(["records", "export", str(out), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and err.count("\n") == 1
    assert list(out.iterdir()) == [] and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_a_parent_that_is_a_file_is_a_worded_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with (pytest.raises(FennecInputError, match=r"^--out '.*o\.csv': '.*afile' is a file, not a folder"),
          atomic_open(afile / "sub" / "o.csv", name="--out") as fh):
        fh.write("x")
    assert afile.read_text() == "x"
    # through the CLI: `records export afile/o.csv` is one line and exit code 2, before the store is opened
    store = tmp_path / "s.sqlite"
    assert main(["records", "export", str(afile / "o.csv"), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fennec records: error: FILE.csv ") and "is a file, not a folder" in err
    assert err.count("\n") == 1 and not store.exists()
