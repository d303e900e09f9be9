"""The shared checks of fennec.validation: seeds, path options, output paths and CSV text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from fennec.validation import (
    MAX_SEED,
    FennecInputError,
    check_output_file,
    check_output_parent,
    check_path_option,
    check_seed,
    path_or_default,
    read_csv_text,
)


def test_check_seed_bounds() -> None:
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == 2**32 - 1 and check_seed(np.int64(7)) == 7
    for bad in (-1, 2**32, 99999999999999999999, True, 1.5, "3"):
        with pytest.raises(FennecInputError, match=r"--seed: expected an integer in \[0, 4294967295\]"):
            check_seed(bad, "--seed")


def test_an_empty_path_option_is_an_error_not_the_default(tmp_path: Path) -> None:
    default = tmp_path / "default"
    assert path_or_default(None, "--out", lambda: default) == default
    assert path_or_default("x", "--out", lambda: default) == Path("x")
    assert check_path_option(None, "--out") is None
    for empty in ("", "  "):
        with pytest.raises(FennecInputError, match=r"^--out: empty path; give a directory or leave the option out "
                                                   "for the default$"):
            path_or_default(empty, "--out", lambda: default, what="a directory")
        with pytest.raises(FennecInputError, match=r"^--store: empty path; give a path$"):
            check_path_option(empty, "--store")
    assert not default.exists()


def test_output_path_whose_parent_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    for path in (afile / "r.csv", afile / "deeper" / "r.csv"):
        with pytest.raises(FennecInputError, match=r"^--out '.*r\.csv': '.*afile' is a file, not a folder"):
            check_output_file(path, "--out", create=True)
    with pytest.raises(FennecInputError, match="is a directory; give a file path"):
        check_output_file(tmp_path, "--out")
    with pytest.raises(FennecInputError, match="empty path"):
        check_output_parent("", "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_output_parent_is_made_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.csv"
    assert check_output_file(target, "--out") == target and not (tmp_path / "a").exists()
    check_output_file(target, "--out", create=True)
    assert target.parent.is_dir() and not target.exists()


def test_read_csv_text_drops_a_bom_and_words_non_utf8(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftask,x\r\n\"a,b\",é\r\n".encode())
    rows = list(csv.reader(io.StringIO(read_csv_text(bom, "--manifest"), newline="")))
    assert rows == [["task", "x"], ["a,b", "é"]]
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("task\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(FennecInputError, match=r"^--manifest '.*latin1\.csv': not UTF-8 text \(byte 0xe9 on line 2\);"
                                               " save the file as UTF-8$"):
        read_csv_text(latin1, "--manifest")
    with pytest.raises(FennecInputError, match="cannot read the file"):
        read_csv_text(tmp_path / "missing.csv", "--manifest")


def test_complex_features_and_fractional_labels_are_refused() -> None:
    """Found by a probe: complex features were cast to real with numpy's warning, and labels 0.5, 1.5 each became
    a class of their own."""
    from fennec.validation import check_features, check_labels

    with pytest.raises(FennecInputError, match="features: complex values"):
        check_features(np.ones((4, 2)) + 1j)
    with pytest.raises(FennecInputError, match=r"labels: holds fractional values such as 0\.5"):
        check_labels(np.array([0.5, 1.5, 0.5, 1.5]))
    assert check_labels(np.array([0.0, 1.0, 0.0, 1.0])).tolist() == [0, 1, 0, 1]  # integral floats are labels


@pytest.mark.parametrize(("labels", "message"), [
    ([0, None, 1], r"labels: 1 of 3 labels are None"),
    (np.array([0, "a", 1], dtype=object), r"labels: mixes values of types int, str that cannot be sorted"),
    ([[0], [1, 2]], r"labels: expected one label per example"),
])
def test_labels_numpy_cannot_sort_are_one_line_errors_for_every_caller(labels, message) -> None:
    from fennec.validation import check_labels

    with pytest.raises(FennecInputError, match=message):
        check_labels(labels)


def test_ragged_rows_are_a_one_line_error_for_every_caller() -> None:
    from fennec.validation import check_matrix

    with pytest.raises(FennecInputError, match=r"vectors: rows of different lengths do not form an \(N, D\) array"):
        check_matrix([[1.0, 2.0], [3.0]], "vectors")


@pytest.mark.parametrize("value", ["", "   ", 5, ["a"]])
def test_a_text_option_is_text_with_something_in_it(value) -> None:
    from fennec.validation import check_text_option

    with pytest.raises(FennecInputError, match=r"^--dataset: expected a dataset name, got .*; give one or leave "
                                               r"--dataset out for the task's name$"):
        check_text_option(value, "--dataset", what="a dataset name", left_out="the task's name")
    assert check_text_option(None, "--dataset", what="a dataset name", left_out="x") is None
    assert check_text_option("  pets ", "--dataset", what="a dataset name", left_out="x") == "pets"
