"""The explicit list of event consumers the worker runs. Each module adds its consumers here,
as it adds its command handlers to ``application/registry.py``."""

from __future__ import annotations

from scaliyo.adapters.messaging.consumer import ConsumerRegistry


def build_consumers() -> ConsumerRegistry:
    return ConsumerRegistry()
