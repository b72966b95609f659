"""Random tokens and their stored digests.

Tokens carry 256 bits from ``secrets``; the database keeps only SHA-256 of them (a token is
already high-entropy, so a fast hash is enough and lets look-ups use a unique index).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class RandomTokens:
    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def digest(self, token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()

    def new_hex(self, length: int) -> str:
        return secrets.token_hex((length + 1) // 2)[:length]


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
