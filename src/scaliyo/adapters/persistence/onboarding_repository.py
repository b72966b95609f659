"""The onboarding row of the unit of work's workspace: one row, upserted per saved step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import onboarding as onboarding_table
from scaliyo.domain.identity.onboarding import (
    CompanyStep,
    GoalStep,
    Onboarding,
    OnboardingRole,
    PrimaryGoal,
    RoleStep,
    TeamSize,
)
from scaliyo.domain.shared.ids import WorkspaceId


class SqlOnboardingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self) -> Onboarding:
        row = (await self._connection.execute(select(onboarding_table))).first()
        if row is None:
            return Onboarding()
        return Onboarding(
            role=None
            if row.role is None or row.team_size is None
            else RoleStep(role=OnboardingRole(row.role), team_size=TeamSize(row.team_size)),
            company=None
            if row.company_name is None
            else CompanyStep(
                company_name=row.company_name, website=row.website, industry=row.industry
            ),
            goal=None
            if row.primary_goal is None
            else GoalStep(primary_goal=PrimaryGoal(row.primary_goal)),
            completed=row.completed_at is not None,
        )

    async def save(self, workspace_id: WorkspaceId, onboarding: Onboarding, now: datetime) -> None:
        role, company, goal = onboarding.role, onboarding.company, onboarding.goal
        values = {
            "role": None if role is None else role.role.value,
            "team_size": None if role is None else role.team_size.value,
            "company_name": None if company is None else company.company_name,
            "website": None if company is None else company.website,
            "industry": None if company is None else company.industry,
            "primary_goal": None if goal is None else goal.primary_goal.value,
            "updated_at": now,
        }
        statement = insert(onboarding_table).values(
            workspace_id=workspace_id,
            completed_at=now if onboarding.completed else None,
            **values,
        )
        # completed_at keeps the first completion; revisiting a step later does not move it.
        completed_at = (
            func.coalesce(onboarding_table.c.completed_at, now) if onboarding.completed else None
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[onboarding_table.c.workspace_id],
                set_={**values, "completed_at": completed_at},
            )
        )
