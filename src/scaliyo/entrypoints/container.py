"""Dependency injection (dishka): one provider registry; each process builds its container at
start-up. Tests build a container from these providers plus overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import AsyncContainer, Provider, Scope, make_async_container, provide

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.crypto.common_passwords import common_passwords
from scaliyo.adapters.crypto.passwords import Argon2PasswordHasher
from scaliyo.adapters.crypto.tokens import RandomTokens
from scaliyo.adapters.email.system_mail import DevOutboxMailer, SmtpMailer
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.payments.offline import OfflinePayments
from scaliyo.adapters.payments.stripe_payments import StripePayments
from scaliyo.adapters.payments.stripe_webhooks import StripeWebhookVerifier
from scaliyo.adapters.persistence.account_audit import SqlAccountAudit
from scaliyo.adapters.persistence.account_directory import SqlAccountDirectory
from scaliyo.adapters.persistence.attempt_limiter import PostgresAttemptLimiter
from scaliyo.adapters.persistence.credit_accounts import SqlCreditAccounts
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.payment_routing import SqlPaymentRouting
from scaliyo.adapters.persistence.plan_seats import PlanSeats
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.adapters.settings import Environment, Settings, load_settings
from scaliyo.application.billing.payment_handlers import PaymentLinks
from scaliyo.application.billing.payments import PaymentRouting, Payments
from scaliyo.application.billing.webhooks import PaymentWebhooks
from scaliyo.application.bus import Bus, default_middleware
from scaliyo.application.credits.ports import CreditAccounts
from scaliyo.application.identity.auth_ports import (
    AccountAudit,
    AttemptLimiter,
    AuthLimits,
    AuthServices,
)
from scaliyo.application.identity.authentication import CredentialDirectory
from scaliyo.application.identity.ports import AccountDirectory
from scaliyo.application.identity.security import PasswordHasher, SecretTokens, SystemMailer
from scaliyo.application.identity.services import AppLinks, IdentityServices
from scaliyo.application.identity.workspace_ports import SeatPolicy
from scaliyo.application.registry import build_handlers
from scaliyo.application.shared.ports import Clock, IdFactory


class SettingsProvider(Provider):
    """Settings from the environment; tests pass ``SettingsProvider(settings)``."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings

    @provide(scope=Scope.APP)
    def settings(self) -> Settings:
        return self._settings or load_settings()


class CoreProvider(Provider):
    scope = Scope.APP

    @provide
    def clock(self) -> Clock:
        return SystemClock()

    @provide
    def ids(self) -> IdFactory:
        return UuidV7Factory()

    @provide
    async def database(self, settings: Settings) -> AsyncIterator[Database]:
        database = Database.connect(settings)
        yield database
        await database.dispose()

    @provide
    def credits(self, database: Database, clock: Clock) -> CreditAccounts:
        """The ``Credits`` port of AI features: ``accounts.for_workspace(id).reserve(…)``."""
        return SqlCreditAccounts(database.app, clock)

    @provide
    def bus(
        self,
        database: Database,
        clock: Clock,
        ids: IdFactory,
        identity: IdentityServices,
        auth: AuthServices,
        payments: Payments,
        links: PaymentLinks,
        settings: Settings,
    ) -> Bus:
        return Bus(
            build_handlers(
                clock=clock,
                ids=ids,
                identity=identity,
                auth=auth,
                payments=payments,
                payment_links=links,
                import_chunk_rows=settings.import_chunk_rows,
            ),
            unit_of_work_factory(database.app),
            default_middleware(),
        )


class IdentityProvider(Provider):
    """Credentials, system mail, seats and the account directory of the identity handlers.

    Tests override single pieces (``SeatPolicy``, ``PasswordHasher`` …) with their own
    providers passed after these.
    """

    scope = Scope.APP

    @provide
    def tokens(self) -> SecretTokens:
        return RandomTokens()

    @provide
    def hasher(self, settings: Settings) -> PasswordHasher:
        return Argon2PasswordHasher(fast_for_tests=settings.env is Environment.TEST)

    @provide
    def mailer(self, settings: Settings) -> SystemMailer:
        if settings.system_smtp_url:
            return SmtpMailer(settings.system_smtp_url, settings.system_mail_from)
        return DevOutboxMailer(settings.data_dir / "outbox", settings.system_mail_from)

    @provide
    def seats(self, database: Database) -> SeatPolicy:
        return PlanSeats(database.app)

    @provide
    def credential_directory(self, database: Database) -> CredentialDirectory:
        return SqlAccountDirectory(database.system)

    @provide
    def directory(self, directory: CredentialDirectory) -> AccountDirectory:
        return directory

    @provide
    def attempt_limiter(self, database: Database) -> AttemptLimiter:
        return PostgresAttemptLimiter(database.system)

    @provide
    def account_audit(self, database: Database) -> AccountAudit:
        return SqlAccountAudit(database.system)

    @provide
    def auth_limits(self) -> AuthLimits:
        return AuthLimits()

    @provide
    def auth(
        self,
        directory: CredentialDirectory,
        limiter: AttemptLimiter,
        audit: AccountAudit,
        limits: AuthLimits,
    ) -> AuthServices:
        return AuthServices(directory=directory, limiter=limiter, audit=audit, limits=limits)

    @provide
    def links(self, settings: Settings) -> AppLinks:
        return AppLinks(f"http://{settings.host}:{settings.port}")

    @provide
    def identity(
        self,
        tokens: SecretTokens,
        mailer: SystemMailer,
        hasher: PasswordHasher,
        directory: AccountDirectory,
        seats: SeatPolicy,
        links: AppLinks,
    ) -> IdentityServices:
        return IdentityServices(
            tokens=tokens,
            mailer=mailer,
            hasher=hasher,
            directory=directory,
            seats=seats,
            common_passwords=common_passwords(),
            links=links,
        )


class PaymentsProvider(Provider):
    """Stripe when ``SCALIYO_STRIPE_API_KEY`` is set, else the offline stand-in (which says so);
    webhook verification with ``SCALIYO_STRIPE_WEBHOOK_SECRET`` (none: every webhook refused)."""

    scope = Scope.APP

    @provide
    async def payments(self, settings: Settings, clock: Clock) -> AsyncIterator[Payments]:
        if settings.stripe_api_key is None:
            yield OfflinePayments(clock)
            return
        stripe_payments = StripePayments(
            settings.stripe_api_key.reveal(),
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.stripe_timeout_seconds,
            max_retries=settings.stripe_max_retries,
        )
        yield stripe_payments
        await stripe_payments.close()

    @provide
    def links(self, settings: Settings) -> PaymentLinks:
        return PaymentLinks(return_url=settings.billing_page())

    @provide
    def routing(self, database: Database) -> PaymentRouting:
        return SqlPaymentRouting(database.system)

    @provide
    def webhook_verifier(self, settings: Settings) -> StripeWebhookVerifier:
        secret = settings.stripe_webhook_secret
        return StripeWebhookVerifier(None if secret is None else secret.reveal())

    @provide
    def webhooks(self, bus: Bus, routing: PaymentRouting, payments: Payments) -> PaymentWebhooks:
        return PaymentWebhooks(bus, routing, payments.provider)


def providers(settings: Settings | None = None) -> list[Provider]:
    return [SettingsProvider(settings), CoreProvider(), IdentityProvider(), PaymentsProvider()]


def build_container(*extra: Provider, settings: Settings | None = None) -> AsyncContainer:
    return make_async_container(*providers(settings), *extra)
