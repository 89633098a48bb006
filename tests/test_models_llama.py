"""LlamaChatModel with the real small GGUF: streaming, JSON, determinism, prefix caching."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.core.types import NewRecord, Record
from secondme.memory.crypto import Cipher
from secondme.models import llama as llama_module
from secondme.models.llama import LlamaChatModel
from secondme.models.prefix_cache import PrefixStore

PROFILE = "You are Ana's second self. Known facts: " + " ".join(
    f"Fact {i}: Ana's friend number {i} lives in city {i % 17} and likes hobby {i % 11}." for i in range(25)
)


SEALER = Cipher(os.urandom(32)).sealer("prefix-cache")


def chat(question: str) -> list[ChatMessage]:
    return [{"role": "system", "content": PROFILE}, {"role": "user", "content": question}]


@pytest.fixture(scope="module")
def model(small_gguf: Path) -> Iterator[LlamaChatModel]:
    loaded = LlamaChatModel(small_gguf, n_ctx=2048)
    yield loaded
    loaded.close()


def test_importing_the_backends_loads_no_model_library() -> None:
    code = (
        "import sys, secondme.models.llama, secondme.models.registry, secondme.models.bundled, "
        "secondme.models.embedder, secondme.models.openai_http; "
        "print([m for m in ('llama_cpp', 'onnxruntime', 'tokenizers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.model
def test_stream_yields_text_deterministically(model: LlamaChatModel) -> None:
    assert isinstance(model, ChatModel) and model.name == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    options = GenerationOptions(max_tokens=24, temperature=0.0, seed=7)
    messages: list[ChatMessage] = [{"role": "user", "content": "Name three colours."}]
    first = list(model.stream(messages, options))
    assert len(first) > 3 and "".join(first).strip()
    assert list(model.stream(messages, options)) == first


@pytest.mark.model
def test_complete_json_follows_the_schema(model: LlamaChatModel) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
        "required": ["name", "age", "city"],
    }
    messages: list[ChatMessage] = [
        {"role": "system", "content": "Extract the person as JSON."},
        {"role": "user", "content": "Bob Miller is 42 years old and lives in Oslo."},
    ]
    person = model.complete_json(messages, schema, GenerationOptions(max_tokens=64))
    assert set(person) == {"name", "age", "city"}
    assert isinstance(person["age"], int) and person["age"] == 42
    assert "Bob" in person["name"] and person["city"] == "Oslo"


@pytest.mark.model
def test_closing_the_stream_stops_generation(model: LlamaChatModel) -> None:
    messages: list[ChatMessage] = [{"role": "user", "content": "Write a long essay about rivers."}]
    stream = model.stream(messages, GenerationOptions(max_tokens=400))
    next(stream)
    evaluated = model._llama.n_tokens
    stream.close()
    assert model._llama.n_tokens == evaluated
    assert evaluated < model.count_tokens(messages[0]["content"]) + 30


@pytest.mark.model
def test_next_turn_reuses_the_evaluated_prefix_in_memory(
    model: LlamaChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = GenerationOptions(max_tokens=8)
    list(model.stream(chat("Where does friend 3 live?"), options))
    evaluated: list[int] = []
    real_eval = model._llama.eval

    def counting_eval(tokens: Any) -> None:
        evaluated.append(len(tokens))
        real_eval(tokens)

    monkeypatch.setattr(model._llama, "eval", counting_eval)
    list(model.stream(chat("And friend 5?"), options))
    assert sum(evaluated) < 40 < model.count_tokens(PROFILE)


def run(path: Path, state_dir: Path | None, options: GenerationOptions) -> str:
    store = PrefixStore(state_dir, SEALER) if state_dir else None
    fresh = LlamaChatModel(path, n_ctx=2048, prefix_store=store)  # a new instance stands for a new process
    try:
        return "".join(fresh.stream(chat("Where does friend 12 live, and what is their hobby?"), options))
    finally:
        fresh.close()


@pytest.mark.model
@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_restored_prefix_gives_the_same_answer_as_a_cold_run(
    small_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temperature: float
) -> None:
    options = GenerationOptions(max_tokens=24, temperature=temperature, seed=11, stable_prefix=1)
    cold = run(small_gguf, None, options)
    state_dir = tmp_path / "prefix"
    assert run(small_gguf, state_dir, options) == cold  # evaluates the prefix and saves it
    [state_file] = state_dir.iterdir()
    # ~12 KiB of KV cache per prefix token (24 layers, f16) plus one logits row; no full scores array
    assert state_file.stat().st_size < 2_000_000 + 13_000 * 600
    restored: list[int] = []
    real_restore = llama_module.restore
    monkeypatch.setattr(llama_module, "restore", lambda *a: restored.append(1) or real_restore(*a))
    assert run(small_gguf, state_dir, options) == cold
    assert restored == [1]


@pytest.mark.model
def test_prefix_cache_needs_a_stable_prefix(small_gguf: Path, tmp_path: Path) -> None:
    run(small_gguf, tmp_path / "prefix", GenerationOptions(max_tokens=2))
    assert not (tmp_path / "prefix").exists()


@pytest.mark.model
def test_greedy_grammar_fast_path_picks_the_same_tokens_as_llama_cpps_chain(
    model: LlamaChatModel, small_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sampler that asks the grammar about the best token first must write exactly what the
    grammar sampler chain of llama-cpp-python writes (a consolidation prompt, length-bounded schema)."""
    import llama_cpp

    from secondme.memory import segments
    from secondme.models.grammar_sampling import GreedyGrammarSampler

    records = [NewRecord(text, datetime(2024, 5, 8, 13, n, tzinfo=UTC), "chat", f"m{n}", "message", "chat:ana")
               for n, text in enumerate(["Ana: I signed up for the Lisbon half marathon in October!",
                                         "Me: Great! Are you training with the club on Tuesdays?",
                                         "Ana: Yes, and my knee feels fine since the physio in March."])]
    messages = segments.messages("chat:ana", [Record(**vars(r), id=r.source_id) for r in records], "", [])
    calls = []
    sample = GreedyGrammarSampler.sample
    monkeypatch.setattr(GreedyGrammarSampler, "sample", lambda self, *a: calls.append(1) or sample(self, *a))
    fast = model.complete_json(messages, segments.SCHEMA, GenerationOptions(max_tokens=300))
    assert calls  # the fast path ran
    plain = llama_cpp.Llama(model_path=str(small_gguf), n_ctx=2048, n_threads=model._llama.n_threads, verbose=False)
    try:
        reference = plain.create_chat_completion(messages=messages, max_tokens=300, temperature=0.0, seed=0,
                                                 response_format={"type": "json_object", "schema": segments.SCHEMA})
    finally:
        plain.close()
    assert fast == json.loads(reference["choices"][0]["message"]["content"])
    assert len(calls) == reference["usage"]["completion_tokens"] + 1  # and the end-of-text token


def test_cjk_is_judged_by_a_tokens_bytes() -> None:
    from secondme.models.scripts import uses_cjk, writes_cjk

    assert writes_cjk("培训".encode()) and writes_cjk("社区".encode()[:1])  # a piece that starts a character
    assert writes_cjk("，".encode()) and writes_cjk("한".encode())
    assert not any(writes_cjk(text.encode()) for text in (" training", "é", "Ж", "—", "…", "😀", "’"))
    assert uses_cjk([{"role": "user", "content": "你好"}])
    assert not uses_cjk([{"role": "system", "content": "Straße, café — ok"}, {"role": "user", "content": None}])


@pytest.mark.model
def test_english_conversations_get_no_chinese_and_chinese_ones_keep_it(model: LlamaChatModel) -> None:
    """The Qwen models slip Chinese words into English summaries ("their社区"): asked outright for
    Chinese in English, the model must still answer in Latin script; asked in Chinese, it may answer so."""
    from secondme.models.scripts import uses_cjk

    options = GenerationOptions(max_tokens=30)
    english = [{"role": "user", "content": "Write the Chinese word for 'community' and the Japanese word for 'cat'."}]
    answer = "".join(model.stream(english, options))
    assert answer.strip() and not uses_cjk([{"role": "assistant", "content": answer}])
    schema = {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}
    word = model.complete_json([{"role": "user", "content": "Give the Chinese for 'community' as JSON."}], schema,
                               options)["word"]
    assert not uses_cjk([{"role": "assistant", "content": word}])
    chinese = [{"role": "user", "content": "把“你好”翻译成英文，并用中文解释。"}]
    assert uses_cjk([{"role": "assistant", "content": "".join(model.stream(chinese, options))}])
