"""Settings from environment variables, validated at start-up.

A bad value stops the process with a message naming the variable. ``DATABASE_URL`` and
``NATS_URL`` are the common names; everything else is ``SCALIYO_*``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

OWNER_ROLE = "scaliyo_owner"
APP_ROLE = "scaliyo_app"
SYSTEM_ROLE = "scaliyo_system"


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


class Secret:
    """A secret setting (an API key, a signing secret): its repr and str never show it, so a
    logged or printed Settings leaks nothing. ``reveal()`` is for the one adapter that uses it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment = Environment.DEV
    # The bootstrap URL: a role that may create the three roles (the superuser on a new cluster).
    database_url: str | None = None
    owner_database_url: str | None = None
    app_database_url: str | None = None
    system_database_url: str | None = None
    nats_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".scaliyo")
    log_level: str = "INFO"
    log_format: str = "json"
    db_pool_size: int = 10
    ai_rate_limit: int = 10
    ai_rate_window_seconds: int = 60
    job_lease_seconds: int = 60
    # JetStream ack wait of the job consumers; a running job's message is kept alive while its
    # lease is renewed, so this bounds how soon a dead worker's job is redelivered.
    job_ack_wait_seconds: int = 600
    job_max_deliver: int = 100
    # The sweeper re-queues jobs stuck (no message, lapsed lease) for longer than this.
    job_sweep_after_seconds: int = 900
    # On SIGTERM running jobs get this long to finish; then they are released and redelivered.
    worker_shutdown_grace_seconds: int = 20
    relay_batch_size: int = 500
    relay_max_pending: int = 256
    # Lead imports: the largest upload, the rows of a chunk (one transaction each), how many
    # processes prepare rows (0: as many as there are CPUs), and how long an uploaded file is
    # kept in blob storage (then the hourly purge deletes it; a new import needs a new upload).
    import_max_bytes: int = 200 * 1024 * 1024
    import_chunk_rows: int = 4000
    import_workers: int = 0
    import_upload_retention_hours: int = 168
    # System mail (confirmations, resets, invites): SMTP when set, else .eml files in the dev
    # outbox under <data_dir>/outbox/.
    system_smtp_url: str | None = None
    system_mail_from: str = "Scaliyo <no-reply@scaliyo.local>"
    # Reverse proxies in front of the API whose X-Forwarded-For entries are trusted: the client
    # IP (rate limits, audit) is the entry this many hops from the right. 0: the peer address.
    trusted_proxy_hops: int = 0
    # Stripe: without an API key the offline payments stand-in runs (checkout completes at once
    # and says so); without a webhook secret POST /api/v1/webhooks/stripe refuses every request.
    stripe_api_key: Secret | None = None
    stripe_webhook_secret: Secret | None = None
    # Where the Stripe SDK sends requests (a local fake or stripe-mock in tests).
    stripe_api_base: str | None = None
    stripe_timeout_seconds: int = 20
    stripe_max_retries: int = 2
    # Our billing page, where checkout and the billing portal send the user back.
    billing_return_url: str | None = None

    def billing_page(self) -> str:
        return self.billing_return_url or f"http://{self.host}:{self.port}/billing"

    def require_database(self) -> str:
        if not self.database_url and not self.app_database_url:
            raise SettingsError("DATABASE_URL is not set (or run `scaliyo dev`, which sets it).")
        return self.database_url or self.app_database_url or ""

    def require_nats(self) -> str:
        if not self.nats_url:
            raise SettingsError("NATS_URL is not set (or run `scaliyo dev`, which sets it).")
        return self.nats_url

    def role_url(self, role: str) -> URL:
        """The URL a process uses to log in as one of the three roles.

        An explicit ``SCALIYO_<ROLE>_DATABASE_URL`` wins; otherwise the role logs in on the
        ``DATABASE_URL`` server with its own name (trust, peer, certificate or ``.pgpass``).
        """
        explicit = {
            OWNER_ROLE: self.owner_database_url,
            APP_ROLE: self.app_database_url,
            SYSTEM_ROLE: self.system_database_url,
        }[role]
        if explicit:
            return async_url(explicit)
        base = async_url(self.require_database())
        # URL.set() ignores None, so a password cannot be cleared with it
        return URL.create(
            base.drivername,
            username=role,
            password=None,
            host=base.host,
            port=base.port,
            database=base.database,
            query=base.query,
        )

    def bootstrap_url(self) -> URL:
        return async_url(self.require_database())


def async_url(raw: str) -> URL:
    url = make_url(raw)
    if url.drivername in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        url = url.set(drivername="postgresql+asyncpg")
    return url


MAX_IMPORT_CHUNK_ROWS = 20_000
_INT_FIELDS = {
    "SCALIYO_PORT": ("port", 1, 65535),
    "SCALIYO_DB_POOL_SIZE": ("db_pool_size", 1, 500),
    "SCALIYO_AI_RATE_LIMIT": ("ai_rate_limit", 1, 100_000),
    "SCALIYO_AI_RATE_WINDOW_SECONDS": ("ai_rate_window_seconds", 1, 86_400),
    "SCALIYO_JOB_LEASE_SECONDS": ("job_lease_seconds", 5, 3_600),
    "SCALIYO_JOB_ACK_WAIT_SECONDS": ("job_ack_wait_seconds", 1, 86_400),
    "SCALIYO_JOB_MAX_DELIVER": ("job_max_deliver", 1, 100_000),
    "SCALIYO_JOB_SWEEP_AFTER_SECONDS": ("job_sweep_after_seconds", 1, 86_400),
    "SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS": ("worker_shutdown_grace_seconds", 0, 3_600),
    "SCALIYO_RELAY_BATCH_SIZE": ("relay_batch_size", 1, 10_000),
    "SCALIYO_RELAY_MAX_PENDING": ("relay_max_pending", 1, 10_000),
    "SCALIYO_IMPORT_MAX_BYTES": ("import_max_bytes", 1, 2**40),
    # a chunk's one ``leads.imported`` event lists its leads' ids (40 bytes each as JSON):
    # 20,000 of them still fit NATS's default 1 MiB message
    "SCALIYO_IMPORT_CHUNK_ROWS": ("import_chunk_rows", 1, MAX_IMPORT_CHUNK_ROWS),
    "SCALIYO_IMPORT_WORKERS": ("import_workers", 0, 64),
    "SCALIYO_IMPORT_UPLOAD_RETENTION_HOURS": ("import_upload_retention_hours", 1, 24 * 366),
    "SCALIYO_TRUSTED_PROXY_HOPS": ("trusted_proxy_hops", 0, 10),
    "SCALIYO_STRIPE_TIMEOUT_SECONDS": ("stripe_timeout_seconds", 1, 120),
    "SCALIYO_STRIPE_MAX_RETRIES": ("stripe_max_retries", 0, 10),
}
_URL_FIELDS = {
    "DATABASE_URL": "database_url",
    "SCALIYO_OWNER_DATABASE_URL": "owner_database_url",
    "SCALIYO_APP_DATABASE_URL": "app_database_url",
    "SCALIYO_SYSTEM_DATABASE_URL": "system_database_url",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}

    raw_env = env.get("SCALIYO_ENV")
    if raw_env:
        try:
            values["env"] = Environment(raw_env)
        except ValueError:
            allowed = ", ".join(e.value for e in Environment)
            raise SettingsError(f"SCALIYO_ENV must be one of {allowed}, got {raw_env!r}.") from None

    for name, field in _URL_FIELDS.items():
        raw = env.get(name)
        if raw:
            try:
                url = make_url(raw)
            except ArgumentError:
                raise SettingsError(f"{name} is not a database URL.") from None
            if not url.drivername.startswith("postgres"):
                raise SettingsError(f"{name} must be a PostgreSQL URL (postgresql://…).")
            values[field] = raw

    nats = env.get("NATS_URL")
    if nats:
        if not nats.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise SettingsError("NATS_URL must start with nats://, tls://, ws:// or wss://.")
        values["nats_url"] = nats

    for name, (field, low, high) in _INT_FIELDS.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            number = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}.") from None
        if not low <= number <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {number}.")
        values[field] = number

    if smtp := env.get("SCALIYO_SYSTEM_SMTP_URL"):
        values["system_smtp_url"] = _smtp_url(smtp)
    if sender := env.get("SCALIYO_SYSTEM_MAIL_FROM"):
        if "@" not in sender or any(ch in sender for ch in "\r\n"):
            raise SettingsError("SCALIYO_SYSTEM_MAIL_FROM must be an address like Scaliyo <a@b.c>.")
        values["system_mail_from"] = sender

    values.update(_stripe_settings(env))

    if host := env.get("SCALIYO_HOST"):
        values["host"] = host
    if data_dir := env.get("SCALIYO_DATA_DIR"):
        values["data_dir"] = Path(data_dir)
    if level := env.get("SCALIYO_LOG_LEVEL"):
        if level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(
                f"SCALIYO_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}."
            )
        values["log_level"] = level.upper()
    if fmt := env.get("SCALIYO_LOG_FORMAT"):
        if fmt not in {"json", "console"}:
            raise SettingsError(f"SCALIYO_LOG_FORMAT must be json or console, got {fmt!r}.")
        values["log_format"] = fmt
    return Settings(**values)  # type: ignore[arg-type]


def _stripe_settings(env: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if key := env.get("SCALIYO_STRIPE_API_KEY", "").strip():
        # Secret (sk_) or restricted (rk_) keys; a publishable key (pk_) cannot act server-side.
        if not key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")) or any(
            ch.isspace() for ch in key
        ):
            raise SettingsError(
                "SCALIYO_STRIPE_API_KEY must be a secret or restricted Stripe key "
                "(sk_test_…, sk_live_…, rk_…), not a publishable one."
            )
        values["stripe_api_key"] = Secret(key)
    if secret := env.get("SCALIYO_STRIPE_WEBHOOK_SECRET", "").strip():
        if not secret.startswith("whsec_") or any(ch.isspace() for ch in secret):
            raise SettingsError(
                "SCALIYO_STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)."
            )
        values["stripe_webhook_secret"] = Secret(secret)
    for name, field in (
        ("SCALIYO_STRIPE_API_BASE", "stripe_api_base"),
        ("SCALIYO_BILLING_RETURN_URL", "billing_return_url"),
    ):
        if raw := env.get(name, "").strip():
            parts = urlsplit(raw)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise SettingsError(f"{name} must be an http:// or https:// URL, got {raw!r}.")
            values[field] = raw.rstrip("/") if field == "stripe_api_base" else raw
    return values


def _smtp_url(raw: str) -> str:
    """``smtp://user:password@host:587`` (STARTTLS when offered) or ``smtps://…:465``."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise SettingsError("SCALIYO_SYSTEM_SMTP_URL has a malformed port.") from None
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise SettingsError(
            "SCALIYO_SYSTEM_SMTP_URL must look like smtp://user:password@host:587 "
            "or smtps://user:password@host:465."
        )
    if port == 0:
        raise SettingsError("SCALIYO_SYSTEM_SMTP_URL has a malformed port.")
    return raw
