"""CPU time spent by the processes a benchmark drives, by group: the database server (its
postmaster, the backends it has reaped, the ones still running), the benchmark's own process
(the worker), and its preparing processes. A figure per row of CPU is steadier than rows/s on
a machine whose speed moves between runs, and says where the two cores went."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import psutil

from scaliyo.entrypoints.dev.servers import running_postmaster


def cpu_seconds(pgdata: Path) -> dict[str, float]:
    """Seconds of CPU (user and system) used so far, by group."""
    database = 0.0
    postmaster = running_postmaster(pgdata)
    if postmaster is not None:
        times = postmaster.cpu_times()
        database = times.user + times.system + times.children_user + times.children_system
        database += _busy(postmaster.children(recursive=True))
    me = psutil.Process()
    own = me.cpu_times()
    preparing = [
        child
        for child in me.children(recursive=True)
        if "multiprocessing" in " ".join(_cmdline(child))
    ]
    return {
        "database": database,
        "worker": own.user + own.system,
        "preparing": _busy(preparing),
    }


def per_row(before: Mapping[str, float], after: Mapping[str, float], rows: int) -> dict[str, float]:
    """Microseconds of CPU a row, by group, between two readings of ``cpu_seconds``."""
    return {group: (after[group] - before[group]) * 1e6 / rows for group in after}


def describe(spent: Mapping[str, float]) -> str:
    """``database 48.1 + preparing 46.0 + worker 29.2 = 123.3 µs of CPU a row; on 2 busy
    cores at most 16,221 rows/s``: the ceiling if every core worked on rows all the time."""
    total = sum(spent.values())
    parts = " + ".join(f"{group} {micros:.1f}" for group, micros in spent.items())
    cores = psutil.cpu_count() or 1
    return (
        f"{parts} = {total:.1f} µs of CPU a row; "
        f"on {cores} busy cores at most {cores * 1e6 / total:,.0f} rows/s"
    )


def _busy(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        total += times.user + times.system
    return total


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []
