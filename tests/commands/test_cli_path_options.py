"""Path options of every command: an explicitly empty path is an error (never the default), and an output path
whose folder is a file (or cannot be made) is a one-line error before any work; nothing is written either way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

NO_SUCH_MODEL = "timm:resnet18"


def _tree(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@pytest.fixture
def t(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path, with the default space and store moved into it, so that an empty path taken for the default
    would be written there (and caught) rather than into data/space or the user's store."""
    monkeypatch.setenv("FENNEC_SPACE", str(tmp_path / "default_space"))
    monkeypatch.setenv("FENNEC_STORE", str(tmp_path / "default_store.sqlite"))
    return tmp_path


EMPTY = {  # case: (argv given the tmp dir, the expected message)
    "train --out": (lambda t: ["train", "--store", t / "s.sqlite", "--out", ""],
                    "--out: empty path; give a directory or leave the option out for the default"),
    "train --store": (lambda t: ["train", "--store", "", "--out", t / "space"],
                      "--store: empty path; give a store file such as records.sqlite or leave the option out for "
                      "the default"),
    "records --store": (lambda t: ["records", "stats", "--store", ""], "--store: empty path"),
    "records export FILE": (lambda t: ["records", "export", "", "--store", t / "s.sqlite"], "FILE.csv: empty path"),
    "tasks --store": (lambda t: ["tasks", "list", "--store", ""], "--store: empty path"),
    "tasks add-images --manifest": (lambda t: ["tasks", "add-images", "--manifest", "", "--store", t / "s.sqlite"],
                                    "--manifest: empty path"),
    "evaluate --store": (lambda t: ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--store",
                                    ""], "--store: empty path"),
    "evaluate --plot": (lambda t: ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--plot", "",
                                   "--store", t / "s.sqlite"], "--plot: empty path"),
    "zoo add --space": (lambda t: ["zoo", "add", NO_SUCH_MODEL, "--space", ""],
                        "--space: empty path; give a space directory or leave the option out for the default"),
    "zoo list --space": (lambda t: ["zoo", "list", "--space", ""], "--space: empty path"),
    "recommend --space": (lambda t: ["recommend", "--classes", "cat,dog", "--space", ""],
                          "--space: empty path; give a space directory or leave the option out for the shipped "
                          "space"),
    "rank-batch --space": (lambda t: ["rank-batch", "cat,dog", "--space", ""], "--space: empty path"),
    "rank-batch --out": (lambda t: ["rank-batch", "cat,dog", "--space", t / "space", "--out", ""],
                         "--out: empty path; give a file or leave the option out for stdout"),
    "rank-batch --manifest": (lambda t: ["rank-batch", "cat,dog", "--space", t / "space", "--manifest", ""],
                              "--manifest: empty path"),
    "embed-task --out": (lambda t: ["embed-task", "cat,dog", "--no-cache", "--out", ""], "--out: empty path"),
    "score-zoo --out": (lambda t: ["score-zoo", "--models", NO_SUCH_MODEL, "--task", t, "--method", "logme",
                                   "--out", ""], "--out: empty path"),
    "score-zoo --store": (lambda t: ["score-zoo", "--models", NO_SUCH_MODEL, "--task", t, "--method", "logme",
                                     "--store", ""], "--store: empty path"),
    "finetune --out": (lambda t: ["finetune", "--models", NO_SUCH_MODEL, "--task", t, "--out", ""],
                       "--out: empty path"),
    "finetune --store": (lambda t: ["finetune", "--models", NO_SUCH_MODEL, "--task", t, "--store", ""],
                         "--store: empty path"),
    "finetune --checkpoints": (lambda t: ["finetune", "--models", NO_SUCH_MODEL, "--task", t, "--checkpoints", ""],
                               "--checkpoints: empty path"),
}

UNDER_A_FILE = {  # case: argv given the tmp dir and a regular file in it
    "train --out": lambda t, f: ["train", "--store", t / "s.sqlite", "--out", f / "space"],
    "train --store": lambda t, f: ["train", "--store", f / "s.sqlite", "--out", t / "space"],
    "records --store": lambda t, f: ["records", "stats", "--store", f / "s.sqlite"],
    "records export FILE": lambda t, f: ["records", "export", f / "o.csv", "--store", t / "s.sqlite"],
    "evaluate --plot": lambda t, f: ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--plot",
                                     f / "x.png", "--store", t / "s.sqlite"],
    "rank-batch --out": lambda t, f: ["rank-batch", "cat,dog", "--space", t / "space", "--out", f / "r.csv"],
    "embed-task --out": lambda t, f: ["embed-task", "cat,dog", "--no-cache", "--out", f / "sub" / "d.npz"],
    "score-zoo --out": lambda t, f: ["score-zoo", "--models", NO_SUCH_MODEL, "--task", t, "--method", "logme",
                                     "--out", f / "o.csv"],
    "score-zoo --store": lambda t, f: ["score-zoo", "--models", NO_SUCH_MODEL, "--task", t, "--method", "logme",
                                       "--store", f / "s.sqlite"],
    "finetune --out": lambda t, f: ["finetune", "--models", NO_SUCH_MODEL, "--task", t, "--out", f / "o.csv"],
    "finetune --store": lambda t, f: ["finetune", "--models", NO_SUCH_MODEL, "--task", t, "--store",
                                      f / "s.sqlite"],
}


@pytest.mark.parametrize("case", list(EMPTY))
def test_an_empty_path_is_an_error_not_the_default(case: str, t: Path,
                                                   run_cli: Callable[..., tuple[int, str, str]]) -> None:
    argv, message = EMPTY[case]
    before = _tree(t)
    code, _out, err = run_cli(*argv(t))
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert _tree(t) == before  # neither the default space nor the default store was made


@pytest.mark.parametrize("case", list(UNDER_A_FILE))
def test_an_output_under_a_file_fails_before_any_work(case: str, t: Path,
                                                      run_cli: Callable[..., tuple[int, str, str]]) -> None:
    afile = t / "afile"
    afile.write_text("x")
    before = _tree(t)
    code, _out, err = run_cli(*UNDER_A_FILE[case](t, afile))
    assert code == 2, err
    assert f"{str(afile)!r} is a file, not a folder" in err and err.count("\n") == 1
    assert _tree(t) == before  # no store opened, no space trained, nothing written
