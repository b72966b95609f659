"""Problem details (RFC 9457) for every error the API answers.

The body is ``application/problem+json`` with ``type``, ``title``, ``status``, ``code`` (stable,
snake_case), ``detail``, ``request_id`` and, for validation, ``errors: [{field, code,
message}]``. Rules:
- a ``DomainError`` answers the status of its kind (invalid 422, not_found 404, conflict 409,
  forbidden 403, unauthenticated 401, limit 409, unavailable 503) unless a subclass is registered
  here with another status (``register_status``); ``RateLimited`` is 429 with ``Retry-After``;
- Litestar's validation errors answer 422 ``validation_failed`` with the field paths; a body that
  is not JSON answers 400 ``malformed_json``;
- unknown routes 404 ``route_not_found``, wrong methods 405 ``method_not_allowed`` (with
  ``Allow``), bodies over the limit 413 ``payload_too_large``;
- a database that cannot serve now (unreachable, starting, shutting down, out of connections)
  is 503 ``database_unavailable`` with ``Retry-After``, logged as one warning line;
- anything else is 500 ``internal_error``: logged with its traceback and the request id, and
  nothing of it is shown to the caller.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from scaliyo.adapters.logging import get_logger
from scaliyo.adapters.persistence.database import database_unavailable
from scaliyo.domain.shared.errors import DomainError, ErrorKind, RateLimited

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://scaliyo.dev/problems/"

log = get_logger("scaliyo.http")
DATABASE_RETRY_AFTER_SECONDS = 2

KIND_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.LIMIT: 409,
    ErrorKind.UNAVAILABLE: 503,
}

_STATUS_OVERRIDES: dict[type[DomainError], int] = {RateLimited: 429}

# Codes for Litestar's own HTTP errors, by status.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request is malformed"),
    401: ("unauthenticated", "Authentication is required"),
    403: ("forbidden", "You may not do this"),
    404: ("route_not_found", "No such route"),
    405: ("method_not_allowed", "This route does not accept that method"),
    406: ("not_acceptable", "No acceptable representation"),
    413: ("payload_too_large", "The request body is too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal error"),
    503: ("unavailable", "The service is unavailable"),
}


class FieldProblem(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    code: str
    detail: str
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


_RESPONSE_DESCRIPTIONS = {
    400: "The request is malformed (for a body: not JSON)",
    401: "Authentication is required",
    404: "Not found (also a resource of another workspace)",
    422: "The input is not valid; `errors` names the fields",
    429: "Too many attempts; `Retry-After` says how many seconds to wait",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI ``responses=`` documenting these statuses as problem details."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_RESPONSE_DESCRIPTIONS.get(status) or _phrase(status),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


def register_status(error_type: type[DomainError], status: int) -> None:
    """Answer ``error_type`` (and its subclasses) with ``status`` instead of its kind's."""
    _STATUS_OVERRIDES[error_type] = status


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS_OVERRIDES:
            return _STATUS_OVERRIDES[cls]
    return KIND_STATUS.get(error.kind, 422)


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_BASE + code


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response[bytes]:
    problem = Problem(
        type=problem_type(code),
        title=title,
        status=status,
        code=code,
        detail=detail,
        request_id=request_id_of(request) if request is not None else None,
        errors=errors,
    )
    body = msgspec.to_builtins(problem)
    if extensions:
        # RFC 9457 extension members sit beside the standard ones; never overwrite those.
        body.update({key: value for key, value in extensions.items() if key not in body})
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def request_id_of(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    return state.get("request_id")


def domain_error_handler(request: Request, error: DomainError) -> Response[bytes]:
    status = status_of(error)
    errors = [FieldProblem(field=e.field, code=e.code, message=e.message) for e in error.errors]
    headers = None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return problem_response(
        request,
        status=status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        errors=errors if status == 422 or errors else None,
        headers=headers,
    )


_NAMED_FIELD = re.compile(r"^Object (missing required|contains unknown) field `([^`]+)`")
_RANGE = re.compile(r"^Expected `[^`]+` (?:[<>]=?) ")
_TYPE = re.compile(r"^Expected `[^`]+`, got `[^`]+`")
_ENUM = re.compile(r"^Invalid enum value")
_LENGTH = re.compile(r"^Expected `[^`]+` of length")


def _field_code(message: str) -> str:
    if named := _NAMED_FIELD.match(message):
        return "required" if named.group(1) == "missing required" else "unknown_field"
    if message.startswith("Missing required"):
        return "required"
    if _ENUM.match(message):
        return "invalid_choice"
    if _LENGTH.match(message):
        return "invalid_length"
    if _RANGE.match(message):
        return "out_of_range"
    if _TYPE.match(message):
        return "invalid_type"
    return "invalid"


def _field_path(entry: dict[str, Any], message: str) -> str:
    """The field a Litestar validation message is about, as a path (``items[0].x``).

    The body's root is ``data`` in Litestar's keys; we call it ``body``. A missing or unknown
    field is reported by msgspec on its parent object, with the field's name in the message.
    """
    key = str(entry.get("key") or "")
    in_body = entry.get("source") in {None, "body"}
    parent = "" if in_body and key in {"", "data"} else key
    if named := _NAMED_FIELD.match(message):
        return f"{parent}.{named.group(2)}" if parent else named.group(2)
    return parent or "body"


def validation_errors(error: ValidationException) -> list[FieldProblem]:
    extra = error.extra if isinstance(error.extra, list) else []
    problems = []
    for entry in extra:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("message") or "Invalid value")
        problems.append(
            FieldProblem(
                field=_field_path(entry, message), code=_field_code(message), message=message
            )
        )
    return problems


def http_error_handler(request: Request, error: HTTPException) -> Response[bytes]:
    headers = dict(error.headers or {})
    if isinstance(error, ValidationException):
        errors = validation_errors(error)
        fields = ", ".join(sorted({e.field for e in errors})) or "the request"
        return problem_response(
            request,
            status=422,
            code="validation_failed",
            title="The input is not valid",
            detail=f"Check {fields}.",
            errors=errors,
            headers=headers,
        )
    if isinstance(error.__cause__, SerializationException):
        return problem_response(
            request,
            status=400,
            code="malformed_json",
            title="The body is not valid JSON",
            detail="The request body could not be parsed as JSON.",
            headers=headers,
        )
    if isinstance(error, NotFoundException):
        return problem_response(
            request,
            status=404,
            code="route_not_found",
            title="No such route",
            detail=f"Nothing answers {request.method} {request.url.path}.",
            headers=headers,
        )
    if isinstance(error, MethodNotAllowedException):
        allowed = headers.get("allow") or headers.get("Allow") or ""
        return problem_response(
            request,
            status=405,
            code="method_not_allowed",
            title="This route does not accept that method",
            detail=f"{request.method} is not allowed here"
            + (f"; use {allowed}." if allowed else "."),
            headers=headers,
        )
    if isinstance(error, RequestEntityTooLarge):
        limit = request.route_handler.resolve_request_max_body_size() if _routed(request) else None
        detail = f"The body may hold at most {limit} bytes." if limit else "The body is too large."
        return problem_response(
            request,
            status=413,
            code="payload_too_large",
            title="The request body is too large",
            detail=detail,
            headers=headers,
        )
    status = error.status_code
    if status >= 500:
        _log_unexpected(request, error)
        code, title = _HTTP_CODES.get(status, ("internal_error", "Internal error"))
        return problem_response(
            request,
            status=status,
            code=code,
            title=title,
            detail="An unexpected error occurred; quote the request id when you report it.",
            headers=headers,
        )
    code, title = _HTTP_CODES.get(status, (_snake(status), _phrase(status)))
    detail = error.detail if error.detail and error.detail != _phrase(status) else title
    return problem_response(
        request, status=status, code=code, title=title, detail=detail, headers=headers
    )


def unexpected_error_handler(request: Request, error: Exception) -> Response[bytes]:
    if database_unavailable(error):
        log.warning(
            "database unavailable",
            method=request.method,
            path=request.url.path,
            error=f"{type(error).__name__}: {error}",
        )
        return problem_response(
            request,
            status=503,
            code="database_unavailable",
            title="The database is unavailable",
            detail="The database cannot be reached now; try again in a moment.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    _log_unexpected(request, error)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal error",
        detail="An unexpected error occurred; quote the request id when you report it.",
    )


def _log_unexpected(request: Request, error: Exception) -> None:
    log.error(
        "unhandled error",
        method=request.method,
        path=request.url.path,
        error_type=type(error).__name__,
        exc_info=error,
    )


def _routed(request: Request) -> bool:
    return request.scope.get("route_handler") is not None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _snake(status: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", _phrase(status).lower()).strip("_") or "error"


def exception_handlers() -> ExceptionHandlersMap:
    return {
        DomainError: domain_error_handler,
        HTTPException: http_error_handler,
        Exception: unexpected_error_handler,
    }


# What a workspace-scoped route can answer besides success (400 replaces Litestar's own schema).
WORKSPACE_ROUTE_PROBLEMS = problem_responses(400, 401, 404, 422)
