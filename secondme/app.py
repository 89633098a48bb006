"""The composition root: reads the config, picks backends and wires the services together.

This is the only module that decides which model, embedder, key store and index are used;
everything else receives them through its constructor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from secondme import config as config_module
from secondme.companion.clock import Clock
from secondme.config import Config
from secondme.core.assistant import Assistant, Audience
from secondme.core.prompt import Persona
from secondme.core.protocols import ChatModel, Embedder, GenerationOptions
from secondme.errors import ModelError
from secondme.memory.consolidation import Consolidator

if TYPE_CHECKING:
    from secondme.companion.scheduler import CompanionScheduler
    from secondme.companion.wakeup import Companion
    from secondme.memory.background import BackgroundConsolidation
from secondme.memory.crypto import Cipher
from secondme.memory.first_run import setup_lock
from secondme.memory.keys import KeyInfo, load_or_create_key
from secondme.memory.store import MemoryStore
from secondme.memory.vectors import VectorIndex
from secondme.paths import data_dir as default_data_dir
from secondme.progress import ProgressCallback, no_progress


def bundled_choice(config: Config) -> str:
    from secondme.models.bundled import available

    if config.model.bundled != "auto":
        return config.model.bundled
    return "answer" if available("answer") else "small"


def describe_model(config: Config) -> str:
    """Which chat model the config selects, in words, without loading it."""
    if config.model.endpoint:
        return f"OpenAI-compatible endpoint {config.model.endpoint} ({config.model.endpoint_model or 'default model'})"
    if config.model.path:
        return f"GGUF file {config.model.path}"
    return f"built-in '{bundled_choice(config)}' model"


def make_chat_model(config: Config, data_dir: Path, cipher: Cipher, progress: ProgressCallback = no_progress,
                    ) -> ChatModel:
    """The configured chat model; a local one caches prompt prefixes sealed with a subkey of `cipher`."""
    model = config.model
    if model.endpoint:
        from secondme.models.openai_http import OpenAIChatModel

        return OpenAIChatModel(model.endpoint, model=model.endpoint_model, api_key=model.api_key or None)
    from secondme.models.llama import LlamaChatModel
    from secondme.models.prefix_cache import PrefixStore

    if model.path:
        path = Path(model.path).expanduser()
        if not path.is_file():
            raise ModelError(f"model.path {path} does not exist (secondme config set model.path FILE.gguf)")
    else:
        from secondme.models.bundled import ensure_model

        path = ensure_model(bundled_choice(config), data_dir / "models", progress)
    return LlamaChatModel(
        path, n_ctx=model.n_ctx, n_threads=model.threads or (os.cpu_count() or 2), seed=model.seed,
        prefix_store=PrefixStore(data_dir / "prefix-cache", cipher.sealer("prefix-cache")),
    )


def check_endpoint(url: str, model: str = "", api_key: str = "", timeout: float = 15) -> str:
    """Ask an OpenAI-compatible endpoint for a few tokens; its answer, or a ModelError saying what failed."""
    from secondme.models.openai_http import OpenAIChatModel

    chat = OpenAIChatModel(url, model=model, api_key=api_key or None, timeout=timeout)
    reply = chat.stream([{"role": "user", "content": "Reply with the single word: ready"}], GenerationOptions(
        max_tokens=4))
    return "".join(reply).strip() or "(an empty answer)"


def make_embedder() -> Embedder:
    from secondme.models.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@dataclass
class Services:
    """Everything the CLI and the GUI use, built once per process."""

    config: Config
    data_dir: Path
    key: KeyInfo
    store: MemoryStore
    _model: ChatModel | None = field(default=None, repr=False)
    clock: Clock = field(default_factory=Clock)  # the app's "now" (SECONDME_NOW sets it)

    def chat_model(self, progress: ProgressCallback = no_progress) -> ChatModel:
        if self._model is None:
            self._model = make_chat_model(self.config, self.data_dir, self.store.cipher, progress)
        return self._model

    def assistant(self, progress: ProgressCallback = no_progress, guest: str | None = None) -> Assistant:
        """The chat engine for the owner, or for a guest in twin mode (`guest` = their name)."""
        from functools import partial

        from secondme.memory.profile import Profile
        from secondme.memory.recall import RecallingStore
        from secondme.memory.retrieval import RetrievalConfig, Retriever
        from secondme.memory.standing import GuestList, InstructionBook, secret_guard

        owner = self.config.owner
        model = self.config.model
        options = GenerationOptions(max_tokens=model.max_tokens, temperature=model.temperature, seed=model.seed)
        audience = Audience()
        if guest:
            allowed = GuestList(self.store).get(guest)
            audience = Audience(allowed.name, allowed.allow_private)
        ranking = RetrievalConfig(max_summaries=self.config.memory.prompt_summaries)
        retriever = Retriever(self.store, ranking, known_people=[owner.name] if owner.name else [])
        recall = RecallingStore(self.store, retriever, self.clock.now)
        return Assistant(
            self.chat_model(progress), recall, Persona(owner.name, owner.about), options,
            top_k=self.config.memory.top_k, instructions=InstructionBook(self.store), audience=audience,
            guard=partial(secret_guard, self.store), profile=Profile(self.store),
            clock=self.clock.now,
        )

    def consolidator(self, progress: ProgressCallback = no_progress) -> Consolidator:
        """Consolidation of memory (segments, topics, profile) on the chat model."""
        options = GenerationOptions(max_tokens=400, seed=self.config.model.seed)
        return Consolidator(self.store, self.chat_model(progress), progress, options, self.config.owner.name)

    def background_consolidation(self) -> BackgroundConsolidation:
        """Consolidation on a thread of its own whenever the user is idle (start() it, close() it)."""
        from secondme.memory.background import BackgroundConsolidation

        return BackgroundConsolidation(self.store, self.consolidator)

    def companion(self, progress: ProgressCallback = no_progress) -> Companion:
        """Working memory, follow-ups and check-ins; the model is loaded only when a step needs it."""
        from secondme.companion.wakeup import Companion

        options = GenerationOptions(max_tokens=200, seed=self.config.model.seed)
        return Companion(self.store, lambda: self.chat_model(progress), self.config.companion, self.clock,
                         self.config.owner.name, options)

    def companion_scheduler(self, companion: Companion) -> CompanionScheduler:
        """The persistent scheduler of wake-ups and follow-ups (start() it, shutdown() it)."""
        from secondme.companion.scheduler import CompanionScheduler

        return CompanionScheduler(companion, self.data_dir)

    def close(self) -> None:
        self.store.close()


def build(
    config: Config | None = None,
    data_dir: Path | None = None,
    embedder: Embedder | None = None,
    model: ChatModel | None = None,
) -> Services:
    """Wire the services; tests pass their own embedder or model through the same door."""
    home = data_dir or default_data_dir()
    config = config or config_module.load(home)
    vectors = VectorIndex.remote(config.memory.chroma_url) if config.memory.chroma_url else None
    with setup_lock(home):  # two processes starting on a fresh data dir must not both make a key or migrate
        key = load_or_create_key(home)
        store = MemoryStore(home, Cipher(key.key), embedder or make_embedder(), vectors)
    clock = Clock.from_env(os.environ.get("SECONDME_NOW", ""), config.companion.timezone)
    return Services(config, home, key, store, model, clock)
