"""Keeps the dev stack's children running: spawn, prefix their output, restart, stop.

Rules:
- each child runs in its own session (so its own process group): a Ctrl-C at the terminal
  reaches only the supervisor, which decides the order of shutdown, and a stop signal sent to
  the group reaches every grandchild the child started;
- every line a child prints is shown prefixed with its name;
- a child that exits on its own is reported (name, exit code or signal) and restarted after the
  back-off of ``children.restart_delay``; whatever it left in its process group is killed first;
- on stop every child's group gets SIGTERM, then SIGKILL after the grace period (at once on a
  second Ctrl-C); ``run`` returns only when every child has exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TextIO

import httpx

from scaliyo.entrypoints.dev.children import (
    STOP_GRACE_SECONDS,
    ChildSpec,
    describe_exit,
    next_quick_exits,
    restart_delay,
)
from scaliyo.entrypoints.dev.servers import die_with_parent

LINE_LIMIT = 1 << 20
# A terminal's Ctrl-C reaches the whole foreground group, and wrappers such as `uv run` or
# `timeout` pass it on once more: a repeat this soon is the same Ctrl-C, not a second one.
SAME_SIGNAL_WINDOW_SECONDS = 1.0
_COLOURS = {"api": "36", "worker": "35", "scheduler": "33", "dev": "32"}


class Output:
    """Writes ``name | line`` to a stream, one whole line at a time."""

    def __init__(self, stream: TextIO | None = None, *, width: int = 9) -> None:
        self._stream = stream or sys.stdout
        self._width = width
        self._colour = getattr(self._stream, "isatty", lambda: False)() and not os.environ.get(
            "NO_COLOR"
        )

    def line(self, name: str, text: str) -> None:
        prefix = f"{name:<{self._width}} |"
        if self._colour:
            prefix = f"\x1b[{_COLOURS.get(name, '0')}m{prefix}\x1b[0m"
        with contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop a stop
            self._stream.write(f"{prefix} {text}\n")
            self._stream.flush()

    def say(self, text: str) -> None:
        self.line("dev", text)


class Supervisor:
    def __init__(
        self,
        specs: list[ChildSpec],
        output: Output,
        *,
        on_pid: Callable[[str, int | None], None] = lambda name, pid: None,
        readyz_url: str | None = None,
        grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self._specs = specs
        self._out = output
        self._on_pid = on_pid
        self._readyz_url = readyz_url
        self._grace = grace
        self._stopping: asyncio.Event | None = None
        self._kill_now: asyncio.Event | None = None
        self._signalled_at = 0.0

    async def run(self, *, handle_signals: bool = True) -> None:
        """Run every child until ``stop()`` (or SIGINT / SIGTERM when ``handle_signals``)."""
        self._stopping = asyncio.Event()
        self._kill_now = asyncio.Event()
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            await asyncio.gather(*(self._keep_running(spec) for spec in self._specs))
        finally:
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
                    # the caller is shutting down now; a late repeat must not interrupt that
                    signal.signal(sig, signal.SIG_IGN)

    def stop(self, *, now: bool = False) -> None:
        assert self._stopping is not None
        assert self._kill_now is not None
        self._stopping.set()
        if now:
            self._kill_now.set()

    def _on_signal(self, sig: signal.Signals) -> None:
        assert self._stopping is not None
        now = time.monotonic()
        if self._stopping.is_set():
            if now - self._signalled_at < SAME_SIGNAL_WINDOW_SECONDS:
                return  # the same Ctrl-C passed on by a wrapper (make, uv run, timeout)
            self._out.say(f"{sig.name} again: killing the children now")
            self.stop(now=True)
            return
        self._signalled_at = now
        self._out.say(f"{sig.name} received: stopping (press Ctrl-C again to kill at once)")
        self.stop()

    async def _keep_running(self, spec: ChildSpec) -> None:
        assert self._stopping is not None
        loop = asyncio.get_running_loop()
        quick_exits = 0
        while not self._stopping.is_set():
            started = loop.time()
            try:
                process = await asyncio.create_subprocess_exec(
                    *spec.argv,
                    env=dict(spec.env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_parent(),  # a killed supervisor takes its children along
                    limit=LINE_LIMIT,
                )
            except OSError as error:
                outcome = f"could not start: {error}"
            else:
                self._on_pid(spec.name, process.pid)
                self._out.say(f"{spec.name} started (pid {process.pid})")
                outcome = describe_exit(await self._watch(spec.name, process))
            if self._stopping.is_set():
                self._out.say(f"{spec.name} stopped ({outcome})")
                break
            quick_exits = next_quick_exits(quick_exits, loop.time() - started)
            delay = restart_delay(quick_exits)
            self._out.say(f"{spec.name} exited unexpectedly: {outcome}; restarting in {delay:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        self._on_pid(spec.name, None)

    async def _watch(self, name: str, process: asyncio.subprocess.Process) -> int:
        """Relay the child's output until it exits (on its own or because we stop); its code."""
        assert self._stopping is not None
        assert process.stdout is not None
        relay = asyncio.create_task(self._relay(name, process.stdout))
        ready = None
        if name == "api" and self._readyz_url:
            ready = asyncio.create_task(self._announce_ready(self._readyz_url))
        exited = asyncio.create_task(process.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                await self._terminate(process)
            returncode = await exited
        finally:
            stopping.cancel()
            if ready is not None:
                ready.cancel()
            # whatever the child left in its group (it may have died first) goes too
            _signal_group(process.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(relay, 5)
            except TimeoutError:  # someone outside the group still holds the pipe open
                relay.cancel()
        return returncode

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        assert self._kill_now is not None
        _signal_group(process.pid, signal.SIGTERM)
        exited = asyncio.ensure_future(process.wait())
        kill_now = asyncio.ensure_future(self._kill_now.wait())
        try:
            await asyncio.wait(
                {exited, kill_now}, timeout=self._grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            kill_now.cancel()
        if not exited.done():
            _signal_group(process.pid, signal.SIGKILL)
        await exited

    async def _relay(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                raw = end.partial
                if raw:
                    self._out.line(name, raw.decode(errors="replace").rstrip("\r\n"))
                return
            except asyncio.LimitOverrunError as long_line:
                raw = await stream.read(long_line.consumed)
            self._out.line(name, raw.decode(errors="replace").rstrip("\r\n"))

    async def _announce_ready(self, url: str, hint_after: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hint_after
        last = "no answer"
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                try:
                    response = await client.get(url)
                except httpx.HTTPError as error:
                    last = type(error).__name__
                else:
                    if response.status_code == 200:
                        self._out.say(f"ready: {url} answers 200")
                        return
                    last = f"{response.status_code} {response.text[:300]}"
                if deadline and loop.time() > deadline:
                    self._out.say(f"not ready after {hint_after:g} s; {url} says: {last}")
                    deadline = 0.0
                await asyncio.sleep(0.5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
