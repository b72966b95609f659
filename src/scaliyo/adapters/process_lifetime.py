"""How long-running processes live: child processes that end with their parent (Linux
``PR_SET_PDEATHSIG`` makes the kernel signal a child when the thread that started it dies, even
by SIGKILL, so no orphan keeps running or keeps its parent's output pipes open; elsewhere this
does nothing), and what a process built at start-up kept out of the garbage collector's way."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _parent_death_hook() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return set_parent_death_signal


PARENT_DEATH_HOOK = _parent_death_hook()


def end_with_parent(parent: int) -> None:
    """Run in a child (a process pool's initializer): SIGTERM when ``parent`` dies; exit now if
    it already has."""
    if PARENT_DEATH_HOOK is None:
        return
    PARENT_DEATH_HOOK()
    if os.getppid() != parent:
        os._exit(0)


def settle_startup_objects() -> None:
    """Call once a long-running process has started (modules imported, pools and app built):
    collect, then freeze what is left (``gc.freeze``). Those objects (about 125k in a worker)
    live as long as the process, and every full collection walked them all again: a worker
    importing a million rows spent a tenth of its time there. Objects made later are collected
    as usual."""
    gc.collect()
    gc.freeze()
