"""Keyword normalisation: the words of a text, lowercased, stopword-free and lightly stemmed."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")

STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves much many also""".split()
)


def stem(word: str) -> str:
    """Strip plural -s/-es/-ies, then -ing/-ed, then a final -e: hike, hikes, hiked, hiking -> hik."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and not word.endswith("eed") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run, stopped -> stop
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """The normalised search terms of `text`, in order, repeats kept; single letters are dropped."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", text).lower())
    return [stem(w) for w in _WORD.findall(text) if w not in STOPWORDS and not (len(w) == 1 and w.isalpha())]
