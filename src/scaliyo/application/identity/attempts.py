"""Attempt-limit buckets of the authentication handlers, and where a request comes from.

Buckets are ``<what>:ip:<client address>`` and ``<what>:account:<digest of the address>``: the
account buckets exist for unknown addresses too and name nobody, so a 429 says nothing about
whether an account exists.
"""

from __future__ import annotations

from datetime import timedelta

from scaliyo.application.bus import Context
from scaliyo.application.identity.auth_ports import AttemptLimiter
from scaliyo.application.identity.security import SecretTokens
from scaliyo.domain.shared.errors import RateLimited

USER_AGENT_MAX_LENGTH = 512


def client_ip_of(context: Context) -> str:
    return str(context.extras.get("ip") or "unknown")


def user_agent_of(context: Context) -> str | None:
    raw = context.extras.get("user_agent")
    return str(raw)[:USER_AGENT_MAX_LENGTH] if raw else None


def account_bucket(kind: str, email: str, tokens: SecretTokens) -> str:
    # A digest of the address: buckets exist for unknown addresses too, and name nobody.
    return f"{kind}:account:{tokens.digest(email)[:32]}"


def longest_wait(*waits: int | None) -> int | None:
    known = [wait for wait in waits if wait is not None]
    return max(known) if known else None


async def hit_all(
    limiter: AttemptLimiter, limit_pairs: list[tuple[str, int]], window: timedelta
) -> None:
    """Count an attempt in each bucket, in order; the first full one refuses (429)."""
    for bucket, limit in limit_pairs:
        wait = await limiter.hit(bucket, limit, window)
        if wait is not None:
            raise RateLimited(wait)
