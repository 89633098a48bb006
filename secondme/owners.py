"""Who the owner is in each chat source: given (`ingest --me`, asked once), read from the export, or guessed.

The guess is the sender found in the most chats of that source's exports, then the one with the
most messages. It is remembered per source (encrypted) and the owner's messages become kind
"own_message", so a persona can learn the owner's own voice from them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ingest.conversations import MESSAGE, OWN_MESSAGE
from ingest.formats import Format, detect_format
from ingest.items import Item, ParseError

CHAT_SOURCES = ("whatsapp", "telegram", "signal", "instagram")
Ask = Callable[[str, list[tuple[str, int]]], str]  # (source, senders by rank with message counts) -> a name


@dataclass(frozen=True)
class Owner:
    name: str
    how: str  # "given" (--me, or answered), "export" (the export names its account), "guessed"


@dataclass(frozen=True)
class Senders:
    """Who wrote in one source's exports: senders ranked, and the account owner if an export names it."""

    ranking: list[tuple[str, int]]
    account: str = ""


def count_senders(found: Iterable[tuple[Path, Format]]) -> Senders:
    chats: dict[str, set[str]] = defaultdict(set)
    messages: Counter[str] = Counter()
    for path, fmt in found:
        try:
            for item in fmt.parse(path):
                if isinstance(item, Item) and item.speaker:
                    if item.kind == OWN_MESSAGE:
                        return Senders([(item.speaker, 1)], item.speaker)
                    chats[item.speaker].add(f"{path}\n{item.title}")
                    messages[item.speaker] += 1
        except Exception:  # a ParseError, or a parser's own crash: reported when the file itself is ingested
            continue
    ranked = sorted(messages, key=lambda name: (-len(chats[name]), -messages[name], name))
    return Senders([(name, messages[name]) for name in ranked])


class ChatOwners:
    """The owner per chat source, kept in the store's chat_owners table; tags the owner's messages."""

    def __init__(self, store: object, me: str = "", ask: Ask | None = None, hint: str = "") -> None:
        self.store, self.me, self.ask, self.hint = store, me.strip(), ask, hint.strip()
        self.known: dict[str, Owner] = {
            source: Owner(store.cipher.decrypt(payload), how)  # type: ignore[attr-defined]
            for source, payload, how in store.query("SELECT source, payload, how FROM chat_owners")  # type: ignore[attr-defined]
        }
        self.learnt: dict[str, Owner] = {}  # settled by this run, to tell the user

    def _keep(self, source: str, owner: Owner) -> None:
        self.store.write(  # type: ignore[attr-defined]
            "INSERT OR REPLACE INTO chat_owners (source, payload, how, updated_at) VALUES (?, ?, ?, ?)",
            (source, self.store.cipher.encrypt(owner.name), owner.how, datetime.now(UTC).isoformat()))  # type: ignore[attr-defined]
        self.known[source] = self.learnt[source] = owner

    def _choose(self, source: str, senders: Senders) -> Owner | None:
        if senders.account:
            return Owner(senders.account, "export")
        if not senders.ranking:
            return None
        names = [name for name, _ in senders.ranking]
        default = next((n for n in names if self.hint and n.casefold() == self.hint.casefold()), names[0])
        answer = self.ask(source, senders.ranking).strip() if self.ask else ""
        return Owner(answer, "given") if answer else Owner(default, "guessed")

    def prepare(self, files: Iterable[Path]) -> dict[str, Owner]:
        """Settle the owner of every chat source among `files`, reading their exports once when no
        owner is known yet; what this run settled."""
        found: dict[str, list[tuple[Path, Format]]] = defaultdict(list)
        for path in files:
            try:
                fmt = detect_format(path)
            except ParseError:
                continue
            if fmt.name in CHAT_SOURCES:
                found[fmt.name].append((path, fmt))
        for source, exports in found.items():
            if self.me and self.known.get(source) != Owner(self.me, "given"):
                self._keep(source, Owner(self.me, "given"))
            elif source not in self.known and (owner := self._choose(source, count_senders(exports))):
                self._keep(source, owner)
        return self.learnt

    def tag(self, item: Item) -> Item:
        """The item, as an "own_message" when the owner of its source sent it."""
        owner = self.known.get(item.source)
        if item.kind == MESSAGE and owner and item.speaker == owner.name:
            return replace(item, kind=OWN_MESSAGE)
        return item
