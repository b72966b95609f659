"""A local fake of Stripe's API for integration tests: a small ASGI app that speaks Stripe's wire
format for the objects and API version stripe 16 uses (2026-10-28.endive).

Shapes follow Stripe's published OpenAPI fixtures (``stripe/openapi``,
``openapi/fixtures3.json``) and the typed resource classes of the installed SDK
(``stripe/_subscription.py``, ``_subscription_item.py``, ``_invoice.py``,
``checkout/_session.py``, ``billing_portal/_session.py``, ``_customer.py``, ``_event.py``): in
this version a subscription's period lives on its items, and an invoice names its subscription
under ``parent.subscription_details`` and the billed period on its subscription line.

What it does like Stripe:
- ``Authorization: Bearer <secret key>`` (401 otherwise), ``Stripe-Version`` (this version or
  none), form-encoded bodies with bracketed keys (``metadata[workspace_id]=…``,
  ``line_items[0][price]=…``), ``Request-Id`` on every answer;
- objects with ``object`` and ``id``; lists as ``{"object": "list", "data": […], "has_more": …,
  "url": …}`` with ``limit`` and ``starting_after``;
- errors as ``{"error": {"type", "code", "message", "param"}}`` with Stripe's status codes
  (400 missing parameter, 404 ``resource_missing``, 401 bad key, 400 ``idempotency_error``);
- ``Idempotency-Key`` on POSTs: the same key and parameters replay the first answer
  (``Idempotent-Replayed: true``); the same key with other parameters is an
  ``idempotency_error``; 5xx answers are not kept;
- hosted pages: following a checkout session's ``url`` pays it (303 to ``success_url``), a
  portal session's ``url`` confirms its flow (303 to ``return_url``).

Tests drive the rest from Python (``complete_checkout``, ``update_subscription``, ``renew``,
``pay_invoice``, ``cancel``…): each returns the events Stripe would send, and ``signed`` turns
an event into a webhook body with a ``Stripe-Signature`` header
(``stripe.WebhookSignature.generate_signature_header``). ``fail_next`` makes the next API
requests fail with a status of choice (transient failures).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from calendar import monthrange
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import stripe

from tests.fakes.asgi_thread import served

API_VERSION = stripe.api_version


class StripeFailure(Exception):
    def __init__(self, status: int, type: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "message": message, **extra}}


def missing(param: str) -> StripeFailure:
    return StripeFailure(
        400,
        "invalid_request_error",
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
    )


def no_such(kind: str, object_id: str, param: str = "id") -> StripeFailure:
    return StripeFailure(
        404 if param == "id" else 400,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def form_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracketed form keys as nested values: ``a[b][0][c]=v`` → ``{"a": {"b": [{"c":
    "v"}]}}`` (indexed keys become lists)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, *rest = re.findall(r"[^\[\]]+", key) or [key]
        node = root
        path = [head, *rest]
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def add_months(moment: int, months: int) -> int:
    at = datetime.fromtimestamp(moment, UTC)
    index = at.year * 12 + at.month - 1 + months
    year, month = divmod(index, 12)
    day = min(at.day, monthrange(year, month + 1)[1])
    return int(at.replace(year=year, month=month + 1, day=day).timestamp())


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    raw_body: str


@dataclass
class _Kept:
    fingerprint: str
    status: int
    body: bytes


@dataclass
class FakeStripe:
    api_key: str = field(default_factory=lambda: f"sk_test_fake{secrets.token_hex(12)}")
    webhook_secret: str = field(default_factory=lambda: f"whsec_fake{secrets.token_hex(16)}")
    base_url: str = "http://127.0.0.1"

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self.prices: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.events: list[dict] = []
        self.requests: list[RecordedRequest] = []
        self._kept: dict[str, _Kept] = {}
        self._failures: list[int] = []
        self._offset = 0

    # --- time ------------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self._offset

    def advance(self, seconds: int) -> None:
        with self._lock:
            self._offset += seconds

    # --- set-up from tests -----------------------------------------------------------------

    def add_price(self, price_id: str, *, unit_amount: int, interval: str, product: str) -> dict:
        with self._lock:
            price = {
                "id": price_id,
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": self.now(),
                "currency": "usd",
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product,
                "recurring": {
                    "interval": interval,
                    "interval_count": 1,
                    "meter": None,
                    "usage_type": "licensed",
                    "trial_period_days": None,
                },
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "recurring",
                "unit_amount": unit_amount,
                "unit_amount_decimal": str(unit_amount),
            }
            self.prices[price_id] = price
            return price

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # --- the ASGI app ----------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        method = scope["method"]
        path = scope["path"]
        query = scope.get("query_string", b"").decode()
        status, payload, extra = self.handle(method, path, query, headers, body.decode())
        response_headers = [
            (b"request-id", f"req_{secrets.token_hex(7)}".encode()),
            (b"stripe-version", API_VERSION.encode()),
            *[(k.encode(), v.encode()) for k, v in extra.items()],
        ]
        if isinstance(payload, bytes):
            response_headers.append((b"content-type", b"application/json"))
            content = payload
        else:
            content = b""
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: str
    ) -> tuple[int, bytes | None, dict[str, str]]:
        if not path.startswith("/v1/"):
            return self._hosted(method, path)
        pairs = parse_qsl(body if method == "POST" else query, keep_blank_values=True)
        params = form_params(pairs)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, params, body))
            if self._failures:
                status = self._failures.pop(0)
                return (
                    status,
                    _json({"error": {"type": "api_error", "message": "Fake outage."}}),
                    {},
                )
            try:
                self._authenticate(headers)
                key = headers.get("idempotency-key")
                if method == "POST" and key:
                    fingerprint = json.dumps([path, sorted(pairs)])
                    kept = self._kept.get(key)
                    if kept is not None:
                        if kept.fingerprint != fingerprint:
                            raise StripeFailure(
                                400,
                                "idempotency_error",
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other "
                                f"than '{key}' if you meant to execute a different request.",
                            )
                        return kept.status, kept.body, {"idempotent-replayed": "true"}
                status, payload = self._route(method, path, params)
                content = _json(payload)
                if method == "POST" and key:
                    self._kept[key] = _Kept(fingerprint, status, content)
                return status, content, {}
            except StripeFailure as failure:
                # Like Stripe, a request refused before it ran keeps no idempotent result.
                return failure.status, _json(failure.body), {}

    def _authenticate(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise StripeFailure(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth.",
            )
        if auth.removeprefix("Bearer ") != self.api_key:
            raise StripeFailure(
                401,
                "invalid_request_error",
                f"Invalid API Key provided: {auth[7:15]}****{auth[-4:]}",
            )
        version = headers.get("stripe-version")
        if version is not None and version != API_VERSION:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"Invalid Stripe API version: {version}. This fake speaks {API_VERSION}.",
            )

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict]:
        routes = [
            ("POST", r"/v1/customers", self._create_customer),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self._get_customer),
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", self._get_session),
            ("POST", r"/v1/billing_portal/sessions", self._create_portal_session),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self._get_subscription),
            ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", self._update_subscription_api),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self._cancel_subscription_api),
            ("GET", r"/v1/invoices", self._list_invoices),
            ("GET", r"/v1/invoices/(?P<id>[^/]+)", self._get_invoice),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return 200, handler(params, **match.groupdict())
        raise StripeFailure(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    # --- API resources ---------------------------------------------------------------------

    def _create_customer(self, params: dict) -> dict:
        customer_id = f"cus_{secrets.token_hex(7)}"
        customer = {
            "id": customer_id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self.now(),
            "currency": None,
            "customer_account": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description"),
            "discount": None,
            "email": params.get("email"),
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "name": params.get("name"),
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        self.customers[customer_id] = customer
        return customer

    def _get_customer(self, params: dict, id: str) -> dict:
        return self._find(self.customers, "customer", id)

    def _create_session(self, params: dict) -> dict:
        for name in ("mode", "success_url"):
            if not params.get(name):
                raise missing(name)
        if params["mode"] != "subscription":
            raise StripeFailure(400, "invalid_request_error", "This fake sells subscriptions.")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise no_such("customer", customer, "customer")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise missing("line_items")
        price_id = items[0].get("price")
        if price_id not in self.prices:
            raise no_such("price", str(price_id), "line_items[0][price]")
        price = self.prices[price_id]
        session_id = f"cs_test_{secrets.token_hex(24)}"
        created = self.now()
        session = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": price["unit_amount"],
            "amount_total": price["unit_amount"],
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_address_collection": None,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": created,
            "currency": price["currency"],
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer,
            "customer_account": None,
            "customer_creation": None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "discounts": None,
            "expires_at": created + 86_400,
            "invoice": None,
            "invoice_creation": None,
            "livemode": False,
            "locale": None,
            "metadata": params.get("metadata") or {},
            "mode": "subscription",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": params["success_url"],
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.base_url}/c/pay/{session_id}",
            "wallet_options": None,
            # Kept for completing it (Stripe keeps these server-side too).
            "_price": price_id,
            "_subscription_metadata": (params.get("subscription_data") or {}).get("metadata") or {},
        }
        self.sessions[session_id] = session
        return _public(session)

    def _get_session(self, params: dict, id: str) -> dict:
        return _public(self._find(self.sessions, "checkout.session", id))

    def _create_portal_session(self, params: dict) -> dict:
        customer = params.get("customer")
        if not customer:
            raise missing("customer")
        if customer not in self.customers:
            raise no_such("customer", customer, "customer")
        flow = params.get("flow_data")
        if flow is not None:
            flow = self._portal_flow(customer, flow)
        session_id = f"bps_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_fakeconfiguration",
            "created": self.now(),
            "customer": customer,
            "customer_account": None,
            "flow": flow,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/p/session/{session_id}",
        }
        self.portal_sessions[session_id] = session
        return session

    def _portal_flow(self, customer: str, flow: dict) -> dict:
        if flow.get("type") != "subscription_update_confirm":
            raise StripeFailure(
                400, "invalid_request_error", "This fake knows subscription_update_confirm only."
            )
        confirm = flow.get("subscription_update_confirm") or {}
        subscription = self._find(self.subscriptions, "subscription", confirm.get("subscription"))
        if subscription["customer"] != customer:
            raise no_such("subscription", subscription["id"], "flow_data")
        items = confirm.get("items") or []
        if not items or items[0].get("id") != subscription["items"]["data"][0]["id"]:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "flow_data[subscription_update_confirm][items][0][id] must name the "
                "subscription's item.",
                param="flow_data[subscription_update_confirm][items][0][id]",
            )
        if items[0].get("price") not in self.prices:
            raise no_such("price", str(items[0].get("price")), "flow_data")
        after = flow.get("after_completion") or {"type": "portal_homepage"}
        return {
            "after_completion": {
                "hosted_confirmation": None,
                "redirect": after.get("redirect"),
                "type": after.get("type"),
            },
            "subscription_cancel": None,
            "subscription_update": None,
            "subscription_update_confirm": {
                "discounts": None,
                "items": [{"id": items[0]["id"], "price": items[0]["price"], "quantity": 1}],
                "subscription": subscription["id"],
            },
            "type": "subscription_update_confirm",
        }

    def _get_subscription(self, params: dict, id: str) -> dict:
        return copy.deepcopy(self._find(self.subscriptions, "subscription", id))

    def _update_subscription_api(self, params: dict, id: str) -> dict:
        items = params.get("items") or []
        price = items[0].get("price") if items else None
        cancel = params.get("cancel_at_period_end")
        self.update_subscription(
            id, price=price, cancel_at_period_end=None if cancel is None else cancel == "true"
        )
        return copy.deepcopy(self.subscriptions[id])

    def _cancel_subscription_api(self, params: dict, id: str) -> dict:
        self.cancel(id)
        return copy.deepcopy(self.subscriptions[id])

    def _list_invoices(self, params: dict) -> dict:
        invoices = sorted(
            self.invoices.values(), key=lambda inv: (inv["created"], inv["id"]), reverse=True
        )
        if customer := params.get("customer"):
            invoices = [inv for inv in invoices if inv["customer"] == customer]
        if after := params.get("starting_after"):
            ids = [inv["id"] for inv in invoices]
            if after not in ids:
                raise no_such("invoice", after, "starting_after")
            invoices = invoices[ids.index(after) + 1 :]
        limit = int(params.get("limit") or 10)
        if not 1 <= limit <= 100:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "Invalid limit: must be between 1 and 100",
                param="limit",
            )
        return {
            "object": "list",
            "data": [copy.deepcopy(inv) for inv in invoices[:limit]],
            "has_more": len(invoices) > limit,
            "url": "/v1/invoices",
        }

    def _get_invoice(self, params: dict, id: str) -> dict:
        return copy.deepcopy(self._find(self.invoices, "invoice", id))

    def _find(self, table: dict[str, dict], kind: str, object_id: Any) -> dict:
        if not isinstance(object_id, str) or object_id not in table:
            raise no_such(kind, str(object_id))
        return table[object_id]

    # --- hosted pages ----------------------------------------------------------------------

    def _hosted(self, method: str, path: str) -> tuple[int, bytes | None, dict[str, str]]:
        if method == "GET" and (match := re.fullmatch(r"/c/pay/(cs_test_\w+)", path)):
            session = self.sessions.get(match.group(1))
            if session is None:
                return 404, _json({"error": "no such checkout session"}), {}
            if session["status"] == "open":
                self.complete_checkout(session["id"])
            url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            return 303, None, {"location": url}
        if method == "GET" and (match := re.fullmatch(r"/p/session/(bps_\w+)", path)):
            portal = self.portal_sessions.get(match.group(1))
            if portal is None:
                return 404, _json({"error": "no such portal session"}), {}
            flow = portal.get("flow")
            if flow and not portal.get("_confirmed"):
                confirm = flow["subscription_update_confirm"]
                self.update_subscription(
                    confirm["subscription"], price=confirm["items"][0]["price"]
                )
                portal["_confirmed"] = True
            return 303, None, {"location": portal["return_url"] or self.base_url}
        return 404, _json({"error": "not a page of this fake"}), {}

    # --- the life of a subscription (what Stripe does, with the events it sends) -----------

    def complete_checkout(self, session_id: str, *, pay: bool = True) -> list[dict]:
        """The customer pays the checkout: a subscription, its first invoice, paid."""
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise ValueError("this checkout session is not open")
            now = self.now()
            price = self.prices[session["_price"]]
            subscription_id = f"sub_{secrets.token_hex(12)}"
            item_id = f"si_{secrets.token_hex(7)}"
            start = now
            end = add_months(start, 12 if price["recurring"]["interval"] == "year" else 1)
            subscription = {
                "id": subscription_id,
                "object": "subscription",
                "application": None,
                "application_fee_percent": None,
                "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
                "billing_cycle_anchor": start,
                "billing_cycle_anchor_config": None,
                "billing_mode": {"flexible": None, "type": "classic"},
                "billing_schedules": [],
                "billing_thresholds": None,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "cancellation_details": {"comment": None, "feedback": None, "reason": None},
                "collection_method": "charge_automatically",
                "created": now,
                "currency": price["currency"],
                "customer": session["customer"],
                "customer_account": None,
                "days_until_due": None,
                "default_payment_method": f"pm_{secrets.token_hex(7)}",
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "ended_at": None,
                "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
                "items": {
                    "object": "list",
                    "data": [self._item(item_id, subscription_id, price, start, end)],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "managed_payments": None,
                "metadata": dict(session["_subscription_metadata"]),
                "next_pending_invoice_item_invoice": None,
                "on_behalf_of": None,
                "pause_collection": None,
                "payment_settings": {
                    "payment_method_options": None,
                    "payment_method_types": None,
                    "save_default_payment_method": "off",
                },
                "pending_invoice_item_interval": None,
                "pending_setup_intent": None,
                "pending_update": None,
                "presentment_details": None,
                "schedule": None,
                "start_date": start,
                "status": "incomplete",
                "status_details": None,
                "test_clock": None,
                "transfer_data": None,
                "trial_end": None,
                "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
                "trial_start": None,
            }
            self.subscriptions[subscription_id] = subscription
            events = [self._event("customer.subscription.created", subscription)]
            invoice = self._invoice(subscription, "subscription_create", start, end)
            events.append(self._event("invoice.finalized", invoice))
            session.update(
                status="complete",
                payment_status="paid" if pay else "unpaid",
                subscription=subscription_id,
                invoice=invoice["id"],
                customer_details={
                    "address": None,
                    "email": "payer@example.com",
                    "name": None,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            if pay:
                events += self._settle(invoice, paid=True, first=True)
            events.append(self._event("checkout.session.completed", _public(session)))
            return events

    def update_subscription(
        self,
        subscription_id: str,
        *,
        price: str | None = None,
        cancel_at_period_end: bool | None = None,
    ) -> list[dict]:
        """A change made in the dashboard, the portal or the API: a new price takes effect at
        once (prorations aside), cancel_at_period_end as given."""
        with self._lock:
            subscription = self._find(self.subscriptions, "subscription", subscription_id)
            previous: dict[str, Any] = {}
            item = subscription["items"]["data"][0]
            if price is not None and price != item["price"]["id"]:
                if price not in self.prices:
                    raise no_such("price", price, "items[0][price]")
                previous["items"] = copy.deepcopy(subscription["items"])
                new_price = self.prices[price]
                item["price"] = copy.deepcopy(new_price)
                item["plan"] = _legacy_plan(new_price)
            if cancel_at_period_end is not None and (
                cancel_at_period_end != subscription["cancel_at_period_end"]
            ):
                previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
                subscription["cancel_at_period_end"] = cancel_at_period_end
                subscription["canceled_at"] = self.now() if cancel_at_period_end else None
            if not previous:
                return []
            return [self._event("customer.subscription.updated", subscription, previous)]

    def renew(self, subscription_id: str, *, pay: bool = True) -> list[dict]:
        """The period ends: a new one starts and its invoice is paid (or its payment fails)."""
        with self._lock:
            subscription = self._find(self.subscriptions, "subscription", subscription_id)
            if subscription["cancel_at_period_end"]:
                return self.cancel(subscription_id, at_period_end=True)
            item = subscription["items"]["data"][0]
            previous = {
                "items": copy.deepcopy(subscription["items"]),
                "latest_invoice": subscription["latest_invoice"],
            }
            months = 12 if item["price"]["recurring"]["interval"] == "year" else 1
            old_start, start = item["current_period_start"], item["current_period_end"]
            end = add_months(start, months)
            item["current_period_start"], item["current_period_end"] = start, end
            invoice = self._invoice(subscription, "subscription_cycle", start, end, old_start)
            events = [self._event("customer.subscription.updated", subscription, previous)]
            events += self._settle(invoice, paid=pay)
            return events

    def pay_invoice(self, invoice_id: str) -> list[dict]:
        with self._lock:
            invoice = self._find(self.invoices, "invoice", invoice_id)
            return self._settle(invoice, paid=True)

    def latest_invoice(self, subscription_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(
                self.invoices[self.subscriptions[subscription_id]["latest_invoice"]]
            )

    def cancel(self, subscription_id: str, *, at_period_end: bool = False) -> list[dict]:
        """The subscription ends: now, or (a scheduled cancellation) at its period's end."""
        with self._lock:
            subscription = self._find(self.subscriptions, "subscription", subscription_id)
            item = subscription["items"]["data"][0]
            ended = item["current_period_end"] if at_period_end else self.now()
            subscription.update(
                status="canceled",
                ended_at=ended,
                canceled_at=subscription["canceled_at"] or ended,
                cancellation_details={
                    "comment": None,
                    "feedback": None,
                    "reason": "cancellation_requested",
                },
            )
            return [self._event("customer.subscription.deleted", subscription)]

    def _settle(self, invoice: dict, *, paid: bool, first: bool = False) -> list[dict]:
        subscription = self.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
        previous_status = subscription["status"]
        now = self.now()
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        if paid:
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_due"],
                amount_remaining=0,
                next_payment_attempt=None,
            )
            invoice["status_transitions"]["paid_at"] = now
            subscription["status"] = "active"
            events = [self._event("invoice.paid", invoice)]
        else:
            invoice["next_payment_attempt"] = now + 3 * 86_400
            subscription["status"] = "incomplete" if first else "past_due"
            events = [self._event("invoice.payment_failed", invoice)]
        if subscription["status"] != previous_status:
            events.append(
                self._event(
                    "customer.subscription.updated", subscription, {"status": previous_status}
                )
            )
        return events

    def _item(self, item_id: str, subscription_id: str, price: dict, start: int, end: int) -> dict:
        return {
            "id": item_id,
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": start,
            "current_period_end": end,
            "current_period_start": start,
            "discounts": [],
            "metadata": {},
            "plan": _legacy_plan(price),
            "price": copy.deepcopy(price),
            "quantity": 1,
            "subscription": subscription_id,
            "tax_rates": [],
        }

    def _invoice(
        self,
        subscription: dict,
        reason: str,
        start: int,
        end: int,
        previous_start: int | None = None,
    ) -> dict:
        invoice_id = f"in_{secrets.token_hex(12)}"
        item = subscription["items"]["data"][0]
        price = item["price"]
        now = self.now()
        customer = self.customers[subscription["customer"]]
        number = customer["next_invoice_sequence"]
        customer["next_invoice_sequence"] += 1
        amount = price["unit_amount"]
        line = {
            "id": f"il_{secrets.token_hex(12)}",
            "object": "line_item",
            "amount": amount,
            "currency": price["currency"],
            "description": f"1 × {price['product']} (at ${amount / 100:.2f} / "
            f"{price['recurring']['interval']})",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "parent": {
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription["id"],
                    "subscription_item": item["id"],
                },
                "type": "subscription_item_details",
            },
            "period": {"end": end, "start": start},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {"price": price["id"], "product": price["product"]},
                "type": "price_details",
                "unit_amount_decimal": price["unit_amount_decimal"],
            },
            "quantity": 1,
            "quantity_decimal": "1",
            "subtotal": amount,
            "taxes": [],
        }
        # For a renewal Stripe's invoice-level period is the period that ended.
        period_start = previous_start if previous_start is not None else now
        period_end = start if previous_start is not None else now
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Scaliyo (fake)",
            "account_tax_ids": None,
            "amount_due": amount,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": amount,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": True,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": price["currency"],
            "custom_fields": None,
            "customer": subscription["customer"],
            "customer_account": None,
            "customer_address": None,
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": now,
            "ending_balance": 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"{self.base_url}/i/{invoice_id}",
            "invoice_pdf": f"{self.base_url}/i/{invoice_id}/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": [line],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "number": f"{customer['invoice_prefix']}-{number:04d}",
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            },
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": period_end,
            "period_start": period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": amount,
            "subtotal_excluding_tax": amount,
            "test_clock": None,
            "total": amount,
            "total_discount_amounts": [],
            "total_excluding_tax": amount,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": now,
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def _event(self, type: str, obj: dict, previous: dict | None = None) -> dict:
        data: dict[str, Any] = {"object": copy.deepcopy(_public(obj))}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        self.events.append(event)
        return event

    # --- webhooks --------------------------------------------------------------------------

    def signed(
        self, event: dict, *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The webhook Stripe would POST: the body and its ``Stripe-Signature`` header."""
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret or self.webhook_secret, timestamp=timestamp
        )
        return payload.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def _legacy_plan(price: dict) -> dict:
    """The ``plan`` object Stripe still puts on subscription items beside ``price``."""
    return {
        "id": price["id"],
        "object": "plan",
        "active": True,
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": price["recurring"]["interval"],
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _public(obj: dict) -> dict:
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    """A fake Stripe served on a free loopback port; ``fake.base_url`` is where it listens."""
    fake = FakeStripe()
    with served(fake) as url:
        fake.base_url = url
        yield fake
