"""OpenAIChatModel against a small OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from secondme.core.protocols import ChatModel, GenerationOptions
from secondme.errors import ModelError
from secondme.models.openai_http import OpenAIChatModel
from secondme.models.registry import make_chat_model

MESSAGES = [{"role": "user", "content": "Say hello"}]


class Handler(BaseHTTPRequestHandler):
    """Behaves by the requested model name: ok, cut (closes mid-stream), old (no json_schema), broken,
    raw (a raw newline inside a JSON string, as llama.cpp's schema grammar allows)."""

    requests: list[tuple[str, dict[str, Any]]] = []

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.path, body))
        if self.path != "/v1/chat/completions":
            return self._send(404, b'{"error": "not found"}')
        if body.get("stream"):
            return self._stream(body["model"])
        response_format = body.get("response_format", {})
        if body["model"] == "old" and response_format.get("type") == "json_schema":
            return self._send(400, b'{"error": {"message": "response_format json_schema\\nnot supported"}}')
        content = {"broken": "{not json", "raw": '{"name": "Bob\n", "age": 42}'}.get(
            body["model"], '{"name": "Bob", "age": 42}')
        reply = {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
        self._send(200, json.dumps(reply).encode())

    def _stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = ["Hel", "lo", " there"]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            if model == "cut" and last:
                return  # the server goes away mid-answer
            chunk = {"choices": [{"delta": {"content": piece}, "finish_reason": "stop" if last else None}]}
            self.wfile.write(b": keep-alive comment\n\n" if index == 1 else b"")
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early is part of the tests


@pytest.fixture
def server() -> Iterator[str]:
    Handler.requests = []
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_stream_parses_server_sent_events(server: str) -> None:
    model = OpenAIChatModel(server, model="ok", api_key="k")
    assert isinstance(model, ChatModel)
    options = GenerationOptions(max_tokens=7, temperature=0.5, seed=3, stop=("\n",))
    assert "".join(model.stream(MESSAGES, options)) == "Hello there"
    path, body = Handler.requests[0]
    assert path == "/v1/chat/completions"
    assert body["stream"] is True and body["max_tokens"] == 7 and body["seed"] == 3 and body["stop"] == ["\n"]


def test_base_url_with_v1_is_accepted(server: str) -> None:
    assert "".join(OpenAIChatModel(server + "/v1/", model="ok").stream(MESSAGES)) == "Hello there"


def test_mid_stream_close_raises_model_error_after_the_pieces_received(server: str) -> None:
    pieces: list[str] = []
    with pytest.raises(ModelError, match="closed the stream"):
        for piece in OpenAIChatModel(server, model="cut").stream(MESSAGES):
            pieces.append(piece)
    assert pieces == ["Hel", "lo"]


def test_closing_the_iterator_early_is_quiet(server: str) -> None:
    stream = OpenAIChatModel(server, model="ok").stream(MESSAGES)
    assert next(stream) == "Hel"
    stream.close()


def test_connection_refused_is_one_line_model_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ModelError) as caught:
        list(OpenAIChatModel(url).stream(MESSAGES))
    assert f"{url}/v1/chat/completions" in str(caught.value)
    assert "refused" in str(caught.value).lower() and "\n" not in str(caught.value)


def test_complete_json_uses_json_schema(server: str) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert OpenAIChatModel(server, model="ok").complete_json(MESSAGES, schema) == {"name": "Bob", "age": 42}
    body = Handler.requests[0][1]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}


def test_complete_json_falls_back_to_json_object_on_400(server: str) -> None:
    assert OpenAIChatModel(server, model="old").complete_json(MESSAGES, {"type": "object"})["age"] == 42
    assert [body["response_format"]["type"] for _, body in Handler.requests] == ["json_schema", "json_object"]


def test_complete_json_accepts_a_raw_newline_inside_a_string(server: str) -> None:
    assert OpenAIChatModel(server, model="raw").complete_json(MESSAGES, {"type": "object"}) == {
        "name": "Bob\n", "age": 42}


def test_invalid_json_and_http_errors_are_model_errors(server: str) -> None:
    with pytest.raises(ModelError, match="invalid JSON"):
        OpenAIChatModel(server, model="broken").complete_json(MESSAGES, {"type": "object"})
    with pytest.raises(ModelError, match="HTTP 404") as caught:
        OpenAIChatModel(server + "/other").complete_json(MESSAGES, {"type": "object"})
    assert "\n" not in str(caught.value)


def test_registry_builds_backends_by_name(server: str) -> None:
    model = make_chat_model("openai", base_url=server, model="ok")
    assert isinstance(model, OpenAIChatModel) and model.name == "ok"
    with pytest.raises(ModelError, match="unknown chat backend"):
        make_chat_model("nope")
