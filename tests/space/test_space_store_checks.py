"""A space directory whose files do not belong together (edited, or copied from different spaces) is refused with
one line naming the two files, by every command that reads a space; each file loads on its own, so without the
checks such a space ranked with the wrong numbers or ended in a traceback."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from fennec.space.store import FORMAT, default_space_dir, load_space


@pytest.fixture()
def shipped_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "space"
    shutil.copytree(default_space_dir(), dst)
    return dst


def _edit_json(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _drop_a_model_card(space: Path) -> None:
    _edit_json(space / "meta.json", lambda m: m["models"].pop(next(iter(m["models"]))))


def _drop_a_task_card(space: Path) -> None:
    _edit_json(space / "meta.json", lambda m: m["tasks"].pop(next(iter(m["tasks"]))))


def _drop_a_tower_member(space: Path) -> None:
    tower = torch.load(space / "tower.pt", weights_only=True)
    tower["state_dicts"].pop()
    torch.save(tower, space / "tower.pt")


def _drop_a_model_row(space: Path) -> None:
    with np.load(space / "space.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["model_vectors"] = arrays["model_vectors"][:-1]
    np.savez(space / "space.npz", **arrays)


def _nan_in_a_model_vector(space: Path) -> None:
    with np.load(space / "space.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["model_vectors"][3, 0] = np.nan
    np.savez(space / "space.npz", **arrays)


DAMAGE = {
    "NaN in a model vector": (_nan_in_a_model_vector, r"is damaged \(ValueError: space.npz holds NaN or inf in 1 of "
                                                      r"its model vectors\); retrain"),
    "config dim": (lambda s: _edit_json(s / "config.json", lambda c: c.update(dim=16)),
                   r"config.json dim \(16\) does not match tower.pt dim \(8\)"),
    "config n_members": (lambda s: _edit_json(s / "config.json", lambda c: c.update(n_members=2)),
                         r"config.json n_members \(2\) does not match tower.pt members \(5\)"),
    "config dim as text": (lambda s: _edit_json(s / "config.json", lambda c: c.update(dim="8")),
                           r"config.json': dim: expected a positive integer, got '8'"),
    "tower member dropped": (_drop_a_tower_member, r"n_members \(5\) does not match tower.pt members \(4\)"),
    "model card dropped": (_drop_a_model_card, r"meta.json models \(\d+ ids\) does not match space.npz models"),
    "task card dropped": (_drop_a_task_card, r"meta.json has no card for the space's task"),
    "model vector dropped": (_drop_a_model_row, r"space.npz model ids \(\d+\) does not match space.npz model "
                                                r"vectors"),
    "manifest n_models": (lambda s: _edit_json(s / "manifest.json", lambda m: m.update(n_models=3)),
                          r"manifest.json n_models \(3\) does not match space.npz models"),
    "manifest a list": (lambda s: (s / "manifest.json").write_text("[1, 2]"),
                        r"manifest.json' holds a JSON list, not a fennec space manifest"),
    "newer format": (lambda s: _edit_json(s / "manifest.json", lambda m: m.update(format="fennec-space-v99")),
                     r"written by a newer fennec: upgrade fennec"),
}


def test_the_shipped_space_passes_the_checks() -> None:
    space = load_space()
    info = json.loads((default_space_dir() / "manifest.json").read_text())
    assert info["format"] == FORMAT and len(space.model_ids_) == info["n_models"]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("argv", [["recommend", "--classes", "sparrow,owl"], ["zoo", "list"],
                                  ["rank-batch", "sparrow,owl"]], ids=["recommend", "zoo list", "rank-batch"])
def test_files_that_do_not_belong_together_are_a_one_line_error(shipped_copy, run_cli, damage, argv) -> None:
    make, message = DAMAGE[damage]
    make(shipped_copy)
    code, out, err = run_cli(*argv, "--space", shipped_copy)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err


def test_a_mount_point_is_refused_before_any_work(shipped_copy, monkeypatch) -> None:
    """A space directory that is a volume cannot be renamed over; zoo add found that after its work (a probe)."""
    from fennec.space.store import check_space_dir
    from fennec.validation import FennecInputError

    monkeypatch.setattr("os.path.ismount", lambda p: str(p) == str(shipped_copy))
    with pytest.raises(FennecInputError, match=r"is a mount point, .*give a folder inside it"):
        check_space_dir(shipped_copy, "--space")


def test_a_failed_swap_puts_the_previous_space_back(shipped_copy, monkeypatch) -> None:
    import os

    from fennec.space.store import save_space
    from fennec.validation import FennecInputError

    space = load_space(shipped_copy)
    before = (shipped_copy / "space.npz").read_bytes()
    real_replace = os.replace

    def busy_into_place(src, dst):  # moving the old space aside works; putting the new one in its place does not
        if str(dst) == str(shipped_copy) and ".old-" not in str(src):
            raise OSError(16, "Device or resource busy")
        return real_replace(src, dst)

    monkeypatch.setattr("os.replace", busy_into_place)
    with pytest.raises(FennecInputError, match=r"cannot be replaced by the new space \(Device or resource busy\)"):
        save_space(space, shipped_copy, "--space")
    monkeypatch.setattr("os.replace", real_replace)
    assert (shipped_copy / "space.npz").read_bytes() == before
    assert sorted(p.name for p in shipped_copy.parent.iterdir()) == ["space"]  # no temp or old copy left


def test_the_shipped_space_holds_exactly_the_files_a_space_is_made_of(shipped_copy) -> None:
    from fennec.space.store import SPACE_FILES

    assert {p.name for p in shipped_copy.iterdir()} == SPACE_FILES


def test_a_space_folder_with_other_files_is_refused_not_emptied(shipped_copy) -> None:
    """`train.py --store sp/records.sqlite --out sp` deleted the store it trained from with the old space (a probe):
    a space is written by replacing the whole directory."""
    from fennec.space.store import check_space_dir
    from fennec.validation import FennecInputError

    (shipped_copy / "records.sqlite").write_bytes(b"x")
    (shipped_copy / "README.txt").write_text("notes")
    with pytest.raises(FennecInputError, match=r"^--out '.*space': holds a space and other files \(README.txt, "
                                               r"records.sqlite\), which writing the new space would delete"):
        check_space_dir(shipped_copy)
    assert (shipped_copy / "records.sqlite").exists()


@pytest.mark.parametrize(("manifest", "message"), [
    ("{x", r"its manifest.json cannot be read \(.*\); if the folder is a damaged fennec space, delete it and rerun"),
    ('{"format": "other-tool-v1"}', r"its manifest.json is not a fennec space's"),
    ("[1, 2]", r"its manifest.json is not a fennec space's"),
])
def test_a_manifest_that_is_not_a_space_s_says_so(shipped_copy, manifest, message) -> None:
    """A damaged manifest.json was reported as "no fennec manifest.json", and the advice to retrain with
    --no-warm-start could not work."""
    from fennec.space.store import check_space_dir
    from fennec.validation import FennecInputError

    (shipped_copy / "manifest.json").write_text(manifest)
    with pytest.raises(FennecInputError, match=message):
        check_space_dir(shipped_copy)


def test_a_space_dir_given_as_a_link_is_written_where_the_link_points(shipped_copy, tmp_path) -> None:
    """The link itself was replaced by a directory, its target left stale and a dangling link left behind."""
    from fennec.space.store import check_space_dir, save_space

    link = tmp_path / "links" / "space"
    link.parent.mkdir()
    link.symlink_to(shipped_copy)
    assert check_space_dir(link) == shipped_copy.resolve()
    space = load_space(shipped_copy)
    before = (shipped_copy / "manifest.json").stat().st_mtime_ns
    save_space(space, link)
    assert link.is_symlink() and link.resolve() == shipped_copy.resolve()
    assert (shipped_copy / "manifest.json").stat().st_mtime_ns != before  # the target holds the new space
    assert sorted(p.name for p in link.parent.iterdir()) == ["space"]  # no stale link, no leftover


def test_train_s_warm_start_note_names_out(shipped_copy) -> None:
    """train reads its previous space through --out; the note on why it could not warm-start named --space, an
    option train does not have (train passes name="--out", fennec/commands/train.py)."""
    from fennec.validation import FennecInputError

    _edit_json(shipped_copy / "config.json", lambda c: c.update(dim=-3))
    with pytest.raises(FennecInputError, match=rf"^--out: '{re.escape(str(shipped_copy / 'config.json'))}'"):
        load_space(shipped_copy, name="--out")
