"""Transfer records: the SQLite store, CSV ingest, alias tables and task cards.

Public API::

    from fennec.records import RecordStore, default_store_path
    store = RecordStore(default_store_path())   # a new file is seeded with the shipped records and cards
    store.records(benchmark="sfda_supervised")  # -> list[Record(model, dataset, benchmark, metric, value, ...)]
    store.models()                              # -> list[ModelInfo(id, name, architecture, pretraining)]
    store.task_card("oxford_pets")              # -> TaskCard(name="pets", class_names=..., n_classes=37, ...)
    store.add_task_image("pets", proxy, part)   # what a proxy saw of its images -> TaskCard.image_parts[proxy]
    record_matrix(store.records(benchmark="sfda_supervised"))  # -> (model ids, datasets, (M, D) array, NaN gaps)
"""

from fennec.records.aliases import canonical_dataset, resolve_model
from fennec.records.cards import TaskCard
from fennec.records.ingest import IngestResult, ingest_file, seed_shipped
from fennec.records.record import ModelInfo, Record, record_matrix
from fennec.records.store import RecordStore, default_store_path

__all__ = [
    "IngestResult",
    "ModelInfo",
    "Record",
    "RecordStore",
    "TaskCard",
    "canonical_dataset",
    "default_store_path",
    "ingest_file",
    "record_matrix",
    "resolve_model",
    "seed_shipped",
]
