"""A benchmark's workspace: made through the bus (its trial and its pipeline, as real ones get
them), moved to a custom plan without a contact limit, with an owner and an API key."""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory, new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.bus import OPERATOR, Bus, Context, default_middleware
from scaliyo.application.identity.commands import CreateWorkspace
from scaliyo.application.registry import build_handlers


async def setup(pg_url: str, database: Database) -> tuple[UUID, list[UUID], str]:
    """A workspace on an unlimited custom plan, its stages, and an owner's API key."""
    bus = Bus(
        build_handlers(clock=SystemClock(), ids=UuidV7Factory()),
        unit_of_work_factory(database.app),
        default_middleware(),
    )
    view = await bus.execute(
        CreateWorkspace(name="Bench"), Context(request_id="bench", actor=OPERATOR)
    )
    workspace = UUID(view.id)
    user, key_id, secret = new_id(), secrets.token_hex(8), secrets.token_hex(32)
    owner = create_async_engine(pg_url)
    async with owner.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO plans (code, name, monthly_price_cents, ai_credits, contacts, "
                "public) VALUES ('bench_unlimited', 'Bench (no contact limit)', 0, 0, NULL, false)"
            )
        )
        await conn.execute(
            text("UPDATE subscriptions SET plan_code = 'bench_unlimited' WHERE workspace_id = :w"),
            {"w": workspace},
        )
        await conn.execute(
            text("INSERT INTO users (id, email, email_confirmed_at) VALUES (:id, :e, now())"),
            {"id": user, "e": "bench@example.com"},
        )
        await conn.execute(
            text("INSERT INTO memberships (workspace_id, user_id, role) VALUES (:w, :u, 'owner')"),
            {"w": workspace, "u": user},
        )
        await conn.execute(
            text(
                "INSERT INTO api_keys (id, workspace_id, key_id, secret_hash, name, created_by) "
                "VALUES (:id, :w, :k, :h, 'bench', :u)"
            ),
            {
                "id": new_id(),
                "w": workspace,
                "k": key_id,
                "h": hashlib.sha256(secret.encode()).hexdigest(),
                "u": user,
            },
        )
        stages = list(
            (
                await conn.execute(
                    text(
                        "SELECT id FROM pipeline_stages WHERE workspace_id = :w ORDER BY position"
                    ),
                    {"w": workspace},
                )
            ).scalars()
        )
    await owner.dispose()
    return workspace, stages, f"sk_{key_id}_{secret}"
