"""The SQLite connection: pragmas, the sm_terms SQL function, and named migrations applied in order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from secondme.errors import StoreError
from secondme.memory import backups, origins
from secondme.memory.crypto import Cipher
from secondme.memory.terms import tokens

_KEY_CHECK = "secondme key check"


def payload_terms(cipher: Cipher, payload: bytes) -> str:
    """The space-joined keyed hashes of an encrypted payload's words: what FTS5 indexes."""
    fields = json.loads(cipher.decrypt(payload))
    text = " ".join([fields["title"], fields["text"], fields["place"], *fields["people"]])
    return " ".join(cipher.term(token) for token in tokens(text))


def _create_records(db: sqlite3.Connection) -> None:
    """Records: metadata in the clear, text, title, people and place encrypted in `payload`."""
    db.execute(
        """CREATE TABLE records (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            origin TEXT NOT NULL,
            kind TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            time TEXT NOT NULL,
            time_ts REAL NOT NULL,
            sensitivity TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at TEXT NOT NULL,
            embedded INTEGER NOT NULL DEFAULT 0,
            UNIQUE (origin, source_id, content_hash)
        )"""
    )
    db.execute("CREATE INDEX records_origin ON records (origin)")
    db.execute("CREATE INDEX records_time ON records (time_ts)")
    db.execute("CREATE INDEX records_source ON records (source)")
    db.execute("CREATE INDEX records_pending ON records (rowid) WHERE embedded = 0")
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _create_fts(db: sqlite3.Connection) -> None:
    """FTS5 over keyed term hashes only, kept in step with records by triggers."""
    db.execute("CREATE VIRTUAL TABLE records_fts USING fts5(terms, tokenize='unicode61')")
    db.execute(
        """CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
            INSERT INTO records_fts (rowid, terms) VALUES (new.rowid, sm_terms(new.payload));
        END"""
    )
    db.execute(
        """CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
            DELETE FROM records_fts WHERE rowid = old.rowid;
        END"""
    )
    db.execute(_FTS_UPDATE)


_FTS_UPDATE = """CREATE TRIGGER records_fts_update AFTER UPDATE OF payload ON records BEGIN
    UPDATE records_fts SET terms = sm_terms(new.payload) WHERE rowid = new.rowid;
END"""


def _create_memory_links(db: sqlite3.Connection) -> None:
    """Links from summaries to what they summarise, which records newer ones replaced, the owner's
    standing instructions (encrypted) and the guests who may see private memories."""
    db.execute(
        """CREATE TABLE summary_links (
            summary_id TEXT NOT NULL, record_id TEXT NOT NULL, PRIMARY KEY (summary_id, record_id))"""
    )
    db.execute("CREATE INDEX summary_links_record ON summary_links (record_id)")
    db.execute(
        """CREATE TABLE supersessions (
            record_id TEXT PRIMARY KEY, superseded_by TEXT NOT NULL, noted_at TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE instructions (
            id TEXT PRIMARY KEY, payload BLOB NOT NULL, created_at TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1)"""
    )
    db.execute(
        """CREATE TABLE guests (
            name TEXT PRIMARY KEY, allow_private INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)"""
    )


def _create_consolidation(db: sqlite3.Connection) -> None:
    """The profile's statements (text encrypted, `text_hash` keyed so a deleted one is not re-added)
    and the queue of consolidation steps whose model output failed, kept for a later retry."""
    db.execute(
        """CREATE TABLE profile_statements (
            id TEXT PRIMARY KEY, section TEXT NOT NULL, payload BLOB NOT NULL, text_hash TEXT NOT NULL UNIQUE,
            sensitivity TEXT NOT NULL DEFAULT 'normal', pinned INTEGER NOT NULL DEFAULT 0,
            user_edited INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
            sources TEXT NOT NULL DEFAULT '[]', updated_at TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE consolidation_failures (
            step TEXT NOT NULL, record_ids TEXT NOT NULL, error TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 1, failed_at TEXT NOT NULL, PRIMARY KEY (step, record_ids))"""
    )


def _create_consolidation_steps(db: sqlite3.Connection) -> None:
    """The topic each segment was filed under (its topic is written later in the run) and the
    segments the profile has read."""
    db.execute("CREATE TABLE segment_topics (segment_id TEXT PRIMARY KEY, title TEXT NOT NULL)")
    db.execute("CREATE TABLE profile_done (segment_id TEXT PRIMARY KEY)")


def _create_chat_owners(db: sqlite3.Connection) -> None:
    """Who the owner is in each chat source (whatsapp, telegram...): the name encrypted, and how it was learnt."""
    db.execute(
        """CREATE TABLE chat_owners (
            source TEXT PRIMARY KEY, payload BLOB NOT NULL, how TEXT NOT NULL, updated_at TEXT NOT NULL)"""
    )


def _create_companion(db: sqlite3.Connection) -> None:
    """The proactive companion: working memory versions, follow-ups, delivered check-ins, mutes and
    its small state (how far it has read). Texts are encrypted; topics are keyed hashes."""
    db.execute(
        """CREATE TABLE working_memory (
            version INTEGER PRIMARY KEY, payload BLOB NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL,
            created_at TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE followups (
            id TEXT PRIMARY KEY, record_id TEXT NOT NULL, topic_key TEXT NOT NULL, payload BLOB NOT NULL,
            event_at TEXT NOT NULL, due_at TEXT NOT NULL, due_ts REAL NOT NULL, precision TEXT NOT NULL,
            sensitivity TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT,
            UNIQUE (topic_key, due_at))"""
    )
    db.execute("CREATE INDEX followups_due ON followups (status, due_ts)")
    db.execute(
        """CREATE TABLE checkins (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, followup_id TEXT NOT NULL, topic_key TEXT NOT NULL,
            payload BLOB NOT NULL, conversation_id TEXT NOT NULL, delivered_at TEXT NOT NULL,
            delivered_ts REAL NOT NULL, seq INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0)"""
    )
    db.execute(
        """CREATE TABLE companion_mutes (
            topic_key TEXT PRIMARY KEY, payload BLOB NOT NULL, until_ts REAL, created_at TEXT NOT NULL)"""
    )
    db.execute("CREATE TABLE companion_state (name TEXT PRIMARY KEY, value TEXT NOT NULL)")



def _create_places(db: sqlite3.Connection) -> None:
    """Places visits were made to (coordinates, name and role encrypted) and each stored day of visits
    (its stays and their places, encrypted; a keyed hash of the labels it was rendered with)."""
    db.execute("CREATE TABLE places (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, created_at TEXT NOT NULL)")
    db.execute("CREATE TABLE place_days (origin TEXT PRIMARY KEY, payload BLOB NOT NULL, signature TEXT NOT NULL)")


def _key_identities(db: sqlite3.Connection) -> None:
    """Source ids and origins can carry content (a note's headings, a speaker, a file or chat name): the
    clear values move into the encrypted payloads, the columns keep keyed hashes (origins.py). The
    searchable words do not change: the FTS update trigger is left out meanwhile (half the time)."""
    db.execute("DROP TRIGGER records_fts_update")
    db.execute(
        "UPDATE records SET payload = sm_encrypt(json_set(sm_decrypt(payload), '$.source_id', source_id, "
        "'$.origin', sm_legacy_origin(origin))), source_id = sm_identifier(source_id), "
        "origin = sm_origin_key(sm_legacy_origin(origin))"
    )
    db.execute(_FTS_UPDATE)
    db.execute(
        "UPDATE place_days SET payload = sm_encrypt(json_set(sm_decrypt(payload), '$.origin', "
        "sm_legacy_origin(origin))), origin = sm_origin_key(sm_legacy_origin(origin))"
    )


def _rebuild(db: sqlite3.Connection, table: str, columns: str, select: str) -> None:
    """Replace a table by one of new columns filled by `select` (run on the old one)."""
    db.execute(f"CREATE TABLE {table}_new ({columns})")
    db.execute(f"INSERT INTO {table}_new {select} FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")


def _seal_names(db: sqlite3.Connection) -> None:
    """Topic titles, failed model answers, the companion's state (its last message) and guests' names
    were clear: encrypted (a guest found by the keyed hash of the casefolded name)."""
    _rebuild(db, "segment_topics", "segment_id TEXT PRIMARY KEY, payload BLOB NOT NULL",
             "SELECT segment_id, sm_encrypt(title)")
    _rebuild(db, "companion_state", "name TEXT PRIMARY KEY, payload BLOB NOT NULL", "SELECT name, sm_encrypt(value)")
    _rebuild(db, "consolidation_failures",
             "step TEXT NOT NULL, record_ids TEXT NOT NULL, payload BLOB NOT NULL, attempts INTEGER NOT NULL "
             "DEFAULT 1, failed_at TEXT NOT NULL, PRIMARY KEY (step, record_ids)",
             "SELECT step, record_ids, sm_encrypt(error), attempts, failed_at")
    guests = db.execute("SELECT name, allow_private, created_at FROM guests").fetchall()
    db.execute("DROP TABLE guests")
    db.execute(
        """CREATE TABLE guests (
            key TEXT PRIMARY KEY, payload BLOB NOT NULL, allow_private INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL)"""
    )
    db.executemany(
        "INSERT OR IGNORE INTO guests VALUES (sm_identifier(?), sm_encrypt(?), ?, ?)",
        [(name.casefold(), name, allow, created) for name, allow, created in guests],
    )


def _functions(db: sqlite3.Connection, cipher: Cipher) -> None:
    """The SQL functions of the FTS triggers (sm_terms) and of the migrations that encrypt what was clear."""
    db.create_function("sm_terms", 1, lambda blob: payload_terms(cipher, blob), deterministic=True)
    db.create_function("sm_encrypt", 1, cipher.encrypt)
    db.create_function("sm_decrypt", 1, cipher.decrypt, deterministic=True)
    db.create_function("sm_identifier", 1, cipher.identifier, deterministic=True)
    db.create_function("sm_origin_key", 1, lambda origin: origins.key(cipher.identifier, origin), deterministic=True)
    db.create_function("sm_legacy_origin", 1, origins.legacy)


Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = [
    ("create_records", _create_records),
    ("create_fts", _create_fts),
    ("create_memory_links", _create_memory_links),
    ("create_consolidation", _create_consolidation),
    ("create_consolidation_steps", _create_consolidation_steps),
    ("create_chat_owners", _create_chat_owners),
    ("create_companion", _create_companion),
    ("create_places", _create_places),
    ("key_identities", _key_identities),
    ("seal_names", _seal_names),
]
# Migrations that rewrite clear content: the old text must not stay in free pages or the write-ahead log.
_ERASING = {"key_identities", "seal_names"}


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded, in order, each in its own transaction; their names."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {name for (name,) in db.execute("SELECT name FROM migrations")}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        with db:
            db.execute("BEGIN")
            migration(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        applied.append(name)
    return applied


def _check_key(db: sqlite3.Connection, cipher: Cipher, path: Path) -> None:
    expected = cipher.keyed_hash(_KEY_CHECK)
    row = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
    if row is None:
        with db:
            db.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)", (expected,))
    elif row[0] != expected:
        raise StoreError(
            f"the encryption key does not open {path}: it was written with another key "
            "(another keyring, data dir or SECONDME_KEYRING_PASSPHRASE?)"
        )


def open_db(path: Path, cipher: Cipher) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the store's database; StoreError naming the file on a
    wrong key or a damaged file (see backups.check_file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backups.check_file(path)
    try:
        return _open(path, cipher)
    except sqlite3.DatabaseError as error:
        hint = f": {backups.advice(path.parent)}" if backups.is_damage(error) else ""
        raise StoreError(f"cannot open the database {path}: {error}{hint}") from error


def _open(path: Path, cipher: Cipher) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA secure_delete = ON")  # deleted rows are zeroed, not left readable in free space
        _functions(db, cipher)
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            _check_key(db, cipher, path)  # before a migration decrypts with a wrong key
        if _ERASING & set(migrate(db)):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _check_key(db, cipher, path)
    except BaseException:
        db.close()
        raise
    return db
