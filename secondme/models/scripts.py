"""Keeps the Qwen models in the user's script: they drift into Chinese mid-sentence ("job培训",
"their社区") in English summaries. While a conversation holds no CJK text, the tokens that would
write CJK are banned; a user who writes Chinese, Japanese or Korean gets them back."""

from __future__ import annotations

import ctypes
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from secondme.core.protocols import ChatMessage

# CJK symbols, kana, Hangul and ideographs (U+3000-U+D7FF) and the full-width forms (U+FF00-U+FFEF).
_CJK = re.compile("[\u3000-\ud7ff\uff00-\uffef]")
# Byte-level BPE splits rare characters into pieces, so tokens are judged by their bytes: 0xE3-0xED only
# ever lead a UTF-8 sequence of U+3000-U+DFFF, and the full-width forms begin EF BC or EF BD.
_LEADS = bytes(range(0xE3, 0xEE))
_FULL_WIDTH = (b"\xef\xbc", b"\xef\xbd")


def uses_cjk(messages: Sequence[ChatMessage]) -> bool:
    """Whether any message holds CJK text."""
    return any(_CJK.search(message.get("content") or "") for message in messages)


def writes_cjk(piece: bytes) -> bool:
    """Whether a token's bytes start or hold a CJK character."""
    return any(byte in _LEADS for byte in piece) or any(mark in piece for mark in _FULL_WIDTH)


def cjk_tokens(llama_cpp: Any, vocab: Any, n_vocab: int) -> np.ndarray:
    """The ids of the tokens that write CJK, from the model's vocabulary (0.3 s for Qwen's 152k)."""
    buffer = ctypes.create_string_buffer(256)
    found = []
    for token in range(n_vocab):
        size = llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, True)
        if size > 0 and writes_cjk(buffer.raw[:size]):
            found.append(token)
    return np.asarray(found, dtype=np.int64)
