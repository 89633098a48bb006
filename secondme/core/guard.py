"""The last check of a guest's answer: does it give away any of the owner's secrets?

Secrets never enter a guest's prompt; this guard is the second wall. It is built from the secret
items alone and holds whatever else the guest may see: a secret's numbers and codes (a PIN, an
account number) are always blocked, its other distinctive words unless they are everyday words of
the owner's memory. None may appear in an answer, not even spelled out letter by letter, split by
punctuation, or, for numbers, in full-width digits or Chinese numerals.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# A run of CJK characters is a word of its own, apart from the digits or Latin letters beside it:
# "我的银行密码是739182" holds the code 739182.
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_COMMON = frozenset(
    "about after again also been before being from have here into just like make more most much must "
    "only other over same some such than that their them then there these they this those through "
    "very what when where which while will with would your yours mine ours".split()
    # names of days and months, which say no more of a secret than a year does
    + "monday tuesday wednesday thursday friday saturday sunday january february march april june july "
    "august september october november december".split()
)
# Numbers that say nothing of a secret: years (and decades), clock times, ordinal days.
_PLAIN_NUMBER = re.compile(r"(?:19|20)\d\ds?|\d{1,2}(?:am|pm|st|nd|rd|th)")
_NUMERALS = str.maketrans("零〇一二三四五六七八九", "00123456789")


def words(text: str) -> list[str]:
    """The words of `text`, lowercased after NFKC (full-width letters and digits become ASCII)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def is_code(word: str) -> bool:
    """A word with a digit in it: a number, a PIN, a code."""
    return any(ch.isdigit() for ch in word)


def candidates(secrets: Iterable[str]) -> set[str]:
    """The words of secret texts worth guarding: 4 characters or more, not a common word, not a plain number."""
    found = {w for text in secrets for w in words(text)}
    return {w for w in found if len(w) >= 4 and w not in _COMMON and not _PLAIN_NUMBER.fullmatch(w)}


def _squash(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


class SecretGuard:
    """Built from the owner's secret texts and a test of which of their (non-code) words are
    everyday words of the owner's memory, that a guest may read in an answer."""

    def __init__(self, secrets: Iterable[str], everyday: Callable[[str], bool] = lambda _: False) -> None:
        self.tokens = sorted(w for w in candidates(secrets) if is_code(w) or not everyday(w))

    def leaks(self, answer: str) -> list[str]:
        """The secret words an answer gives away."""
        found = set(words(answer))
        squashed = _squash(answer)
        digits = squashed.translate(_NUMERALS)
        return [t for t in self.tokens
                if t in found or is_code(t) and t in digits or len(t) >= 5 and t in squashed]
