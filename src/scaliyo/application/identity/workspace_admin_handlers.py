"""Handlers of workspace administration: /me, the workspace, members, invites, API keys,
onboarding. Each docstring lists the rules it enforces."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from scaliyo.application.bus import ActorKind, Context, Handler, Message
from scaliyo.application.identity.actors import (
    UserRequired,
    require_permission,
    require_user,
    role_of,
    session_id_of,
    user_id_of,
)
from scaliyo.application.identity.commands import WorkspaceView
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.ports import (
    AccountDirectory,
    ApiKeyRecord,
    InviteRecord,
    MembershipRecord,
    UserRecord,
    WorkspaceMembership,
)
from scaliyo.application.identity.seat_usage import seats_in_use
from scaliyo.application.identity.security import (
    PasswordHasher,
    SecretTokens,
    SystemEmail,
    SystemMailer,
)
from scaliyo.application.identity.services import IdentityServices
from scaliyo.application.identity.workspace_admin import (
    AcceptedInviteView,
    AcceptInvite,
    ApiKeyView,
    ChangeMemberRole,
    CreateApiKey,
    CreatedApiKeyView,
    CreateInvite,
    GetMe,
    GetOnboarding,
    InviteView,
    ListApiKeys,
    ListInvites,
    ListMembers,
    MembershipView,
    MemberView,
    MeView,
    OnboardingView,
    RemoveMember,
    RevokeApiKey,
    RevokeInvite,
    SaveOnboardingStep,
    SwitchWorkspace,
    UpdateWorkspace,
    UserView,
)
from scaliyo.application.identity.workspace_ports import SeatPolicy, WorkspaceAdminUnitOfWork
from scaliyo.application.shared.audit import AuditEntry, audit_entry
from scaliyo.application.shared.pagination import Page, check_limit, decode_cursor, page_of
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.identity import api_keys
from scaliyo.domain.identity.emails import mask_email, normalize_email
from scaliyo.domain.identity.invites import (
    InviteAlreadyAccepted,
    InviteNotFound,
    InviteStatus,
    invite_expiry,
    invite_status,
)
from scaliyo.domain.identity.members import (
    AlreadyMember,
    MemberNotFound,
    check_removal,
    check_role_change,
    invite_role,
)
from scaliyo.domain.identity.onboarding import STEPS, Onboarding
from scaliyo.domain.identity.passwords import check_password
from scaliyo.domain.identity.roles import Permission, PlatformRole, WorkspaceRole
from scaliyo.domain.identity.seats import ensure_seat_free
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.domain.identity.workspace import Workspace, workspace_name
from scaliyo.domain.shared.errors import (
    DomainError,
    ErrorKind,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from scaliyo.domain.shared.ids import UserId, WorkspaceId

# Tokens we hand out are 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 256


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "No such API key in this workspace"


class SessionRequired(PermissionDenied):
    code = "session_required"
    title = "This needs a signed-in session"


class SignInRequired(DomainError):
    code = "sign_in_required"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Sign in to accept this invite"


class InviteForAnotherAccount(PermissionDenied):
    code = "invite_for_another_account"
    title = "This invite was sent to another account"


# --- helpers --------------------------------------------------------------------------------


def _uuid(raw: str, not_found: type[NotFound]) -> UUID:
    try:
        return UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise not_found() from None


def _workspace_of(context: Context) -> WorkspaceId:
    assert context.workspace_id is not None  # the bus refuses workspace messages without one
    return context.workspace_id


async def _current_role(uow: WorkspaceAdminUnitOfWork, context: Context) -> WorkspaceRole | None:
    """The actor's role as it is now (re-read under the workspace lock), else the context's."""
    user_id = user_id_of(context)
    if user_id is None:
        return role_of(context)
    member = await uow.memberships.get(user_id)
    return None if member is None else member.role


def _membership_view(membership: WorkspaceMembership) -> MembershipView:
    return MembershipView(
        id=str(membership.workspace_id), name=membership.name, role=membership.role.value
    )


def onboarding_view(onboarding: Onboarding) -> OnboardingView:
    return OnboardingView(
        current_step=onboarding.current_step,
        completed=onboarding.completed,
        role=onboarding.role,
        company=onboarding.company,
        goal=onboarding.goal,
    )


def _member_view(member: MembershipRecord) -> MemberView:
    return MemberView(
        user_id=str(member.user_id),
        email=member.email or "",
        role=member.role.value,
        joined_at=rfc3339(member.created_at),
    )


def _invite_view(invite: InviteRecord, status: InviteStatus) -> InviteView:
    return InviteView(
        id=str(invite.id),
        email=invite.email,
        role=invite.role.value,
        status=status.value,
        created_at=rfc3339(invite.created_at),
        expires_at=rfc3339(invite.expires_at),
        invited_by=None if invite.invited_by is None else str(invite.invited_by),
    )


def _api_key_view(key: ApiKeyRecord) -> ApiKeyView:
    return ApiKeyView(
        id=str(key.id),
        name=key.name,
        prefix=f"sk_{key.key_id}_…",
        created_at=rfc3339(key.created_at),
        last_used_at=rfc3339_or_none(key.last_used_at),
    )


def _workspace_view(workspace: Workspace) -> WorkspaceView:
    return WorkspaceView(
        id=str(workspace.id), name=workspace.name, created_at=rfc3339(workspace.created_at)
    )


# --- /me ------------------------------------------------------------------------------------


class GetMeHandler:
    """The signed-in user, their workspaces and the current one.

    Rules:
    - a session or an API key is required (401 otherwise); an API key answers as its creator;
    - workspaces are those the user is a member of, each with the user's role (read through the
      account directory, a platform path: the tenant is not one workspace here);
    - the current workspace is the request's workspace, with its onboarding state; it is
      omitted when the user has none.
    """

    def __init__(self, directory: AccountDirectory) -> None:
        self._directory = directory

    async def __call__(
        self, message: GetMe, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> MeView:
        user_id = require_user(context)
        user = await uow.users.get(user_id)
        if user is None:
            raise UserRequired("This account no longer exists.")
        memberships = await self._directory.workspaces_of(user_id)
        current = next((m for m in memberships if m.workspace_id == context.workspace_id), None)
        onboarding = None
        if current is not None and uow.workspace_id == current.workspace_id:
            onboarding = onboarding_view(await uow.onboarding.get())
        return MeView(
            user=UserView(
                id=str(user.id),
                email=user.email,
                platform_role=user.platform_role.value,
                is_super_admin=user.is_super_admin,
            ),
            workspaces=[_membership_view(m) for m in memberships],
            current_workspace=None if current is None else _membership_view(current),
            onboarding=onboarding,
        )


class SwitchWorkspaceHandler:
    """Make another of the user's workspaces the session's current one.

    Rules:
    - only a session switches (an API key always acts in its own workspace: 403
      ``session_required``);
    - the user must be a member of the workspace: otherwise, and for an id that is not a UUID,
      404 ``workspace_not_found`` (the same answer as for a workspace that does not exist);
    - the session's current workspace and the user's last workspace (where the next sign-in
      lands) are both set.
    """

    def __init__(self, directory: AccountDirectory) -> None:
        self._directory = directory

    async def __call__(
        self, message: SwitchWorkspace, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> MembershipView:
        user_id = require_user(context)
        session_id = session_id_of(context)
        if context.actor.kind is not ActorKind.USER or session_id is None:
            raise SessionRequired("An API key acts in its own workspace; it cannot switch.")
        workspace_id = WorkspaceId(_uuid(message.workspace_id, WorkspaceNotFound))
        memberships = await self._directory.workspaces_of(user_id)
        target = next((m for m in memberships if m.workspace_id == workspace_id), None)
        if target is None:
            raise WorkspaceNotFound()
        await uow.sessions.set_current_workspace(session_id, user_id, workspace_id)
        await uow.users.set_last_workspace(user_id, workspace_id)
        await uow.commit()
        return _membership_view(target)


# --- the workspace ----------------------------------------------------------------------------


class UpdateWorkspaceHandler:
    """Change the workspace's settings (PATCH: absent fields stay as they are).

    Rules:
    - admin or owner (``workspace.update``; 403 ``insufficient_role`` otherwise);
    - the name follows the workspace-name rules (1–100 characters, no control characters);
    - a change is audited (``workspace.updated``, the fields that changed).
    """

    async def __call__(
        self, message: UpdateWorkspace, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> WorkspaceView:
        require_permission(context, Permission.WORKSPACE_UPDATE)
        workspace_id = _workspace_of(context)
        workspace = await uow.workspaces.get(workspace_id)
        if workspace is None:
            raise WorkspaceNotFound()
        changed: list[str] = []
        if message.name is not msgspec.UNSET:
            name = workspace_name(message.name)
            if name != workspace.name:
                await uow.workspaces.rename(workspace_id, name)
                workspace.name = name
                changed.append("name")
        if changed:
            await uow.audit.record(
                audit_entry(
                    context,
                    "workspace.updated",
                    workspace_id=workspace_id,
                    target=f"workspace:{workspace_id}",
                    details={"fields": changed},
                )
            )
            await uow.commit()
        return _workspace_view(workspace)


# --- members --------------------------------------------------------------------------------


class ListMembersHandler:
    """The workspace's members with their emails and roles.

    Rules: every member may read it (``members.read``); cursor pagination by user id.
    """

    async def __call__(
        self, message: ListMembers, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> Page[MemberView]:
        require_permission(context, Permission.MEMBERS_READ)
        limit = check_limit(message.limit)
        rows = await uow.memberships.list(limit=limit + 1, after=decode_cursor(message.cursor))
        page = page_of(rows, limit, lambda member: member.user_id)
        return Page(items=[_member_view(m) for m in page.items], next_cursor=page.next_cursor)


class ChangeMemberRoleHandler:
    """Give a member another role.

    Rules:
    - owners only (``members.roles.change``: 403 ``insufficient_role`` for anyone else);
    - a user who is not a member of this workspace is 404 ``member_not_found``;
    - the last owner cannot be demoted (409 ``last_owner``); the check runs under a lock on the
      workspace row, so two owners demoting each other at once cannot leave none;
    - the change is audited (``member.role_changed`` with the old and new role).
    """

    async def __call__(
        self, message: ChangeMemberRole, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> MemberView:
        require_permission(context, Permission.MEMBER_ROLES_CHANGE)
        workspace_id = _workspace_of(context)
        target = UserId(_uuid(message.user_id, MemberNotFound))
        try:
            new_role = WorkspaceRole(message.role)
        except ValueError:
            raise ValidationFailed(
                "A role is owner, admin, member or viewer.",
                errors=[FieldError("role", "invalid_choice", "owner, admin, member or viewer.")],
            ) from None
        await uow.workspaces.lock(workspace_id)
        member = await uow.memberships.get(target)
        if member is None:
            raise MemberNotFound()
        actor_role = await _current_role(uow, context)
        owners = await uow.memberships.count_owners()
        check_role_change(actor_role=actor_role, current=member.role, new=new_role, owners=owners)
        if member.role is not new_role:
            await uow.memberships.change_role(target, new_role)
            await uow.audit.record(
                audit_entry(
                    context,
                    "member.role_changed",
                    workspace_id=workspace_id,
                    target=f"user:{target}",
                    details={"from": member.role.value, "to": new_role.value},
                )
            )
            await uow.commit()
            member.role = new_role
        return _member_view(member)


class RemoveMemberHandler:
    """Remove a member from the workspace, or leave it.

    Rules:
    - admins and owners remove members (``members.manage``); any member may remove themselves;
    - an admin cannot remove an owner (403 ``insufficient_role``);
    - the last owner can neither be removed nor leave (409 ``last_owner``), checked under a lock
      on the workspace row;
    - a user who is not a member of this workspace is 404 ``member_not_found``;
    - the API keys the removed member created in this workspace are revoked with the membership
      (a key acts as its creator, who is no longer here);
    - audited as ``member.removed`` or ``member.left``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: RemoveMember, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> None:
        workspace_id = _workspace_of(context)
        target = UserId(_uuid(message.user_id, MemberNotFound))
        actor_id = user_id_of(context)
        if actor_id != target:
            require_permission(context, Permission.MEMBERS_MANAGE)
        await uow.workspaces.lock(workspace_id)
        member = await uow.memberships.get(target)
        if member is None:
            raise MemberNotFound()
        check_removal(
            actor_id=actor_id,
            actor_role=await _current_role(uow, context),
            target_id=target,
            target_role=member.role,
            owners=await uow.memberships.count_owners(),
        )
        await uow.memberships.remove(target)
        revoked = await uow.api_keys.revoke_created_by(target, self._clock.now())
        await uow.audit.record(
            audit_entry(
                context,
                "member.left" if actor_id == target else "member.removed",
                workspace_id=workspace_id,
                target=f"user:{target}",
                details={"role": member.role.value, "api_keys_revoked": revoked},
            )
        )
        await uow.commit()


# --- invites --------------------------------------------------------------------------------


class CreateInviteHandler:
    """Invite someone by email to join with a role.

    Rules:
    - admins and owners (``invites.manage``); the role is admin, member or viewer;
    - the address is validated and normalised; an address that is already a member is 409
      ``already_member``;
    - seats used = members + pending unexpired invites; past the plan's seats 409
      ``seat_limit_reached``. The count runs under a lock on the workspace row, so concurrent
      invites cannot pass the limit together;
    - re-inviting an address with a pending invite replaces it: the old token stops working and
      the seat it held is reused;
    - the token is emailed (system mail) and expires in 7 days; only its hash is stored and it
      is never returned by the API;
    - audited as ``invite.created``.
    """

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        tokens: SecretTokens,
        mailer: SystemMailer,
        seats: SeatPolicy,
        accept_url: Callable[[str], str],
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._tokens = tokens
        self._mailer = mailer
        self._seats = seats
        self._accept_url = accept_url

    async def __call__(
        self, message: CreateInvite, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> InviteView:
        require_permission(context, Permission.INVITES_MANAGE)
        workspace_id = _workspace_of(context)
        email = normalize_email(message.email)
        role = invite_role(message.role)
        workspace = await uow.workspaces.lock(workspace_id)
        if workspace is None:
            raise WorkspaceNotFound()
        if await uow.memberships.email_is_member(email):
            raise AlreadyMember(f"{email} is already a member of this workspace.")
        now = self._clock.now()
        previous = await uow.invites.pending_for(email, now)
        if previous is not None:
            await uow.invites.revoke(previous.id, now)
        used = await seats_in_use(uow, now)
        ensure_seat_free(used=used, allowed=await self._seats.allowed(workspace_id))
        token = self._tokens.new_token()
        invite = InviteRecord(
            id=self._ids.new(),
            workspace_id=workspace_id,
            email=email,
            role=role,
            invited_by=user_id_of(context),
            created_at=now,
            expires_at=invite_expiry(now),
        )
        await uow.invites.add(invite, token_hash=self._tokens.digest(token))
        await uow.audit.record(
            audit_entry(
                context,
                "invite.created",
                workspace_id=workspace_id,
                target=f"invite:{invite.id}",
                details={
                    "email": mask_email(email),
                    "role": role.value,
                    "replaced": None if previous is None else str(previous.id),
                },
            )
        )
        await uow.commit()
        # Sent after the commit: a failed commit must not leave a working token in a mailbox.
        await self._mailer.send(_invite_email(email, workspace.name, role, token, self._accept_url))
        return _invite_view(invite, InviteStatus.PENDING)


def _invite_email(
    to: str, workspace: str, role: WorkspaceRole, token: str, accept_url: Callable[[str], str]
) -> SystemEmail:
    return SystemEmail(
        to=to,
        subject=f"You are invited to {workspace} on Scaliyo",
        kind="invite",
        text=(
            f"You have been invited to join the workspace {workspace} on Scaliyo as "
            f"{role.value}.\n\n"
            f"Accept the invite here (the link works once, for 7 days):\n{accept_url(token)}\n\n"
            f"Invite token: {token}\n\n"
            "If you did not expect this invite, ignore this email.\n"
        ),
    )


class ListInvitesHandler:
    """The workspace's open invites (pending or expired; accepted and revoked ones are gone).

    Rules: admins and owners (``invites.manage``); newest first; tokens are never shown.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: ListInvites, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> Page[InviteView]:
        require_permission(context, Permission.INVITES_MANAGE)
        limit = check_limit(message.limit)
        rows = await uow.invites.list_open(limit=limit + 1, before=decode_cursor(message.cursor))
        page = page_of(rows, limit, lambda invite: invite.id)
        now = self._clock.now()
        return Page(
            items=[_invite_view(i, _status(i, now)) for i in page.items],
            next_cursor=page.next_cursor,
        )


def _status(invite: InviteRecord, now: datetime) -> InviteStatus:
    return invite_status(
        expires_at=invite.expires_at,
        accepted_at=invite.accepted_at,
        revoked_at=invite.revoked_at,
        now=now,
    )


class RevokeInviteHandler:
    """Revoke an invite: its token stops working and its seat is freed.

    Rules: admins and owners (``invites.manage``); another workspace's invite, or an id that is
    not a UUID, is 404 ``invite_not_found``; an accepted invite is 409
    ``invite_already_accepted``; revoking a revoked invite changes nothing; audited as
    ``invite.revoked``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: RevokeInvite, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> None:
        require_permission(context, Permission.INVITES_MANAGE)
        invite = await uow.invites.get(_uuid(message.invite_id, InviteNotFound))
        if invite is None:
            raise InviteNotFound()
        if invite.accepted_at is not None:
            raise InviteAlreadyAccepted()
        if invite.revoked_at is not None:
            return
        await uow.invites.revoke(invite.id, self._clock.now())
        await uow.audit.record(
            audit_entry(
                context,
                "invite.revoked",
                workspace_id=invite.workspace_id,
                target=f"invite:{invite.id}",
            )
        )
        await uow.commit()


class AcceptInviteHandler:
    """Accept an emailed invite: its holder becomes a member with the invite's role.

    Rules:
    - the token is looked up by its hash through the account directory (a platform path: the
      workspace is not known before); an unknown, expired, used or revoked token is 400
      ``invalid_token``, one answer for all;
    - when an account exists for the invited address, the request must be signed in as that
      account (401 ``sign_in_required`` when not signed in, 403 ``invite_for_another_account``
      when signed in as someone else); an existing member is 409 ``already_member``;
    - otherwise ``password`` (password rules: 422 ``weak_password``) creates a confirmed
      account: the token proves the address;
    - under a lock on the workspace row the invite is marked accepted in one conditional
      statement (a second use is ``invalid_token``) and the seats are re-checked against the
      members (409 ``seat_limit_reached``), so concurrent accepts cannot exceed the seats;
    - audited as ``invite.accepted``, by the accepting user.

    The caller passes a context without a workspace: the unit of work is scoped to the invite's.
    """

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        tokens: SecretTokens,
        hasher: PasswordHasher,
        directory: AccountDirectory,
        seats: SeatPolicy,
        common_passwords: Container[str],
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._tokens = tokens
        self._hasher = hasher
        self._directory = directory
        self._seats = seats
        self._common = common_passwords

    async def __call__(
        self, message: AcceptInvite, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> AcceptedInviteView:
        token = message.token.strip()
        invite = None
        if 0 < len(token) <= MAX_TOKEN_LENGTH:
            invite = await self._directory.invite_by_token_hash(self._tokens.digest(token))
        now = self._clock.now()
        if invite is None or _status(invite, now) is not InviteStatus.PENDING:
            raise InvalidToken()
        workspace_id = invite.workspace_id
        await uow.scope_to(workspace_id)

        account = await uow.users.by_email(invite.email)
        actor_id = user_id_of(context)
        new_user: UserRecord | None = None
        if account is not None:
            if actor_id is None:
                raise SignInRequired(
                    "An account exists for this address: sign in as it, then accept the invite."
                )
            if actor_id != account.id:
                raise InviteForAnotherAccount(
                    "Sign in as the invited address to accept this invite."
                )
            user_id = account.id
        else:
            if not message.password:
                raise ValidationFailed(
                    "Choose a password for your new account.",
                    errors=[FieldError("password", "required", "A password is required.")],
                )
            check_password(message.password, email=invite.email, common=self._common)
            # Hashing is slow on purpose: do it before taking the workspace lock.
            new_user = UserRecord(
                id=UserId(self._ids.new()),
                email=invite.email,
                password_hash=self._hasher.hash(message.password),
                platform_role=PlatformRole.CLIENT,
                is_super_admin=False,
                email_confirmed_at=now,
                last_workspace_id=workspace_id,
                created_at=now,
            )
            user_id = new_user.id

        workspace = await uow.workspaces.lock(workspace_id)
        if workspace is None or not await uow.invites.mark_accepted(invite.id, now):
            raise InvalidToken()
        if new_user is None and await uow.memberships.get(user_id) is not None:
            raise AlreadyMember("You are already a member of this workspace.")
        ensure_seat_free(
            used=await uow.memberships.count(), allowed=await self._seats.allowed(workspace_id)
        )
        if new_user is not None:
            await uow.users.add(new_user)
        await uow.memberships.add(
            MembershipRecord(
                workspace_id=workspace_id, user_id=user_id, role=invite.role, created_at=now
            )
        )
        await uow.audit.record(
            AuditEntry(
                workspace_id=workspace_id,
                actor=f"user:{user_id}",
                action="invite.accepted",
                target=f"invite:{invite.id}",
                ip=context.extras.get("ip"),
                details={"role": invite.role.value, "account_created": new_user is not None},
            )
        )
        await uow.commit()
        return AcceptedInviteView(
            user_id=str(user_id),
            workspace=MembershipView(
                id=str(workspace_id), name=workspace.name, role=invite.role.value
            ),
            account_created=new_user is not None,
        )


# --- API keys -------------------------------------------------------------------------------


class CreateApiKeyHandler:
    """Create an API key: ``sk_<key id>_<secret>``, shown once.

    Rules:
    - admins and owners (``api_keys.manage``; a viewer or member gets 403 ``insufficient_role``);
    - the key acts as its creator in this workspace, so a user is required;
    - the name is 1–100 characters; the key id is 16 random hex characters (the look-up), the
      secret 64; only the digest of the secret is stored, so the key is never shown again;
    - audited as ``api_key.created``.
    """

    def __init__(self, clock: Clock, ids: IdFactory, tokens: SecretTokens) -> None:
        self._clock = clock
        self._ids = ids
        self._tokens = tokens

    async def __call__(
        self, message: CreateApiKey, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> CreatedApiKeyView:
        require_permission(context, Permission.API_KEYS_MANAGE)
        user_id = require_user(context)
        workspace_id = _workspace_of(context)
        name = api_keys.key_name(message.name)
        key_id = self._tokens.new_hex(api_keys.KEY_ID_LENGTH)
        secret = self._tokens.new_hex(api_keys.SECRET_LENGTH)
        record = ApiKeyRecord(
            id=self._ids.new(),
            workspace_id=workspace_id,
            key_id=key_id,
            secret_hash=self._tokens.digest(secret),
            name=name,
            created_by=user_id,
            created_at=self._clock.now(),
        )
        await uow.api_keys.add(record)
        await uow.audit.record(
            audit_entry(
                context,
                "api_key.created",
                workspace_id=workspace_id,
                target=f"api_key:{record.id}",
                details={"name": name, "key_id": key_id},
            )
        )
        await uow.commit()
        return CreatedApiKeyView(
            id=str(record.id),
            name=name,
            key=api_keys.format_key(key_id, secret),
            created_at=rfc3339(record.created_at),
        )


class ListApiKeysHandler:
    """The workspace's active API keys, newest first.

    Rules: admins and owners (``api_keys.manage``); a key shows its prefix ``sk_<key id>_…``,
    never its secret.
    """

    async def __call__(
        self, message: ListApiKeys, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> Page[ApiKeyView]:
        require_permission(context, Permission.API_KEYS_MANAGE)
        limit = check_limit(message.limit)
        rows = await uow.api_keys.list_active(limit=limit + 1, before=decode_cursor(message.cursor))
        page = page_of(rows, limit, lambda key: key.id)
        return Page(items=[_api_key_view(k) for k in page.items], next_cursor=page.next_cursor)


class RevokeApiKeyHandler:
    """Revoke an API key: the next request with it is 401.

    Rules: admins and owners (``api_keys.manage``); another workspace's key, or an id that is
    not a UUID, is 404 ``api_key_not_found``; revoking a revoked key changes nothing; audited
    as ``api_key.revoked``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: RevokeApiKey, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> None:
        require_permission(context, Permission.API_KEYS_MANAGE)
        key = await uow.api_keys.get(_uuid(message.api_key_id, ApiKeyNotFound))
        if key is None:
            raise ApiKeyNotFound()
        if await uow.api_keys.revoke(key.id, self._clock.now()):
            await uow.audit.record(
                audit_entry(
                    context,
                    "api_key.revoked",
                    workspace_id=key.workspace_id,
                    target=f"api_key:{key.id}",
                    details={"key_id": key.key_id},
                )
            )
            await uow.commit()


# --- onboarding -----------------------------------------------------------------------------


class GetOnboardingHandler:
    """The workspace's onboarding: saved steps and the next one. Rules: any member reads it."""

    async def __call__(
        self, message: GetOnboarding, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> OnboardingView:
        require_permission(context, Permission.WORKSPACE_READ)
        return onboarding_view(await uow.onboarding.get())


class SaveOnboardingStepHandler:
    """Save one onboarding step of the workspace.

    Rules:
    - admins and owners (``onboarding.update``);
    - steps 1–3 may be saved and revisited in any order; step 4 (finish) needs 1–3 first (409
      ``onboarding_incomplete``); a step outside 1–4 is 422 ``validation_failed``;
    - step 2's company data is cleaned (name required, website made a URL) and kept for scoring
      and content.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: SaveOnboardingStep, uow: WorkspaceAdminUnitOfWork, context: Context
    ) -> OnboardingView:
        require_permission(context, Permission.ONBOARDING_UPDATE)
        expected = STEPS.get(message.step)
        if expected is not None and not isinstance(message.data, expected):
            raise ValidationFailed(
                f"Step {message.step} takes {expected.__name__} data.",
                errors=[FieldError("body", "invalid", "This is not the data of this step.")],
            )
        onboarding = await uow.onboarding.get()
        onboarding.apply(message.step, message.data)
        await uow.onboarding.save(_workspace_of(context), onboarding, self._clock.now())
        await uow.commit()
        return onboarding_view(onboarding)


# --- registration ---------------------------------------------------------------------------


def workspace_admin_handlers(
    *, clock: Clock, ids: IdFactory, services: IdentityServices
) -> Mapping[type[Message], Handler]:
    """The ``{Message: handler}`` entries of workspace administration (see registry.py)."""
    directory, tokens, seats = services.directory, services.tokens, services.seats
    handlers: dict[type[Message], Any] = {
        GetMe: GetMeHandler(directory),
        SwitchWorkspace: SwitchWorkspaceHandler(directory),
        UpdateWorkspace: UpdateWorkspaceHandler(),
        ListMembers: ListMembersHandler(),
        ChangeMemberRole: ChangeMemberRoleHandler(),
        RemoveMember: RemoveMemberHandler(clock),
        CreateInvite: CreateInviteHandler(
            clock, ids, tokens, services.mailer, seats, services.links.accept_invite
        ),
        ListInvites: ListInvitesHandler(clock),
        RevokeInvite: RevokeInviteHandler(clock),
        AcceptInvite: AcceptInviteHandler(
            clock, ids, tokens, services.hasher, directory, seats, services.common_passwords
        ),
        CreateApiKey: CreateApiKeyHandler(clock, ids, tokens),
        ListApiKeys: ListApiKeysHandler(),
        RevokeApiKey: RevokeApiKeyHandler(clock),
        GetOnboarding: GetOnboardingHandler(),
        SaveOnboardingStep: SaveOnboardingStepHandler(clock),
    }
    return handlers
