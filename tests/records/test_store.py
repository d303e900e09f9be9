"""The SQLite store: seeding, schema migrations, queries, export round trip, task image statistics."""

import sqlite3

import numpy as np
import pytest

from fennec.records import RecordStore, ingest_file
from fennec.records.schema import _V1, _V2, SCHEMA_VERSION
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


def test_a_store_path_that_cannot_be_made(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(FennecInputError, match=r"^--store '.*afile/s\.sqlite': '.*afile' is a file, not a folder"):
        RecordStore(afile / "s.sqlite")
    with pytest.raises(FennecInputError, match=r"^--store: empty path"):
        RecordStore("")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


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


PROXY = "timm:tf_efficientnet_lite0"


def _part(seed: int, dim: int = 2 * 1280 + 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=dim).astype(np.float32)


def test_task_image_round_trip_and_replace(store):
    part = _part(0)
    store.add_task_image("oxford_pets", PROXY, part, n_probe=100, fingerprint="abc")  # alias spelling
    got = store.task_images()
    assert list(got) == ["pets"] and list(got["pets"]) == [PROXY]
    vec = got["pets"][PROXY]
    assert vec.dtype == np.float32 and vec.shape == part.shape and np.array_equal(vec, part)
    assert vec.flags.writeable and vec.flags.owndata  # callers get their own copy, not a view of the bytes
    row = store.conn.execute("SELECT dim, n_probe, fingerprint FROM task_images WHERE task='pets'").fetchone()
    assert row == (part.shape[0], 100, "abc")
    store.add_task_image("pets", PROXY, _part(1).astype(np.float64), n_probe=5)  # replaces, stored as float32
    assert store.conn.execute("SELECT COUNT(*), MAX(n_probe) FROM task_images").fetchone() == (1, 5)
    assert np.array_equal(store.task_images()["pets"][PROXY], _part(1))
    store.add_task_image("cars", "open_clip:ViT-B-32:openai", _part(2, dim=1032))
    got = store.task_images()
    assert {t: list(by_proxy) for t, by_proxy in got.items()} == {"cars": ["open_clip:ViT-B-32:openai"],
                                                                  "pets": [PROXY]}
    assert got["cars"]["open_clip:ViT-B-32:openai"].shape == (1032,)  # each row read with its own dim


def test_cards_carry_image_parts(store):
    store.add_task_image("pets", PROXY, _part(0))
    store.add_task_image("pets", "open_clip:ViT-B-32:openai", _part(1, dim=1032))
    card = store.task_card("oxford_pets")
    assert sorted(card.image_parts) == ["open_clip:ViT-B-32:openai", PROXY]
    assert np.array_equal(card.image_parts[PROXY], _part(0))
    cards = store.task_cards(images=True)
    assert np.array_equal(cards["pets"].image_parts[PROXY], _part(0))
    assert sorted(cards["pets"].image_parts) == sorted(card.image_parts)
    assert cards["cars"].image_parts == {}
    # task_cards reads everything in bulk and must agree with one card at a time
    assert cards["pets"] == card and cards["pets"].aliases == card.aliases
    assert list(cards) == store.task_names()


def test_task_cards_read_image_statistics_only_when_asked(store):
    """Most readers of every card want its text: without ``images=True`` no vector is read or decoded, and the
    cards are otherwise the same."""
    store.add_task_image("pets", PROXY, _part(0))
    with_images = store.task_cards(images=True)
    read: list[str] = []
    store.conn.set_trace_callback(read.append)
    try:
        text_only = store.task_cards()
    finally:
        store.conn.set_trace_callback(None)
    assert not any("task_images" in sql for sql in read), read
    assert all(card.image_parts == {} for card in text_only.values())
    assert list(text_only) == list(with_images)
    for name, card in text_only.items():  # image_parts aside (not compared), the same cards
        assert card == with_images[name] and card.aliases == with_images[name].aliases
    # a damaged vector concerns only the readers of the vectors
    store.conn.execute("UPDATE task_images SET dim = dim + 1")
    assert store.task_cards().keys() == text_only.keys()
    with pytest.raises(FennecInputError, match="damaged"):
        store.task_cards(images=True)


@pytest.mark.parametrize(("part", "message"), [
    (np.array([1.0, np.nan, 2.0]), "non-finite"),
    (np.array([1.0, np.inf]), "non-finite"),
    (np.array([1e300, 0.0]), "non-finite"),  # beyond float32
    (np.zeros((2, 3)), "1-D float vector"),
    (np.zeros(0), "1-D float vector"),
    (np.arange(4), "1-D float vector"),
    (np.array(["a", "b"]), "1-D float vector"),
])
def test_bad_image_part_is_refused(store, part, message):
    with pytest.raises(FennecInputError, match=message):
        store.add_task_image("pets", PROXY, part)
    assert store.task_images() == {}


def test_image_of_unknown_task_is_refused(store):
    with pytest.raises(FennecInputError, match=r"did you mean pets.*fennec tasks add"):
        store.add_task_image("petz", PROXY, _part(0))
    with pytest.raises(FennecInputError, match="add it with `fennec tasks add`"):
        store.add_task_image("no_such_task_at_all", PROXY, _part(0))
    with pytest.raises(FennecInputError, match="empty proxy"):
        store.add_task_image("pets", " ", _part(0))
    with pytest.raises(FennecInputError, match="n_probe"):
        store.add_task_image("pets", PROXY, _part(0), n_probe=-1)
    assert "petz" not in store.task_names() and store.task_images() == {}


def test_alias_folding_keeps_image_statistics(empty_store):
    s = empty_store
    for name in ("pets", "my_pets", "old_pets"):
        s.ensure_task(name)
    s.add_task_image("my_pets", PROXY, _part(0))
    s.add_task_image("my_pets", "timm:other", _part(1))
    s.add_task_image("pets", "timm:other", _part(2))
    s.add_task_alias("my_pets", "pets")
    assert "my_pets" not in s.task_names()
    images = s.task_images()
    assert list(images) == ["pets"]
    assert np.array_equal(images["pets"][PROXY], _part(0))  # moved
    assert np.array_equal(images["pets"]["timm:other"], _part(2))  # the canonical task's own vector wins
    assert s.conn.execute("SELECT COUNT(*) FROM task_images").fetchone()[0] == 2
    s.add_task_image("old_pets", PROXY, _part(3))
    s.add_task_alias("old_pets", "pets")
    assert np.array_equal(s.task_card("old_pets").image_parts[PROXY], _part(0))


def test_migration_from_v2_adds_task_images(tmp_path):
    path = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(_V1 + _V2 + "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);"
                       "INSERT INTO schema_version VALUES (1, 'then');"
                       "INSERT INTO schema_version VALUES (2, 'then');"
                       "INSERT INTO tasks(name, n_classes, description) VALUES ('leaves', 3, 'photos of leaves');")
    conn.commit()
    conn.close()
    s = RecordStore(path)
    assert s.schema_version() == SCHEMA_VERSION == 4
    assert s.stats()["records"] == 0  # migrated, not seeded
    assert s.task_images() == {} and s.task_card("leaves").image_parts == {}
    s.add_task_image("leaves", PROXY, _part(0), n_probe=12)
    s.close()
    with RecordStore(path) as again:  # reopening an up-to-date store applies nothing twice
        assert again.schema_version() == 4
        assert np.array_equal(again.task_card("leaves").image_parts[PROXY], _part(0))


def test_damaged_image_row_is_reported(store):
    store.add_task_image("pets", PROXY, _part(0))
    store.conn.execute("UPDATE task_images SET dim = dim + 1")
    with pytest.raises(FennecInputError, match="damaged"):
        store.task_images()


def test_migration_4_marks_an_old_stores_imagenet_table_as_pretraining(store):
    from fennec.records.metrics import PRETRAIN

    path = store.path
    store.conn.execute("UPDATE records SET protocol = 'finetune'")  # as seeded before migration 4
    store.conn.execute("DELETE FROM schema_version WHERE version = 4")
    store.conn.commit()
    assert store.schema_version() == 3
    store.close()
    with RecordStore(path) as reopened:  # the migration runner applies version 4 on open
        assert reopened.schema_version() == 4
        recs = reopened.records()
    assert {r.protocol for r in recs if r.benchmark == "torchvision_imagenet"} == {PRETRAIN}
    assert {r.protocol for r in recs if r.benchmark != "torchvision_imagenet"} == {"finetune"}


def test_a_task_with_a_card_of_its_own_is_not_folded_into_another_as_its_alias(empty_store):
    """`fennec tasks add NEW --alias OLD` folded OLD, a task with its own card, into NEW and dropped its card."""
    from fennec.records.cards import TaskCard

    s = empty_store
    leaves = TaskCard(name="leaves", n_classes=3, class_names=("oak", "elm", "ash"), description="photos of leaves")
    s.add_task(leaves)
    with pytest.raises(FennecInputError, match=r"--alias 'leaves': already a task with a card of its own \(3 "
                                               r"classes, described\)"):
        s.add_task(TaskCard(name="xrays", n_classes=2, class_names=("a", "b"), aliases=("leaves",)))
    assert s.task_card("leaves").class_names == leaves.class_names  # unchanged, the transaction rolled back
    assert "xrays" not in s.task_names()
    s.ensure_task("bare")  # a bare task an ingest made (no card) is still folded
    s.add_task_alias("bare", "leaves")
    assert "bare" not in s.task_names() and s.canonical_task("bare") == "leaves"


@pytest.mark.parametrize(("change", "message"), [
    ({"value": float("nan")}, r"nan is not a finite number \(NaN/inf\); drop it"),
    ({"value": float("inf")}, r"inf is not a finite number"),
    ({"value": True}, r"expected a number, got True"),
    ({"value": "abc"}, r"expected a number, got 'abc'"),
    # the same value rules as CSV ingest (they were ingest's alone)
    ({"value": 2e9, "metric": "logme"}, r"2000000000.0 is implausibly large \(\|value\| > 1e\+09\)"),
    ({"value": 150.0, "metric": "top1_acc"}, r"150.0 is outside \[0, 100\] for the accuracy-like metric 'top1_acc'"),
    ({"dataset": ""}, r"record dataset: expected a non-empty string"),
    ({"metric": None}, r"record metric: expected a non-empty string"),
    ({"protocol": "bogus"}, r"unknown protocol 'bogus'"),
    ({"model": "timm:never_added"}, r"model 'timm:never_added': the model is not in the store; add it first"),
])
def test_insert_record_checks_what_csv_ingest_checks(store, change, message):
    """From Python, NaN was dropped without a word, inf and an empty dataset stored, and an unknown model a raw
    sqlite IntegrityError (a probe)."""
    import dataclasses

    from fennec.records import Record

    good = store.records(benchmark="sfda_supervised")[0]
    rec = dataclasses.replace(Record(good.model, "pets", "mine", "top1", 90.0), **change)
    n = len(store.records())
    with pytest.raises(FennecInputError, match=message), store.transaction():
        store.insert_record(rec)
    assert len(store.records()) == n


def test_opening_a_current_store_does_not_wait_for_a_writer(shipped_store_file, tmp_path):
    """Opening took the write lock to check the schema, so a reader waited 30 s behind an ingest, then failed."""
    path = tmp_path / "s.sqlite"
    path.write_bytes(shipped_store_file.read_bytes())
    with RecordStore(path) as writer, writer.transaction():
        writer.conn.execute("UPDATE tasks SET notes = 'busy' WHERE name = 'pets'")
        with RecordStore(path) as reader:  # not blocked: no lock to take for a current schema
            assert reader.task_card("pets").notes != "busy"  # the writer's change is not committed yet
