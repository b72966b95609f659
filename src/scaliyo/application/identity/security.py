"""Ports for credentials: password hashing, secret tokens, and system mail."""

from __future__ import annotations

from typing import Protocol

import msgspec


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; never raises for a mismatch or a malformed hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def dummy_verify(self) -> None:
        """Spend the time of one verification, so an unknown account answers as slowly."""
        ...


class SecretTokens(Protocol):
    def new_token(self) -> str:
        """A URL-safe random token of at least 256 bits."""
        ...

    def digest(self, token: str) -> str:
        """The stored form of a token: a hash, so a database dump reveals no usable token."""
        ...

    def new_hex(self, length: int) -> str: ...


class SystemEmail(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    subject: str
    text: str
    kind: str  # confirmation, signup_attempt, password_reset, invite, …


class SystemMailer(Protocol):
    async def send(self, email: SystemEmail) -> None: ...
