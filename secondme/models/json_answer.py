"""Reading the JSON a model answered with."""

from __future__ import annotations

import json
from typing import Any

from secondme.errors import ModelError


def parse_answer(model: str, text: str) -> Any:
    """The value of a model's JSON answer, or ModelError naming the model and quoting the answer.

    Raw control characters inside strings are accepted: llama-cpp-python's grammar for a JSON schema
    lets a string hold a raw newline or tab, and strict parsing then failed a topic rewrite of LoCoMo
    conv-43 on every try ("Invalid control character at: line 1 column 714")."""
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        raise ModelError(f"{model} returned invalid JSON ({error}): {text[:80]!r}") from None
