"""Ctrl-C ends a command with one line on stderr and exit code 130 (128 + SIGINT), not a traceback; commands that
resume say so."""

from __future__ import annotations

import pytest

import archi2vec.cli
import fennec.commands.finetune
import fennec.commands.recommend
import fennec.commands.score_zoo
from fennec.cli import main


def _interrupt(*_args: object) -> int:
    raise KeyboardInterrupt


@pytest.mark.parametrize(("module", "argv", "resumes"), [
    (fennec.commands.recommend, ["recommend", "--classes", "cat,dog"], False),
    (fennec.commands.finetune, ["finetune", "--models", "timm:resnet10t", "--task", "x"], True),
    (fennec.commands.score_zoo, ["score-zoo", "--models", "timm:resnet10t", "--task", "x", "--method", "logme"], True),
])
def test_fennec_command_interrupted(module, argv, resumes, monkeypatch, capsys) -> None:
    monkeypatch.setattr(module, "run", _interrupt)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"fennec {argv[0]}: interrupted")
    assert ("rerun the same command to resume" in err) is resumes


@pytest.mark.parametrize(("handler", "argv", "resumes"), [
    ("_cmd_catalog", ["catalog"], True),
    ("_cmd_embed", ["embed", "resnet18"], False),
])
def test_archi2vec_command_interrupted(handler, argv, resumes, monkeypatch, capsys) -> None:
    monkeypatch.setattr(archi2vec.cli, handler, _interrupt)
    assert archi2vec.cli.main(argv) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"archi2vec {argv[0]}: interrupted")
    assert ("rerun the same command to resume" in err) is resumes
