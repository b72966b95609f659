"""Handlers of accounts: sign-up, email confirmation, password reset, operator-made users, and
the registration of every authentication handler. Each docstring lists the rules it enforces.

Nothing here reveals whether an address has an account: sign-up, confirmation resends and reset
requests answer the same for every address (sign-in, in ``session_handlers``, answers one
``invalid_credentials`` for an unknown address and a wrong password, in the same time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scaliyo.application.billing.trials import start_trial
from scaliyo.application.bus import ActorKind, Context, Handler, Message
from scaliyo.application.identity.account_mail import (
    confirmation_email,
    reset_email,
    send_logged,
    signup_attempt_email,
)
from scaliyo.application.identity.attempts import account_bucket, client_ip_of, hit_all
from scaliyo.application.identity.auth import (
    AccountStatus,
    ConfirmEmail,
    CreatedUser,
    CreateUser,
    ListSessions,
    LogIn,
    LogOut,
    RequestPasswordReset,
    ResendConfirmation,
    ResetPassword,
    RevokeOtherSessions,
    RevokeSession,
    SignUp,
)
from scaliyo.application.identity.auth_ports import (
    AuthServices,
    AuthTokenRecord,
    AuthUnitOfWork,
    TokenKind,
)
from scaliyo.application.identity.ports import MembershipRecord, UserRecord
from scaliyo.application.identity.security import SecretTokens
from scaliyo.application.identity.services import IdentityServices
from scaliyo.application.identity.session_handlers import (
    ListSessionsHandler,
    LogInHandler,
    LogOutHandler,
    RevokeOtherSessionsHandler,
    RevokeSessionHandler,
)
from scaliyo.application.leads.workspace_data import start_pipeline
from scaliyo.application.shared.audit import AuditEntry, actor_label
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.accounts import default_workspace_name
from scaliyo.domain.identity.emails import mask_email, normalize_email
from scaliyo.domain.identity.passwords import check_password
from scaliyo.domain.identity.roles import PlatformRole, WorkspaceRole
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.domain.identity.workspace import Workspace, WorkspaceCreated
from scaliyo.domain.shared.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from scaliyo.domain.shared.ids import UserId, WorkspaceId

# Our tokens are 43 characters; anything much longer is not one of ours (and is not hashed).
MAX_TOKEN_LENGTH = 256
CONFIRMATION_SENT = "confirmation_sent"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "An account with this address exists"


# --- helpers --------------------------------------------------------------------------------


def _token_hash(raw: str, tokens: SecretTokens) -> str | None:
    token = raw.strip()
    if not 0 < len(token) <= MAX_TOKEN_LENGTH:
        return None
    return tokens.digest(token)


async def _issue_token(
    uow: AuthUnitOfWork,
    ids: IdFactory,
    tokens: SecretTokens,
    *,
    user_id: UserId,
    kind: TokenKind,
    now,
) -> str:
    """A new single-use token of ``kind``; the user's older unused ones stop working."""
    await uow.auth_tokens.retire(user_id, kind, now)
    token = tokens.new_token()
    lifetime = (
        lifetimes.EMAIL_CONFIRMATION
        if kind is TokenKind.EMAIL_CONFIRMATION
        else lifetimes.PASSWORD_RESET
    )
    await uow.auth_tokens.add(
        AuthTokenRecord(
            id=ids.new(),
            kind=kind,
            user_id=user_id,
            created_at=now,
            expires_at=now + lifetime,
        ),
        token_hash=tokens.digest(token),
    )
    return token


async def _open_workspace(
    uow: AuthUnitOfWork,
    context: Context,
    *,
    workspace_id: WorkspaceId,
    user: UserRecord,
    now,
    action: str,
) -> Workspace:
    """The new account's workspace, with the user as its owner (the tenant is set to it), on
    its 14-day trial (Starter's limits and credits, every feature)."""
    workspace = Workspace.create(id=workspace_id, name=default_workspace_name(user.email), now=now)
    await uow.scope_to(workspace.id)
    await uow.workspaces.add(workspace)
    await start_trial(uow, workspace.id, now)
    await uow.memberships.add(
        MembershipRecord(
            workspace_id=workspace.id, user_id=user.id, role=WorkspaceRole.OWNER, created_at=now
        )
    )
    uow.record(
        WorkspaceCreated(workspace_id=workspace.id, aggregate_id=workspace.id, name=workspace.name)
    )
    await uow.audit.record(
        AuditEntry(
            workspace_id=workspace.id,
            actor=actor_label(context.actor) if context.actor.id else f"user:{user.id}",
            action=action,
            target=f"user:{user.id}",
            ip=context.extras.get("ip"),
            details={"email": mask_email(user.email), "workspace_name": workspace.name},
        )
    )
    return workspace


# --- sign-up and confirmation -----------------------------------------------------------------


class SignUpHandler:
    """Create an account: an unconfirmed user, a workspace it owns, a confirmation email.

    Rules:
    - the address is validated and normalised (422 ``invalid_email``) and the password follows
      the password rules (422 ``weak_password``) before anything is counted or written;
    - at most ``signups_per_ip`` sign-ups per client IP per ``signup_window`` (429
      ``rate_limited`` with the seconds to wait);
    - the answer is the same for every address (``confirmation_sent``), and the password is
      hashed in every case, so neither the answer nor its time tells whether an account exists;
    - a new address gets an unconfirmed user, a workspace named after its domain ("My
      workspace" for free-mail) with the user as owner, and a confirmation token valid 48 h
      (only its digest is stored). User, workspace, membership, token, ``WorkspaceCreated`` and
      the audit entry (``user.signed_up``) commit together;
    - an address with a confirmed account gets a "someone tried to sign up" email instead, and
      no second account is made (also when two sign-ups of one address race);
    - an address with an account still unconfirmed takes the new password and gets a new
      confirmation token (older ones stop working): the mailbox owner confirms the latest
      password, so nobody can pre-register someone else's address with a password of theirs;
    - email goes out after the commit, never for a rolled-back sign-up; a failed send is logged
      (``ResendConfirmation`` sends another).
    """

    def __init__(
        self, clock: Clock, ids: IdFactory, services: IdentityServices, auth: AuthServices
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._services = services
        self._auth = auth

    async def __call__(self, message: SignUp, uow: AuthUnitOfWork, context: Context) -> Any:
        services, limits = self._services, self._auth.limits
        email = normalize_email(message.email)
        check_password(message.password, email=email, common=services.common_passwords)
        await hit_all(
            self._auth.limiter,
            [(f"signup:ip:{client_ip_of(context)}", limits.signups_per_ip)],
            limits.signup_window,
        )
        password_hash = services.hasher.hash(message.password)
        now = self._clock.now()
        workspace_id = WorkspaceId(self._ids.new())
        user = UserRecord(
            id=UserId(self._ids.new()),
            email=email,
            password_hash=password_hash,
            platform_role=PlatformRole.CLIENT,
            is_super_admin=False,
            email_confirmed_at=None,
            last_workspace_id=workspace_id,
            created_at=now,
        )
        if await uow.users.add_if_absent(user):
            await _open_workspace(
                uow,
                context,
                workspace_id=workspace_id,
                user=user,
                now=now,
                action="user.signed_up",
            )
            await start_pipeline(uow, self._ids)
            token = await _issue_token(
                uow,
                self._ids,
                services.tokens,
                user_id=user.id,
                kind=TokenKind.EMAIL_CONFIRMATION,
                now=now,
            )
            await uow.commit()
            await send_logged(services.mailer, confirmation_email(email, token, services.links))
            return AccountStatus(status=CONFIRMATION_SENT)

        existing = await self._auth.directory.account_by_email(email)
        if existing is not None and existing.email_confirmed_at is None:
            await uow.users.set_password_hash(existing.id, password_hash)
            token = await _issue_token(
                uow,
                self._ids,
                services.tokens,
                user_id=existing.id,
                kind=TokenKind.EMAIL_CONFIRMATION,
                now=now,
            )
            await uow.commit()
            await send_logged(services.mailer, confirmation_email(email, token, services.links))
        else:
            await send_logged(services.mailer, signup_attempt_email(email))
        return AccountStatus(status=CONFIRMATION_SENT)


class ConfirmEmailHandler:
    """Confirm an address with its emailed token.

    Rules:
    - the token is single-use and lives 48 h; an unknown, expired, used or forged token (or a
      reset token) is 400 ``invalid_token``, one answer for all;
    - the token is used and the address confirmed in one transaction; using it is one
      conditional statement, so two concurrent confirmations cannot both pass.
    """

    def __init__(self, clock: Clock, tokens: SecretTokens) -> None:
        self._clock = clock
        self._tokens = tokens

    async def __call__(self, message: ConfirmEmail, uow: AuthUnitOfWork, context: Context) -> Any:
        token_hash = _token_hash(message.token, self._tokens)
        now = self._clock.now()
        user_id = None
        if token_hash is not None:
            user_id = await uow.auth_tokens.use(TokenKind.EMAIL_CONFIRMATION, token_hash, now)
        if user_id is None:
            raise InvalidToken()
        await uow.users.confirm_email(user_id, now)
        await uow.commit()
        return AccountStatus(status="email_confirmed")


class ResendConfirmationHandler:
    """Send a new confirmation email.

    Rules:
    - the answer is ``confirmation_sent`` for every address; only an existing, unconfirmed
      account gets an email (a new token valid 48 h; older ones stop working);
    - at most ``mails_per_ip`` requests per client IP and ``mails_per_account`` per address per
      ``mail_window`` (429 ``rate_limited``), counted for unknown addresses alike.
    """

    def __init__(
        self, clock: Clock, ids: IdFactory, services: IdentityServices, auth: AuthServices
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._services = services
        self._auth = auth

    async def __call__(
        self, message: ResendConfirmation, uow: AuthUnitOfWork, context: Context
    ) -> Any:
        services, limits = self._services, self._auth.limits
        email = normalize_email(message.email)
        await hit_all(
            self._auth.limiter,
            [
                (f"confirm:ip:{client_ip_of(context)}", limits.mails_per_ip),
                (account_bucket("confirm", email, services.tokens), limits.mails_per_account),
            ],
            limits.mail_window,
        )
        user = await self._auth.directory.account_by_email(email)
        if user is not None and user.email_confirmed_at is None:
            token = await _issue_token(
                uow,
                self._ids,
                services.tokens,
                user_id=user.id,
                kind=TokenKind.EMAIL_CONFIRMATION,
                now=self._clock.now(),
            )
            await uow.commit()
            await send_logged(services.mailer, confirmation_email(email, token, services.links))
        return AccountStatus(status=CONFIRMATION_SENT)


# --- password reset ---------------------------------------------------------------------------


class RequestPasswordResetHandler:
    """Ask for a password-reset email.

    Rules:
    - the answer is ``reset_requested`` (202) for every address; only an existing account
      (confirmed or not) gets an email, with a token valid 1 h (older ones stop working);
    - at most ``mails_per_ip`` requests per client IP and ``mails_per_account`` per address per
      ``mail_window`` (429 ``rate_limited``), counted for unknown addresses alike.
    """

    def __init__(
        self, clock: Clock, ids: IdFactory, services: IdentityServices, auth: AuthServices
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._services = services
        self._auth = auth

    async def __call__(
        self, message: RequestPasswordReset, uow: AuthUnitOfWork, context: Context
    ) -> Any:
        services, limits = self._services, self._auth.limits
        email = normalize_email(message.email)
        await hit_all(
            self._auth.limiter,
            [
                (f"reset:ip:{client_ip_of(context)}", limits.mails_per_ip),
                (account_bucket("reset", email, services.tokens), limits.mails_per_account),
            ],
            limits.mail_window,
        )
        user = await self._auth.directory.account_by_email(email)
        if user is not None:
            token = await _issue_token(
                uow,
                self._ids,
                services.tokens,
                user_id=user.id,
                kind=TokenKind.PASSWORD_RESET,
                now=self._clock.now(),
            )
            await uow.commit()
            await send_logged(services.mailer, reset_email(email, token, services.links))
        return AccountStatus(status="reset_requested")


class ResetPasswordHandler:
    """Set a new password with an emailed reset token.

    Rules:
    - an unknown, expired, used or forged token (or a confirmation token) is 400
      ``invalid_token``; the new password follows the password rules (422 ``weak_password``),
      checked before the token is used, so a weak password does not spend it;
    - the token is used in one conditional statement (single use under concurrency); the
      password is replaced, the address counts as confirmed (the token proves the mailbox), the
      user's other reset tokens stop working and ALL the user's sessions are revoked — in one
      transaction; the address's failed sign-ins are cleared; audited (``auth.password_reset``).
    """

    def __init__(self, clock: Clock, services: IdentityServices, auth: AuthServices) -> None:
        self._clock = clock
        self._services = services
        self._auth = auth

    async def __call__(self, message: ResetPassword, uow: AuthUnitOfWork, context: Context) -> Any:
        services = self._services
        token_hash = _token_hash(message.token, services.tokens)
        now = self._clock.now()
        found = None
        if token_hash is not None:
            found = await uow.auth_tokens.find_usable(TokenKind.PASSWORD_RESET, token_hash, now)
        user = None if found is None else await self._auth.directory.account(found.user_id)
        if found is None or user is None:
            raise InvalidToken()
        check_password(message.password, email=user.email, common=services.common_passwords)
        password_hash = services.hasher.hash(message.password)
        if (
            token_hash is None
            or await uow.auth_tokens.use(TokenKind.PASSWORD_RESET, token_hash, now) != user.id
        ):
            raise InvalidToken()
        await uow.users.set_password_hash(user.id, password_hash)
        await uow.users.confirm_email(user.id, now)
        await uow.auth_tokens.retire(user.id, TokenKind.PASSWORD_RESET, now)
        revoked = await uow.sessions.revoke_all(user.id, now)
        await uow.commit()
        await self._auth.limiter.clear(account_bucket("login", user.email, services.tokens))
        await self._auth.audit.record(
            AuditEntry(
                workspace_id=None,
                actor=f"user:{user.id}",
                action="auth.password_reset",
                target=f"user:{user.id}",
                ip=context.extras.get("ip"),
                details={"sessions_revoked": revoked},
            )
        )
        return AccountStatus(status="password_changed")


# --- operators ------------------------------------------------------------------------------


class CreateUserHandler:
    """An operator creates a confirmed account with a workspace it owns.

    Rules:
    - operators only (the CLI on a server): anyone else is 403 ``permission_denied``;
    - the address and the password follow the sign-up rules (422 ``invalid_email`` /
      ``weak_password``); a taken address is 409 ``email_taken``;
    - the platform role is CLIENT or ADMIN; super admin is a flag on ADMIN only (422);
    - the workspace is named as at sign-up, with the user as owner; audited (``user.created``).
    """

    def __init__(self, clock: Clock, ids: IdFactory, services: IdentityServices) -> None:
        self._clock = clock
        self._ids = ids
        self._services = services

    async def __call__(self, message: CreateUser, uow: AuthUnitOfWork, context: Context) -> Any:
        if context.actor.kind is not ActorKind.OPERATOR:
            raise PermissionDenied("Only an operator creates users this way.")
        email = normalize_email(message.email)
        role = _platform_role(message.platform_role, message.is_super_admin)
        check_password(message.password, email=email, common=self._services.common_passwords)
        now = self._clock.now()
        workspace_id = WorkspaceId(self._ids.new())
        user = UserRecord(
            id=UserId(self._ids.new()),
            email=email,
            password_hash=self._services.hasher.hash(message.password),
            platform_role=role,
            is_super_admin=message.is_super_admin,
            email_confirmed_at=now,
            last_workspace_id=workspace_id,
            created_at=now,
        )
        if not await uow.users.add_if_absent(user):
            raise EmailTaken(f"{email} already has an account.")
        await _open_workspace(
            uow, context, workspace_id=workspace_id, user=user, now=now, action="user.created"
        )
        await uow.commit()
        return CreatedUser(user_id=str(user.id), workspace_id=str(workspace_id))


def _platform_role(raw: str, is_super_admin: bool) -> PlatformRole:
    try:
        role = PlatformRole(raw.upper())
    except ValueError:
        role = None
    if role not in {PlatformRole.CLIENT, PlatformRole.ADMIN}:
        raise ValidationFailed(
            "The platform role is client or admin.",
            errors=[FieldError("role", "invalid_choice", "One of client, admin.")],
        )
    if is_super_admin and role is not PlatformRole.ADMIN:
        raise ValidationFailed(
            "Super admin is a flag on admins only.",
            errors=[FieldError("super", "invalid", "Only an admin can be a super admin.")],
        )
    assert role is not None
    return role


# --- registration ---------------------------------------------------------------------------


def auth_handlers(
    *,
    clock: Clock,
    ids: IdFactory,
    services: IdentityServices,
    auth: AuthServices,
) -> Mapping[type[Message], Handler]:
    """The ``{Message: handler}`` entries of accounts and authentication (see registry.py)."""
    handlers: dict[type[Message], Any] = {
        SignUp: SignUpHandler(clock, ids, services, auth),
        ConfirmEmail: ConfirmEmailHandler(clock, services.tokens),
        ResendConfirmation: ResendConfirmationHandler(clock, ids, services, auth),
        LogIn: LogInHandler(clock, ids, services, auth),
        LogOut: LogOutHandler(clock, auth.audit),
        ListSessions: ListSessionsHandler(clock),
        RevokeSession: RevokeSessionHandler(clock, auth.audit),
        RevokeOtherSessions: RevokeOtherSessionsHandler(clock, auth.audit),
        RequestPasswordReset: RequestPasswordResetHandler(clock, ids, services, auth),
        ResetPassword: ResetPasswordHandler(clock, services, auth),
        CreateUser: CreateUserHandler(clock, ids, services),
    }
    return handlers
