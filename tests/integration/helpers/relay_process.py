"""One outbox relay in a process of its own, for crash tests.

    python tests/integration/helpers/relay_process.py DATABASE_URL NATS_URL

``DATABASE_URL`` is the bootstrap URL (the relay logs in as ``scaliyo_system`` on that server).
SIGTERM or SIGINT stops it. With ``SCALIYO_FAILPOINT=relay_after_publish`` it SIGKILLs itself
after its first batch is published and acked, before marking it sent.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.relay import OutboxRelay
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.settings import Settings


async def main(database_url: str, nats_url: str) -> None:
    database = Database.connect(
        Settings(database_url=database_url, nats_url=nats_url, db_pool_size=2)
    )
    nc = await connect_nats(nats_url, name="relay-process")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        relay = OutboxRelay(database.system, nc.jetstream(), poll_interval=0.05)
        await relay.run(stop)
    finally:
        await nc.close()
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
