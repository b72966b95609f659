"""JSON logs: the fields every line has, request ids, and what never reaches a log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from scaliyo.adapters.logging import configure_logging, get_logger, is_secret_key, mask_emails
from scaliyo.adapters.settings import Settings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging(Settings(log_level="DEBUG"), stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "access_token",
        "Authorization",
        "api_key",
        "apiKey",
        "client-secret",
        "set-cookie",
        "refresh.token",
        "PRIVATE_KEY",
        "credentials",
    ],
)
def test_secret_keys_are_recognised(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["tokens", "author", "email_count", "keyword", "status", "event"])
def test_ordinary_keys_are_kept(key):
    assert not is_secret_key(key)


def test_emails_are_masked_in_text():
    assert mask_emails("to jane.doe+x@mail.example.co.uk, bob@b.io") == (
        "to j***@mail.example.co.uk, b***@b.io"
    )
    assert mask_emails("no address @ here") == "no address @ here"


def test_a_structlog_line_has_the_standard_fields(stream):
    get_logger("scaliyo.test").info("hello", count=2)
    [line] = lines(stream)
    assert line["event"] == "hello"
    assert line["level"] == "info"
    assert line["logger"] == "scaliyo.test"
    assert line["request_id"] is None
    assert line["count"] == 2
    assert line["timestamp"].endswith("Z")
    assert "T" in line["timestamp"]


def test_bound_request_id_reaches_structlog_and_stdlib_lines(stream):
    with structlog.contextvars.bound_contextvars(request_id="r-7"):
        get_logger("scaliyo.test").warning("one")
        logging.getLogger("some.library").warning("two %s", "args", extra={"queue": "q1"})
    logging.getLogger("some.library").warning("three")
    first, second, third = lines(stream)
    assert first["request_id"] == "r-7"
    assert second["request_id"] == "r-7"
    assert second["event"] == "two args"
    assert second["logger"] == "some.library"
    assert second["queue"] == "q1"
    assert third["request_id"] is None


def test_secrets_are_dropped_and_emails_masked_at_any_depth(stream):
    get_logger("scaliyo.test").info(
        "signed in alice@example.com",
        password="hunter2",
        user={"email": "alice@example.com", "api_key": "sk_1_abc", "name": "Alice"},
        recipients=["bob@example.com"],
        tokens=120,
    )
    logging.getLogger("lib").info("stdlib", extra={"authorization": "Bearer xyz"})
    text = stream.getvalue()
    for secret in ("hunter2", "sk_1_abc", "Bearer xyz", "alice@example.com", "bob@example.com"):
        assert secret not in text
    first, second = lines(stream)
    assert first["event"] == "signed in a***@example.com"
    assert first["user"] == {"email": "a***@example.com", "name": "Alice"}
    assert first["recipients"] == ["b***@example.com"]
    assert first["tokens"] == 120
    assert "authorization" not in second


def test_exceptions_are_rendered_into_the_line(stream):
    try:
        raise ValueError("bad thing for carol@example.com")
    except ValueError:
        logging.getLogger("lib").exception("failed")
    [line] = lines(stream)
    assert line["level"] == "error"
    assert "ValueError" in line["exception"]
    assert "c***@example.com" in line["exception"]


def test_the_level_setting_filters(stream):
    configure_logging(Settings(log_level="WARNING"), stream=stream)
    get_logger("scaliyo.test").info("quiet")
    get_logger("scaliyo.test").warning("loud")
    assert [line["event"] for line in lines(stream)] == ["loud"]


def test_console_format_is_not_json():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    try:
        configure_logging(Settings(log_format="console"), stream=out)
        get_logger("scaliyo.test").info("readable", n=1)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
    assert "readable" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")
