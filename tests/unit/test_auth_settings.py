"""Settings of authentication: system mail and trusted proxies."""

from __future__ import annotations

import pytest

from scaliyo.adapters.email.system_mail import DevOutboxMailer, SmtpMailer
from scaliyo.adapters.settings import SettingsError, load_settings
from scaliyo.entrypoints.container import IdentityProvider


def test_system_mail_defaults_to_the_dev_outbox():
    settings = load_settings({})
    assert settings.system_smtp_url is None
    assert settings.trusted_proxy_hops == 0
    assert isinstance(IdentityProvider().mailer(settings), DevOutboxMailer)


def test_an_smtp_url_selects_the_smtp_adapter():
    settings = load_settings(
        {
            "SCALIYO_SYSTEM_SMTP_URL": "smtps://mailer:s%40cret@smtp.example.com:465",
            "SCALIYO_SYSTEM_MAIL_FROM": "Scaliyo <hello@example.com>",
            "SCALIYO_TRUSTED_PROXY_HOPS": "2",
        }
    )
    assert settings.system_mail_from == "Scaliyo <hello@example.com>"
    assert settings.trusted_proxy_hops == 2
    assert isinstance(IdentityProvider().mailer(settings), SmtpMailer)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCALIYO_SYSTEM_SMTP_URL", "http://smtp.example.com"),
        ("SCALIYO_SYSTEM_SMTP_URL", "smtp://"),
        ("SCALIYO_SYSTEM_SMTP_URL", "smtp://host:notaport"),
        ("SCALIYO_SYSTEM_MAIL_FROM", "no address"),
        ("SCALIYO_SYSTEM_MAIL_FROM", "a@b.c\r\nBcc: x@y.z"),
        ("SCALIYO_TRUSTED_PROXY_HOPS", "-1"),
        ("SCALIYO_TRUSTED_PROXY_HOPS", "11"),
    ],
)
def test_bad_values_name_their_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
