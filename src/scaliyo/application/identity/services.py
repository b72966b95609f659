"""What the identity handlers need from the world, bundled for the handler registry."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import quote

from scaliyo.application.identity.ports import AccountDirectory
from scaliyo.application.identity.security import PasswordHasher, SecretTokens, SystemMailer
from scaliyo.application.identity.workspace_ports import SeatPolicy


class AppLinks:
    """Links into the web app that system mail carries (the token goes in the query)."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def accept_invite(self, token: str) -> str:
        return f"{self._base}/invite?token={quote(token, safe='')}"

    def confirm_email(self, token: str) -> str:
        return f"{self._base}/confirm?token={quote(token, safe='')}"

    def reset_password(self, token: str) -> str:
        return f"{self._base}/reset-password?token={quote(token, safe='')}"


@dataclass(frozen=True, slots=True)
class IdentityServices:
    tokens: SecretTokens
    mailer: SystemMailer
    hasher: PasswordHasher
    directory: AccountDirectory
    seats: SeatPolicy
    common_passwords: Container[str]
    links: AppLinks
