"""The records store: one SQLite file (stdlib ``sqlite3``, WAL journal, transactions, schema migrations).

Tables
- ``schema_version(version, applied_at)``: one row per applied migration.
- ``models(id, name, architecture, pretraining, metadata)``: ``id`` in ``source:id`` form; ``architecture`` is a
  timm name (or ``torchvision:NAME``); ``pretraining`` free text (data and method).
- ``tasks(name, n_classes, n_images, class_names, description, classes_complete, task_type, notes)`` and
  ``task_aliases(alias, task)``: one task per dataset, however the benchmarks spell it.
- ``records(benchmark, model, task, dataset_name, metric, value, protocol, source, ingested_at)``: one published
  (or measured) result; unique on (benchmark, model, task, metric).
- ``ingests(...)``: a log of ingested files (migration 2).
- ``task_images(task, proxy, vector, dim, n_probe, fingerprint, added_at)``: what a proxy saw of a task's images,
  the image part of its descriptor as float32 bytes (:func:`fennec.tasks.descriptor.image_part`); one row per
  (task, proxy) (migration 3). Migration 4 marks the shipped torchvision ImageNet table as protocol ``pretrain``.

A new store file is seeded with the shipped records and task cards (``data/``) unless ``seed=False``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fennec.records.aliases import ModelAlias, canonical_dataset, normalize_name
from fennec.records.cards import TaskCard
from fennec.records.record import ModelInfo, Record, check_record
from fennec.records.schema import MIGRATIONS, SCHEMA_VERSION
from fennec.validation import FennecInputError, check_output_parent, check_path_option


def default_store_path() -> Path:
    """``$FENNEC_STORE``, else ``$XDG_DATA_HOME/fennec/records.sqlite`` (``~/.local/share/fennec/...``)."""
    env = os.environ.get("FENNEC_STORE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fennec" / "records.sqlite"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CARD_COLUMNS = "name, n_classes, n_images, class_names, description, classes_complete, task_type, notes"
# Vectors are stored little-endian whatever the machine, so a store file can be copied between hosts.
_VECTOR_DTYPE = np.dtype("<f4")


def _card(row: Sequence[Any], aliases: Sequence[str], images: dict[str, np.ndarray]) -> TaskCard:
    """A :class:`TaskCard` from a ``tasks`` row (columns :data:`_CARD_COLUMNS`), its aliases and image parts."""
    return TaskCard(name=row[0], n_classes=row[1], n_images=row[2], class_names=tuple(json.loads(row[3])),
                    description=row[4], classes_complete=bool(row[5]), aliases=tuple(aliases), task_type=row[6],
                    notes=row[7], image_parts=images)


class RecordStore:
    """The SQLite records store.

    Args:
        path: Store file (created with its parent directory if missing).
        seed: Load the shipped records and task cards into a newly created store.

    Example:
        >>> store = RecordStore(default_store_path())            # doctest: +SKIP
        >>> recs = store.records(benchmark="sfda_supervised")     # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, seed: bool = True, name: str = "--store") -> None:
        self.name = name  # how error messages call the store: the option or variable that gave it
        check_path_option(path, name)  # Path("") would be the current directory
        self.path = Path(path).expanduser()
        if self.path.exists() and self.path.is_dir():
            raise FennecInputError(f"{name} {str(self.path)!r}: is a directory; give a file such as records.sqlite")
        # a store on a read-only mount (or a file shared read-only) still answers the commands that only read it
        self.read_only = self.path.is_file() and not (os.access(self.path, os.W_OK)
                                                      and os.access(self.path.parent, os.W_OK))
        if not self.read_only:
            check_output_parent(self.path, name, create=True)
        try:
            if self.read_only:
                # immutable: no lock files or WAL index, which a read-only folder could not hold
                uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                # isolation_level=None: we issue BEGIN/COMMIT ourselves so a whole ingest is one transaction.
                self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        except sqlite3.DatabaseError as exc:
            raise FennecInputError(f"{name} {str(self.path)!r}: not a fennec SQLite store ({exc})") from None
        self.conn.execute("PRAGMA busy_timeout=30000")
        self._alias_cache: dict[str, str] | None = None
        try:
            version = self._check_schema()  # before any write: a database of something else is left as it was
        except FennecInputError:
            self.conn.close()
            raise
        if not self.read_only:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # A current store opens without the write lock, so readers do not wait behind a writer (an ingest).
        if version == SCHEMA_VERSION or self.read_only:  # a read-only one that is not current raised
            return
        # Schema creation and seeding are one transaction: a crash leaves no half-seeded store behind, and two
        # processes opening a new store at once serialise on the write lock (and the second finds it done).
        with self.transaction():
            fresh = self._migrate()
            if fresh and seed:
                from fennec.records.ingest import seed_shipped

                seed_shipped(self)

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all (also on KeyboardInterrupt)."""
        if self.read_only:
            raise FennecInputError(f"{self.name} {str(self.path)!r}: is read-only (its file or folder cannot be "
                                   "written); copy it to a writable folder to change it")
        if self.conn.in_transaction:  # nested: join the outer transaction
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._alias_cache = None
            raise
        self.conn.execute("COMMIT")

    def schema_version(self) -> int:
        """The highest applied migration (0 for an empty file)."""
        try:
            row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0] or 0)

    def _check_schema(self) -> int:
        """The file's schema version, refused when it is not a store or is newer than this fennec; a read-only
        store must also be current (it cannot be migrated)."""
        try:
            current = self.schema_version()
            if current == 0:
                # a database of something else: made into a store, its tables would sit beside the shipped records
                # (or clash with them: a table of its own called "records")
                tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                                          "ORDER BY name LIMIT 6")]
            else:
                tables = []
        except sqlite3.DatabaseError as exc:
            raise FennecInputError(f"{self.name} {str(self.path)!r}: not a fennec SQLite store ({exc})") from None
        if tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise FennecInputError(f"{self.name} {str(self.path)!r}: an SQLite database but not a fennec records "
                                   f"store (it holds the tables {shown}); give a fennec store, or a new path for one")
        if current > SCHEMA_VERSION:
            raise FennecInputError(f"{self.name} {str(self.path)!r}: schema version {current} is newer than this "
                                   f"fennec ({SCHEMA_VERSION}); upgrade fennec")
        if self.read_only and current < SCHEMA_VERSION:
            what = "is empty" if current == 0 else f"has schema version {current}, older than this fennec's"
            raise FennecInputError(f"{self.name} {str(self.path)!r}: is read-only and {what}; open it once where it "
                                   "can be written (a copy in a writable folder) so that it is brought up to date")
        return current

    def _migrate(self) -> bool:
        """Apply pending migrations (inside the caller's transaction); return True when the file was new."""
        current = self._check_schema()
        if current == SCHEMA_VERSION:
            return False
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
        for version, script in MIGRATIONS:
            if version > current:
                for stmt in script.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT INTO schema_version VALUES (?, ?)", (version, _now()))
        return current == 0

    # -- tasks ------------------------------------------------------------------------------------------
    def _aliases(self) -> dict[str, str]:
        if self._alias_cache is None:
            self._alias_cache = dict(self.conn.execute("SELECT alias, task FROM task_aliases").fetchall())
        return self._alias_cache

    def canonical_task(self, name: str) -> str:
        """Canonical task name of a dataset spelling, using the store's aliases and the shipped table."""
        return canonical_dataset(name, self._aliases())

    def ensure_task(self, name: str) -> str:
        """Create a bare task row (no card yet) if needed; return the canonical name."""
        canon = self.canonical_task(name)
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO tasks(name) VALUES (?)", (canon,))
        return canon

    def add_task(self, card: TaskCard, *, replace: bool = True) -> None:
        """Add (or update) a task card and its aliases."""
        with self.transaction() as c:
            row = (card.n_classes, card.n_images, json.dumps(list(card.class_names)), card.description,
                   int(card.classes_complete), card.task_type, card.notes)
            if replace:
                c.execute("INSERT INTO tasks(name, n_classes, n_images, class_names, description, classes_complete,"
                          " task_type, notes) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
                          "n_classes=excluded.n_classes, n_images=excluded.n_images, "
                          "class_names=excluded.class_names, description=excluded.description, "
                          "classes_complete=excluded.classes_complete, task_type=excluded.task_type, "
                          "notes=excluded.notes", (card.name, *row))
            else:  # only fill a task that has no card yet (a bare row made by an ingest)
                c.execute("INSERT INTO tasks(name, n_classes, n_images, class_names, description, classes_complete,"
                          " task_type, notes) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
                          "n_classes=excluded.n_classes, n_images=excluded.n_images, "
                          "class_names=excluded.class_names, description=excluded.description, "
                          "classes_complete=excluded.classes_complete, task_type=excluded.task_type, "
                          "notes=excluded.notes WHERE tasks.description = ''", (card.name, *row))
            for alias in card.aliases:
                self.add_task_alias(alias, card.name)

    def add_task_alias(self, alias: str, task: str) -> None:
        """Make ``alias`` another spelling of ``task`` (records already stored under ``alias`` are moved)."""
        alias, task = normalize_name(alias), self.canonical_task(task)
        if alias == task:
            return
        with self.transaction() as c:
            known = c.execute("SELECT task FROM task_aliases WHERE alias=?", (alias,)).fetchone()
            if known and known[0] != task:
                raise FennecInputError(f"--alias {alias!r}: already an alias of task {known[0]!r}")
            c.execute("INSERT OR IGNORE INTO tasks(name) VALUES (?)", (task,))
            c.execute("INSERT OR IGNORE INTO task_aliases VALUES (?, ?)", (alias, task))
            own = c.execute("SELECT n_classes, class_names, description FROM tasks WHERE name=?", (alias,)).fetchone()
            if own and (own[1] != "[]" or own[2]):
                # a card says what the task is: folding would drop it, and with it what a space reads of the task
                raise FennecInputError(f"--alias {alias!r}: already a task with a card of its own ({own[0]} classes"
                                       f"{', described' if own[2] else ''}); making it a spelling of {task!r} "
                                       "would drop that card: give another alias")
            if own:
                # The alias was a bare task (made by an ingest): fold its records into the canonical task.
                c.execute("UPDATE OR IGNORE records SET task=? WHERE task=?", (task, alias))
                if c.execute("SELECT 1 FROM records WHERE task=?", (alias,)).fetchone():
                    raise FennecInputError(f"--alias {alias!r}: its records conflict with records of {task!r}")
                # Image statistics move too; where the canonical task already has some from the same proxy, its
                # own are kept (they describe the task under its real name) and the alias's are dropped.
                c.execute("UPDATE OR IGNORE task_images SET task=? WHERE task=?", (task, alias))
                c.execute("DELETE FROM task_images WHERE task=?", (alias,))
                c.execute("UPDATE task_aliases SET task=? WHERE task=?", (task, alias))
                c.execute("DELETE FROM tasks WHERE name=?", (alias,))
        self._alias_cache = None

    def task_names(self) -> list[str]:
        """All canonical task names, sorted."""
        return [r[0] for r in self.conn.execute("SELECT name FROM tasks ORDER BY name")]

    def _unknown_task(self, name: str, canon: str) -> FennecInputError:
        """The error for a task name that is not in the store, with close matches when there are some."""
        import difflib

        close = difflib.get_close_matches(canon, self.task_names(), n=3, cutoff=0.5)
        hint = (f"; did you mean {', '.join(close)}? (add a new task with `fennec tasks add`)" if close
                else "; add it with `fennec tasks add`")
        return FennecInputError(f"task {name!r}: not in the store {str(self.path)!r}{hint}")

    def task_card(self, name: str) -> TaskCard:
        """The card of a task (any alias spelling), with the image statistics stored for it.

        Raises:
            FennecInputError: for an unknown task.
        """
        canon = self.canonical_task(name)
        row = self.conn.execute(f"SELECT {_CARD_COLUMNS} FROM tasks WHERE name=?", (canon,)).fetchone()
        if row is None:
            raise self._unknown_task(name, canon)
        aliases = [r[0] for r in self.conn.execute(
            "SELECT alias FROM task_aliases WHERE task=? ORDER BY alias", (canon,))]
        images = self._read_images("WHERE task=?", (canon,)).get(canon, {})
        return _card(row, aliases, images)

    def task_cards(self, *, images: bool = False) -> dict[str, TaskCard]:
        """Every task's card, keyed by canonical name (sorted).

        Args:
            images: Also read the image statistics stored for each task into its ``image_parts`` (as
                :meth:`task_card` does). Off by default: the vectors are thousands of floats per (task, proxy)
                and only readers that train or evaluate on them (``train``, the evaluation protocols) need them;
                without, every card's ``image_parts`` is empty.
        """
        # Three queries at most, whatever the number of tasks: training reads every card.
        aliases: dict[str, list[str]] = {}
        for alias, task in self.conn.execute("SELECT alias, task FROM task_aliases ORDER BY alias"):
            aliases.setdefault(task, []).append(alias)
        parts = self.task_images() if images else {}
        return {row[0]: _card(row, aliases.get(row[0], []), parts.get(row[0], {}))
                for row in self.conn.execute(f"SELECT {_CARD_COLUMNS} FROM tasks ORDER BY name")}

    # -- task images ------------------------------------------------------------------------------------
    def add_task_image(self, task: str, proxy: str, part: np.ndarray, *, n_probe: int = 0,
                       fingerprint: str = "") -> None:
        """Store what a proxy saw of a task's images, replacing an earlier vector of the same (task, proxy).

        Args:
            task: A task in the store (any alias spelling).
            proxy: Image encoder id the statistics come from (``TaskDescriptor.proxy``).
            part: The image part of the task's descriptor (``TaskDescriptor.parts["image"]``), shape (2 * di + 8,);
                stored as float32.
            n_probe: Number of probe images behind the statistics.
            fingerprint: Fingerprint of the task's images (``Task.fingerprint``), to tell later which data it was.

        Raises:
            FennecInputError: for an unknown task, an empty proxy id, a negative ``n_probe``, or a part that is not
                a finite 1-D float vector.
        """
        canon = self.canonical_task(task)
        where = f"image statistics of task {task!r} from {proxy!r}"
        if not str(proxy).strip():
            raise FennecInputError(f"{where}: empty proxy id; give the encoder id, e.g. 'timm:tf_efficientnet_lite0'")
        if isinstance(n_probe, bool) or not isinstance(n_probe, int | np.integer) or n_probe < 0:
            raise FennecInputError(f"{where}: n_probe must be a non-negative integer, got {n_probe!r}")
        arr = np.asarray(part)
        if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind != "f":
            raise FennecInputError(f"{where}: expected a non-empty 1-D float vector, got shape {arr.shape} "
                                   f"dtype {arr.dtype}; pass the descriptor's parts['image']")
        # Checked after the cast: a float64 beyond float32's range would be stored as inf (refused just below).
        with np.errstate(over="ignore", invalid="ignore"):
            vec = arr.astype(_VECTOR_DTYPE)
        if not np.isfinite(vec).all():
            raise FennecInputError(f"{where}: {int((~np.isfinite(vec)).sum())} non-finite value(s) (NaN or inf, "
                                   "or beyond float32); recompute the statistics")
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM tasks WHERE name=?", (canon,)).fetchone() is None:
                raise self._unknown_task(task, canon)
            c.execute("INSERT OR REPLACE INTO task_images(task, proxy, vector, dim, n_probe, fingerprint, added_at) "
                      "VALUES (?,?,?,?,?,?,?)", (canon, str(proxy), vec.tobytes(), int(vec.shape[0]), int(n_probe),
                                                  str(fingerprint), _now()))

    def task_images(self) -> dict[str, dict[str, np.ndarray]]:
        """Stored image statistics: canonical task name -> proxy id -> float32 vector of shape (dim,).

        Raises:
            FennecInputError: for a damaged row (a vector whose length is not its recorded ``dim``).
        """
        return self._read_images("", ())

    def task_image_info(self, task: str) -> dict[str, dict[str, Any]]:
        """Where a task's image statistics came from, by proxy id: ``dim``, ``n_probe``, ``fingerprint``,
        ``added_at`` (not on the card: the transfer space only needs the vectors)."""
        canon = self.canonical_task(task)
        return {proxy: {"dim": dim, "n_probe": n_probe, "fingerprint": fp, "added_at": at}
                for proxy, dim, n_probe, fp, at in self.conn.execute(
                    "SELECT proxy, dim, n_probe, fingerprint, added_at FROM task_images WHERE task=? ORDER BY proxy",
                    (canon,))}

    def _read_images(self, where: str, args: Sequence[Any]) -> dict[str, dict[str, np.ndarray]]:
        out: dict[str, dict[str, np.ndarray]] = {}
        for task, proxy, blob, dim in self.conn.execute(
                f"SELECT task, proxy, vector, dim FROM task_images {where} ORDER BY task, proxy", tuple(args)):
            if len(blob) != int(dim) * _VECTOR_DTYPE.itemsize:
                raise FennecInputError(f"{self.name} {str(self.path)!r}: image statistics of task {task!r} from "
                                       f"{proxy!r} are damaged ({len(blob)} bytes for {dim} dims); store them "
                                       "again with `fennec tasks add-images`")
            # frombuffer gives a read-only view of the bytes; callers get a writable native float32 array.
            out.setdefault(task, {})[proxy] = np.frombuffer(blob, dtype=_VECTOR_DTYPE).astype(np.float32)
        return out

    # -- models -----------------------------------------------------------------------------------------
    def add_model(self, model: ModelAlias | ModelInfo, metadata: dict[str, Any] | None = None, *,
                  pretraining_given: bool = False) -> str:
        """Add a model if new; return its id. A stored model without a pre-training text takes the new one.

        Args:
            model: The model.
            metadata: Extra metadata of a new model.
            pretraining_given: The pre-training text was given (a records file's column), not derived from the id:
                one that differs from the stored text is then a conflict, not a default that defers to it.

        Raises:
            FennecInputError: when the id is stored with a different architecture, or a given pre-training text.
        """
        if isinstance(model, ModelAlias):
            mid, name, arch, pre = model.model_id, model.published_name, model.architecture, model.pretraining
        else:
            mid, name, arch, pre = model.id, model.name, model.architecture, model.pretraining
            metadata = metadata or model.metadata
        with self.transaction() as c:
            row = c.execute("SELECT architecture, pretraining FROM models WHERE id=?", (mid,)).fetchone()
            if row is None:
                c.execute("INSERT INTO models VALUES (?,?,?,?,?)", (mid, name, arch, pre, json.dumps(metadata or {})))
            elif row[0] != arch:
                raise FennecInputError(f"model {mid!r}: architecture {arch!r} conflicts with the stored {row[0]!r}")
            elif pretraining_given and pre and row[1] and pre != row[1]:
                raise FennecInputError(f"model {mid!r}: pre-training {pre!r} conflicts with the stored {row[1]!r}; "
                                       "a model pre-trained otherwise needs an id of its own (local:NAME)")
            elif pre and not row[1]:
                c.execute("UPDATE models SET pretraining=? WHERE id=?", (pre, mid))
        return mid

    def models(self) -> list[ModelInfo]:
        """Every model with its architecture and pre-training text, sorted by id."""
        return [ModelInfo(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in
                self.conn.execute("SELECT id, name, architecture, pretraining, metadata FROM models ORDER BY id")]

    def model(self, model_id: str) -> ModelInfo:
        """One model's metadata (by id or published name)."""
        r = self.conn.execute("SELECT id, name, architecture, pretraining, metadata FROM models WHERE id=? OR "
                              "name=? ORDER BY id=? DESC", (model_id, model_id, model_id)).fetchone()
        if r is None:
            raise FennecInputError(f"model {model_id!r}: not in the store {str(self.path)!r}")
        return ModelInfo(r[0], r[1], r[2], r[3], json.loads(r[4]))

    # -- records ----------------------------------------------------------------------------------------
    def find_record(self, benchmark: str, model: str, task: str, metric: str) -> tuple[float, str, str] | None:
        """(value, source, protocol) of the stored record with this key, or None."""
        row = self.conn.execute("SELECT value, source, protocol FROM records WHERE benchmark=? AND model=? AND "
                                "task=? AND metric=?", (benchmark, model, task, metric)).fetchone()
        return (float(row[0]), row[1], row[2]) if row else None

    def insert_record(self, rec: Record, dataset_name: str | None = None) -> bool:
        """Insert one record unless a record with its key exists; return True when added.

        ``rec.dataset`` should be a canonical task name (see :meth:`ensure_task`); a task row is created if missing.
        The model must have been added (:meth:`add_model`). Call inside :meth:`transaction` to batch inserts.
        """
        value = check_record(rec)
        self.conn.execute("INSERT OR IGNORE INTO tasks(name) VALUES (?)", (rec.dataset,))
        try:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO records(benchmark, model, task, dataset_name, metric, value, protocol, source, "
                "ingested_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (rec.benchmark, rec.model, rec.dataset, dataset_name or rec.dataset, rec.metric, value,
                 rec.protocol, rec.source, _now()))
        except sqlite3.IntegrityError:  # the only constraint a checked record can miss: its model's row
            raise FennecInputError(f"record of model {rec.model!r}: the model is not in the store; add it first "
                                   "(RecordStore.add_model)") from None
        return cur.rowcount > 0

    def records(self, benchmark: str | None = None, *, dataset: str | None = None, model: str | None = None,
                metric: str | None = None) -> list[Record]:
        """Stored records, optionally filtered; ``dataset`` may be any alias spelling.

        Returns:
            List of :class:`Record` (model id, canonical dataset name, benchmark, metric, value, source, protocol),
            ordered by benchmark, dataset, model, metric.
        """
        where, args = [], []
        for col, val in (("benchmark", benchmark), ("model", model), ("metric", metric)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        if dataset is not None:
            where.append("task=?")
            args.append(self.canonical_task(dataset))
        sql = "SELECT model, task, benchmark, metric, value, source, protocol FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY benchmark, task, model, metric"
        return [Record(*row) for row in self.conn.execute(sql, args)]

    def benchmarks(self) -> dict[str, dict[str, int]]:
        """Per benchmark: number of records, models and datasets."""
        rows = self.conn.execute("SELECT benchmark, COUNT(*), COUNT(DISTINCT model), COUNT(DISTINCT task) FROM "
                                 "records GROUP BY benchmark ORDER BY benchmark").fetchall()
        return {b: {"records": n, "models": m, "datasets": d} for b, n, m, d in rows}

    def stats(self) -> dict[str, Any]:
        """Counts of everything in the store."""
        one = self.conn.execute
        return {"path": str(self.path), "schema_version": self.schema_version(),
                "records": one("SELECT COUNT(*) FROM records").fetchone()[0],
                "models": one("SELECT COUNT(*) FROM models").fetchone()[0],
                "tasks": one("SELECT COUNT(*) FROM tasks").fetchone()[0],
                "task_cards": one("SELECT COUNT(*) FROM tasks WHERE description != ''").fetchone()[0],
                "benchmarks": self.benchmarks()}

    def log_ingest(self, file: str, sha256: str, rows_added: int) -> None:
        self.conn.execute("INSERT INTO ingests(file, sha256, rows_added, at) VALUES (?,?,?,?)",
                          (file, sha256, rows_added, _now()))

    def export_csv(self, path: str | os.PathLike[str], benchmark: str | None = None) -> int:
        """Write records as tidy CSV (model ids, canonical dataset names, architecture, pre-training and protocol
        atomically; return the number of rows. The file re-ingests into an equal store."""
        from fennec.io import atomic_open

        models = {m.id: m for m in self.models()}
        recs = self.records(benchmark)
        with atomic_open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["benchmark", "model", "dataset", "metric", "value", "source", "architecture", "pretraining",
                        "protocol"])
            for r in recs:
                m = models[r.model]
                w.writerow([r.benchmark, r.model, r.dataset, r.metric, repr(float(r.value)), r.source,
                            m.architecture, m.pretraining, r.protocol])
        return len(recs)
