from __future__ import annotations

import logging

import nats
from nats.aio.client import Client

log = logging.getLogger("scaliyo.nats")


async def connect_nats(url: str, *, name: str) -> Client:
    """A NATS connection that keeps reconnecting (the server may restart under us).

    Connection trouble is logged as one line per event, not a traceback per retry.
    """

    async def on_error(error: Exception) -> None:
        log.warning("nats connection trouble", extra={"error": f"{type(error).__name__}: {error}"})

    client: Client | None = None

    async def on_disconnected() -> None:
        if client is not None and not (client.is_closed or client.is_draining):
            log.warning("nats disconnected; reconnecting")

    async def on_reconnected() -> None:
        log.info("nats reconnected")

    client = await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    return client
