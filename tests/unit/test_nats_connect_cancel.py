"""``connect_nats`` stops when cancelled, even when the client's connect loop loses the
cancellation (Python 3.11's ``asyncio.wait_for`` raises the inner connect's error instead when
both land at once, and the loop retries), so no process hangs on an unreachable NATS at
shutdown."""

from __future__ import annotations

import asyncio

from scaliyo.adapters.messaging import connection
from scaliyo.adapters.messaging.connection import connect_nats


async def test_a_connect_loop_that_swallowed_a_cancellation_still_ends(monkeypatch):
    attempts = 0
    swallowed = 0

    async def connect_loop(url: str, **options):
        nonlocal attempts, swallowed
        while True:  # as the client's loop: an error is a failed attempt, retried
            attempts += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:
                    swallowed += 1
                    continue  # the lost cancellation
                raise

    monkeypatch.setattr(connection.nats, "connect", connect_loop)
    monkeypatch.setattr(connection, "CANCEL_WAIT_SECONDS", 0.05)
    connecting = asyncio.create_task(connect_nats("nats://127.0.0.1:1", name="test"))
    await asyncio.sleep(0.03)
    connecting.cancel()
    done, _ = await asyncio.wait({connecting}, timeout=5)
    assert connecting in done and connecting.cancelled()
    assert swallowed == 1
    stopped_at = attempts
    await asyncio.sleep(0.05)
    assert attempts == stopped_at  # nothing left retrying


async def test_a_connection_made_as_it_was_cancelled_is_closed(monkeypatch):
    closed: list[bool] = []

    class Connected:
        async def close(self) -> None:
            closed.append(True)

    async def connect(url: str, **options):
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            return Connected()  # made at the same moment: the cancellation is lost
        return Connected()

    monkeypatch.setattr(connection.nats, "connect", connect)
    connecting = asyncio.create_task(connect_nats("nats://127.0.0.1:1", name="test"))
    await asyncio.sleep(0.01)
    connecting.cancel()
    await asyncio.wait({connecting}, timeout=5)
    assert connecting.cancelled()
    assert closed == [True]
