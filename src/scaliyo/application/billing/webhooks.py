"""Receiving a verified provider event: find its workspace, then apply it there.

Rules:
- an event type we do not handle is acknowledged and ignored (``ignored``);
- the workspace is found by the event's customer through the platform routing port (the
  ``scaliyo_system`` path: no tenant is known yet); an event for a customer no workspace has is
  acknowledged and changes nothing (``unknown_customer``);
- the effect runs through the bus as the system, in a transaction scoped to that workspace
  (``ApplyPaymentEvent``); what it answers is what the webhook answers.
"""

from __future__ import annotations

import msgspec

from scaliyo.application.billing.payment_commands import ApplyPaymentEvent
from scaliyo.application.billing.payments import PaymentEvent, PaymentRouting
from scaliyo.application.billing.provider_events import HANDLED_EVENTS, EventOutcome
from scaliyo.application.bus import SYSTEM, Bus, Context


class WebhookReceipt(msgspec.Struct, kw_only=True, omit_defaults=True):
    received: bool
    event_id: str
    outcome: str


class PaymentWebhooks:
    def __init__(self, bus: Bus, routing: PaymentRouting, provider: str) -> None:
        self._bus = bus
        self._routing = routing
        self._provider = provider

    async def receive(self, event: PaymentEvent, request_id: str) -> WebhookReceipt:
        if event.type not in HANDLED_EVENTS:
            return self._receipt(event, EventOutcome.IGNORED)
        if event.customer_id is None:
            return self._receipt(event, EventOutcome.UNKNOWN_CUSTOMER)
        workspace_id = await self._routing.workspace_for_customer(self._provider, event.customer_id)
        if workspace_id is None:
            return self._receipt(event, EventOutcome.UNKNOWN_CUSTOMER)
        context = Context(request_id=request_id, actor=SYSTEM, workspace_id=workspace_id)
        outcome = await self._bus.execute(ApplyPaymentEvent(event=event), context)
        return self._receipt(event, outcome)

    @staticmethod
    def _receipt(event: PaymentEvent, outcome: EventOutcome) -> WebhookReceipt:
        return WebhookReceipt(received=True, event_id=event.id, outcome=outcome.value)
