"""A cache that cannot be written costs the next run its work, not this run its answer: one warning, same result."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import fennec.space.features
import fennec.tasks.cache as cache
from fennec.validation import FennecInputWarning


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_UNWRITABLE", set())
    # memoised in-process: the disk cache must be reached
    fennec.space.features._encode_one.cache_clear()
    monkeypatch.setattr(fennec.space.features, "_TEXT_PARTS", {})


def test_a_write_that_fails_warns_once_per_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    expected = r"cache '.*a_file/sub': cannot write .*going on without caching"
    with pytest.warns(FennecInputWarning, match=expected), cache.writing_cache(blocker / "sub" / "entry.npy"):
        (blocker / "sub").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cache.writing_cache(blocker / "sub" / "other.npy"):
            raise PermissionError(13, "Permission denied")
        with cache.writing_cache(tmp_path / "fine.npy"):
            (tmp_path / "fine.npy").write_bytes(b"ok")
    assert (tmp_path / "fine.npy").read_bytes() == b"ok"


def test_the_warning_gives_the_writer_s_reason_whole_and_other_errors_pass(tmp_path: Path) -> None:
    """The reason was cut out of the message text, so a path holding "; " or "': " came out mangled."""
    from fennec.io import atomic_open
    from fennec.validation import FennecInputError

    blocker = tmp_path / "x; it's"
    blocker.write_text("x")
    entry = blocker / "sub" / "entry.json"
    with pytest.warns(FennecInputWarning) as caught, cache.writing_cache(entry), atomic_open(entry) as fh:
        fh.write("{}")
    assert f"cannot write ({str(blocker)!r} is a file, not a folder); going on" in str(caught[0].message)
    with pytest.raises(FennecInputError, match="not a cache problem"), cache.writing_cache(tmp_path / "e.json"):
        raise FennecInputError("not a cache problem")  # only a write that fails is the cache's to forgive


def test_recommend_under_a_cache_it_cannot_write_gives_the_same_ranking(tmp_path, monkeypatch, run_cli) -> None:
    argv = ["recommend", "--classes", "sparrow,owl,heron", "--format", "json", "--top-k", "5"]
    code, out, err = run_cli(*argv)
    assert code == 0, err
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("FENNEC_CACHE", str(blocker / "cache"))  # found in the field: a cache under a file
    fennec.space.features._encode_one.cache_clear()
    fennec.space.features._TEXT_PARTS.clear()
    with pytest.warns(FennecInputWarning, match=r"a_file' is a file, not a folder\); going on without caching.*"
                      r"point \$FENNEC_CACHE at a writable folder") as caught:
        code, out_blocked, err = run_cli(*argv)
    assert code == 0, err
    assert len([w for w in caught if issubclass(w.category, FennecInputWarning)]) == 1  # once, not per entry
    ranked = [(r["model"], round(r["score"], 6)) for r in json.loads(out)["ranking"]]
    assert ranked == [(r["model"], round(r["score"], 6)) for r in json.loads(out_blocked)["ranking"]]
    assert np.isfinite([s for _, s in ranked]).all()
