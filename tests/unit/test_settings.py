from __future__ import annotations

import pytest

from scaliyo.adapters.settings import APP_ROLE, SettingsError, load_settings


def test_defaults_without_environment():
    settings = load_settings({})
    assert settings.port == 8000 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SCALIYO_PORT": "eighty"}, "SCALIYO_PORT"),
        ({"SCALIYO_PORT": "70000"}, "SCALIYO_PORT"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"DATABASE_URL": "::::"}, "DATABASE_URL"),
        ({"NATS_URL": "http://localhost"}, "NATS_URL"),
        ({"SCALIYO_ENV": "staging"}, "SCALIYO_ENV"),
        ({"SCALIYO_LOG_LEVEL": "loud"}, "SCALIYO_LOG_LEVEL"),
    ],
)
def test_a_bad_value_names_its_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        load_settings(env)


def test_role_urls_derive_from_database_url():
    settings = load_settings({"DATABASE_URL": "postgresql://postgres:pw@db.internal:5432/scaliyo"})
    url = settings.role_url(APP_ROLE)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.database) == (
        "scaliyo_app",
        None,
        "db.internal",
        "scaliyo",
    )


def test_an_explicit_role_url_wins():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://postgres@db/scaliyo",
            "SCALIYO_APP_DATABASE_URL": "postgresql://scaliyo_app:secret@pool/scaliyo",
        }
    )
    assert settings.role_url(APP_ROLE).host == "pool"
