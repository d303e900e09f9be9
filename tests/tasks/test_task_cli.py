"""`fennec embed-task` and `fennec score-zoo` in-process: outputs, and exit code 2 with one line for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fennec.cli import main
from fennec.tasks import load_descriptor

PROXY = "timm:tf_efficientnet_lite0"


def test_embed_task_image_folder(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.npz"
    assert main(["embed-task", str(folder), "--proxy", PROXY, "--max-images", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 classes, 12 examples" in text and "probe 6 images" in text and str(out) in text
    d = load_descriptor(out)
    assert d.parts["image"] is not None and d.parts["text"] is not None and d.proxy == PROXY


def test_embed_task_text_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "names.npz"
    assert main(["embed-task", "cat,dog,parrot", "--proxy", PROXY, "--description", "pets", "--out", str(out)]) == 0
    d = load_descriptor(out)
    assert d.parts["image"] is None and d.vector.shape == (2 * 384 + 2 * 1280 + 14,)
    assert np.linalg.norm(d.block("text.description")) == pytest.approx(1.0, abs=1e-5)
    assert "image -" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["embed-task", "/no/such/dir"], "no such file or directory"),
    (["embed-task", "cat"], "no such file or directory"),
    (["embed-task", "cat,cat"], "duplicate class name"),
    (["embed-task", "cat,dog", "--proxy", "timm:resnet5000"], "unknown timm model"),
    (["embed-task", "cat,dog", "--proxy", "vgg"], "source:id"),
    (["embed-task", "cat,dog", "--text-encoder", "sentence:nope"], "unknown encoder"),
    (["embed-task", "cat,dog", "--out", "x.txt"], "should end with .npz"),
    (["embed-task", "cat,dog", "--max-images", "0"], "positive integer"),
    (["score-zoo", "--models", "timm:test_convnext", "--task", "cat,dog", "--method", "logme"], "needs images"),
    (["score-zoo", "--models", "timm:test_convnext", "--task", "/nope", "--method", "logme"], "no such file"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_embed_task_single_class_folder(tmp_path: Path, make_folder, capsys: pytest.CaptureFixture[str]) -> None:
    one = make_folder(tmp_path / "one", {"red": (200, 0, 0)})
    assert main(["embed-task", str(one)]) == 2
    err = capsys.readouterr().err
    assert "only one class" in err and err.count("\n") == 1


def test_score_zoo_cli(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv"
    argv = ["score-zoo", "--models", "timm:test_convnext", "timm:nope_model", "--task", str(folder), "--method",
            "logme", "--method", "parc", "--out", str(out), "--allow-random", "--no-progress"]
    with pytest.warns(UserWarning):
        assert main(argv) == 1  # one model failed: reported, the other one scored
    err = capsys.readouterr().err
    assert "timm:nope_model: skipped" in err and "2 new record(s)" in err and "1 failure(s)" in err
    assert out.read_text().startswith("benchmark,model,dataset,metric,value,source")
    assert main(["score-zoo", "--models", "timm:test_convnext", "--task", str(folder), "--method", "logme",
                 "--out", str(out), "--allow-random", "--no-progress"]) == 0
    assert "1 already present" in capsys.readouterr().err
    assert main(["score-zoo", "--models", "timm:test_convnext", "--task", str(folder), "--method", "logem"]) == 2
    assert "did you mean logme" in capsys.readouterr().err
