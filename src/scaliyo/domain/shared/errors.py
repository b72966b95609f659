"""Typed domain errors with stable codes.

Every error the API can show carries a stable snake_case ``code`` and a ``kind``; the HTTP layer
maps kinds to status codes (problem details), so the domain never speaks HTTP.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"  # bad input: 422
    NOT_FOUND = "not_found"  # 404 (also for another workspace's resources)
    CONFLICT = "conflict"  # 409
    FORBIDDEN = "forbidden"  # 403
    UNAUTHENTICATED = "unauthenticated"  # 401
    LIMIT = "limit"  # 402/429-like business limits: 409 unless the HTTP layer knows better
    UNAVAILABLE = "unavailable"  # 503


class FieldError:
    """One problem with one input field (``errors[]`` in problem details)."""

    __slots__ = ("code", "field", "message")

    def __init__(self, field: str, code: str, message: str) -> None:
        self.field = field
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.field, self.code, self.message) == (
            other.field,
            other.code,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.field, self.code, self.message))

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.code!r}, {self.message!r})"


class DomainError(Exception):
    """Base of every business-rule error. Subclasses set ``code``, ``kind`` and ``title``."""

    code: str = "domain_error"
    kind: ErrorKind = ErrorKind.INVALID
    title: str = "The request breaks a business rule"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None):
        self.detail = detail or self.title
        self.errors = errors or []
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    code = "validation_failed"
    kind = ErrorKind.INVALID
    title = "The input is not valid"


class NotFound(DomainError):
    code = "not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    kind = ErrorKind.CONFLICT
    title = "The request conflicts with the current state"


class PermissionDenied(DomainError):
    code = "permission_denied"
    kind = ErrorKind.FORBIDDEN
    title = "You may not do this"


class WorkspaceRequired(DomainError):
    code = "workspace_required"
    kind = ErrorKind.INVALID
    title = "This request acts within a workspace, and none was given"


class RateLimited(DomainError):
    """Too many attempts in a window; ``retry_after_seconds`` says when one more fits."""

    code = "rate_limited"
    kind = ErrorKind.LIMIT
    title = "Too many attempts; try again later"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__(detail or f"Try again in {self.retry_after_seconds} seconds.")
