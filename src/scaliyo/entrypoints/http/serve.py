"""``scaliyo api``: the HTTP API under uvicorn, with JSON logs and a graceful shutdown.

uvicorn handles SIGTERM and SIGINT: it stops accepting connections, lets requests in flight
finish (up to ``GRACEFUL_SHUTDOWN_SECONDS``), then runs the app's shutdown (which closes the
container: database pools and the NATS link). uvicorn then re-raises the signal against the
handlers it found at start; ours turn that into exit status 0 — a requested stop that completed —
instead of a death by signal or a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn

from scaliyo.adapters.logging import configure_logging, get_logger
from scaliyo.adapters.settings import Settings, SettingsError
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app

GRACEFUL_SHUTDOWN_SECONDS = 20


def serve(settings: Settings) -> None:
    configure_logging(settings)
    try:
        settings.require_database()
        settings.require_nats()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    get_logger("scaliyo.http").info(
        "api starting", host=settings.host, port=settings.port, env=settings.env.value
    )
    config = uvicorn.Config(
        create_app(SettingsProvider(settings)),
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging already routes uvicorn's loggers
        access_log=False,  # the app writes its own access line with the request id
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    uvicorn.Server(config).run()


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)
