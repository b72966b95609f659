"""Structured logs for every process: one JSON object per line on stdout.

``configure_logging(settings)`` routes structlog and the standard library (uvicorn, SQLAlchemy,
nats, the bus's ``logging`` calls with ``extra=``) through one formatter. Every line has
``timestamp`` (RFC 3339, UTC, ``Z``), ``level``, ``logger``, ``event`` and ``request_id`` (``null``
outside a request). Bind the request id with ``structlog.contextvars.bind_contextvars``.

Rules the formatter enforces on every line, whoever logged it:
- keys that name a secret (password, token, secret, authorization, cookie, api key, credential
  …) are dropped, at any depth;
- e-mail addresses inside any string are masked to ``j***@example.com``.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, Any

import structlog
from structlog.types import EventDict, Processor

from scaliyo.adapters.settings import Settings

_HANDLER_NAME = "scaliyo"

# Words that, as a whole part of a key (split on ``_``, ``-``, ``.``), mark it as secret.
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "authorization",
        "cookie",
        "apikey",
        "credential",
        "credentials",
        "dsn",
        "signature",
    }
)
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("set", "cookie")})
_KEY_PARTS = re.compile(r"[_\-.\s]+")
_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
# Noise that some libraries attach to their records.
_DROPPED_KEYS = frozenset({"color_message"})


def is_secret_key(key: str) -> bool:
    parts = [part for part in _KEY_PARTS.split(key.lower()) if part]
    if any(part in _SECRET_WORDS for part in parts):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts))


def mask_emails(text: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com``."""
    return _EMAIL.sub(r"\1***@\2", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_emails(value)
    if isinstance(value, Mapping):
        return {
            key: _scrub(item)
            for key, item in value.items()
            if not (isinstance(key, str) and is_secret_key(key))
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(item) for item in value]
    return value


def redact(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Drop secret-named keys and mask e-mail addresses (a structlog processor)."""
    cleaned: EventDict = {}
    for key, value in event_dict.items():
        if key in _DROPPED_KEYS or is_secret_key(key):
            continue
        cleaned[key] = _scrub(value)
    return cleaned


def ensure_request_id(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("request_id", None)
    return event_dict


_LEADING_KEYS = ("timestamp", "level", "logger", "event", "request_id")


def _leading_keys_first(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict[key] for key in _LEADING_KEYS if key in event_dict}
    ordered.update((key, value) for key, value in event_dict.items() if key not in ordered)
    return ordered


class _QuietAlembicContext(logging.Filter):
    """Alembic announces its dialect each time a migration context is made (``/readyz``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "alembic.runtime.migration":
            return True
        message = str(record.msg)
        return not message.startswith(("Context impl", "Will assume"))


def _stringify_event(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    event = event_dict.get("event")
    if event is not None and not isinstance(event, str):
        event_dict["event"] = str(event)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> None:
    """Send every log line of this process through the scaliyo formatter.

    Calling it again replaces the previous configuration (tests pass ``stream``).
    """
    level = logging.getLevelName(settings.log_level.upper())
    renderer: Processor
    if settings.log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)

    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # reconfiguration (tests, a second configure call) must reach loggers made earlier
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _stringify_event,
            ensure_request_id,
            redact,
            _leading_keys_first,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.addFilter(_QuietAlembicContext())

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME or stream is None:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)

    # Libraries: their records go to the root handler; none keeps handlers of its own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True
    # The HTTP layer writes its own access line (with the request id and route template).
    logging.getLogger("uvicorn.access").disabled = True
    # SQL statements would log parameters (e-mails, names); keep the engines to warnings.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.pool").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
