"""`fennec score`: exit codes, JSON output and one-line errors, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fennec.cli import main
from fennec.scores import create_scorer

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "example_task.npz"


@pytest.fixture
def task(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    feats = rng.normal(size=(60, 6)) + np.eye(3, 6)[labels] * 3
    probs = rng.dirichlet(np.ones(5), size=60)
    path = tmp_path / "task.npz"
    np.savez(path, features=feats, labels=labels, probs=probs)
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str, out: str | None = None) -> str:
    """Read stderr (and, when ``out`` is given, check stdout equals it); stderr must be one line with the needles."""
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    if out is not None:
        assert captured.out == out, captured.out
    return err


def test_json_output_matches_the_library(task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(task), "--method", "logme", "--method", "leep", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    data = np.load(task)
    assert list(out) == ["logme", "leep"]
    assert out["logme"] == pytest.approx(create_scorer("logme").score(features=data["features"],
                                                                      labels=data["labels"]))
    assert out["leep"] == pytest.approx(create_scorer("leep").score(probs=data["probs"], labels=data["labels"]))


def test_all_runs_every_scorer_the_file_has_inputs_for(task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(task), "--method", "all", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "lgc" not in out  # no grads in the file
    assert {"leep", "nce", "parc", "logme", "knn"} <= set(out)
    assert len(out) == 12


def test_all_reports_a_scorer_undefined_on_the_inputs_and_runs_the_rest(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Constant features leave LFC's kernel correlation undefined: under "all" that scorer is reported, not a reason
    to print nothing; asked for by name it stays a one-line error."""
    path = tmp_path / "const.npz"
    np.savez(path, features=np.ones((40, 4)), labels=np.repeat(np.arange(2), 20))
    assert main(["score", "--features", str(path), "--method", "all", "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["lfc"] is None and out["logme"] is not None
    assert "--method lfc is undefined here" in captured.err
    assert main(["score", "--features", str(path), "--method", "lfc"]) == 2
    _one_line_error(capsys, "--method lfc")


def test_table_output(task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(task), "--method", "knn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["method", "score"]
    assert lines[1].split()[0] == "knn" and 0 <= float(lines[1].split()[1]) <= 1


def test_shipped_example_task_scores(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(EXAMPLE), "--method", "parc", "--method", "nce", "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["parc"] > 0 and out["nce"] < 0


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(tmp_path / "nope.npz"), "--method", "logme"]) == 2
    _one_line_error(capsys, "does not exist")


def test_not_an_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    assert main(["score", "--features", str(bad), "--method", "logme"]) == 2
    _one_line_error(capsys, "not a readable .npz")


def test_unknown_method_suggests(task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--features", str(task), "--method", "parx"]) == 2
    _one_line_error(capsys, "unknown scorer 'parx'", "parc")


def test_scorer_needs_probs_the_file_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noprobs.npz"
    np.savez(path, features=np.random.default_rng(0).normal(size=(10, 3)), labels=np.arange(10) % 2)
    assert main(["score", "--features", str(path), "--method", "leep"]) == 2
    _one_line_error(capsys, "leep", "probs")


def test_missing_labels_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nolabels.npz"
    np.savez(path, features=np.zeros((4, 2)))
    assert main(["score", "--features", str(path), "--method", "logme"]) == 2
    _one_line_error(capsys, "'labels'")


def test_invalid_arrays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nan.npz"
    feats = np.random.default_rng(0).normal(size=(10, 3))
    feats[0, 0] = np.nan
    np.savez(path, features=feats, labels=np.arange(10) % 2)
    assert main(["score", "--features", str(path), "--method", "hscore"]) == 2
    _one_line_error(capsys, "features", "NaN")


def test_mismatched_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.npz"
    np.savez(path, features=np.random.default_rng(0).normal(size=(10, 3)), labels=np.arange(9) % 2)
    assert main(["score", "--features", str(path), "--method", "logme"]) == 2
    _one_line_error(capsys, "labels", "does not match")


def test_bad_format_choice_is_exit_2(task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["score", "--features", str(task), "--method", "logme", "--format", "xml"])
    assert exc.value.code == 2
    _one_line_error(capsys, "--format")


def test_n_lt_d_warning_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wide.npz"
    labels = np.arange(12) % 3
    np.savez(path, features=np.random.default_rng(0).normal(size=(12, 30)), labels=labels)
    assert main(["score", "--features", str(path), "--method", "hscore", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert np.isfinite(json.loads(captured.out)["hscore"])
    assert captured.err.count("\n") == 1 and "warning" in captured.err and "N=12 < D=30" in captured.err


def test_help_lists_every_scorer(capsys: pytest.CaptureFixture[str]) -> None:
    from fennec.commands.score import METHODS
    from fennec.scores import list_scorers

    assert list(METHODS) == list_scorers()
    with pytest.raises(SystemExit) as exc:
        main(["score", "--help"])
    assert exc.value.code == 0
    assert "reg_hscore" in capsys.readouterr().out


def test_all_on_nan_features_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a probe: every score undefined, printed as a table, exit 0."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 16))
    x[0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", features=x, labels=np.arange(60) % 3)
    assert main(["score", "--features", str(tmp_path / "nan.npz"), "--method", "all"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "--method all (gbc): features: 1 row(s) contain NaN or inf" in captured.err


def test_all_on_inputs_no_scorer_is_defined_on_is_bad_input(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Well-formed arrays, but one example per class: every scorer is undefined, so nothing is printed but one
    error line (not a table of "undefined", exit 0)."""
    np.savez(tmp_path / "single.npz", features=np.random.default_rng(0).normal(size=(30, 4)), labels=np.arange(30))
    assert main(["score", "--features", str(tmp_path / "single.npz"), "--method", "all"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "--method all: no scorer is defined on" in captured.err and "(gbc: labels: " in captured.err


def _malformed_probs(probs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
    """The probe's broken probs arrays, each with the words the error must say."""
    nan = probs.copy()
    nan[5, 1] = np.nan
    logits = np.log(probs)
    return {
        "wrong rows": (probs[:-1], "labels: length 60 does not match the 59 rows of probs"),
        "logits": (logits, "probs: has negative entries"),
        "unnormalised": (np.exp(logits * 2.0), "probs: rows must sum to 1"),
        "1-D": (probs[:, 0], "probs: expected a 2-D array"),
        "NaN": (nan, "probs: 1 row(s) contain NaN or inf"),
    }


@pytest.mark.parametrize("case", ["wrong rows", "logits", "unnormalised", "1-D", "NaN"])
def test_all_reports_malformed_probs_as_bad_input(case: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a probe: under --method all these were "leep is undefined here" with exit 0, while --method leep
    exited 2. Wide features (N=60 < D=80) make the scorers run before leep warn: the error stays the one line."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    feats = rng.normal(size=(60, 80)) + np.eye(3, 80)[labels] * 3
    probs, words = _malformed_probs(rng.dirichlet(np.ones(5), size=60))[case]
    path = tmp_path / "bad_probs.npz"
    np.savez(path, features=feats, labels=labels, probs=probs)
    assert main(["score", "--features", str(path), "--method", "all"]) == 2
    _one_line_error(capsys, "--method all (leep): " + words, out="")
    assert main(["score", "--features", str(path), "--method", "leep"]) == 2
    _one_line_error(capsys, "--method leep: " + words)


def test_nleep_separates_features_on_score_zoos_probe_size(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a probe: with 200 classes and N=500 (score-zoo's probe size) NLEEP gave 0 for random and for
    separable features alike; the capped mixture scores separable features clearly higher, with one warning."""
    from tests.scores.toy import few_shot_task

    values = {}
    for separable in (True, False):
        path = tmp_path / f"sep{separable}.npz"
        np.savez(path, **few_shot_task(n_classes=200, n=500, d=64, separable=separable))
        assert main(["score", "--features", str(path), "--method", "nleep", "--format", "json"]) == 0
        captured = capsys.readouterr()
        values[separable] = json.loads(captured.out)["nleep"]
        assert captured.err.count("\n") == 1 and "not the 1000 asked for" in captured.err
    # Measured: 0.0 vs -0.99 (both exactly 0 before the cap).
    assert values[True] - values[False] > 0.5 and values[False] < -0.5, values


def test_a_length_mismatch_names_the_array_whose_rows_were_counted(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "g.npz", grads=rng.normal(size=(59, 12)), labels=np.arange(60) % 3)
    assert main(["score", "--features", str(tmp_path / "g.npz"), "--method", "lgc"]) == 2
    assert "labels: length 60 does not match the 59 rows of grads" in capsys.readouterr().err
