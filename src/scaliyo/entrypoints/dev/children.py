"""What the dev supervisor runs and how it restarts it: the pure part, no process is touched.

Rules:
- the dev stack runs three children: ``api``, ``worker`` and ``scheduler``, each the production
  command (``python -m scaliyo.entrypoints.cli.main <command>``) with the stack's URLs in its
  environment, so dev runs exactly what production runs;
- a child that exits on its own is restarted after a delay that doubles with each quick exit
  (1 s, 2 s, 4 s … capped at 30 s); a child that ran for ``STABLE_AFTER_SECONDS`` counts as
  healthy again and its next restart waits the base delay.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

CHILD_COMMANDS = ("api", "worker", "scheduler")
BASE_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0
STOP_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class StackUrls:
    """Where the running stack is; written to ``<data>/urls.json`` for tools and tests."""

    api: str
    database: str
    nats: str
    data_dir: str
    embedded_database: bool
    embedded_nats: bool

    def as_json(self) -> dict[str, object]:
        return {
            "api_url": self.api,
            "schema_url": f"{self.api}/schema",
            "readyz_url": f"{self.api}/readyz",
            "database_url": self.database,
            "nats_url": self.nats,
            "data_dir": self.data_dir,
            "embedded_database": self.embedded_database,
            "embedded_nats": self.embedded_nats,
        }


def api_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def child_env(
    base: Mapping[str, str],
    *,
    database_url: str,
    nats_url: str,
    host: str,
    port: int,
    data_dir: str,
) -> dict[str, str]:
    """The environment of every child: the caller's, plus the stack's URLs and dev defaults."""
    env = dict(base)
    env.update(
        DATABASE_URL=database_url,
        NATS_URL=nats_url,
        SCALIYO_ENV="dev",
        SCALIYO_HOST=host,
        SCALIYO_PORT=str(port),
        SCALIYO_DATA_DIR=data_dir,
        # children's output is read line by line through a pipe; don't let it sit in a buffer
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("SCALIYO_LOG_FORMAT", "console")
    # a Ctrl-C should not wait long for a job; an interrupted one is redelivered on the next run
    env.setdefault("SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS", "5")
    return env


def child_specs(env: Mapping[str, str], python: str = sys.executable) -> list[ChildSpec]:
    return [
        ChildSpec(name=name, argv=(python, "-m", "scaliyo.entrypoints.cli.main", name), env=env)
        for name in CHILD_COMMANDS
    ]


def restart_delay(quick_exits: int) -> float:
    """Seconds to wait before restarting a child that has exited ``quick_exits`` times in a row
    (counting this exit) without staying up for ``STABLE_AFTER_SECONDS``."""
    exponent = max(quick_exits - 1, 0)
    if exponent >= 16:  # far past the cap; avoids huge powers
        return MAX_DELAY_SECONDS
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**exponent)


def next_quick_exits(previous: int, uptime_seconds: float) -> int:
    """The quick-exit count after a child exited having run ``uptime_seconds``."""
    if uptime_seconds >= STABLE_AFTER_SECONDS:
        return 1
    return previous + 1


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` (asyncio/subprocess report signals as -N)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name} (exit code {returncode})"
    return f"exit code {returncode}"
