"""Where a space may be written (fennec.space.store.check_space_dir): checked before any training."""

from __future__ import annotations

from pathlib import Path

import pytest

from fennec.space.store import check_space_dir
from fennec.validation import FennecInputError


def test_a_space_dir_whose_parent_is_a_file_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile / "space", afile / "deeper" / "space"):
        with pytest.raises(FennecInputError, match=r"^--out '.*space': '.*afile' is a file, not a folder"):
            check_space_dir(out)
    with pytest.raises(FennecInputError, match=r"^--space '.*space': '.*afile' is a file"):
        check_space_dir(afile / "space", "--space")
    with pytest.raises(FennecInputError, match=r"^--out: empty path"):
        check_space_dir("")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_new_space_dir_in_new_folders_is_accepted_without_making_them(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "space"
    assert check_space_dir(out) == out and not (tmp_path / "a").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder that takes no new entry")
def test_a_space_folder_that_cannot_take_a_new_entry_is_refused_before_training() -> None:
    """Found by a probe: `train.py --out /proc/x` trained for 40 s, then failed to write (a traceback)."""
    from fennec.space.store import check_space_dir

    with pytest.raises(FennecInputError, match=r"--out '/proc/x': cannot write in '/proc'"):
        check_space_dir("/proc/x")
