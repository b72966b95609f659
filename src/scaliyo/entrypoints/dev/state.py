"""The dev stack's data directory: its layout, the one-supervisor lock, and what it records.

Rules:
- one ``scaliyo dev`` per data directory: the supervisor holds an exclusive ``flock`` on
  ``<data>/dev.lock`` while it runs (the kernel drops it when the process dies, even by SIGKILL);
- ``<data>/urls.json`` says where the running stack is, for tools and tests; it is removed on
  a clean stop;
- ``<data>/pids.json`` records every process the supervisor started (pid and start time); a
  supervisor that takes the lock stops whatever a previous, killed one left behind, and a
  process is only stopped when its start time matches, so a reused pid is never hit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    @property
    def nats_store(self) -> Path:
        return self.root / "nats"

    @property
    def lock(self) -> Path:
        return self.root / "dev.lock"

    @property
    def urls(self) -> Path:
        return self.root / "urls.json"

    @property
    def pids(self) -> Path:
        return self.root / "pids.json"


class AlreadyRunning(RuntimeError):
    pass


def take_lock(data: DataDir) -> int:
    """Hold ``dev.lock`` for the life of this process; returns the descriptor to keep open."""
    data.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(data.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(
            f"another `scaliyo dev` (pid {holder}) is using {data.root}; stop it first "
            "or set SCALIYO_DATA_DIR to another directory"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def write_json(path: Path, payload: object) -> None:
    """Write atomically, so a reader never sees half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(path)


def read_json(path: Path) -> dict:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def process_record(pid: int) -> dict[str, object]:
    """pid and start time: together they name one process, even after the pid is reused."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = 0.0
    return {"pid": pid, "started": started}


def recorded_process(record: object) -> psutil.Process | None:
    """The live process a record names, or None when it is gone (or its pid was reused)."""
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    try:
        process = psutil.Process(record["pid"])
        same = abs(process.create_time() - float(record.get("started") or 0)) < 1.0
    except (psutil.Error, TypeError, ValueError):
        return None
    return process if same and process.is_running() else None


def stop_process_groups(leaders: list[psutil.Process], grace: float = 5.0) -> None:
    """SIGTERM the process groups these leaders lead (children run in their own sessions), all
    at once, then SIGKILL whatever is left after ``grace`` seconds."""
    pgids = {leader.pid for leader in leaders}
    members = [*leaders, *_members_of(pgids)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        _, members = psutil.wait_procs(members, timeout=grace)
        if not members:
            return


def _members_of(pgids: set[int]) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if process.pid not in pgids and os.getpgid(process.pid) in pgids:
                members.append(process)
    return members


def stop_leftovers(data: DataDir, say) -> None:
    """Stop the children a previous supervisor of this data directory left running."""
    recorded = read_json(data.pids)
    leftovers = []
    for name, record in dict(recorded.get("children") or {}).items():
        process = recorded_process(record)
        if process is not None:
            say(f"stopping {name} (pid {process.pid}) left over from a previous run")
            leftovers.append(process)
    if leftovers:
        stop_process_groups(leftovers)
    with contextlib.suppress(FileNotFoundError):
        data.pids.unlink()


class PidBook:
    """``pids.json``: the supervisor, the NATS server and the current pid of every child."""

    def __init__(self, data: DataDir) -> None:
        self._path = data.pids
        self._payload: dict[str, object] = {
            "supervisor": process_record(os.getpid()),
            "children": {},
            "updated": time.time(),
        }

    def set(self, key: str, pid: int | None) -> None:
        self._payload[key] = None if pid is None else process_record(pid)
        self._flush()

    def set_child(self, name: str, pid: int | None) -> None:
        children = self._payload["children"]
        assert isinstance(children, dict)
        children[name] = None if pid is None else process_record(pid)
        self._flush()

    def _flush(self) -> None:
        self._payload["updated"] = time.time()
        write_json(self._path, self._payload)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
