"""Fixtures: a store seeded with the shipped records (built once per session, copied per test)."""

import shutil

import pytest

from fennec.records import RecordStore


@pytest.fixture(scope="session")
def shipped_store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("shipped") / "records.sqlite"
    RecordStore(path).close()
    return path


@pytest.fixture
def store(shipped_store_file, tmp_path):
    """A private, writable copy of the seeded store."""
    path = tmp_path / "records.sqlite"
    shutil.copy(shipped_store_file, path)
    s = RecordStore(path)
    yield s
    s.close()


@pytest.fixture
def empty_store(tmp_path):
    s = RecordStore(tmp_path / "empty.sqlite", seed=False)
    yield s
    s.close()
