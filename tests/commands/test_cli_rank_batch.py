"""`fennec rank-batch --manifest`: header names in any case (a UTF-8 BOM dropped), relative task paths read from
the manifest's folder, class-name lists kept as they are, and text that is not UTF-8 a one-line error."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from fennec.cli import main
from fennec.commands._manifest import manifest_rows, task_from_manifest
from fennec.space.planted import make_world, write_world_store
from fennec.validation import FennecInputError


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small space trained on the planted world (a few epochs: the tests read rankings, not their quality)."""
    root = tmp_path_factory.mktemp("rank_batch")
    store = root / "records.sqlite"
    write_world_store(store, make_world())
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["train", "--store", str(store), "--out", str(root / "space"), "--epochs", "5"])
    assert code == 0, err.getvalue()
    return root / "space"


def _manifest(folder: Path, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "m.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_manifest_rows_match_header_names_in_any_case(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "\ufeff Task ,DESCRIPTION\r\n\"a,b\", birds \r\n\r\nc,\r\n")
    assert manifest_rows(str(path)) == [{"task": "a,b", "description": "birds"}, {"task": "c", "description": ""}]
    with pytest.raises(FennecInputError, match=r"needs the column\(s\) task \(got \['name'\]\)"):
        manifest_rows(str(_manifest(tmp_path, "name\nx\n")))


def test_task_from_manifest_resolves_paths_from_the_manifest_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "batch"
    (folder / "lists").mkdir(parents=True)
    (folder / "lists" / "birds.txt").write_text("sparrow\neagle\nowl\n")
    (tmp_path / "cwd_only.txt").write_text("a\nb\n")
    monkeypatch.chdir(tmp_path)
    manifest = folder / "m.csv"
    assert task_from_manifest("lists/birds.txt", manifest) == str(folder / "lists" / "birds.txt")
    assert task_from_manifest("sparrow,eagle,owl", manifest) == "sparrow,eagle,owl"  # class names stay
    # a path found only from the current directory (how manifests were read before) is still found
    assert task_from_manifest("cwd_only.txt", manifest) == "cwd_only.txt"
    (folder / "cwd_only.txt").write_text("c\nd\n")
    assert task_from_manifest("cwd_only.txt", manifest) == str(folder / "cwd_only.txt")  # the manifest's first
    assert task_from_manifest(str(tmp_path / "cwd_only.txt"), manifest) == str(tmp_path / "cwd_only.txt")


def test_rank_batch_manifest_with_bom_capitals_and_relative_paths(space: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  run_cli: Callable[..., tuple[int, str, str]]
                                                                  ) -> None:
    folder = tmp_path / "batch"
    (folder / "lists").mkdir(parents=True)
    (folder / "lists" / "birds.txt").write_text("sparrow\neagle\nowl\n")
    manifest = _manifest(folder, "\ufeffTask,Description\r\nlists/birds.txt,photos of birds\r\n"
                                 "\"rose,tulip,daisy\",\r\n")
    monkeypatch.chdir(tmp_path)  # lists/birds.txt is not there: it must be read from the manifest's folder
    code, out, err = run_cli("rank-batch", "--manifest", manifest.relative_to(tmp_path), "--space", space,
                             "--top-k", 2)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["task"] for r in rows] == ["birds", "birds", "rose,tulip,daisy", "rose,tulip,daisy"]


def test_tasks_that_share_a_name_are_told_apart_by_what_was_given(space: Path, tmp_path: Path,
                                                                   run_cli: Callable[..., tuple[int, str, str]]
                                                                   ) -> None:
    """Two class-name files both called birds.txt gave two tasks named 'birds' in one output (a probe)."""
    for sub, names in (("a", "sparrow\neagle\n"), ("b", "owl\nheron\n")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "birds.txt").write_text(names)
    one, two = str(tmp_path / "a" / "birds.txt"), str(tmp_path / "b" / "birds.txt")
    code, out, err = run_cli("rank-batch", one, two, one, "rose,tulip", "--space", space, "--top-k", 1)
    assert code == 0, err
    assert [r["task"] for r in csv.DictReader(io.StringIO(out))] == [one, two, one, "rose,tulip"]


def test_rank_batch_manifest_errors_are_one_line(space: Path, tmp_path: Path,
                                                 run_cli: Callable[..., tuple[int, str, str]]) -> None:
    latin1 = _manifest(tmp_path / "a", "task\ncaf\xe9,th\xe9\n", encoding="latin-1")
    code, _out, err = run_cli("rank-batch", "--manifest", latin1, "--space", space)
    assert code == 2 and "not UTF-8 text (byte 0xe9 on line 2); save the file as UTF-8" in err
    assert err.count("\n") == 1
    missing = _manifest(tmp_path / "b", "task\nno_such_folder\n")
    code, _out, err = run_cli("rank-batch", "--manifest", missing, "--space", space)
    assert code == 2 and str(tmp_path / "b" / "no_such_folder") in err and err.count("\n") == 1


@pytest.mark.parametrize(("text", "message"), [
    ("task,descripton\n\"a,b\",photos of leaves\n",
     r"unknown column 'descripton'; did you mean description\?"),
    ("task\nsparrow,eagle\n", r"line 2: 2 cells under a header of 1; quote a cell that holds commas"),
    ("task,classes\n\"a,b\",\"x,y\"\n",
     r"line 2: task a,b: is class names already, and classes were given too; .*a manifest's classes column"),
    ("task\n\"a,b\"\n,\n", r"line 3: "),
])
def test_manifest_mistakes_are_refused_with_their_line(space: Path, tmp_path: Path, text: str, message: str,
                                                       run_cli: Callable[..., tuple[int, str, str]]) -> None:
    """A misspelt column was ignored without a word, an unquoted class list lost its second name, and row
    errors did not say which row (a probe)."""
    code, out, err = run_cli("rank-batch", "--manifest", _manifest(tmp_path, text), "--space", space)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert re.search(message, err), err


def test_manifest_rows_keep_trailing_empty_cells_and_line_numbers(tmp_path: Path) -> None:
    from fennec.commands._manifest import manifest_lines

    path = _manifest(tmp_path, "task,classes\n\n\"a,b\",,\nc,\"x,y\"\n")
    assert manifest_lines(str(path), optional=("classes",)) == [(3, {"task": "a,b", "classes": ""}),
                                                                 (4, {"task": "c", "classes": "x,y"})]


def test_one_folder_given_twice_with_other_class_names_is_two_named_rows(space: Path, tmp_path: Path,
                                                                         make_folder,
                                                                         run_cli: Callable[..., tuple[int, str, str]]
                                                                         ) -> None:
    make_folder(tmp_path / "num", {"0": (200, 30, 30), "1": (30, 30, 200)}, per_class=2)
    manifest = _manifest(tmp_path, "task,classes\nnum,\"red,blue\"\nnum,\"apple,sky\"\n")
    code, out, err = run_cli("rank-batch", "--manifest", manifest, "--space", space, "--top-k", 1, "--no-images")
    assert code == 0, err
    assert [r["task"] for r in csv.DictReader(io.StringIO(out))] == ["num #1", "num #2"]


def test_rank_batch_help_says_where_relative_paths_are_read(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _err = run_cli("rank-batch", "--help")
    assert code == 0 and "relative path is read from the manifest's folder" in " ".join(out.split())


def test_the_out_suffix_chooses_the_format_and_a_contradiction_is_refused(space: Path, tmp_path: Path,
                                                                          run_cli: Callable[..., tuple[int, str, str]]
                                                                          ) -> None:
    """CSV text was written into rankings.json (a probe)."""
    import json

    code, _out, err = run_cli("rank-batch", "a,b", "--space", space, "--top-k", 1, "--out", tmp_path / "r.json")
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())[0]["task"] == "a,b"
    code, _out, err = run_cli("rank-batch", "a,b", "--space", space, "--top-k", 1, "--out", tmp_path / "r.txt")
    assert code == 0 and (tmp_path / "r.txt").read_text().startswith("task,rank,model")  # csv by default
    code, _out, err = run_cli("rank-batch", "a,b", "--space", space, "--format", "csv", "--out", tmp_path / "x.json")
    assert code == 2 and "a .json file, but --format csv" in err and not (tmp_path / "x.json").exists()
