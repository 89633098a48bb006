"""The vector index: a chromadb collection of record ids, embeddings and filter metadata, no text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from secondme.errors import StoreError

COLLECTION = "records"
Metadata = Mapping[str, str | float]


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


class VectorIndex:
    """Cosine nearest neighbours over a chromadb collection; the store passes every embedding in."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._collection = self._open()

    @classmethod
    def persistent(cls, path: Path) -> VectorIndex:
        """A local index kept in `path`; StoreError naming it when it cannot be opened (damaged)."""
        import chromadb

        try:
            return cls(chromadb.PersistentClient(path=str(path), settings=_settings()))
        except Exception as error:  # chromadb raises InternalError, sqlite3 and Rust errors and more
            raise StoreError(
                f"cannot open the vector index {path}: {error}. It is rebuilt from the database: rename the "
                "folder (keep it until the rebuild is done), then run `secondme reindex`"
            ) from error

    @classmethod
    def remote(cls, url: str) -> VectorIndex:
        """An index on a chroma server, for users who outgrow one machine."""
        from urllib.parse import urlsplit

        import chromadb

        parts = urlsplit(url)
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=_settings(),
            )
            return cls(client)
        except Exception as error:  # chromadb raises ValueError, httpx errors and more
            raise StoreError(f"cannot use the chroma server at {url}: {error}") from error

    def _open(self) -> Any:
        return self._client.get_or_create_collection(
            COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    def add(self, ids: Sequence[str], vectors: Sequence[Sequence[float]], metadatas: Sequence[Metadata]) -> None:
        """Add or overwrite entries by id (so repeating an add is harmless)."""
        step = self._client.get_max_batch_size()
        for start in range(0, len(ids), step):
            end = start + step
            self._collection.upsert(
                ids=list(ids[start:end]),
                embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                metadatas=[dict(m) for m in metadatas[start:end]],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove entries; unknown ids are ignored."""
        if ids:
            self._collection.delete(ids=list(ids))

    def query(self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The `k` nearest ids with their cosine distances, nearest first, among entries matching `where`."""
        if k <= 0 or self.count() == 0:
            return []
        result = self._collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=k,
            where=where or None,
            include=["distances"],
        )
        return list(zip(result["ids"][0], result["distances"][0], strict=True))

    def nearest_among(self, vector: Sequence[float], ids: Sequence[str], k: int) -> list[str]:
        """The `k` of `ids` nearest to `vector`, by exhaustive comparison; ids not indexed are left out."""
        if not ids or k <= 0:
            return []
        found = self._collection.get(ids=list(ids), include=["embeddings"])
        if not found["ids"]:
            return []
        matrix = np.asarray(found["embeddings"], dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        similarity = matrix @ query / np.maximum(np.linalg.norm(matrix, axis=1) * np.linalg.norm(query), 1e-12)
        best = np.argsort(-similarity, kind="stable")[:k]
        return [found["ids"][i] for i in best]

    def ids(self) -> set[str]:
        """Every id in the index."""
        return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        """How many entries the index holds."""
        return self._collection.count()

    def reset(self) -> None:
        """Drop every entry (by dropping and recreating the collection)."""
        self._client.delete_collection(COLLECTION)
        self._collection = self._open()
