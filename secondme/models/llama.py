"""ChatModel on llama.cpp (llama-cpp-python), reusing evaluated prompt prefixes in memory and on disk."""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.errors import ModelError
from secondme.models.grammar_sampling import fast_llama_class
from secondme.models.json_answer import parse_answer
from secondme.models.prefix_cache import PrefixStore, capture, prefix_key, restore
from secondme.models.scripts import cjk_tokens, uses_cjk

_MIB = 1 << 20


def _file_identity(path: Path) -> str:
    """A cheap fingerprint of a model file: name, size and its first and last MiB."""
    digest = hashlib.sha256(f"{path.name}:{path.stat().st_size}".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_MIB))
        handle.seek(max(0, path.stat().st_size - _MIB))
        digest.update(handle.read(_MIB))
    return digest.hexdigest()


def _common_prefix(a: np.ndarray, b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != np.asarray(b[:n], dtype=a.dtype))
    return int(differ[0]) if len(differ) else n


def _template_formatters(llama: Any, formatter: Any) -> tuple[Any, Any] | None:
    """(without, with) generation prompt renderers of the GGUF's own chat template, as llama_cpp uses it."""
    name = llama.chat_format or ""
    template = llama.metadata.get("tokenizer." + name.replace(".default", ""))
    if not (name.startswith("chat_template.") and template):
        return None  # a built-in llama_cpp format: no disk prefix cache
    eos, bos = llama.token_eos(), llama.token_bos()
    tokens = {
        "eos_token": llama._model.token_get_text(eos) if eos != -1 else "",
        "bos_token": llama._model.token_get_text(bos) if bos != -1 else "",
    }
    return formatter(template, add_generation_prompt=False, **tokens), formatter(template, **tokens)


class LlamaChatModel:
    """A local GGUF chat model; `stable_prefix` messages are cached across turns and, with a
    `prefix_store` (encrypted files), across processes."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        seed: int = 0,
        prefix_store: PrefixStore | None = None,
        chat_format: str | None = None,
    ) -> None:
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise ModelError("llama-cpp-python is not installed: pip install llama-cpp-python") from None
        self.name = path.stem
        self._lock = threading.RLock()
        self.path = path
        try:
            self._llama = fast_llama_class(llama_cpp)(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                seed=seed,
                chat_format=chat_format,
                verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"could not load the model {path}: {error}") from None
        # Freed when this object goes or, at the latest, at exit while llama_cpp is still whole: left to
        # Llama.__del__ at interpreter shutdown it printed "Exception ignored ... 'NoneType' object".
        self._release = weakref.finalize(self, self._llama.close)
        self._store = prefix_store
        self._identity = f"{_file_identity(path)}:{llama_cpp.__version__}:{n_ctx}"
        self._formatters = _template_formatters(self._llama, Jinja2ChatFormatter)
        self._cjk: np.ndarray | None = None

    def _keep_script(self, messages: Sequence[ChatMessage]) -> None:
        """Ban the CJK tokens for this call unless the conversation is written in CJK."""
        if uses_cjk(messages):
            self._llama.banned = None
            return
        if self._cjk is None:
            import llama_cpp

            self._cjk = cjk_tokens(llama_cpp, self._llama._model.vocab, self._llama.n_vocab())
        self._llama.banned = self._cjk

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of text."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _render(self, formatter: Any, messages: Sequence[ChatMessage]) -> list[int]:
        result = formatter(messages=list(messages))
        return list(self._llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))

    def _stable_tokens(self, messages: Sequence[ChatMessage], n: int) -> list[int] | None:
        """Tokens of the first n messages, if the template renders them as a token prefix of the prompt."""
        if self._store is None or self._formatters is None or not 0 < n <= len(messages):
            return None
        prefix = self._render(self._formatters[0], messages[:n])
        full = self._render(self._formatters[1], messages)
        fits = len(full) < self._llama.n_ctx()  # else create_chat_completion reports the overflow
        return prefix if fits and len(prefix) < len(full) and full[: len(prefix)] == prefix else None

    def _prepare_prefix(self, messages: Sequence[ChatMessage], n: int) -> None:
        """Make the context hold the stable prefix: already there, restored from disk, or evaluated and saved."""
        prefix = self._stable_tokens(messages, n)
        if prefix is None or self._store is None:
            return
        llama = self._llama
        common = _common_prefix(llama.input_ids[: llama.n_tokens], prefix)
        if common == len(prefix):
            return
        key = prefix_key(self._identity, prefix)
        stored = self._store.load(key)
        if stored is not None and np.array_equal(stored.tokens, prefix):
            if restore(llama, stored):
                return
            common = 0  # a failed restore leaves the context reset
        llama.n_tokens = common  # eval() drops the KV cells past n_tokens first
        llama.eval(prefix[common:])
        try:
            self._store.save(key, capture(llama))
        except (OSError, OverflowError):
            pass  # the disk cache is an optimisation: a full disk or a state too big to seal must not stop the chat

    def _params(self, options: GenerationOptions) -> dict[str, Any]:
        return {
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": options.seed,
            "max_tokens": options.max_tokens,
            "stop": list(options.stop),
        }

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
    ) -> Iterator[str]:
        """Yield the answer piece by piece; closing the iterator stops generation at once."""
        with self._lock:  # one context: a chat and a background job take turns
            try:
                self._keep_script(messages)
                self._prepare_prefix(messages, options.stable_prefix)
                chunks = self._llama.create_chat_completion(messages=list(messages), stream=True,
                                                            **self._params(options))
            except (ValueError, RuntimeError) as error:
                raise ModelError(f"{self.name}: {error}") from None
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                chunks.close()

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        options: GenerationOptions = GenerationOptions(),
    ) -> Any:
        """Return the parsed JSON of an answer whose grammar is constrained by `schema`."""
        try:
            with self._lock:
                self._keep_script(messages)
                self._prepare_prefix(messages, options.stable_prefix)
                result = self._llama.create_chat_completion(
                    messages=list(messages),
                    response_format={"type": "json_object", "schema": schema},
                    **self._params(options),
                )
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{self.name}: {error}") from None
        text = result["choices"][0]["message"]["content"] or ""
        return parse_answer(self.name, text)

    def close(self) -> None:
        """Free the model and its context."""
        self._release()
