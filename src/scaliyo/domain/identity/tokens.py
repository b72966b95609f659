"""Errors of single-use emailed tokens (confirmation, password reset, invites).

Expired, used, revoked and forged tokens are one answer, so nothing about a token is revealed.
"""

from __future__ import annotations

from scaliyo.domain.shared.errors import DomainError, ErrorKind


class InvalidToken(DomainError):
    code = "invalid_token"
    kind = ErrorKind.INVALID  # the HTTP layer answers 400 (problems.register_status)
    title = "The link is invalid or has expired"
