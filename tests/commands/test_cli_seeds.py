"""Every command that takes --seed checks it, [0, 2**32 - 1], before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CASES = {  # case: argv given the tmp dir
    "train": lambda t: ["train", "--store", t / "s.sqlite", "--out", t / "space", "--seed", 2**32],
    "evaluate": lambda t: ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--store",
                           t / "s.sqlite", "--seed", -1],
    "embed-task": lambda t: ["embed-task", "cat,dog", "--no-cache", "--seed", -1],
    "score-zoo": lambda t: ["score-zoo", "--models", "timm:resnet18", "--task", t, "--method", "logme", "--seed", -1],
    "tasks add-images": lambda t: ["tasks", "add-images", "cifar10", t, "--store", t / "s.sqlite", "--seed", -1],
    "finetune": lambda t: ["finetune", "--models", "timm:resnet18", "--task", t, "--seed", 2**32],
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_seed_out_of_range_is_a_one_line_error(case: str, tmp_path: Path,
                                                 run_cli: Callable[..., tuple[int, str, str]]) -> None:
    code, _out, err = run_cli(*CASES[case](tmp_path))
    assert code == 2, err
    assert "--seed: expected an integer in [0, 4294967295], got " in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # checked before a store or anything else was made
