"""The memory store: encrypted records in SQLite (the truth), FTS5 by trigger, vectors in chromadb.

A record's source id and origin can carry content (a note's headings, a speaker, a file name): they are
kept in the encrypted payload, and their columns hold keyed hashes (see origins.py), enough to find them."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from secondme.core.protocols import Embedder
from secondme.core.types import NewRecord, Record, SearchHit, Sensitivity
from secondme.errors import StoreError
from secondme.memory import backups, origins
from secondme.memory import search as retrieval
from secondme.memory.crypto import Cipher
from secondme.memory.db import open_db
from secondme.memory.vectors import VectorIndex
from secondme.progress import Progress, ProgressCallback, no_progress

_COLUMNS = "id, source, kind, content_hash, time, sensitivity, payload"


@dataclass(frozen=True)
class AddResult:
    """What an add changed: the ids of new records, and how many were already stored."""

    added: list[str]
    skipped: int
    removed: int = 0


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)  # a naive time is taken as local time


def _payload(record: NewRecord) -> str:
    """The JSON of a record's encrypted fields."""
    fields = {"text": record.text, "title": record.title, "people": list(record.people), "place": record.place,
              "source_id": record.source_id, "origin": record.origin}
    if record.speaker or record.links:  # left out when empty, so older records keep their hashes
        fields |= {"speaker": record.speaker, "links": list(record.links)}
    return json.dumps(fields, ensure_ascii=False)


class MemoryStore:
    """Records in, hybrid search out. Writes go through one lock: a single serialized lane."""

    def __init__(self, data_dir: Path, cipher: Cipher, embedder: Embedder, vectors: VectorIndex | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._cipher = cipher
        self._embedder = embedder
        self._path = data_dir / "memory.db"
        self._db = open_db(self._path, cipher)
        self._lock = threading.Lock()
        try:
            backups.take_if_due(self._db, self._path)
            self._vectors = vectors if vectors is not None else VectorIndex.persistent(data_dir / "chroma")
            self._requeue_lost_vectors()
        except BaseException:
            self._db.close()
            raise

    def _requeue_lost_vectors(self) -> None:
        """Mark pending again the records marked embedded whose vectors are gone (a deleted or emptied
        vector index), so that reindex or the next add embeds them; pending_vectors() reports them."""
        total, pending = self._db.execute(  # index scans only (~10 ms at 50,000 records)
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM records WHERE embedded = 0)"
        ).fetchone()
        if self._vectors.count() >= total - pending:
            return
        present = self._vectors.ids()
        lost = [(i,) for (i,) in self._db.execute("SELECT id FROM records WHERE embedded = 1") if i not in present]
        with self._transaction():
            self._db.executemany("UPDATE records SET embedded = 0 WHERE id = ?", lost)

    def pending_vectors(self) -> int:
        """How many records are not in the vector index (found by keywords only until they are embedded)."""
        return self._scalar_rows("SELECT count(*) FROM records WHERE embedded = 0")[0][0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield

    def origin_key(self, origin: str) -> str:
        """The stored (keyed) form of an origin, for queries on the `origin` column."""
        return origins.key(self._cipher.identifier, origin)

    def source_key(self, source_id: str) -> str:
        """The stored (keyed) form of a source id, for queries on the `source_id` column."""
        return self._cipher.identifier(source_id)

    def part_pattern(self, part: str) -> str:
        """A LIKE pattern of the stored origins of every file's part `part` (a day of visits: "2024-05-01")."""
        return f"%#{self._cipher.identifier(part)}"

    def content_hash(self, record: NewRecord) -> str:
        """The keyed hash of everything in a record but its source, source_id and origin."""
        content = [record.kind, _utc(record.time).isoformat(), record.title, record.text]
        content += [list(record.people), record.place, str(record.sensitivity)]
        if record.speaker or record.links:  # left out when empty, so older records keep their hashes
            content += [record.speaker, list(record.links)]
        return self._cipher.keyed_hash(json.dumps(content, ensure_ascii=False))

    def _insert(self, records: Sequence[NewRecord]) -> tuple[list[str], int]:
        """Insert, inside the caller's transaction, the records not stored yet: (new ids, skipped)."""
        added: list[str] = []
        now = datetime.now(UTC).isoformat()
        for record in records:
            moment = _utc(record.time)
            payload = _payload(record)
            record_id = uuid.uuid4().hex
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO records (id, source, source_id, origin, kind, content_hash, time, "
                "time_ts, sensitivity, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record_id,
                    record.source,
                    self.source_key(record.source_id),
                    self.origin_key(record.origin),
                    record.kind,
                    self.content_hash(record),
                    moment.isoformat(),
                    moment.timestamp(),
                    str(record.sensitivity),
                    self._cipher.encrypt(payload),
                    now,
                ),
            )
            if cursor.rowcount:
                added.append(record_id)
        return added, len(records) - len(added)

    def _embed(self, ids: Sequence[str]) -> None:
        """Embed stored records into the vector index, then mark them embedded."""
        if not ids:
            return
        records = self.records(ids)
        vectors = self._embedder.embed([f"{r.title}\n{r.text}" if r.title else r.text for r in records])
        metadatas = [
            {"source": r.source, "time_ts": r.time.timestamp(), "sensitivity": str(r.sensitivity)} for r in records
        ]
        self._vectors.add([r.id for r in records], vectors, metadatas)
        with self._transaction():
            self._db.executemany("UPDATE records SET embedded = 1 WHERE id = ?", [(r.id,) for r in records])

    def _embed_pending(self, progress: ProgressCallback, batch_size: int) -> int:
        """Embed every record not in the vector index yet (left by a crash or a reindex)."""
        with self._lock:
            pending = [i for (i,) in self._db.execute("SELECT id FROM records WHERE embedded = 0 ORDER BY rowid")]
        for start in range(0, len(pending), batch_size):
            self._embed(pending[start : start + batch_size])
            progress(Progress("embedding", min(start + batch_size, len(pending)), len(pending), "records"))
        return len(pending)

    def add(
        self, records: Iterable[NewRecord], progress: ProgressCallback = no_progress, batch_size: int = 64
    ) -> AddResult:
        """Store new records, skipping those whose (origin, source_id, content hash) is stored already.

        Each batch is committed to SQLite as pending, embedded, then marked done: after a crash,
        running the add again (or any add, or reindex) finishes the job without duplicates.
        """
        self._embed_pending(progress, batch_size)
        items = list(records)
        added: list[str] = []
        skipped = 0
        for start in range(0, len(items), batch_size):
            with self._transaction():
                ids, already = self._insert(items[start : start + batch_size])
            self._embed(ids)
            added += ids
            skipped += already
            progress(Progress("adding", min(start + batch_size, len(items)), len(items), "records"))
        return AddResult(added=added, skipped=skipped)

    def replace_origin(
        self, origin: str, records: Sequence[NewRecord], progress: ProgressCallback = no_progress
    ) -> AddResult:
        """Make `origin` (a changed file) hold exactly `records`: in one SQLite transaction drop the
        stored ones not among them and insert the new ones; unchanged records keep their ids."""
        if any(r.origin not in ("", origin) for r in records):
            raise StoreError(f"replace_origin({origin!r}) was given records of another origin")
        with self._transaction():
            added, skipped, gone = self._replace(origin, records)
        self._vectors.delete(gone)
        self._embed_pending(progress, 64)
        return AddResult(added=added, skipped=skipped, removed=len(gone))

    def _replace(self, origin: str, records: Sequence[NewRecord]) -> tuple[list[str], int, list[str]]:
        """Inside the caller's transaction, make `origin` hold exactly `records`: (added, skipped, removed ids)."""
        records = [replace(r, origin=origin) for r in records]
        keep = {(self.source_key(r.source_id), self.content_hash(r)) for r in records}
        rows = self._db.execute(
            "SELECT id, source_id, content_hash FROM records WHERE origin = ?", (self.origin_key(origin),)
        ).fetchall()
        gone = [i for i, source_id, digest in rows if (source_id, digest) not in keep]
        self._db.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in gone])
        added, skipped = self._insert(records)
        return added, skipped, gone

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Several writes in one transaction (all or nothing); new records are embedded after the commit.

        Inside the block use only the Batch: the store's own methods would wait on its lock."""
        writes = Batch(self)
        with self._transaction():
            yield writes
        self._vectors.delete(writes.removed)
        self._embed_pending(no_progress, 64)

    def similarity(self, texts: Sequence[str], others: Sequence[str]) -> list[list[float]]:
        """Cosine similarity of each text to each other text, by the store's embedder."""
        if not texts or not others:
            return [[] for _ in texts]
        vectors = np.asarray(self._embedder.embed([*texts, *others]), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return (vectors[: len(texts)] @ vectors[len(texts):].T).tolist()

    def _record(self, row: tuple) -> Record:
        record_id, source, kind, content_hash, time, sensitivity, payload = row
        fields = json.loads(self._cipher.decrypt(payload))
        return Record(
            text=fields["text"],
            time=datetime.fromisoformat(time),
            source=source,
            source_id=fields["source_id"],
            kind=kind,
            origin=fields["origin"],
            title=fields["title"],
            people=tuple(fields["people"]),
            place=fields["place"],
            sensitivity=Sensitivity(sensitivity),
            speaker=fields.get("speaker", ""),
            links=tuple(fields.get("links", ())),
            id=record_id,
            content_hash=content_hash,
        )

    def get(self, record_id: str) -> Record | None:
        """The record with this id, or None."""
        found = self.records([record_id])
        return found[0] if found else None

    def records(self, ids: Sequence[str]) -> list[Record]:
        """The records with these ids, in the order given; unknown ids are left out."""
        rows: dict[str, tuple] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                for row in self._db.execute(f"SELECT {_COLUMNS} FROM records WHERE id IN ({marks})", chunk):
                    rows[row[0]] = row
        return [self._record(rows[i]) for i in ids if i in rows]

    def forget(self, record_id: str) -> bool:
        """Remove a record from SQLite, the keyword index and the vector index; False if unknown."""
        with self._transaction():
            deleted = self._db.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount
        self._vectors.delete([record_id])
        return bool(deleted)

    def update(self, record_id: str, text: str | None = None, sensitivity: Sensitivity | None = None) -> Record | None:
        """Rewrite a record's text and/or sensitivity (keyword and vector indexes follow); None if unknown."""
        record = self.get(record_id)
        if record is None:
            return None
        changed = replace(record, text=record.text if text is None else text,
                          sensitivity=record.sensitivity if sensitivity is None else Sensitivity(sensitivity))
        payload = self._cipher.encrypt(_payload(changed))
        with self._transaction():
            self._db.execute(
                "UPDATE records SET payload = ?, content_hash = ?, sensitivity = ?, embedded = 0 WHERE id = ?",
                (payload, self.content_hash(changed), str(changed.sensitivity), record_id))
        self._embed_pending(no_progress, 64)
        return self.get(record_id)

    def _scalar_rows(self, sql: str) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql).fetchall()

    def count(self) -> int:
        """How many records are stored."""
        return self._scalar_rows("SELECT count(*) FROM records")[0][0]

    def counts_by_source(self) -> dict[str, int]:
        """How many records each source holds."""
        return dict(self._scalar_rows("SELECT source, count(*) FROM records GROUP BY source ORDER BY source"))

    def origins(self) -> set[str]:
        """Every origin (file or conversation) with stored records (one record of each is decrypted)."""
        ids = [i for (i,) in self._scalar_rows("SELECT id FROM records WHERE rowid IN "
                                              "(SELECT min(rowid) FROM records GROUP BY origin)")]
        return {record.origin for record in self.records(ids)}

    def reindex(self, progress: ProgressCallback = no_progress, batch_size: int = 64, force: bool = False) -> int:
        """Drop the vector index and rebuild it from SQLite; the number of records embedded.

        Refused (unless `force`) when SQLite holds no records but the index does: an emptied database
        must not take the vectors with it."""
        if not force and self.count() == 0 and (held := self._vectors.count()):
            raise StoreError(
                f"the database {self._path} holds no records but the vector index holds {held:,}: rebuilding "
                "would delete them. If the database was damaged, `secondme restore` brings back a backup; "
                "`secondme reindex --force` rebuilds anyway"
            )
        self._vectors.reset()
        with self._transaction():
            self._db.execute("UPDATE records SET embedded = 0")
        return self._embed_pending(progress, batch_size)

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str = "hybrid",
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] | None = None,
        exclude_sensitivity: Sequence[str] = (),
        exclude_sources: Sequence[str] = (),
        query_vector: Sequence[float] | None = None,
    ) -> list[SearchHit]:
        """The `k` best records for `query`; `query_vector` skips embedding the query;
        `exclude_sources` are source families (see search.in_families)."""
        retrieval.check_mode(mode)
        filters = retrieval.Filters(since, until, sources, exclude_sensitivity, exclude_sources)
        limit = retrieval.candidates(k)
        rankings: dict[str, list[str]] = {}
        if mode in ("hybrid", "vector") and query_vector is None:
            query_vector = self._embedder.embed([query])[0]
        with self._lock:
            if mode in ("hybrid", "bm25"):
                rankings["bm25"] = retrieval.bm25_ranking(self._db, self._cipher, query, filters, limit)
            if query_vector is not None and mode in ("hybrid", "vector"):
                vectors = retrieval.vector_ranking(self._db, self._vectors, query_vector, filters, limit)
                rankings["vector"] = vectors
        fused = retrieval.fuse(rankings)
        hits: list[SearchHit] = []
        for start in range(0, len(fused), max(k, 1)):  # windows, in case the index holds stale ids
            window = fused[start : start + k]
            found = {r.id: r for r in self.records([record_id for record_id, _, _ in window])}
            hits += [SearchHit(found[i], score, ranks) for i, score, ranks in window if i in found]
            if len(hits) >= k:
                break
        return hits[:k]

    @property
    def cipher(self) -> Cipher:
        """The cipher of this store, for the small tables that live beside the records."""
        return self._cipher

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Rows of a read on the store's database, through its lock."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def write(self, sql: str, params: Sequence[object] = ()) -> int:
        """One write statement in its own transaction; the number of rows changed."""
        with self._transaction():
            return self._db.execute(sql, params).rowcount

    def close(self) -> None:
        """Close the database (checkpointing its write-ahead log)."""
        with self._lock:
            self._db.close()


class Batch:
    """The writes of one MemoryStore.batch() transaction: records and the rows of the tables beside them."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.removed: list[str] = []

    def add(self, records: Sequence[NewRecord]) -> list[str]:
        """Insert records not stored yet; their new ids."""
        return self._store._insert(records)[0]

    def replace_origin(self, origin: str, records: Sequence[NewRecord]) -> list[str]:
        """Make `origin` hold exactly `records`; the ids it holds afterwards, oldest first."""
        self.removed += self._store._replace(origin, records)[2]
        return [i for (i,) in self.rows("SELECT id FROM records WHERE origin = ? ORDER BY rowid",
                                        (self._store.origin_key(origin),))]

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Rows of a read inside the transaction."""
        return self._store._db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """One write statement; the number of rows changed."""
        return self._store._db.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """One write statement per row of parameters."""
        self._store._db.executemany(sql, rows)
