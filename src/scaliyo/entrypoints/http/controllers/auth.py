"""``/api/v1/auth``: sign-up, confirmation, sign-in and sign-out, sessions, password resets.

Sign-up, confirmation, sign-in and the reset routes are unauthenticated (no cookie, no CSRF
token, no workspace). Sign-out and the session routes need a signed-in session, and — as every
cookie-authenticated unsafe request — the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.auth import (
    AccountStatus,
    ConfirmEmail,
    ListSessions,
    LogIn,
    LoginResult,
    LogOut,
    RequestPasswordReset,
    ResendConfirmation,
    ResetPassword,
    RevokedSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionView,
    SignUp,
)
from scaliyo.application.identity.workspace_admin import UserView
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.entrypoints.http.auth import PublicContext, cleared_session_cookie, session_cookie
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import problem_responses, register_status

# One answer for unknown, expired, used and forged tokens.
register_status(InvalidToken, 400)

Email = Annotated[str, msgspec.Meta(max_length=320)]
Password = Annotated[str, msgspec.Meta(max_length=4096)]
Token = Annotated[str, msgspec.Meta(max_length=512)]

PUBLIC_PROBLEMS = problem_responses(400, 422, 429)
TOKEN_PROBLEMS = problem_responses(400, 422)
SESSION_PROBLEMS = problem_responses(400, 401, 403, 422)
NO_STORE = {"Cache-Control": "no-store"}


class Credentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class EmailBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email


class TokenBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Token


class NewPasswordBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Token
    password: Password


class LoginView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Sign-in's answer; the session itself travels in the ``scaliyo_session`` cookie."""

    csrf_token: str
    user: UserView
    current_workspace_id: str | None = None


@post(
    "/auth/signup",
    tags=["auth"],
    status_code=201,
    responses=PUBLIC_PROBLEMS,
    summary="Create an account (the same answer for an address that has one)",
    description=(
        "Creates an unconfirmed account with a workspace it owns and emails a confirmation "
        "link. An address that already has an account gets the same answer, and an email "
        "telling its owner that someone tried to sign up."
    ),
)
@inject
async def sign_up(
    data: JSONBody[Credentials], bus: FromDishka[Bus], context: FromDishka[PublicContext]
) -> AccountStatus:
    return await bus.execute(SignUp(email=data.email, password=data.password), context)


@post(
    "/auth/confirm",
    tags=["auth"],
    status_code=200,
    responses=TOKEN_PROBLEMS,
    summary="Confirm an email address with the emailed token (single use, 48 hours)",
)
@inject
async def confirm_email(
    data: JSONBody[TokenBody], bus: FromDishka[Bus], context: FromDishka[PublicContext]
) -> AccountStatus:
    return await bus.execute(ConfirmEmail(token=data.token), context)


@post(
    "/auth/resend-confirmation",
    tags=["auth"],
    status_code=202,
    responses=PUBLIC_PROBLEMS,
    summary="Email a new confirmation link (the same answer for every address)",
)
@inject
async def resend_confirmation(
    data: JSONBody[EmailBody], bus: FromDishka[Bus], context: FromDishka[PublicContext]
) -> AccountStatus:
    return await bus.execute(ResendConfirmation(email=data.email), context)


@post(
    "/auth/login",
    tags=["auth"],
    status_code=200,
    responses=problem_responses(400, 401, 403, 422, 429),
    summary="Sign in: sets the session cookie and returns the CSRF token",
    description=(
        "Sets the `scaliyo_session` cookie (HttpOnly, SameSite=Lax, Secure outside dev). Send "
        "the returned `csrf_token` in the `X-CSRF-Token` header with every cookie-authenticated "
        "POST, PUT, PATCH and DELETE. A wrong password and an unknown address are one answer "
        "(401 `invalid_credentials`); an unconfirmed address is 403 `email_not_confirmed`."
    ),
)
@inject
async def log_in(
    data: JSONBody[Credentials],
    bus: FromDishka[Bus],
    context: FromDishka[PublicContext],
    settings: FromDishka[Settings],
) -> Response[LoginView]:
    result: LoginResult = await bus.execute(
        LogIn(email=data.email, password=data.password), context
    )
    return Response(
        LoginView(
            csrf_token=result.csrf_token,
            user=result.user,
            current_workspace_id=result.current_workspace_id,
        ),
        cookies=[session_cookie(result.session_token, settings)],
        headers=NO_STORE,
    )


@post(
    "/auth/logout",
    tags=["auth"],
    status_code=204,
    responses=SESSION_PROBLEMS,
    summary="Sign out: revokes this session and clears the cookie",
)
@inject
async def log_out(
    bus: FromDishka[Bus], context: FromDishka[Context], settings: FromDishka[Settings]
) -> Response[None]:
    await bus.execute(LogOut(), context)
    return Response(content=None, status_code=204, cookies=[cleared_session_cookie(settings)])


@get(
    "/auth/sessions",
    tags=["auth"],
    responses=SESSION_PROBLEMS,
    summary="Your active sessions, newest first (`current` marks this one)",
)
@inject
async def list_sessions(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[SessionView]:
    return await bus.execute(ListSessions(limit=limit, cursor=cursor), context)


@delete(
    "/auth/sessions/{session_id:str}",
    tags=["auth"],
    responses={**SESSION_PROBLEMS, **problem_responses(404)},
    summary="Revoke one of your sessions (its next request is 401)",
)
@inject
async def revoke_session(
    session_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(RevokeSession(session_id=session_id), context)


@delete(
    "/auth/sessions",
    tags=["auth"],
    status_code=200,
    responses=SESSION_PROBLEMS,
    summary="Revoke all your sessions but this one (`?scope=others`)",
)
@inject
async def revoke_other_sessions(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    which: Annotated[
        Literal["others"],
        QueryParameter(name="scope", description="`others`: every session of yours but this."),
    ],
) -> RevokedSessions:
    return await bus.execute(RevokeOtherSessions(), context)


@post(
    "/auth/password-reset",
    tags=["auth"],
    status_code=202,
    responses=PUBLIC_PROBLEMS,
    summary="Email a password-reset link (the same answer for every address)",
)
@inject
async def request_password_reset(
    data: JSONBody[EmailBody], bus: FromDishka[Bus], context: FromDishka[PublicContext]
) -> AccountStatus:
    return await bus.execute(RequestPasswordReset(email=data.email), context)


@post(
    "/auth/password-reset/confirm",
    tags=["auth"],
    status_code=200,
    responses=TOKEN_PROBLEMS,
    summary="Set a new password with the emailed token; signs out every session",
)
@inject
async def reset_password(
    data: JSONBody[NewPasswordBody], bus: FromDishka[Bus], context: FromDishka[PublicContext]
) -> AccountStatus:
    return await bus.execute(ResetPassword(token=data.token, password=data.password), context)


route_handlers = [
    sign_up,
    confirm_email,
    resend_confirmation,
    log_in,
    log_out,
    list_sessions,
    revoke_session,
    revoke_other_sessions,
    request_password_reset,
    reset_password,
]
