"""System mail of accounts: confirmation, "someone tried to sign up", password reset.

Mail goes out after the commit of the work it follows; a failed send is logged, never raised
(the work is done, and the user can ask for the mail again).
"""

from __future__ import annotations

import logging

from scaliyo.application.identity.security import SystemEmail, SystemMailer
from scaliyo.application.identity.services import AppLinks
from scaliyo.domain.identity.emails import mask_email

log = logging.getLogger("scaliyo.auth")


async def send_logged(mailer: SystemMailer, email: SystemEmail) -> None:
    """Send after the commit; a failure is logged, never raised (the work is done, and the user
    can ask for the mail again)."""
    try:
        await mailer.send(email)
    except Exception:
        log.exception(
            "system mail not sent", extra={"kind": email.kind, "to": mask_email(email.to)}
        )


def confirmation_email(to: str, token: str, links: AppLinks) -> SystemEmail:
    return SystemEmail(
        to=to,
        subject="Confirm your email address for Scaliyo",
        kind="confirmation",
        text=(
            "Welcome to Scaliyo.\n\n"
            "Confirm your email address here (the link works once, for 48 hours):\n"
            f"{links.confirm_email(token)}\n\n"
            f"Confirmation token: {token}\n\n"
            "If you did not sign up for Scaliyo, ignore this email.\n"
        ),
    )


def signup_attempt_email(to: str) -> SystemEmail:
    return SystemEmail(
        to=to,
        subject="Someone tried to sign up for Scaliyo with your address",
        kind="signup_attempt",
        text=(
            "Someone (maybe you) tried to create a Scaliyo account with this address, which "
            "already has one. No second account was made.\n\n"
            "If it was you, sign in instead. Forgot your password? Ask for a reset link on the "
            "sign-in page.\n\n"
            "If it was not you, you can ignore this email: your account is unchanged.\n"
        ),
    )


def reset_email(to: str, token: str, links: AppLinks) -> SystemEmail:
    return SystemEmail(
        to=to,
        subject="Reset your Scaliyo password",
        kind="password_reset",
        text=(
            "Someone (hopefully you) asked to reset the password of your Scaliyo account.\n\n"
            "Choose a new password here (the link works once, for 1 hour):\n"
            f"{links.reset_password(token)}\n\n"
            f"Reset token: {token}\n\n"
            "Resetting signs you out everywhere. If you did not ask for this, ignore this "
            "email: your password is unchanged.\n"
        ),
    )
