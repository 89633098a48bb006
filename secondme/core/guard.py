"""The last check of a guest's answer: does it give away any of the owner's secrets?

Secrets never enter a guest's prompt; this guard is the second wall. A secret's distinctive words
(those that appear in nothing the guest may see) must not appear in the answer, not even spelled
out letter by letter or split by punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_WORD = re.compile(r"\w+", re.UNICODE)
_COMMON = frozenset(
    "about after again also been before being from have here into just like make more most much must "
    "only other over same some such than that their them then there these they this those through "
    "very what when where which while will with would your yours mine ours".split()
)


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class SecretGuard:
    """Built from the owner's secret texts and a test of which words a guest may see anyway."""

    def __init__(self, secrets: Iterable[str], is_public: Callable[[str], bool]) -> None:
        words = {w.lower() for text in secrets for w in _WORD.findall(text)}
        self.tokens = sorted(
            w for w in words
            if len(w) >= 4 and w not in _COMMON and not (w.isdigit() and len(w) == 4 and w.startswith(("19", "20")))
            and not is_public(w)
        )

    def leaks(self, answer: str) -> list[str]:
        """The secret words an answer gives away."""
        words = {w.lower() for w in _WORD.findall(answer)}
        squashed = _squash(answer)
        return [t for t in self.tokens if t in words or (len(t) >= 5 or t.isdigit()) and t in squashed]
