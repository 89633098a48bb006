"""The MiniLM embedder with the real int8 ONNX model from its package."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from secondme.core.protocols import Embedder
from secondme.errors import ModelError
from secondme.models import embedder as embedder_module
from secondme.models.embedder import MiniLMEmbedder


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_paraphrases_are_closer_than_unrelated_texts(embedder: MiniLMEmbedder) -> None:
    assert isinstance(embedder, Embedder) and embedder.dimension == 384
    cat, rug, tax = np.array(
        embedder.embed(["The cat sits on the mat.", "A cat is sitting on a rug.", "File your taxes by April."])
    )
    assert np.allclose([np.linalg.norm(v) for v in (cat, rug, tax)], 1.0, atol=1e-5)
    assert cat @ rug > 0.6 > 0.2 > cat @ tax


def test_batching_by_length_keeps_order(embedder: MiniLMEmbedder) -> None:
    texts = ["short", "a much longer sentence about gardening in spring " * 5, "medium length text here"]
    together = np.array(MiniLMEmbedder(batch_size=2).embed(texts))
    alone = np.array([embedder.embed([text])[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-4)
    assert embedder.embed([]) == []


def test_long_text_is_truncated_not_rejected(embedder: MiniLMEmbedder) -> None:
    assert len(embedder.embed(["word " * 5000])[0]) == 384


def test_embeds_200_sentences_and_reports_rate(embedder: MiniLMEmbedder) -> None:
    texts = [f"Note {i}: met Sam about topic {i % 9} and agreed on next steps for week {i % 52}." for i in range(200)]
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    rate = len(texts) / (time.perf_counter() - start)
    print(f"\nembedded {len(vectors)} sentences at {rate:.0f}/s", file=sys.stderr)
    assert len(vectors) == 200


def test_corrupt_model_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="corrupt"):
        embedder_module._verify(bad)
