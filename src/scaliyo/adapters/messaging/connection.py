from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client

log = logging.getLogger("scaliyo.nats")
CANCEL_WAIT_SECONDS = 1.0


async def connect_nats(url: str, *, name: str) -> Client:
    """A NATS connection that keeps reconnecting (the server may restart under us).

    Connection trouble is logged as one line per event, not a traceback per retry. Until a
    server answers it keeps trying; cancelling it stops that for sure.
    """

    async def on_error(error: Exception) -> None:
        log.warning("nats connection trouble", extra={"error": f"{type(error).__name__}: {error}"})

    client: Client | None = None

    async def on_disconnected() -> None:
        if client is not None and not (client.is_closed or client.is_draining):
            log.warning("nats disconnected; reconnecting")

    async def on_reconnected() -> None:
        log.info("nats reconnected")

    connecting = asyncio.ensure_future(
        nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    )
    try:
        client = await asyncio.shield(connecting)
    except asyncio.CancelledError:
        await _stop(connecting)
        raise
    return client


async def _stop(connecting: asyncio.Future[Client]) -> None:
    """Cancel the client's connect loop until it has ended. It can lose a cancellation: on
    Python 3.11 ``asyncio.wait_for`` raises the inner connect's error instead when both land at
    once, and the loop takes that for a failed attempt and retries for ever (the API's shutdown
    with NATS unreachable hung so). A connection made meanwhile is closed."""
    while not connecting.done():
        connecting.cancel()
        await asyncio.wait({connecting}, timeout=CANCEL_WAIT_SECONDS)
    if not connecting.cancelled() and connecting.exception() is None:
        await connecting.result().close()
