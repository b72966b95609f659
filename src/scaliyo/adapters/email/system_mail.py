"""System mail (confirmations, resets, invites): SMTP in production, ``.eml`` files in dev.

The dev outbox writes each message as an RFC 5322 file under ``<data dir>/outbox/`` so the
whole sign-up flow works with no mail server; it says so in a header and in the logs.
Message bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from scaliyo.application.identity.security import SystemEmail
from scaliyo.domain.identity.emails import mask_email

log = logging.getLogger("scaliyo.mail")

DEFAULT_SENDER = "Scaliyo <no-reply@scaliyo.local>"


def build_message(email: SystemEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    message["X-Scaliyo-Kind"] = email.kind
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    return message


class DevOutboxMailer:
    """Offline adapter: writes ``.eml`` files instead of sending."""

    def __init__(self, directory: Path, sender: str = DEFAULT_SENDER) -> None:
        self._directory = directory
        self._sender = sender

    async def send(self, email: SystemEmail) -> None:
        message = build_message(email, self._sender)
        message["X-Scaliyo-Delivery"] = "offline (dev outbox; nothing was sent)"
        await asyncio.to_thread(self._write, message, email.kind)
        log.info("system mail written to the dev outbox", extra={"to": mask_email(email.to)})

    def _write(self, message: EmailMessage, kind: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{kind}-{make_msgid().strip('<>').split('@')[0]}.eml"
        (self._directory / name).write_bytes(bytes(message))


class SmtpMailer:
    """Real adapter: ``SCALIYO_SYSTEM_SMTP_URL`` = ``smtp[s]://user:password@host:port``.

    ``smtps`` speaks implicit TLS (port 465); ``smtp`` upgrades with STARTTLS when the server
    offers it. Transient failures are retried with backoff.
    """

    def __init__(self, url: str, sender: str = DEFAULT_SENDER, *, attempts: int = 3) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SCALIYO_SYSTEM_SMTP_URL must look like smtp://user:pass@host:587")
        self._host = parts.hostname
        self._implicit_tls = parts.scheme == "smtps"
        self._port = parts.port or (465 if self._implicit_tls else 587)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender
        self._attempts = attempts

    async def send(self, email: SystemEmail) -> None:
        message = build_message(email, self._sender)
        delay = 0.5
        for attempt in range(1, self._attempts + 1):
            try:
                await aiosmtplib.send(
                    message,
                    hostname=self._host,
                    port=self._port,
                    username=self._username,
                    password=self._password,
                    use_tls=self._implicit_tls,
                    start_tls=None if not self._implicit_tls else False,
                    timeout=30,
                )
            except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError):
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
            else:
                log.info("system mail sent", extra={"to": mask_email(email.to), "kind": email.kind})
                return
