"""The SQLite store: seeding, schema migrations, queries, export round trip."""

import sqlite3

import pytest

from fennec.records import RecordStore, ingest_file
from fennec.records.store import _V1, SCHEMA_VERSION
from fennec.validation import FennecInputError


def test_seeded_store_holds_the_shipped_records(store):
    bench = store.benchmarks()
    assert bench["sfda_supervised"] == {"records": 121, "models": 11, "datasets": 11}
    assert bench["logme_tllib"] == {"records": 90, "models": 10, "datasets": 9}
    assert bench["parc_controlled"]["records"] == 196
    assert bench["transfergraph_records"] == {"records": 2253, "models": 180, "datasets": 13}
    assert store.schema_version() == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_records_use_canonical_ids_and_tasks(store):
    recs = store.records(benchmark="parc_controlled", dataset="oxford_pets")
    assert recs and {r.dataset for r in recs} == {"pets"}
    assert all(r.model.startswith("parc:") for r in recs)
    tg = {r.dataset for r in store.records(benchmark="transfergraph_records")}
    assert {"cars", "food", "pets"} <= tg and "stanfordcars" not in tg and "food101" not in tg
    r = store.records(benchmark="sfda_supervised", dataset="cifar10", model="torchvision:resnet50")
    assert len(r) == 1 and r[0].value == pytest.approx(96.39, abs=5)


def test_models_have_architecture_and_pretraining(store):
    models = store.models()
    assert len(models) == 261
    assert all(m.architecture and m.pretraining for m in models)
    assert store.model("torchvision:mobilenet_v2").architecture == "mobilenetv2_100"
    assert store.model("mobilenet_v2").id == "torchvision:mobilenet_v2"


def test_migration_from_v1_keeps_data(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(_V1 + "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);"
                       "INSERT INTO schema_version VALUES (1, 'then');"
                       "INSERT INTO models VALUES ('timm:a', 'a', 'resnet18', 'x', '{}');"
                       "INSERT INTO tasks(name) VALUES ('t');"
                       "INSERT INTO records(benchmark, model, task, dataset_name, metric, value, ingested_at) "
                       "VALUES ('b', 'timm:a', 't', 't', 'acc', 0.5, 'then');")
    conn.commit()
    conn.close()
    s = RecordStore(path)  # an existing store is migrated, never re-seeded
    assert s.schema_version() == SCHEMA_VERSION
    assert [r.value for r in s.records()] == [0.5]
    assert s.conn.execute("SELECT COUNT(*) FROM ingests").fetchone()[0] == 0


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    RecordStore(path, seed=False).conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    with pytest.raises(FennecInputError, match="newer"):
        RecordStore(path)


def test_not_a_store(tmp_path):
    bad = tmp_path / "x.sqlite"
    bad.write_text("hello, not sqlite" * 100)
    with pytest.raises(FennecInputError, match="not a fennec SQLite store"):
        RecordStore(bad)


def test_export_round_trip(store, tmp_path):
    out = tmp_path / "all.csv"
    n = store.export_csv(out)
    assert n == len(store.records())
    fresh = RecordStore(tmp_path / "fresh.sqlite", seed=False)
    res = ingest_file(fresh, out)
    assert res.added == n
    assert fresh.records() == store.records()
    assert {(m.id, m.architecture, m.pretraining) for m in fresh.models()} == \
        {(m.id, m.architecture, m.pretraining) for m in store.models()}


def test_crash_while_seeding_leaves_no_store_behind(tmp_path, monkeypatch):
    import fennec.records.ingest as ingest

    def boom(store):
        raise RuntimeError("crash while seeding")

    monkeypatch.setattr(ingest, "seed_shipped", boom)
    path = tmp_path / "s.sqlite"
    with pytest.raises(RuntimeError):
        RecordStore(path)
    monkeypatch.undo()
    s = RecordStore(path)  # still "new": the retry seeds it fully
    assert s.stats()["records"] == 3045


def test_records_init_fills_cards_of_bare_tasks(tmp_path):
    from fennec.records import seed_shipped

    s = RecordStore(tmp_path / "s.sqlite", seed=False)
    p = tmp_path / "r.csv"
    p.write_text("benchmark,model,dataset,metric,value\nb,timm:resnet18,oxford_pets,acc,0.5\n")
    ingest_file(s, p)
    assert s.task_card("pets").description == ""
    seed_shipped(s)
    assert s.task_card("pets").n_classes == 37
    assert len(s.records(benchmark="b")) == 1


def test_record_matrix(store):
    import numpy as np

    from fennec.records import Record, record_matrix

    models, datasets, mat = record_matrix(store.records(benchmark="sfda_supervised"))
    assert mat.shape == (11, 11) and np.isfinite(mat).all()
    recs = [Record("a", "x", "b", "m1", 1.0), Record("a", "x", "b", "m2", 3.0), Record("b", "y", "b", "m1", 5.0)]
    models, datasets, mat = record_matrix(recs)
    assert models == ["a", "b"] and datasets == ["x", "y"]
    np.testing.assert_array_equal(mat, [[2.0, np.nan], [np.nan, 5.0]])
