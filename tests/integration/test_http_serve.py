"""``scaliyo api`` as a production process: serves, logs JSON, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_scaliyo_api_serves_and_stops_on_sigterm(settings):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "NATS_URL": settings.nats_url,
        "SCALIYO_ENV": "production",
        "SCALIYO_HOST": "127.0.0.1",
        "SCALIYO_PORT": str(port),
        "SCALIYO_LOG_LEVEL": "INFO",
        "SCALIYO_DB_POOL_SIZE": "2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scaliyo.entrypoints.cli.main",
        "api",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        ready = None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            while time.monotonic() < deadline and process.returncode is None:
                try:
                    ready = await http.get("/readyz", headers={"X-Request-Id": "probe-1"})
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert ready is not None and ready.status_code == 200, ready and ready.text
            assert ready.headers["x-request-id"] == "probe-1"
            unauthenticated = await http.get("/api/v1/jobs")
            assert unauthenticated.status_code == 401
            assert unauthenticated.headers["content-type"].startswith("application/problem+json")
            assert "server" not in unauthenticated.headers

        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert records, out.decode() + err.decode()
    assert all({"timestamp", "level", "logger", "event", "request_id"} <= r.keys() for r in records)
    events = [r["event"] for r in records]
    assert "api starting" in events
    assert "api stopped" in events  # the app's shutdown ran: pools and NATS link closed
    assert any(r["event"] == "request" and r.get("status") == 401 for r in records)
    # uvicorn's own lines go through the same JSON formatter
    assert any(r["logger"].startswith("uvicorn") for r in records)
