"""``/api/v1/billing``: paying for a plan — checkout, the billing portal, invoices — and
``/api/v1/webhooks/stripe``, where Stripe tells us what happened.

Status codes:
- 402 ``payment_overdue``: AI work and sending stopped 7 days after a failed payment;
- 403 ``insufficient_role``: only owners pay, open the portal and read invoices;
- 409 ``already_on_plan`` (that plan and interval are paid for already), ``plan_not_purchasable``
  (the plan has no price id at Stripe yet);
- 422 ``unknown_plan`` and the body's validation errors (an unknown interval);
- 502 ``payments_refused`` (Stripe refused: an operator must fix a price id or the key), 503
  ``payments_unavailable`` (Stripe could not be reached: try again);
- the webhook: 400 ``invalid_signature`` (unsigned, wrongly signed, or signed more than 300 s
  ago) or ``invalid_event``, 503 ``webhooks_not_configured`` (no signing secret: every request
  is refused); a 200 says the event's effect is committed (or that there was none to have).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get, post
from litestar.params import JSONBody

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.payments.stripe_webhooks import (
    InvalidEvent,
    InvalidSignature,
    StripeWebhookVerifier,
)
from scaliyo.application.billing.payment_commands import (
    CheckoutView,
    InvoiceView,
    ListInvoices,
    OpenBillingPortal,
    PortalView,
    StartCheckout,
)
from scaliyo.application.billing.payments import PaymentsRefused
from scaliyo.application.billing.webhooks import PaymentWebhooks, WebhookReceipt
from scaliyo.application.bus import Bus, Context
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import PaymentOverdue
from scaliyo.entrypoints.http.auth import PublicContext
from scaliyo.entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from scaliyo.entrypoints.http.idempotency import Idempotency
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import (
    WORKSPACE_ROUTE_PROBLEMS,
    problem_responses,
    register_status,
)

register_status(PaymentOverdue, 402)
register_status(PaymentsRefused, 502)
register_status(InvalidSignature, 400)
register_status(InvalidEvent, 400)

PAYING_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409, 502, 503)}


class CheckoutBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    interval: Interval = Interval.MONTH


def operation_id(request: Request) -> str:
    """The request's Idempotency-Key names the operation (a retry is the same operation);
    without one, each request is an operation of its own."""
    return request.headers.get(IDEMPOTENCY_HEADER) or new_id().hex


@post(
    "/billing/checkout",
    tags=["billing"],
    status_code=200,
    responses=PAYING_PROBLEMS,
    summary="Buy a plan (owners): the checkout page to send the owner to, or the page "
    "confirming a change of plan",
)
@inject
async def start_checkout(
    request: Request,
    data: JSONBody[CheckoutBody],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    idempotency: FromDishka[Idempotency],
) -> Response[CheckoutView]:
    """Accepts ``Idempotency-Key``: a retry with the same key and body gets the same page."""
    command = StartCheckout(
        plan=data.plan, interval=data.interval, operation_id=operation_id(request)
    )
    return await idempotency.run(
        request, context, lambda: bus.execute(command, context), status_code=200
    )


@post(
    "/billing/portal",
    tags=["billing"],
    status_code=200,
    responses=PAYING_PROBLEMS,
    summary="Open the billing portal (owners): payment methods, invoices, cancelling",
)
@inject
async def open_portal(
    request: Request, bus: FromDishka[Bus], context: FromDishka[Context]
) -> PortalView:
    return await bus.execute(OpenBillingPortal(operation_id=operation_id(request)), context)


@get(
    "/billing/invoices",
    tags=["billing"],
    responses=PAYING_PROBLEMS,
    summary="The workspace's invoices, newest first (owners)",
)
@inject
async def list_invoices(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[InvoiceView]:
    return await bus.execute(ListInvoices(limit=limit, cursor=cursor), context)


@post(
    "/webhooks/stripe",
    tags=["webhooks"],
    status_code=200,
    responses=problem_responses(400, 503),
    summary="Stripe's events, signed (Stripe-Signature); 200 once the effect is committed",
)
@inject
async def stripe_webhook(
    request: Request,
    verifier: FromDishka[StripeWebhookVerifier],
    webhooks: FromDishka[PaymentWebhooks],
    context: FromDishka[PublicContext],
) -> WebhookReceipt:
    event = verifier.verify(await request.body(), request.headers.get("stripe-signature"))
    return await webhooks.receive(event, context.request_id)


route_handlers = [start_checkout, open_portal, list_invoices, stripe_webhook]
