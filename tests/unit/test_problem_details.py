"""Problem details: how errors become RFC 9457 bodies (no server; the handlers on their own)."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.testing import RequestFactory

from scaliyo.domain.shared.errors import (
    Conflict,
    DomainError,
    ErrorKind,
    FieldError,
    NotFound,
    ValidationFailed,
)
from scaliyo.entrypoints.http import problems
from scaliyo.entrypoints.http.problems import (
    domain_error_handler,
    http_error_handler,
    register_status,
    status_of,
    unexpected_error_handler,
)


def request():
    req = RequestFactory().get("/api/v1/things")
    req.scope["state"]["request_id"] = "rid-1"
    return req


def body(response) -> dict:
    assert response.media_type == "application/problem+json"
    return msgspec.json.decode(response.content)


def error_of(kind: ErrorKind) -> DomainError:
    cls = type(f"Some{kind.value.title()}", (DomainError,), {"kind": kind, "code": "some"})
    return cls()


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ErrorKind.INVALID, 422),
        (ErrorKind.NOT_FOUND, 404),
        (ErrorKind.CONFLICT, 409),
        (ErrorKind.FORBIDDEN, 403),
        (ErrorKind.UNAUTHENTICATED, 401),
        (ErrorKind.LIMIT, 409),
        (ErrorKind.UNAVAILABLE, 503),
    ],
)
def test_each_kind_has_its_status(kind, status):
    assert status_of(error_of(kind)) == status


class OutOfCredits(DomainError):
    code = "out_of_credits"
    kind = ErrorKind.LIMIT
    title = "Not enough credits"


class OutOfImageCredits(OutOfCredits):
    code = "out_of_image_credits"


@pytest.fixture
def credits_are_402() -> Iterator[None]:
    register_status(OutOfCredits, 402)
    yield
    problems._STATUS_OVERRIDES.pop(OutOfCredits)


def test_a_registered_status_wins_for_the_class_and_its_subclasses(credits_are_402):
    assert status_of(OutOfCredits()) == 402
    assert status_of(OutOfImageCredits()) == 402
    assert status_of(Conflict()) == 409


def test_a_validation_error_lists_its_fields():
    error = ValidationFailed(
        "Bad name.", errors=[FieldError("name", "too_long", "At most 100 characters.")]
    )
    response = domain_error_handler(request(), error)
    assert response.status_code == 422
    assert body(response) == {
        "type": "https://scaliyo.dev/problems/validation_failed",
        "title": "The input is not valid",
        "status": 422,
        "code": "validation_failed",
        "detail": "Bad name.",
        "request_id": "rid-1",
        "errors": [{"field": "name", "code": "too_long", "message": "At most 100 characters."}],
    }


def test_a_not_found_has_no_errors_member():
    response = domain_error_handler(request(), NotFound())
    assert response.status_code == 404
    problem = body(response)
    assert problem["code"] == "not_found"
    assert problem["detail"] == "Not found"
    assert "errors" not in problem


def test_framework_validation_maps_field_paths_and_codes():
    error = ValidationException(
        extra=[
            {"message": "Expected `int`, got `str`", "key": "count", "source": "body"},
            {"message": "Object missing required field `x`", "key": "items[0]", "source": "body"},
            {"message": "Object missing required field `name`", "key": "data", "source": "body"},
            {"message": "Expected `object`, got `array`", "key": "data", "source": "body"},
            {"message": "Invalid enum value 'x'", "key": "status", "source": "query"},
            {"message": "Expected `int` <= 200", "key": "limit", "source": "query"},
        ]
    )
    response = http_error_handler(request(), error)
    assert response.status_code == 422
    problem = body(response)
    assert problem["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("count", "invalid_type"),
        ("items[0].x", "required"),
        ("name", "required"),
        ("body", "invalid_type"),
        ("status", "invalid_choice"),
        ("limit", "out_of_range"),
    ]


def test_unparseable_json_is_400_malformed_json():
    try:
        try:
            raise SerializationException("unexpected end of input")
        except SerializationException as cause:
            raise ClientException("unexpected end of input") from cause
    except ClientException as error:
        response = http_error_handler(request(), error)
    assert response.status_code == 400
    assert body(response)["code"] == "malformed_json"


def test_other_http_errors_keep_status_and_headers():
    response = http_error_handler(
        request(), NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})
    )
    assert response.status_code == 401
    assert body(response)["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"

    teapot = http_error_handler(request(), HTTPException(status_code=418))
    assert body(teapot)["code"] == "i_m_a_teapot"


def test_unexpected_errors_leak_nothing():
    response = unexpected_error_handler(request(), KeyError("postgres://user:pw@host/db"))
    problem = body(response)
    assert response.status_code == 500
    assert problem["code"] == "internal_error"
    assert "postgres" not in response.content.decode()
    assert "KeyError" not in response.content.decode()

    server_error = http_error_handler(
        request(), HTTPException(status_code=500, detail="column secret_x does not exist")
    )
    assert server_error.status_code == 500
    assert "secret_x" not in server_error.content.decode()
