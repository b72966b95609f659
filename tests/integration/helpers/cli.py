"""Running the ``scaliyo`` CLI as a separate process against the tests' servers."""

from __future__ import annotations

import asyncio
import os
import sys


def cli_env(settings, **extra: str) -> dict[str, str]:
    """The environment of a CLI run against ``settings``' database and NATS."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "NATS_URL": settings.nats_url,
        "SCALIYO_LOG_LEVEL": "WARNING",
        **extra,
    }


async def scaliyo(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``scaliyo ARGS``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scaliyo.entrypoints.cli.main",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    return process.returncode or 0, out.decode(), err.decode()
