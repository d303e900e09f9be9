"""The records store's schema: the SQL of each migration, applied in order by
:class:`fennec.records.store.RecordStore` (the tables are described in :mod:`fennec.records.store`)."""

from __future__ import annotations

_V1 = """
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    architecture TEXT NOT NULL,
    pretraining TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE tasks (
    name TEXT PRIMARY KEY,
    n_classes INTEGER NOT NULL DEFAULT 0,
    n_images INTEGER NOT NULL DEFAULT 0,
    class_names TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    classes_complete INTEGER NOT NULL DEFAULT 1,
    task_type TEXT NOT NULL DEFAULT 'classification',
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE task_aliases (
    alias TEXT PRIMARY KEY,
    task TEXT NOT NULL REFERENCES tasks(name)
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    benchmark TEXT NOT NULL,
    model TEXT NOT NULL REFERENCES models(id),
    task TEXT NOT NULL REFERENCES tasks(name),
    dataset_name TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    protocol TEXT NOT NULL DEFAULT 'finetune',
    source TEXT NOT NULL DEFAULT '',
    ingested_at TEXT NOT NULL,
    UNIQUE (benchmark, model, task, metric)
);
"""

_V2 = """
CREATE INDEX records_task ON records(task);
CREATE INDEX records_model ON records(model);
CREATE TABLE ingests (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rows_added INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""

_V3 = """
CREATE TABLE task_images (
    task TEXT NOT NULL REFERENCES tasks(name),
    proxy TEXT NOT NULL,
    vector BLOB NOT NULL,
    dim INTEGER NOT NULL,
    n_probe INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL,
    PRIMARY KEY (task, proxy)
);
"""

# The shipped torchvision ImageNet table is the models' accuracy on their own pre-training data: stores seeded
# before the protocol was given at ingest hold it as 'finetune' (ingest.SHIPPED_PROTOCOLS).
_V4 = """
UPDATE records SET protocol = 'pretrain'
WHERE benchmark = 'torchvision_imagenet' AND protocol = 'finetune' AND source LIKE 'github:pytorch/vision/%'
"""

#: (version, SQL script) applied in order; a store records each applied version in ``schema_version``.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2), (3, _V3), (4, _V4)]
SCHEMA_VERSION = MIGRATIONS[-1][0]
