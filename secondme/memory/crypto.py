"""Encryption of record payloads and caches, and keyed hashes of their content, identifiers and search terms."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from secondme.errors import StoreError

FORMAT_VERSION = 1
_NONCE_BYTES = 12
TERM_HEX_CHARS = 16
IDENTIFIER_HEX_CHARS = 32
_TERM_CACHE_SIZE = 200_000


def _subkey(key: bytes, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"secondme/{purpose}/v1".encode())
    return hkdf.derive(key)


class Sealer:
    """AES-256-GCM over bytes with a subkey of its own: a cache file sealed to its name (`context`)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, data: bytes, context: bytes) -> bytes:
        """A random 12-byte nonce, then the ciphertext and its tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, context)

    def open(self, blob: bytes, context: bytes) -> bytes | None:
        """The data `seal` was given, or None when the blob is damaged or sealed by another key or context."""
        try:
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context)
        except (InvalidTag, ValueError):
            return None


class Cipher:
    """AES-256-GCM for payloads, HMAC-SHA256 for content hashes, identifiers and search terms; one subkey each."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise StoreError(f"the encryption key must be 32 bytes, not {len(key)}")
        self._key = key
        self._aead = AESGCM(_subkey(key, "encrypt"))
        self._hash_key = _subkey(key, "content-hash")
        self._identifier_key = _subkey(key, "identifier")
        self._term_key = _subkey(key, "term")
        self._terms: dict[str, str] = {}

    def encrypt(self, plaintext: str) -> bytes:
        """A version byte, a random 12-byte nonce, then the ciphertext and its tag."""
        header = bytes([FORMAT_VERSION])
        nonce = os.urandom(_NONCE_BYTES)
        return header + nonce + self._aead.encrypt(nonce, plaintext.encode(), header)

    def decrypt(self, blob: bytes) -> str:
        """The plaintext of `encrypt`'s output; StoreError if the key is wrong or the blob damaged."""
        if not blob or blob[0] != FORMAT_VERSION:
            raise StoreError("a stored memory has an unknown format (is this data dir from a newer SecondMe?)")
        nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, blob[:1]).decode()
        except InvalidTag:
            raise StoreError(
                "cannot decrypt the memory store: the encryption key does not match this data "
                "(wrong keyring or passphrase?) or the data is damaged"
            ) from None

    def keyed_hash(self, text: str) -> str:
        """HMAC-SHA256 of `text` as hex: equal texts match without the text being stored."""
        return hmac.new(self._hash_key, text.encode(), hashlib.sha256).hexdigest()

    def identifier(self, text: str) -> str:
        """The keyed hash of an identifier that may carry content (a path, a heading, a name), 32 hex chars."""
        return hmac.new(self._identifier_key, text.encode(), hashlib.sha256).hexdigest()[:IDENTIFIER_HEX_CHARS]

    def sealer(self, purpose: str) -> Sealer:
        """Encryption of bytes (a cache, not a record) under a subkey for `purpose`."""
        return Sealer(_subkey(self._key, f"seal/{purpose}"))

    def term(self, token: str) -> str:
        """The keyed hash of a normalised search term, 16 hex chars (cached per process)."""
        hashed = self._terms.get(token)
        if hashed is None:
            hashed = hmac.new(self._term_key, token.encode(), hashlib.sha256).hexdigest()[:TERM_HEX_CHARS]
            if len(self._terms) < _TERM_CACHE_SIZE:
                self._terms[token] = hashed
        return hashed
