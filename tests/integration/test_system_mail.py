"""System mail adapters against a real SMTP conversation (aiosmtpd) and the dev outbox."""

from __future__ import annotations

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from scaliyo.adapters.email.system_mail import DevOutboxMailer, SmtpMailer
from scaliyo.application.identity.security import SystemEmail
from scaliyo.entrypoints.dev.servers import free_port


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


MAIL = SystemEmail(
    to="jane@example.com", subject="Confirm your email", text="Token: abc", kind="confirmation"
)


async def test_smtp_adapter_delivers_over_smtp(smtp_server):
    controller, recorder = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{controller.port}")
    await mailer.send(MAIL)
    assert len(recorder.messages) == 1
    mail_from, recipients, content = recorder.messages[0]
    assert recipients == ["jane@example.com"]
    assert "no-reply@scaliyo.local" in mail_from
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert parsed["Subject"] == "Confirm your email"
    assert parsed["X-Scaliyo-Kind"] == "confirmation"
    assert parsed.get_content().strip() == "Token: abc"


async def test_smtp_adapter_gives_up_on_a_dead_server():
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", attempts=2)
    with pytest.raises(OSError):
        await mailer.send(MAIL)


def test_smtp_url_is_validated():
    with pytest.raises(ValueError, match="SCALIYO_SYSTEM_SMTP_URL"):
        SmtpMailer("http://example.com")


async def test_dev_outbox_writes_eml_files_that_say_they_are_offline(tmp_path):
    await DevOutboxMailer(tmp_path / "outbox").send(MAIL)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "jane@example.com"
    assert parsed["X-Scaliyo-Delivery"].startswith("offline")
    assert "Token: abc" in parsed.get_content()
