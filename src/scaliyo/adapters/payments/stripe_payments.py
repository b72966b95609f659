"""The payments port on Stripe, through the official SDK (``stripe.StripeClient``) and its async
HTTPX client.

- Every call is async (``*_async``), times out (``stripe_timeout_seconds``) and is retried by
  the SDK on transient failures — connection errors and timeouts, 409, 5xx, and whatever Stripe
  marks ``Stripe-Should-Retry`` — with exponential backoff and jitter, up to
  ``stripe_max_retries`` times; a retried POST keeps its Idempotency-Key, so Stripe does it once.
- Every POST carries an idempotency key derived from our own operation id (the caller's).
- Errors come back typed: ``payments_unavailable`` when Stripe could not be reached or failed,
  ``payments_refused`` when it refused the request (a wrong price id, a revoked key). The API
  key is never logged or put in an error; Stripe's own messages are logged only for refusals
  that are not about authentication.
- Requests are pinned to the SDK's API version (2026-10-28.endive), which the readers in
  ``stripe_objects`` follow.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import stripe

from scaliyo.adapters.payments.stripe_objects import UnreadableObject, invoice_of, subscription_of
from scaliyo.application.billing.payments import (
    CheckoutRequest,
    HostedPage,
    InvoicePage,
    PaymentsRefused,
    PaymentsUnavailable,
    PlanSwitch,
    ProviderSubscription,
)
from scaliyo.domain.billing.subscriptions import Source
from scaliyo.domain.shared.ids import WorkspaceId

log = logging.getLogger("scaliyo.payments.stripe")

API_VERSION = stripe.api_version


class _HttpxClient(stripe.HTTPXClient):
    """The SDK's async HTTPX client, handing httpx the form body as ``content`` (httpx
    deprecates a string passed as ``data``); everything else is the SDK's."""

    def _get_request_args_kwargs(self, method, url, headers, post_data):  # type: ignore[no-untyped-def]
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return args, kwargs


class StripePayments:
    provider = "stripe"
    source = Source.STRIPE
    needs_price_ids = True

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float = 20,
        max_retries: int = 2,
    ) -> None:
        self._http = _HttpxClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_retries,
            http_client=self._http,
        )

    async def close(self) -> None:
        await self._http.close_async()

    async def create_customer(
        self, *, workspace_id: WorkspaceId, name: str | None, idempotency_key: str
    ) -> str:
        params: dict[str, Any] = {"metadata": {"workspace_id": str(workspace_id)}}
        if name:
            params["name"] = name
        customer = await self._call(
            "create customer",
            self._client.v1.customers.create_async(
                params,
                {"idempotency_key": idempotency_key},  # type: ignore[arg-type]
            ),
        )
        return customer.id

    async def create_checkout(self, request: CheckoutRequest) -> HostedPage:
        if request.price_id is None:
            raise PaymentsRefused(f"The plan {request.plan_code!r} has no Stripe price id.")
        metadata = {
            "workspace_id": str(request.workspace_id),
            "plan": request.plan_code,
            "interval": request.interval.value,
        }
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": request.customer_id,
            "client_reference_id": str(request.workspace_id),
            "line_items": [{"price": request.price_id, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        session = await self._call(
            "create checkout session",
            self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            ),
        )
        if not session.url:
            raise PaymentsRefused("Stripe made a checkout session without a URL.")
        return HostedPage(id=session.id, url=session.url)

    async def create_portal(
        self,
        *,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
        switch: PlanSwitch | None = None,
    ) -> HostedPage:
        params: dict[str, Any] = {"customer": customer_id, "return_url": return_url}
        if switch is not None:
            if switch.price_id is None:
                raise PaymentsRefused(f"The plan {switch.plan_code!r} has no Stripe price id.")
            subscription = await self._call(
                "read subscription",
                self._client.v1.subscriptions.retrieve_async(switch.subscription_id),
            )
            item_id = subscription.to_dict()["items"]["data"][0]["id"]
            params["flow_data"] = {
                "type": "subscription_update_confirm",
                "subscription_update_confirm": {
                    "subscription": switch.subscription_id,
                    "items": [{"id": item_id, "price": switch.price_id, "quantity": 1}],
                },
                "after_completion": {"type": "redirect", "redirect": {"return_url": return_url}},
            }
        session = await self._call(
            "create billing portal session",
            self._client.v1.billing_portal.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ),
        )
        return HostedPage(id=session.id, url=session.url)

    async def list_invoices(
        self, *, customer_id: str, limit: int, starting_after: str | None
    ) -> InvoicePage:
        params: dict[str, Any] = {"customer": customer_id, "limit": min(limit, 100)}
        if starting_after:
            params["starting_after"] = starting_after
        page = await self._call("list invoices", self._client.v1.invoices.list_async(params))  # type: ignore[arg-type]
        body = page.to_dict()
        try:
            items = [invoice_of(invoice) for invoice in body.get("data") or []]
        except (UnreadableObject, KeyError) as error:
            raise PaymentsRefused("Stripe answered with an invoice we cannot read.") from error
        return InvoicePage(items=items, has_more=bool(body.get("has_more")))

    async def get_subscription(self, subscription_id: str) -> ProviderSubscription | None:
        try:
            subscription = await self._client.v1.subscriptions.retrieve_async(subscription_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            self._raise("read subscription", error)
        except stripe.StripeError as error:
            self._raise("read subscription", error)
        try:
            return subscription_of(subscription.to_dict())
        except (UnreadableObject, KeyError) as error:
            raise PaymentsRefused("Stripe answered with a subscription we cannot read.") from error

    async def _call(self, what: str, call: Any) -> Any:
        try:
            return await call
        except stripe.StripeError as error:
            self._raise(what, error)

    @staticmethod
    def _raise(what: str, error: stripe.StripeError) -> NoReturn:
        status = error.http_status
        request_id = error.request_id
        if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
            status is not None and status >= 500
        ):
            log.warning(
                "stripe unavailable",
                extra={"call": what, "status": status, "stripe_request_id": request_id},
            )
            raise PaymentsUnavailable(
                f"Stripe could not {what} just now; try again in a moment."
            ) from error
        if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
            log.error(
                "stripe refused the api key",
                extra={"call": what, "status": status, "stripe_request_id": request_id},
            )
            raise PaymentsRefused(
                "Stripe refused our API key; an operator must check SCALIYO_STRIPE_API_KEY."
            ) from error
        log.error(
            "stripe refused a request",
            extra={
                "call": what,
                "status": status,
                "code": error.code,
                "stripe_message": error.user_message,
                "stripe_request_id": request_id,
            },
        )
        raise PaymentsRefused(
            f"Stripe refused to {what} ({error.code or 'invalid request'})."
        ) from error
