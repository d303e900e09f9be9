"""`fennec zoo add / remove` on a saved space, in-process: the space's lock, one model per file, removal and
replacement of added models, and ids or texts refused before any work (findings of a user probe)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fennec.cli import main
from fennec.io import lock_path
from fennec.space.store import load_space, save_space
from fennec.space.zoo import locked_space, model_from_id
from fennec.zoo.checkpoints import save_checkpoint


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted world's space, saved once for the module."""
    return save_space(fitted, tmp_path_factory.mktemp("zoo_cli") / "space")


@pytest.fixture()
def space(saved: Path, tmp_path: Path) -> Path:
    """A private copy of the saved space, in a folder of its own (its lock file goes beside it)."""
    dst = tmp_path / "spaces" / "space"
    shutil.copytree(saved, dst)
    return dst


def listed(run_cli, space: Path) -> dict[str, list[str]]:
    """``zoo list`` as id -> its fields."""
    code, out, err = run_cli("zoo", "list", "--space", space)
    assert code == 0, err
    return {ln.split("\t")[0]: ln.split("\t") for ln in out.splitlines()}


def files(space: Path) -> dict[str, int]:
    """Each file of a space with its modification time: unchanged when a command changed nothing."""
    return {p.name: p.stat().st_mtime_ns for p in space.iterdir()}


# ------------------------------------------------------------------------------------------------------- the lock
def test_zoo_add_waits_for_the_lock_and_keeps_the_other_writers_model(space, run_cli, capsys):
    """Two `zoo add` at once both said "added" and the space held one model: each loaded the space before the
    other saved. Here the second add starts while the lock is held, and the holder adds a model meanwhile."""
    before = len(listed(run_cli, space))
    codes: list[int] = []
    with locked_space(space):
        worker = threading.Thread(target=lambda: codes.append(main(["zoo", "add", "timm:resnet18",
                                                                    "--space", str(space)])))
        worker.start()
        said = ""
        deadline = time.monotonic() + 120
        while "waiting for another command" not in said and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.05)
            said += capsys.readouterr().err
        assert "waiting for another command changing the space" in said and worker.is_alive()
        # the writer holding the lock: load, add, save
        held = load_space(space)
        held.add_models({"timm:convnext_tiny": model_from_id("timm:convnext_tiny")})
        save_space(held, space, "--space")
    worker.join(timeout=300)
    assert codes == [0], capsys.readouterr().err
    models = listed(run_cli, space)
    assert {"timm:resnet18", "timm:convnext_tiny"} <= set(models) and len(models) == before + 2


def test_the_lock_is_beside_the_space_and_excludes_other_processes(space):
    probe = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\ntry:\n"
             "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n")
    with locked_space(space) as path:
        assert path == Path(lock_path(space)) == space.parent / ".space.lock"  # not inside: a save replaces the folder
        assert subprocess.run([sys.executable, "-c", probe, str(path)], check=False).returncode == 3
        save_space(load_space(space), space, "--space")  # saving under the lock leaves the lock file alone
        assert path.is_file()
    assert subprocess.run([sys.executable, "-c", probe, str(path)], check=False).returncode == 0
    link = space.parent / "link"
    link.symlink_to(space)
    assert lock_path(link) == lock_path(space)  # every spelling of a space shares its lock


# -------------------------------------------------------------------------------------------- one model per file
def test_every_spelling_of_a_checkpoint_is_one_model_stored_with_its_absolute_path(space, run_cli, tmp_path,
                                                                                    monkeypatch):
    (tmp_path / "ck").mkdir()
    save_checkpoint(tmp_path / "ck" / "good.pt", torch.nn.Linear(2, 3), "resnet10t", "glyphs", 32, ["a", "b", "c"])
    canonical = f"local:{os.path.realpath(tmp_path / 'ck' / 'good.pt')}"
    monkeypatch.chdir(tmp_path)
    before = set(listed(run_cli, space))
    code, _, err = run_cli("zoo", "add", "local:ck/good.pt", "local:./ck/good.pt", f"local:{tmp_path}/ck/good.pt",
                           f"local:{tmp_path}/ck//good.pt", "--space", space)
    assert code == 0, err
    assert err.splitlines()[0] == f"local:ck/good.pt: added (cold start) as {canonical}"
    assert all("the same model as local:ck/good.pt" in ln for ln in err.splitlines()[1:])
    assert set(listed(run_cli, space)) - before == {canonical}
    # read from another directory, a relative spelling still names the same file
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, _, err = run_cli("zoo", "add", "local:../ck/good.pt", "--space", space)
    assert (code, err) == (0, f"local:../ck/good.pt: already in the space as {canonical}\n")
    # named as a candidate under another spelling: the added model, with its vector, under the space's id
    code, out, err = run_cli("recommend", "--classes", "a,b,c", "--space", space, "--format", "json",
                             "--candidates", "local:../ck/good.pt", "local:../ck//good.pt")
    assert code == 0, err
    ranking = json.loads(out)["ranking"]
    assert [(r["model"], r["cold_start"]) for r in ranking] == [(canonical, True)]
    code, out, err = run_cli("recommend", "--classes", "a,b,c", "--space", space, "--format", "json",
                             "--candidates", canonical)
    assert code == 0 and json.loads(out)["ranking"] == ranking
    code, _, err = run_cli("zoo", "remove", "local:../ck/./good.pt", "--space", space)
    assert code == 0 and "removed" in err and set(listed(run_cli, space)) == before


# ------------------------------------------------------------------------------------------- remove and --replace
def test_zoo_remove_takes_an_added_model_out_of_the_space_and_its_index(space, run_cli):
    from fennec.space.index import ModelIndex

    before = listed(run_cli, space)
    assert run_cli("zoo", "add", "timm:resnet18", "--space", space)[0] == 0
    code, _, err = run_cli("zoo", "remove", "timm:resnet18", "--space", space)
    assert (code, err) == (0, "timm:resnet18: removed\n")
    assert listed(run_cli, space) == before
    loaded = load_space(space)
    assert ModelIndex.load(str(space / "index.faiss")).size == len(before) == len(loaded.model_vectors_)
    # added again after a removal: a model like any new one
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--space", space)
    assert (code, err) == (0, "timm:resnet18: added (cold start)\n")


@pytest.mark.parametrize("argv", [["zoo", "remove", "timm:resnet18", "test:birds"],
                                  ["zoo", "add", "--replace", "test:birds"]])
def test_a_model_with_records_is_not_removed_or_replaced(space, run_cli, argv):
    assert run_cli("zoo", "add", "timm:resnet18", "--space", space)[0] == 0
    before = files(space)
    code, out, err = run_cli(*argv, "--space", space)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "'test:birds'" in err and "has records" in err and "retrain the space" in err
    assert files(space) == before  # nothing removed, not even the model that could be
    assert "timm:resnet18" in listed(run_cli, space)


def test_removing_a_model_not_in_the_space_is_one_line_and_changes_nothing(space, run_cli):
    before = files(space)
    code, _, err = run_cli("zoo", "remove", "timm:resnet18", "--space", space)
    assert code == 2 and len(err.splitlines()) == 1 and "'timm:resnet18': not in the space" in err
    assert files(space) == before


def test_zoo_add_replace_makes_the_vector_anew(space, run_cli):
    """A model added with a mistyped --pretraining was stuck: adding it again said "already in the space"."""
    assert run_cli("zoo", "add", "timm:resnet18", "--pretraining", "supervised on photos of cars",
                   "--space", space)[0] == 0
    old = load_space(space)
    code, _, err = run_cli("zoo", "add", "timm:resnet18", "--replace", "--pretraining",
                           "supervised on photos of bird species", "--space", space)
    assert (code, err) == (0, "timm:resnet18: replaced (new cold-start vector)\n")
    new = load_space(space)
    assert sorted(new.model_ids_) == sorted(old.model_ids_)
    assert new.model_info_["timm:resnet18"]["pretraining"] == "supervised on photos of bird species"
    row = new.model_vectors(["timm:resnet18"])[0]
    assert not np.allclose(row, old.model_vectors(["timm:resnet18"])[0])
    assert np.allclose(row, new.cold_start_vectors([model_from_id("timm:resnet18", new.model_info_[
        "timm:resnet18"]["pretraining"])])[0], atol=1e-5)


# ------------------------------------------------------------------------------------ refused before any work
@pytest.mark.parametrize(("argv", "message"), [
    (["local:/x/comma,x.pt"], r"holds a comma.*rename the file"),
    (["local:/x/tab\tx.pt"], r"holds the control character '\\t'.*rename the file"),
    (["local:/x/nl\nx.pt"], r"holds the control character '\\n'.*rename the file"),
    (["timm:resnet18", "--pretraining", ""], r"--pretraining: expected what the weights were pre-trained on .*, "
                                             r"got ''; give one or leave --pretraining out"),
    (["timm:resnet18", "--pretraining", "   "], r"--pretraining: expected what the weights .*, got '   '"),
    (["open_clip:RN50"], r"names no pre-trained weights; give open_clip:RN50:TAG with TAG one of openai"),
])
def test_bad_ids_and_texts_are_one_line_and_leave_the_space_alone(space, run_cli, argv, message):
    import re

    before = files(space)
    code, out, err = run_cli("zoo", "add", *argv, "--space", space)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert files(space) == before
