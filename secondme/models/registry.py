"""Chat model backends by name; each module (and its heavy library) is imported only when asked for."""

from __future__ import annotations

import importlib
from typing import Any

from secondme.core.protocols import ChatModel
from secondme.errors import ModelError

# name -> (module, class); the constructors raise ModelError naming what to install if a library is missing.
CHAT_BACKENDS: dict[str, tuple[str, str]] = {
    "llama": ("secondme.models.llama", "LlamaChatModel"),
    "openai": ("secondme.models.openai_http", "OpenAIChatModel"),
}


def make_chat_model(kind: str, **kwargs: Any) -> ChatModel:
    """Build the chat backend `kind` ("llama" or "openai") with its constructor's keyword arguments."""
    try:
        module_name, class_name = CHAT_BACKENDS[kind]
    except KeyError:
        raise ModelError(f"unknown chat backend {kind!r}; known: {', '.join(CHAT_BACKENDS)}") from None
    model: ChatModel = getattr(importlib.import_module(module_name), class_name)(**kwargs)
    return model
