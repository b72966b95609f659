"""Argon2id password hashing (argon2-cffi, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY


class Argon2PasswordHasher:
    def __init__(self, *, fast_for_tests: bool = False) -> None:
        if fast_for_tests:
            self._hasher = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)
        else:
            self._hasher = Argon2Hasher.from_parameters(RFC_9106_LOW_MEMORY)
        self._dummy = self._hasher.hash("a password nobody has")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self) -> None:
        self.verify(self._dummy, "not the password")
