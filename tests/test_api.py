"""The top-level API: every name listed is importable from `fennec` and is the sub-package's own object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import fennec


@pytest.mark.parametrize("name", fennec.__all__)
def test_every_public_name_is_the_defining_module_s_object(name: str) -> None:
    assert getattr(fennec, name) is getattr(importlib.import_module(fennec._API[name]), name)
    assert name in dir(fennec)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'fennec' has no attribute 'recomend'"):
        fennec.recomend  # noqa: B018


def test_import_fennec_loads_no_heavy_library() -> None:
    """The command line imports fennec for every command: torch, faiss and scipy come only when used."""
    code = "import sys, fennec; print(sorted(m for m in ('torch', 'faiss', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_documented_example_runs_on_the_shipped_space() -> None:
    space = fennec.load_space()
    task = fennec.task_from_class_names("birds", ["sparrow", "eagle", "owl"])
    ranking = fennec.recommend(space, task, top_k=3)["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2, 3]
    assert [r["model"] for r in fennec.rank_batch(space, [task], top_k=3)[0]["ranking"]] == \
        [r["model"] for r in ranking]
