"""ChatModel for an OpenAI-compatible server on the user's own network, with only the standard library."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.errors import ModelError
from secondme.models.json_answer import parse_answer

# Talk to the server directly: a proxy from the environment has no business on the user's own network.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


class _BadRequest(ModelError):
    """HTTP 400: the server did not accept the request body."""


class OpenAIChatModel:
    """Chat completions from llama.cpp server, LM Studio, vLLM, Ollama or any OpenAI-compatible API."""

    def __init__(self, base_url: str, model: str = "", api_key: str | None = None, timeout: float = 120) -> None:
        root = base_url.rstrip("/")
        root = root if root.endswith("/v1") else root + "/v1"
        self.url = root + "/chat/completions"
        self.model = model
        self.name = model or base_url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def _body(self, messages: Sequence[ChatMessage], options: GenerationOptions, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": options.seed,
            "max_tokens": options.max_tokens,
            **extra,
        }
        if options.stop:
            body["stop"] = list(options.stop)
        return body

    def _post(self, body: dict[str, Any]) -> http.client.HTTPResponse:
        request = urllib.request.Request(self.url, json.dumps(body).encode(), self._headers, method="POST")
        try:
            return _OPENER.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            detail = _one_line(error.read().decode("utf-8", "replace"))
            kind = _BadRequest if error.code == 400 else ModelError
            raise kind(f"{self.url}: HTTP {error.code} {error.reason}: {detail}") from None
        except urllib.error.URLError as error:
            raise ModelError(f"{self.url}: {_one_line(str(error.reason))}") from None
        except OSError as error:
            raise ModelError(f"{self.url}: {_one_line(str(error))}") from None

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
    ) -> Iterator[str]:
        """Yield the answer piece by piece from server-sent events; closing the iterator drops the connection."""
        response = self._post(self._body(messages, options, stream=True))
        finished = False
        try:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                chunk = json.loads(data)
                if "error" in chunk:
                    raise ModelError(f"{self.url}: {_one_line(json.dumps(chunk['error']))}")
                for choice in chunk.get("choices", []):
                    piece = (choice.get("delta") or {}).get("content")
                    finished = finished or bool(choice.get("finish_reason"))
                    if piece:
                        yield piece
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:
            raise ModelError(f"{self.url}: the stream broke off: {_one_line(repr(error))}") from None
        finally:
            response.close()
        if not finished:
            raise ModelError(f"{self.url}: the server closed the stream before the answer was finished")

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        options: GenerationOptions = GenerationOptions(),
    ) -> Any:
        """Ask for JSON matching `schema` (json_schema, or json_object where the server refuses it)."""
        structured = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
        try:
            response = self._post(self._body(messages, options, response_format=structured))
        except _BadRequest:
            response = self._post(self._body(messages, options, response_format={"type": "json_object"}))
        try:
            with response:
                reply = json.loads(response.read())
            text = reply["choices"][0]["message"]["content"] or ""
        except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError, TypeError) as error:
            raise ModelError(f"{self.url}: unexpected reply: {_one_line(repr(error))}") from None
        return parse_answer(self.name, text)
