"""``scaliyo dev``: the supervisor's process handling, and the whole stack end to end."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from scaliyo.entrypoints.dev.children import ChildSpec
from scaliyo.entrypoints.dev.processes import Output, Supervisor
from scaliyo.entrypoints.dev.servers import free_port
from scaliyo.entrypoints.dev.state import AlreadyRunning, DataDir, take_lock
from scaliyo.entrypoints.dev.supervisor import port_problem

CLI = (sys.executable, "-m", "scaliyo.entrypoints.cli.main")


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


async def async_wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


# A child that crashes (exit 3) on its first run and then stays up.
CRASH_ONCE = """
import pathlib, sys, time
runs = pathlib.Path(sys.argv[1])
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
print("run", len(runs.read_text()), flush=True)
if len(runs.read_text()) == 1:
    sys.exit(3)
time.sleep(600)
"""

# A child that ignores SIGTERM and leaves a grandchild in its process group.
STUBBORN = """
import signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen(["sleep", "600"])
print("grandchild", grandchild.pid, flush=True)
time.sleep(600)
"""


async def test_the_supervisor_restarts_a_crashed_child_and_leaves_no_process(tmp_path):
    stream = io.StringIO()
    pids: dict[str, list[int]] = {}

    def record(name: str, pid: int | None) -> None:
        if pid is not None:
            pids.setdefault(name, []).append(pid)

    specs = [
        ChildSpec("crasher", (sys.executable, "-c", CRASH_ONCE, str(tmp_path / "runs")), {}),
        ChildSpec("stubborn", (sys.executable, "-c", STUBBORN), {}),
    ]
    supervisor = Supervisor(specs, Output(stream), on_pid=record, grace=1.0)
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    try:
        await async_wait_for(
            lambda: "crasher   | run 2" in stream.getvalue(), 20, "the crashed child's restart"
        )
        await async_wait_for(
            lambda: "stubborn  | grandchild" in stream.getvalue(), 20, "the grandchild"
        )
    finally:
        supervisor.stop()
        await asyncio.wait_for(running, 30)

    output = stream.getvalue()
    assert "dev       | crasher exited unexpectedly: exit code 3; restarting in 1 s" in output
    assert "crasher   | run 1" in output
    assert len(pids["crasher"]) == 2
    assert "dev       | stubborn stopped (killed by SIGKILL" in output  # it ignored SIGTERM
    grandchild = int(output.split("stubborn  | grandchild ")[1].split()[0])
    for pid in [*pids["crasher"], *pids["stubborn"], grandchild]:
        assert not _alive(pid), f"pid {pid} survived the stop"


def test_one_supervisor_per_data_directory(tmp_path):
    data = DataDir(tmp_path / "data")
    first = take_lock(data)
    try:
        with pytest.raises(AlreadyRunning, match=str(os.getpid())):
            take_lock(data)
    finally:
        os.close(first)
    os.close(take_lock(data))  # free again once the holder lets go


def test_a_taken_port_is_reported_with_its_holder():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        problem = port_problem("127.0.0.1", port)
    assert problem is not None
    assert problem.startswith(f"port {port} on 127.0.0.1 is already in use")
    assert f"pid {os.getpid()}" in problem
    assert port_problem("127.0.0.1", free_port()) is None


def test_a_taken_api_port_stops_the_stack_with_a_clear_message():
    data = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            finished = subprocess.run(
                [*CLI, "dev"],
                env=dev_env(data, port),
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert finished.returncode == 1
        assert f"port {port} on 127.0.0.1 is already in use" in finished.stdout
        assert "SCALIYO_PORT" in finished.stdout
        assert not (data / "pg").exists()  # nothing was started
    finally:
        shutil.rmtree(data, ignore_errors=True)


# --- the whole stack ---------------------------------------------------------------------------


def dev_env(data: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SCALIYO_", "TEST_")) and name not in {"DATABASE_URL", "NATS_URL"}
    }
    env.update(SCALIYO_DATA_DIR=str(data), SCALIYO_PORT=str(port))
    return env


class DevRun:
    """``scaliyo dev`` as a child of the test, its output collected line by line."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*CLI, "dev"],
            env=dev_env(data, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def urls(self) -> dict:
        return json.loads((self.data / "urls.json").read_text())

    def pids(self) -> dict:
        return json.loads((self.data / "pids.json").read_text())

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"scaliyo dev exited early:\n{self.output}")
            try:
                response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        try:
            wait_for(ready, timeout, "/readyz 200")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.output}") from None

    def processes(self) -> list[psutil.Process]:
        """Everything this run started: its descendants, and the servers found by data dir."""
        found = {p.pid: p for p in psutil.Process(self.process.pid).children(recursive=True)}
        for process in stack_processes(self.data):
            found.setdefault(process.pid, process)
        return list(found.values())

    def interrupt(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self._reader.join(5)


def stack_processes(data: Path) -> list[psutil.Process]:
    """postgres on ``data/pg``, nats-server on ``data/nats``, and our CLI's processes whose
    environment names ``data`` as their data directory."""
    servers = {"postgres": str(data / "pg"), "nats-server": str(data / "nats")}
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            joined = " ".join(process.info.get("cmdline") or [])
            server_dir = servers.get(process.info.get("name") or "")
            ours = "scaliyo.entrypoints.cli.main" in joined and process.pid != os.getpid()
            if (server_dir and server_dir in joined) or (
                ours and process.environ().get("SCALIYO_DATA_DIR") == str(data)
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _still_running(processes: list[psutil.Process]) -> list[str]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


DEV_PASSWORD = "a dev stack passphrase"


def create_user(urls: dict, email: str) -> dict:
    env = dev_env(Path(urls["data_dir"]), 1)
    env.update(DATABASE_URL=urls["database_url"], NATS_URL=urls["nats_url"])
    finished = subprocess.run(
        [*CLI, "user", "create", email, "--password-stdin"],
        env=env,
        input=DEV_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def get_workspace(urls: dict, email: str) -> httpx.Response:
    """Sign in as ``email`` and read the session's workspace."""
    with httpx.Client(base_url=urls["api_url"], timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": DEV_PASSWORD})
        assert login.status_code == 200, login.text
        return client.get("/api/v1/workspace")


def open_billing_portal(urls: dict, email: str) -> httpx.Response:
    """Sign in as ``email`` (an owner) and open the billing portal."""
    with httpx.Client(base_url=urls["api_url"], timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": DEV_PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        return client.post("/api/v1/billing/portal", headers=csrf)


@pytest.fixture
def dev_data() -> Iterator[Path]:
    data = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))  # short: PostgreSQL's socket is here
    yield data
    for process in stack_processes(data):  # only when the test failed half-way
        try:
            process.kill()
        except psutil.Error:
            continue
    shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_the_dev_stack_starts_serves_restarts_children_stops_cleanly_and_keeps_its_data(
    dev_data,
):
    port = free_port()
    first = DevRun(dev_data, port)
    try:
        first.wait_ready(60)
        urls = first.urls()
        assert urls["api_url"] == f"http://127.0.0.1:{port}"
        assert urls["embedded_database"] is True
        assert urls["embedded_nats"] is True
        assert urls["nats_url"] != "nats://127.0.0.1:4222"
        for printed in (urls["api_url"], f"{urls['api_url']}/readyz", urls["database_url"]):
            assert printed in first.output

        # an operator command against the stack's database; the API sees its result
        email = "ops@acme-dev.io"
        workspace_id = create_user(urls, email)["workspace_id"]
        response = get_workspace(urls, email)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == workspace_id
        assert response.json()["name"] == "Acme Dev"

        # without a Stripe key the stack pays through the offline stand-in, which says so
        portal = open_billing_portal(urls, email)
        assert portal.status_code == 200, portal.text
        assert portal.json()["provider"] == "offline" and "portal=offline" in portal.json()["url"]

        # a child killed with SIGKILL is reported and comes back
        old_worker = first.pids()["children"]["worker"]["pid"]
        os.kill(old_worker, signal.SIGKILL)
        wait_for(
            lambda: "worker exited unexpectedly: killed by SIGKILL" in first.output,
            30,
            "the report of the killed worker",
        )

        def new_worker() -> int | None:
            record = first.pids()["children"].get("worker")
            pid = record and record["pid"]
            return pid if pid and pid != old_worker and _alive(pid) else None

        restarted = wait_for(new_worker, 30, "a new worker")
        wait_for(
            lambda: "worker ready" in first.output.split(f"(pid {restarted})")[-1],
            60,
            "the new worker to be ready",
        )
        first.wait_ready(30)

        started = first.processes()
        assert any(p.info.get("name") == "postgres" for p in stack_processes(dev_data))
        assert first.interrupt() == 0
        assert _still_running(started) == []
        assert stack_processes(dev_data) == []
        assert not (dev_data / "urls.json").exists()
    finally:
        if first.process.poll() is None:
            first.process.kill()

    second = DevRun(dev_data, port)
    try:
        second.wait_ready(60)
        assert "starting PostgreSQL in" in second.output  # the same pgdata, started again
        response = get_workspace(second.urls(), email)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == workspace_id
        started = second.processes()
        assert second.interrupt() == 0
        assert _still_running(started) == []
        assert stack_processes(dev_data) == []
    finally:
        if second.process.poll() is None:
            second.process.kill()
