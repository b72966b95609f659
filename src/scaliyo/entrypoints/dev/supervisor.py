"""``scaliyo dev``: the whole stack on one machine, what ``make run`` runs.

Rules:
- data lives under ``SCALIYO_DATA_DIR`` (default ``.scaliyo/``): ``pg/`` (embedded PostgreSQL),
  ``nats/`` (the JetStream store); a second start reuses both;
- PostgreSQL and NATS are started only when ``DATABASE_URL`` / ``NATS_URL`` are unset; NATS gets
  a free port (4222 may belong to someone else);
- the API port (``SCALIYO_PORT``, 8000) must be free, or nothing starts (exit 1);
- migrations run before any child starts; then ``api``, ``worker`` and ``scheduler`` run as
  supervised children (``processes.Supervisor``);
- Ctrl-C or SIGTERM stops the children, then NATS, then PostgreSQL; nothing the stack started
  is left running. A previous run that was killed (SIGKILL) is cleaned up on the next start:
  its children and its NATS server are stopped, its PostgreSQL server is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shlex
import signal
import socket
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.settings import Settings, SettingsError, async_url, load_settings
from scaliyo.entrypoints.dev import servers
from scaliyo.entrypoints.dev.children import StackUrls, api_url, child_env, child_specs
from scaliyo.entrypoints.dev.processes import Output, Supervisor
from scaliyo.entrypoints.dev.state import (
    AlreadyRunning,
    DataDir,
    PidBook,
    stop_leftovers,
    take_lock,
    write_json,
)

DEV_DATABASE = "scaliyo"


def run_dev() -> None:
    out = Output()
    try:
        settings = load_settings()
    except SettingsError as error:
        out.say(f"configuration error: {error}")
        sys.exit(2)
    sys.exit(DevStack(settings, out).run())


class DevStack:
    def __init__(self, settings: Settings, out: Output) -> None:
        self.settings = settings
        self.out = out
        self.data = DataDir(Path(settings.data_dir).expanduser().resolve())
        self.embedded_database = not settings.database_url
        self.embedded_nats = not settings.nats_url
        self._nats: servers.EmbeddedNats | None = None
        self._book: PidBook | None = None

    def run(self) -> int:
        say = self.out.say
        try:
            lock = take_lock(self.data)
        except AlreadyRunning as error:
            say(str(error))
            return 1
        # Ctrl-C or SIGTERM while starting unwinds through the `finally` below
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _interrupt_once)
        try:
            return self._run(say)
        except KeyboardInterrupt:
            say("interrupted during start-up")
            return 0
        except Exception as error:
            say(f"start-up failed: {type(error).__name__}: {error}")
            traceback.print_exc()
            return 1
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)  # the shutdown below must run to the end
            self._shut_down(say)
            os.close(lock)

    def _run(self, say) -> int:
        stop_leftovers(self.data, say)
        for pid in servers.stop_stale_nats(self.data.nats_store):
            say(f"stopped nats-server (pid {pid}) left over from a previous run")
        host, port = self.settings.host, self.settings.port
        if problem := port_problem(host, port):
            say(f"{problem}; stop that process or set SCALIYO_PORT to a free port")
            return 1
        self._book = PidBook(self.data)

        database_url = self._database()
        nats_url = self._nats_server()
        say("migrating the database …")
        from scaliyo.adapters.persistence import migrate

        asyncio.run(migrate.upgrade(async_url(database_url)))
        say(f"database at revision {migrate.head_revision()}")

        urls = StackUrls(
            api=api_url(host, port),
            database=shown_url(database_url),
            nats=nats_url,
            data_dir=str(self.data.root),
            embedded_database=self.embedded_database,
            embedded_nats=self.embedded_nats,
        )
        self._publish(urls)
        env = child_env(
            os.environ,
            database_url=database_url,
            nats_url=nats_url,
            host=host,
            port=port,
            data_dir=str(self.data.root),
        )
        supervisor = Supervisor(
            child_specs(env),
            self.out,
            on_pid=self._book.set_child,
            readyz_url=f"{urls.api}/readyz",
        )
        asyncio.run(supervisor.run())
        return 0

    def _database(self) -> str:
        """The bootstrap URL (a role-creating login), starting embedded PostgreSQL if needed."""
        if not self.embedded_database:
            if servers.running_postmaster(self.data.pgdata) is not None:
                self.out.say("stopping the embedded PostgreSQL left over from a previous run")
                servers.stop_postgres(self.data.pgdata)
            assert self.settings.database_url is not None
            return self.settings.database_url
        reused = servers.running_postmaster(self.data.pgdata) is not None
        verb = "reusing the PostgreSQL still running on" if reused else "starting PostgreSQL in"
        self.out.say(f"{verb} {self.data.pgdata}")
        with _interrupts_deferred():  # an initdb cut short would leave a broken pgdata
            server = servers.start_postgres(self.data.pgdata)
        postmaster = servers.running_postmaster(self.data.pgdata)
        assert self._book is not None
        self._book.set("postgres", postmaster.pid if postmaster else None)
        asyncio.run(ensure_database(server.url, DEV_DATABASE))
        return socket_url(server.url, DEV_DATABASE)

    def _nats_server(self) -> str:
        if not self.embedded_nats:
            assert self.settings.nats_url is not None
            return self.settings.nats_url
        port = servers.free_port()
        self.out.say(f"starting NATS JetStream on port {port} (store {self.data.nats_store})")
        self._nats = servers.start_nats(self.data.nats_store, port=port)
        assert self._book is not None
        self._book.set("nats", self._nats.process.pid)
        return self._nats.url

    def _publish(self, urls: StackUrls) -> None:
        write_json(self.data.urls, urls.as_json())
        env_file = self.data.root / "dev.env"
        env_file.write_text(
            f"DATABASE_URL={shlex.quote(urls.database)}\nNATS_URL={shlex.quote(urls.nats)}\n"
        )
        rows = [
            ("API", urls.api),
            ("OpenAPI", f"{urls.api}/schema"),
            ("Readiness", f"{urls.api}/readyz"),
            ("Database", urls.database + ("" if urls.embedded_database else "  (external)")),
            ("NATS", urls.nats + ("" if urls.embedded_nats else "  (external)")),
            ("Data", urls.data_dir),
        ]
        say = self.out.say
        say("scaliyo dev is starting:")
        for label, value in rows:
            say(f"  {label:<10} {value}")
        say(f"  URLs in {self.data.urls}; for the CLI: set -a; . {env_file}; set +a")
        say("Ctrl-C stops everything.")

    def _shut_down(self, say) -> None:
        if self._nats is not None:
            say("stopping NATS")
            self._nats.stop()
        if self.embedded_nats:
            servers.stop_stale_nats(self.data.nats_store)
        if self.embedded_database and servers.running_postmaster(self.data.pgdata):
            say("stopping PostgreSQL")
            servers.stop_postgres(self.data.pgdata)
        with contextlib.suppress(FileNotFoundError):
            self.data.urls.unlink()
        if self._book is not None:
            self._book.remove()
        say("stopped")


def _interrupt_once(signum, frame) -> None:
    # wrappers (make, uv run, timeout) may deliver the same Ctrl-C twice: the first one counts
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM until the block is done, then act on them."""
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: received.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


async def ensure_database(server_url: str, name: str) -> None:
    """Create database ``name`` on the server when absent."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


def socket_url(server_url: str, database: str) -> str:
    """``postgresql://postgres@/scaliyo?host=/…/pg``: the form psql and every tool understands
    (the settings add the asyncpg driver), with the socket directory left readable."""
    url = make_url(server_url)
    socket_dir = url.query.get("host")
    if not isinstance(socket_dir, str):
        return url.set(database=database).render_as_string(hide_password=False)
    return f"postgresql://{url.username}@/{database}?host={quote(socket_dir, safe='/')}"


def shown_url(url: str) -> str:
    """The URL as printed and written to ``urls.json``: a password (external servers only; the
    embedded one trusts local logins) is masked."""
    parsed = make_url(url)
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be listened on; otherwise what is wrong, naming the process
    that holds the port when it can be found."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # the API server sets SO_REUSEADDR too, so a port in TIME_WAIT counts as free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return f"cannot listen on {host}:{port}: {error.strerror or error}"
        else:
            return None
    return f"port {port} on {host} is already in use{_holder(port)}"


def _holder(port: int) -> str:
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections("tcp"):
            listening = connection.status == psutil.CONN_LISTEN
            if listening and connection.laddr.port == port and connection.pid:
                name = psutil.Process(connection.pid).name()
                return f" (by {name}, pid {connection.pid})"
    return ""
