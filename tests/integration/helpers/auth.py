"""HTTP set-up for the authentication tests: an app with a dev outbox of its own, attempt limits
chosen by the test, a client with an address of its own, and the outbox's mail."""

from __future__ import annotations

import email
import email.policy
import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import msgspec
from dishka import Provider, Scope, provide
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.settings import Environment, Settings
from scaliyo.application.identity.auth_ports import AuthLimits
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from scaliyo.entrypoints.http.auth import SESSION_COOKIE

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery staple"
# Generous limits: tests that are not about limits never meet them.
ROOMY = AuthLimits(
    login_failures_per_account=1000,
    login_failures_per_ip=1000,
    signups_per_ip=1000,
    mails_per_account=1000,
    mails_per_ip=1000,
)
_ADDRESSES = itertools.count(1)


class LimitsProvider(Provider):
    def __init__(self, limits: AuthLimits) -> None:
        super().__init__()
        self._limits = limits

    @provide(scope=Scope.APP)
    def limits(self) -> AuthLimits:
        return self._limits


def auth_settings(settings: Settings, data_dir: Path) -> Settings:
    """The suite's settings as the test environment (fast hashing), with an outbox of its own
    and one trusted proxy, so a test's client address comes from ``X-Forwarded-For``."""
    return msgspec.structs.replace(
        settings, env=Environment.TEST, data_dir=data_dir, trusted_proxy_hops=1
    )


def auth_app(settings: Settings, limits: AuthLimits = ROOMY) -> Litestar:
    return create_app(SettingsProvider(settings), LimitsProvider(limits))


def new_ip() -> str:
    """A client address no other test uses (documentation ranges, then private ones)."""
    n = next(_ADDRESSES) + secrets.randbelow(1 << 16) * 1000
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@asynccontextmanager
async def client_of(app: Litestar, ip: str | None = None) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app) as client:
        client.headers["X-Forwarded-For"] = ip or new_ip()
        yield client


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@acme-corp.io"


# --- the dev outbox ----------------------------------------------------------------------------


def outbox_mails(outbox: Path) -> list[EmailMessage]:
    if not outbox.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]


def mails_to(outbox: Path, address: str, kind: str | None = None) -> list[EmailMessage]:
    return [
        mail
        for mail in outbox_mails(outbox)
        if mail["To"] == address and (kind is None or mail["X-Scaliyo-Kind"] == kind)
    ]


def token_in(mail: EmailMessage, label: str) -> str:
    body = mail.get_content()
    line = next(line for line in body.splitlines() if line.startswith(f"{label}: "))
    return line.removeprefix(f"{label}: ").strip()


def last_token(outbox: Path, address: str, kind: str) -> str:
    label = {"confirmation": "Confirmation token", "password_reset": "Reset token"}[kind]
    return token_in(mails_to(outbox, address, kind)[-1], label)


# --- flows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    token: str
    csrf_token: str
    body: dict

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.token}"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf_token
        return headers


async def sign_up_and_confirm(
    client: AsyncTestClient, outbox: Path, address: str, password: str = PASSWORD
) -> None:
    response = await client.post(
        "/api/v1/auth/signup", json={"email": address, "password": password}
    )
    assert response.status_code == 201, response.text
    token = last_token(outbox, address, "confirmation")
    confirmed = await client.post("/api/v1/auth/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text


async def log_in(client: AsyncTestClient, address: str, password: str = PASSWORD) -> SignedIn:
    """Sign in; the session travels in explicit headers afterwards (the jar is emptied)."""
    response = await client.post(
        "/api/v1/auth/login", json={"email": address, "password": password}
    )
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    body = response.json()
    return SignedIn(token=token, csrf_token=body["csrf_token"], body=body)


async def scalar(engine: AsyncEngine, sql: str, **params):
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def audit_actions(engine: AsyncEngine, since_target: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT action FROM audit_log WHERE target = :t ORDER BY at, id"),
            {"t": since_target},
        )
        return [row.action for row in rows]
