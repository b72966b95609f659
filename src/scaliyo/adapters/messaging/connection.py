from __future__ import annotations

import nats
from nats.aio.client import Client


async def connect_nats(url: str, *, name: str) -> Client:
    """A NATS connection that keeps reconnecting (the server may restart under us)."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )
