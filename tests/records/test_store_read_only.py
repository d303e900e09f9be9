"""A store that cannot be written (a read-only mount, a file shared read-only) answers the commands that read it
and refuses changes in one line; errors name what gave the store's path (a probe found `--store` named when the
path came from $FENNEC_STORE, and every reading command refused a read-only store)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fennec.records import RecordStore


@pytest.fixture()
def read_only_store(shipped_store_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped store whose file and folder report no write access (as a read-only mount does, where
    even root's access() says no)."""
    path = tmp_path / "ro" / "records.sqlite"
    path.parent.mkdir()
    path.write_bytes(Path(shipped_store_file).read_bytes())
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK and str(p).startswith(
        str(path.parent)) else real(p, mode, **kw))
    return path


def test_reading_commands_answer_from_a_read_only_store(read_only_store: Path, run_cli) -> None:
    code, out, err = run_cli("records", "list", "--store", read_only_store, "--limit", 1)
    assert code == 0 and out.strip(), err
    with RecordStore(read_only_store) as s:
        assert s.read_only and len(s.records(benchmark="sfda_supervised")) == 121
    code, _out, err = run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--store",
                             read_only_store, "--dataset", "pets")
    assert code == 0, err
    assert sorted(p.name for p in read_only_store.parent.iterdir()) == ["records.sqlite"]  # no lock or WAL files


def test_changing_a_read_only_store_is_one_line(read_only_store: Path, tmp_path: Path, run_cli) -> None:
    (tmp_path / "r.csv").write_text("benchmark,model,dataset,metric,value,source\nb,timm:resnet18,pets,top1,80,me\n")
    code, _out, err = run_cli("records", "ingest", tmp_path / "r.csv", "--store", read_only_store)
    assert code == 2 and err.count("\n") == 1
    assert "is read-only (its file or folder cannot be written); copy it to a writable folder" in err


def test_errors_name_fennec_store_when_it_gave_the_path(tmp_path: Path, monkeypatch, run_cli) -> None:
    (tmp_path / "folder.sqlite").mkdir()
    monkeypatch.setenv("FENNEC_STORE", str(tmp_path / "folder.sqlite"))
    code, _, err = run_cli("records", "list")
    assert code == 2 and "$FENNEC_STORE '" in err and "--store" not in err
