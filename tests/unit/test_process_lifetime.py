"""What a long-running process keeps out of the garbage collector's way at start-up: what it
built is frozen, garbage made later is still collected (run in a child, so this process's
collector is left as it is)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, weakref
from scaliyo.adapters.process_lifetime import settle_startup_objects

class Node:
    pass

built = [Node() for _ in range(1000)]
cycle = Node(); cycle.me = cycle; startup_garbage = weakref.ref(cycle); del cycle
settle_startup_objects()
assert startup_garbage() is None, "garbage left at start-up is collected, not frozen"
assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
later = Node(); later.me = later; probe = weakref.ref(later); del later
gc.collect()
assert probe() is None, "a cycle made after start-up is collected"
print("ok", gc.get_freeze_count())
"""


def test_startup_objects_are_frozen_and_later_garbage_is_collected() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
