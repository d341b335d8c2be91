"""A per-process memory of tokens whose signature was verified, so a client's next request skips the RSA.

Verifying a token's signature was about a fifth of the CPU of an authenticated request that does nothing
else; a client sends the same token for minutes. Only successes are remembered, keyed by a SHA-256 of the
whole token (header, payload and signature: a token with another signature is another key), and an entry
counts only while:

* the key that verified it is still the key set's current object for that kid: a reloaded key set (its
  file changed, or :meth:`core.auth.KeySet.forget`) builds new key objects, so a key removed from the set
  stops validating remembered tokens at the reload, and a kept key is verified once more;
* its time claims still hold now, checked as PyJWT checks them (``exp``, ``nbf``, ``iat``, with the
  leeway of the moment): a remembered token expires at its ``exp``.

Everything that is not the signature (the claims each kind of token must or must not carry, issuer,
audience, scope) is checked by the callers on every request, as before.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

# Distinct tokens remembered per key set and process: the clients of one instance, with room to spare.
MAX_ENTRIES = 2048


@dataclass(frozen=True)
class Verified:
    """A token whose signature ``key`` (found by ``kid``) verified, with its claims and time claims."""

    kid: str | None
    key: jwt.PyJWK
    claims: dict[str, Any]
    expires: int
    not_before: int | None  # the later of nbf and iat, where present


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class VerifiedTokens:
    """A bounded LRU map of token digest → :class:`Verified`; safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, Verified] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> Verified | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: bytes, entry: Verified) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def remembered(claims: dict[str, Any], kid: str | None, key: jwt.PyJWK) -> Verified:
    """The entry for ``claims`` that PyJWT just accepted (so ``exp`` is there and every time claim is an
    integer or integer-like)."""
    times = [int(claims[name]) for name in ("nbf", "iat") if name in claims]
    return Verified(
        kid=kid, key=key, claims=claims, expires=int(claims["exp"]), not_before=max(times) if times else None
    )
