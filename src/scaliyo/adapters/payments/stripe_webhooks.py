"""Verifying Stripe's webhooks: the ``Stripe-Signature`` header over the raw body, with the
endpoint's signing secret and Stripe's 300-second tolerance.

Rules:
- no header, a header we cannot read, a signature that does not match, or a timestamp more
  than 300 s old: ``invalid_signature`` (400) — nothing of the body is trusted or read;
- a signed body that is not a Stripe event: ``invalid_event`` (400);
- without a configured secret every request is refused (``webhooks_not_configured``, 503).
"""

from __future__ import annotations

from typing import Any

import stripe

from scaliyo.adapters.payments.stripe_objects import UnreadableObject, event_of
from scaliyo.application.billing.payments import PaymentEvent
from scaliyo.domain.shared.errors import DomainError, ErrorKind

TOLERANCE_SECONDS = 300


class InvalidSignature(DomainError):
    code = "invalid_signature"
    kind = ErrorKind.INVALID
    title = "The webhook's signature is missing, wrong or too old"


class InvalidEvent(DomainError):
    code = "invalid_event"
    kind = ErrorKind.INVALID
    title = "The webhook's body is not an event"


class WebhooksNotConfigured(DomainError):
    code = "webhooks_not_configured"
    kind = ErrorKind.UNAVAILABLE
    title = "Stripe webhooks are not configured"


class StripeWebhookVerifier:
    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    def verify(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self._secret:
            raise WebhooksNotConfigured(
                "This server has no Stripe webhook secret (SCALIYO_STRIPE_WEBHOOK_SECRET), "
                "so it accepts no webhook."
            )
        try:
            event: Any = stripe.Webhook.construct_event(
                payload, signature, self._secret, tolerance=TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            raise InvalidSignature(
                "The Stripe-Signature header is missing, does not match the body, or was made "
                f"more than {TOLERANCE_SECONDS} seconds ago."
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise InvalidEvent("The signed body is not JSON.") from None
        try:
            return event_of(event.to_dict())
        except (UnreadableObject, KeyError, TypeError, ValueError):
            raise InvalidEvent("The signed body is not a Stripe event we can read.") from None
