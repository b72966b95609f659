"""Attempt limits kept in PostgreSQL: two app instances on one database share them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest

from scaliyo.adapters.crypto.passwords import Argon2PasswordHasher
from scaliyo.adapters.persistence.attempt_limiter import PostgresAttemptLimiter
from scaliyo.application.identity.auth_ports import AuthLimits
from tests.factories import insert_account
from tests.integration.helpers.auth import (
    PASSWORD,
    ROOMY,
    auth_app,
    auth_settings,
    client_of,
    new_email,
    new_ip,
    scalar,
)

FAST = Argon2PasswordHasher(fast_for_tests=True)
WINDOW = timedelta(minutes=15)


def limited(**changes) -> AuthLimits:
    return msgspec.structs.replace(ROOMY, **changes)


def assert_limited(response, window: timedelta) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window.total_seconds()


async def login(client, email: str, password: str, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


async def test_failed_logins_per_account_are_shared_by_two_app_instances(
    settings, tmp_path, owner_engine
):
    account = await insert_account(
        owner_engine, email=new_email("target"), password_hash=FAST.hash(PASSWORD)
    )
    limits = limited(login_failures_per_account=3, login_window=WINDOW)
    configured = auth_settings(settings, tmp_path)
    async with (
        client_of(auth_app(configured, limits)) as first,
        client_of(auth_app(configured, limits)) as second,
    ):
        # Each attempt from another address: the account's window counts them all.
        assert (await login(first, account.email, "wrong one", new_ip())).status_code == 401
        assert (await login(second, account.email, "wrong two", new_ip())).status_code == 401
        assert (await login(first, account.email, "wrong three", new_ip())).status_code == 401
        for client in (second, first):
            assert_limited(await login(client, account.email, PASSWORD, new_ip()), WINDOW)
        # An unknown address is limited alike: the answer tells nothing about accounts.
        ghost = new_email("ghost")
        for _ in range(3):
            assert (await login(first, ghost, "guess", new_ip())).status_code == 401
        assert_limited(await login(second, ghost, "guess", new_ip()), WINDOW)
        # Other accounts are not affected.
        other = await insert_account(
            owner_engine, email=new_email("other"), password_hash=FAST.hash(PASSWORD)
        )
        assert (await login(second, other.email, PASSWORD)).status_code == 200


async def test_failed_logins_per_ip_are_limited_across_accounts(settings, tmp_path, owner_engine):
    limits = limited(login_failures_per_ip=3, login_window=WINDOW)
    configured = auth_settings(settings, tmp_path)
    ip = new_ip()
    async with (
        client_of(auth_app(configured, limits), ip) as first,
        client_of(auth_app(configured, limits), ip) as second,
    ):
        for client in (first, second, first):
            assert (await login(client, new_email(), "guess")).status_code == 401
        account = await insert_account(
            owner_engine, email=new_email("victim"), password_hash=FAST.hash(PASSWORD)
        )
        assert_limited(await login(second, account.email, PASSWORD), WINDOW)
        # Another address is not affected.
        assert (await login(first, account.email, PASSWORD, new_ip())).status_code == 200


async def test_a_successful_login_clears_the_account_failures(settings, tmp_path, owner_engine):
    account = await insert_account(
        owner_engine, email=new_email("clears"), password_hash=FAST.hash(PASSWORD)
    )
    limits = limited(login_failures_per_account=2, login_window=WINDOW)
    async with client_of(auth_app(auth_settings(settings, tmp_path), limits)) as client:
        assert (await login(client, account.email, "wrong")).status_code == 401
        assert (await login(client, account.email, PASSWORD)).status_code == 200
        assert (await login(client, account.email, "wrong")).status_code == 401
        assert (await login(client, account.email, PASSWORD)).status_code == 200


async def test_signups_per_ip_are_limited_across_instances(settings, tmp_path):
    window = timedelta(hours=1)
    limits = limited(signups_per_ip=2, signup_window=window)
    configured = auth_settings(settings, tmp_path)
    ip = new_ip()
    async with (
        client_of(auth_app(configured, limits), ip) as first,
        client_of(auth_app(configured, limits), ip) as second,
    ):
        for client in (first, second):
            response = await client.post(
                "/api/v1/auth/signup", json={"email": new_email(), "password": PASSWORD}
            )
            assert response.status_code == 201
        refused = await first.post(
            "/api/v1/auth/signup", json={"email": new_email(), "password": PASSWORD}
        )
        assert_limited(refused, window)
        # Bad input is refused before it counts or is counted.
        weak = await second.post(
            "/api/v1/auth/signup", json={"email": new_email(), "password": "short"}
        )
        assert weak.status_code == 422


async def test_reset_requests_per_account_and_per_ip(settings, tmp_path):
    window = timedelta(hours=1)
    limits = limited(mails_per_account=2, mails_per_ip=3, mail_window=window)
    configured = auth_settings(settings, tmp_path)
    address = new_email("resets")
    async with (
        client_of(auth_app(configured, limits)) as first,
        client_of(auth_app(configured, limits)) as second,
    ):
        for client in (first, second):
            response = await client.post(
                "/api/v1/auth/password-reset",
                json={"email": address},
                headers={"X-Forwarded-For": new_ip()},
            )
            assert response.status_code == 202
        assert_limited(
            await first.post(
                "/api/v1/auth/password-reset",
                json={"email": address},
                headers={"X-Forwarded-For": new_ip()},
            ),
            window,
        )
        ip = new_ip()
        for _ in range(3):
            response = await second.post(
                "/api/v1/auth/password-reset",
                json={"email": new_email()},
                headers={"X-Forwarded-For": ip},
            )
            assert response.status_code == 202
        assert_limited(
            await first.post(
                "/api/v1/auth/password-reset",
                json={"email": new_email()},
                headers={"X-Forwarded-For": ip},
            ),
            window,
        )


async def test_the_limiter_holds_exactly_under_concurrency(database):
    limiter = PostgresAttemptLimiter(database.system)
    bucket = f"test:concurrent:{new_ip()}"
    results = await asyncio.gather(*(limiter.hit(bucket, 5, WINDOW) for _ in range(12)))
    assert sum(1 for wait in results if wait is None) == 5
    assert all(wait is not None and 1 <= wait <= 900 for wait in results if wait is not None)
    assert await limiter.retry_after(bucket, 5, WINDOW) is not None
    assert await limiter.retry_after(bucket, 6, WINDOW) is None
    await limiter.clear(bucket)
    assert await limiter.retry_after(bucket, 1, WINDOW) is None


@pytest.mark.parametrize("hops", [0, 1])
async def test_the_client_address_comes_from_the_trusted_proxy_setting(
    settings, tmp_path, owner_engine, hops
):
    configured = msgspec.structs.replace(auth_settings(settings, tmp_path), trusted_proxy_hops=hops)
    account = await insert_account(
        owner_engine, email=new_email("proxy"), password_hash=FAST.hash(PASSWORD)
    )
    async with client_of(auth_app(configured)) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": account.email, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
        )
    assert response.status_code == 200
    ip = await scalar(owner_engine, "SELECT ip FROM sessions WHERE user_id = :u", u=account.user_id)
    assert ip == ("203.0.113.9" if hops == 1 else "testclient")
