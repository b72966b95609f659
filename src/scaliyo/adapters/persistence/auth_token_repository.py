"""Single-use emailed tokens: email confirmation and password reset (no tenant policy).

Only a digest of each token is stored. Using a token is one conditional statement, so a token
is used at most once however many requests race with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import auth_tokens
from scaliyo.application.identity.auth_ports import AuthTokenRecord, TokenKind
from scaliyo.domain.shared.ids import UserId


def auth_token_from_row(row: Row) -> AuthTokenRecord:
    return AuthTokenRecord(
        id=row.id,
        kind=TokenKind(row.kind),
        user_id=UserId(row.user_id),
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def _usable(kind: TokenKind, token_hash: str, now: datetime) -> tuple:
    return (
        auth_tokens.c.token_hash == token_hash,
        auth_tokens.c.kind == kind.value,
        auth_tokens.c.used_at.is_(None),
        auth_tokens.c.expires_at > now,
    )


class SqlAuthTokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: AuthTokenRecord, *, token_hash: str) -> None:
        await self._connection.execute(
            insert(auth_tokens).values(
                id=token.id,
                kind=token.kind.value,
                token_hash=token_hash,
                user_id=token.user_id,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )

    async def find_usable(
        self, kind: TokenKind, token_hash: str, now: datetime
    ) -> AuthTokenRecord | None:
        row = (
            await self._connection.execute(
                select(auth_tokens).where(*_usable(kind, token_hash, now))
            )
        ).first()
        return None if row is None else auth_token_from_row(row)

    async def use(self, kind: TokenKind, token_hash: str, now: datetime) -> UserId | None:
        user_id = await self._connection.scalar(
            update(auth_tokens)
            .where(*_usable(kind, token_hash, now))
            .values(used_at=now)
            .returning(auth_tokens.c.user_id)
        )
        return None if user_id is None else UserId(user_id)

    async def retire(self, user_id: UserId, kind: TokenKind, now: datetime) -> int:
        result = await self._connection.execute(
            update(auth_tokens)
            .where(
                auth_tokens.c.user_id == user_id,
                auth_tokens.c.kind == kind.value,
                auth_tokens.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount or 0
