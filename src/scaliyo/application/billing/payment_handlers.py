"""Paying for a plan: checkout, the billing portal, invoices, and provider events."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

import msgspec

from scaliyo.application.billing.access import require_platform
from scaliyo.application.billing.payment_commands import (
    ApplyPaymentEvent,
    CheckoutView,
    InvoiceView,
    ListInvoices,
    OpenBillingPortal,
    PortalView,
    StartCheckout,
)
from scaliyo.application.billing.payments import (
    CheckoutRequest,
    HostedPage,
    PaymentAccount,
    Payments,
    PaymentsUnitOfWork,
    PlanSwitch,
    ProviderInvoice,
)
from scaliyo.application.billing.provider_events import EventOutcome, apply_provider_event
from scaliyo.application.bus import Context, Handler, Message
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.shared.audit import audit_entry
from scaliyo.application.shared.pagination import Page, check_limit
from scaliyo.application.shared.ports import Clock
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.billing.plans import Interval, Plan
from scaliyo.domain.billing.subscriptions import PAID, SubscriptionNotFound
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.shared.errors import Conflict, FieldError, ValidationFailed
from scaliyo.domain.shared.ids import WorkspaceId


class AlreadyOnPlan(Conflict):
    code = "already_on_plan"
    title = "The workspace is on this plan and interval already"


class UnknownPlan(ValidationFailed):
    code = "unknown_plan"
    title = "No such plan on sale"


class PlanNotPurchasable(Conflict):
    code = "plan_not_purchasable"
    title = "This plan cannot be bought yet"


class PaymentLinks(msgspec.Struct, frozen=True, kw_only=True):
    """Our billing page: where checkout and the portal send the user back."""

    return_url: str

    def success_url(self) -> str:
        # Stripe fills {CHECKOUT_SESSION_ID} in.
        return _with_query(self.return_url, "checkout=success&session_id={CHECKOUT_SESSION_ID}")

    def cancel_url(self) -> str:
        return _with_query(self.return_url, "checkout=canceled")


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def provider_key(*parts: str) -> str:
    """An idempotency key for the provider from our own ids (at most 255 characters: the
    operation id, which a client may choose, is hashed)."""
    *named, operation = parts
    digest = hashlib.sha256(operation.encode()).hexdigest()[:40]
    return ":".join(["scaliyo", *named, digest])


async def ensure_customer(
    uow: PaymentsUnitOfWork, payments: Payments, workspace_id: WorkspaceId, clock: Clock
) -> PaymentAccount:
    """The workspace's customer at the provider, created on first need (once: the provider's
    idempotency key is the workspace's, so a retry after a lost answer finds the same one)."""
    account = await uow.payment_accounts.get(payments.provider)
    if account is not None:
        return account
    workspace = await uow.workspaces.get(workspace_id)
    customer_id = await payments.create_customer(
        workspace_id=workspace_id,
        name=None if workspace is None else workspace.name,
        idempotency_key=provider_key("customer", str(workspace_id), payments.provider, "first"),
    )
    account = PaymentAccount(provider=payments.provider, customer_id=customer_id)
    await uow.payment_accounts.add(account, clock.now())
    return account


class StartCheckoutHandler:
    """The owner starts paying for a plan.

    Rules:
    - owners only (``insufficient_role``);
    - the plan must be one on sale (``unknown_plan``, 422); a trial may buy any, Starter too;
    - the plan and interval the workspace pays for already are ``already_on_plan`` (409);
    - with Stripe the plan needs its price id for the interval (``plan_not_purchasable``, 409);
    - the workspace's customer is created on first need;
    - a workspace that pays through this provider already changes its subscription (the
      portal's page confirming the change: one subscription per workspace); any other starts a
      checkout for a new subscription;
    - the provider's idempotency key derives from the operation id, so a retried request gets
      the same page;
    - the offline stand-in completes at once: what it did is applied as its webhooks would be;
    - audited (``billing.checkout_started``).
    """

    def __init__(self, clock: Clock, payments: Payments, links: PaymentLinks) -> None:
        self._clock = clock
        self._payments = payments
        self._links = links

    async def __call__(
        self, message: StartCheckout, uow: PaymentsUnitOfWork, context: Context
    ) -> CheckoutView:
        require_permission(context, Permission.BILLING_MANAGE)
        assert context.workspace_id is not None
        workspace_id = context.workspace_id
        payments = self._payments
        plan = await _plan_on_sale(uow, message.plan)
        subscription = await uow.subscriptions.get(for_update=True)
        if subscription is None:
            raise SubscriptionNotFound()
        if (
            subscription.status in PAID
            and subscription.plan_code == plan.code
            and subscription.interval is message.interval
        ):
            raise AlreadyOnPlan(
                f"This workspace pays for {plan.name} every {message.interval.value} already; "
                "use the billing portal to change how it pays."
            )
        price_id = _price_id(plan, message.interval)
        if payments.needs_price_ids and price_id is None:
            raise PlanNotPurchasable(
                f"{plan.name} has no {payments.provider} price for the {message.interval.value}ly "
                "interval yet; an administrator sets it in pricing management."
            )
        account = await ensure_customer(uow, payments, workspace_id, self._clock)
        switching = (
            account.subscription_id is not None
            and subscription.status in PAID
            and subscription.source is payments.source
        )
        key_parts = (str(workspace_id), plan.code, message.interval.value, message.operation_id)
        if switching:
            assert account.subscription_id is not None
            page = await payments.create_portal(
                customer_id=account.customer_id,
                return_url=self._links.return_url,
                idempotency_key=provider_key("plan-change", *key_parts),
                switch=PlanSwitch(
                    subscription_id=account.subscription_id,
                    plan_code=plan.code,
                    interval=message.interval,
                    price_id=price_id,
                ),
            )
        else:
            page = await payments.create_checkout(
                CheckoutRequest(
                    workspace_id=workspace_id,
                    customer_id=account.customer_id,
                    plan_code=plan.code,
                    interval=message.interval,
                    price_id=price_id,
                    success_url=self._links.success_url(),
                    cancel_url=self._links.cancel_url(),
                    idempotency_key=provider_key("checkout", *key_parts),
                )
            )
        await _apply_at_once(uow, payments, page, self._clock, context)
        await uow.audit.record(
            audit_entry(
                context,
                "billing.checkout_started",
                workspace_id=workspace_id,
                target=f"workspace:{workspace_id}",
                details={
                    "plan": plan.code,
                    "interval": message.interval.value,
                    "provider": payments.provider,
                    "kind": "plan_change" if switching else "checkout",
                    "page_id": page.id,
                },
            )
        )
        await uow.commit()
        return CheckoutView(
            url=page.url,
            provider=payments.provider,
            kind="plan_change" if switching else "checkout",
            completed=bool(page.events),
        )


class OpenBillingPortalHandler:
    """The owner opens the provider's billing portal (payment methods, invoices, cancelling).

    Rules: owners only; the customer is created on first need; the portal returns to our
    billing page."""

    def __init__(self, clock: Clock, payments: Payments, links: PaymentLinks) -> None:
        self._clock = clock
        self._payments = payments
        self._links = links

    async def __call__(
        self, message: OpenBillingPortal, uow: PaymentsUnitOfWork, context: Context
    ) -> PortalView:
        require_permission(context, Permission.BILLING_MANAGE)
        assert context.workspace_id is not None
        account = await ensure_customer(uow, self._payments, context.workspace_id, self._clock)
        page = await self._payments.create_portal(
            customer_id=account.customer_id,
            return_url=self._links.return_url,
            idempotency_key=provider_key("portal", str(context.workspace_id), message.operation_id),
        )
        await uow.commit()
        return PortalView(url=page.url, provider=self._payments.provider)


class ListInvoicesHandler:
    """The workspace's invoices at the provider, newest first.

    Rules: owners only (invoices are the owner's business, like paying); a workspace that never
    paid has none; ``cursor`` is the ``next_cursor`` of the previous page."""

    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def __call__(
        self, message: ListInvoices, uow: PaymentsUnitOfWork, context: Context
    ) -> Page[InvoiceView]:
        require_permission(context, Permission.BILLING_MANAGE)
        limit = check_limit(message.limit)
        after = decode_invoice_cursor(message.cursor)
        account = await uow.payment_accounts.get(self._payments.provider)
        if account is None:
            return Page(items=[], next_cursor=None)
        page = await self._payments.list_invoices(
            customer_id=account.customer_id, limit=limit, starting_after=after
        )
        items = [invoice_view(invoice, self._payments.provider) for invoice in page.items]
        cursor = encode_invoice_cursor(page.items[-1].id) if page.has_more and page.items else None
        return Page(items=items, next_cursor=cursor)


class ApplyPaymentEventHandler:
    """A verified provider event, routed to its workspace, applied once.

    Rules:
    - the scheduler's and webhooks' actor only (system);
    - the event id is written first, in the transaction of the effect: a duplicate — also one
      delivered at the same moment, which waits for the first — is acknowledged and does
      nothing (``duplicate``);
    - the effect follows ``apply_provider_event`` (the provider's current subscription, not the
      event's copy); the transaction commits before the webhook answers, so a 2xx means done.
    """

    def __init__(self, clock: Clock, payments: Payments) -> None:
        self._clock = clock
        self._payments = payments

    async def __call__(
        self, message: ApplyPaymentEvent, uow: PaymentsUnitOfWork, context: Context
    ) -> EventOutcome:
        require_platform(context)
        now = self._clock.now()
        event = message.event
        first = await uow.payment_events.record(
            provider=self._payments.provider, event_id=event.id, type=event.type, now=now
        )
        if not first:
            return EventOutcome.DUPLICATE
        outcome = await apply_provider_event(uow, self._payments, event, now=now, context=context)
        await uow.commit()
        return outcome


async def _apply_at_once(
    uow: PaymentsUnitOfWork, payments: Payments, page: HostedPage, clock: Clock, context: Context
) -> None:
    for event in page.events:
        now = clock.now()
        if await uow.payment_events.record(
            provider=payments.provider, event_id=event.id, type=event.type, now=now
        ):
            await apply_provider_event(uow, payments, event, now=now, context=context)


async def _plan_on_sale(uow: PaymentsUnitOfWork, code: str) -> Plan:
    plan = await uow.plans.get(code.strip().lower()) if code.strip() else None
    if plan is None or not plan.public:
        on_sale = ", ".join(p.code for p in await uow.plans.list_public())
        raise UnknownPlan(
            f"There is no plan {code!r} on sale.",
            errors=[FieldError("plan", "unknown_plan", f"One of: {on_sale}.")],
        )
    return plan


def _price_id(plan: Plan, interval: Interval) -> str | None:
    return plan.stripe_price_annual if interval is Interval.YEAR else plan.stripe_price_monthly


def invoice_view(invoice: ProviderInvoice, provider: str) -> InvoiceView:
    return InvoiceView(
        id=invoice.id,
        status=invoice.status,
        currency=invoice.currency,
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        total=invoice.total,
        created=rfc3339(invoice.created),
        provider=provider,
        number=invoice.number,
        period_start=rfc3339_or_none(invoice.billed_period_start),
        period_end=rfc3339_or_none(invoice.billed_period_end),
        hosted_invoice_url=invoice.hosted_invoice_url,
        pdf_url=invoice.pdf_url,
    )


def encode_invoice_cursor(invoice_id: str) -> str:
    return base64.urlsafe_b64encode(invoice_id.encode()).decode().rstrip("=")


def decode_invoice_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = ""
    if not raw.isascii() or not raw.replace("_", "").isalnum() or len(raw) > 255:
        raise ValidationFailed(
            "The cursor is not one this API gave out.",
            errors=[FieldError("cursor", "invalid_cursor", "Not a cursor from this API.")],
        )
    return raw


def payment_handlers(
    *, clock: Clock, payments: Payments, links: PaymentLinks
) -> Mapping[type[Message], Handler]:
    return {
        StartCheckout: StartCheckoutHandler(clock, payments, links),
        OpenBillingPortal: OpenBillingPortalHandler(clock, payments, links),
        ListInvoices: ListInvoicesHandler(payments),
        ApplyPaymentEvent: ApplyPaymentEventHandler(clock, payments),
    }
