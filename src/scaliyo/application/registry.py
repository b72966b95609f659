"""The explicit ``{Message: handler}`` mapping: one handler per command or query."""

from __future__ import annotations

from collections.abc import Mapping

from scaliyo.application.billing.handlers import billing_handlers
from scaliyo.application.billing.payment_handlers import PaymentLinks, payment_handlers
from scaliyo.application.billing.payments import Payments
from scaliyo.application.bus import Handler, Message
from scaliyo.application.credits.handlers import credit_handlers
from scaliyo.application.identity.auth_handlers import auth_handlers
from scaliyo.application.identity.auth_ports import AuthServices
from scaliyo.application.identity.commands import CreateWorkspace, GetWorkspace
from scaliyo.application.identity.handlers import CreateWorkspaceHandler, GetWorkspaceHandler
from scaliyo.application.identity.services import IdentityServices
from scaliyo.application.identity.workspace_admin_handlers import workspace_admin_handlers
from scaliyo.application.jobs.handlers import GetJobHandler, ListJobsHandler
from scaliyo.application.jobs.queries import GetJob, ListJobs
from scaliyo.application.leads.handlers import lead_handlers
from scaliyo.application.shared.ports import Clock, IdFactory


def build_handlers(
    *,
    clock: Clock,
    ids: IdFactory,
    identity: IdentityServices | None = None,
    auth: AuthServices | None = None,
    payments: Payments | None = None,
    payment_links: PaymentLinks | None = None,
    import_chunk_rows: int | None = None,
) -> Mapping[type[Message], Handler]:
    """Every handler. The identity handlers need ``identity`` (credentials, mail, the account
    directory) and the authentication handlers ``auth`` too (attempt limits, the account
    audit); processes build both in the container, spine-only tests leave them out. The
    payment handlers (checkout, portal, invoices, provider events) need ``payments`` and the
    links back to our billing page."""
    handlers: dict[type[Message], Handler] = {
        CreateWorkspace: CreateWorkspaceHandler(clock, ids),
        GetWorkspace: GetWorkspaceHandler(),
        GetJob: GetJobHandler(),
        ListJobs: ListJobsHandler(),
    }
    handlers.update(billing_handlers(clock=clock, ids=ids))
    handlers.update(credit_handlers(clock=clock, ids=ids))
    chunk = {} if import_chunk_rows is None else {"import_chunk_rows": import_chunk_rows}
    handlers.update(lead_handlers(clock=clock, ids=ids, **chunk))
    if payments is not None and payment_links is not None:
        handlers.update(payment_handlers(clock=clock, payments=payments, links=payment_links))
    if identity is not None:
        handlers.update(workspace_admin_handlers(clock=clock, ids=ids, services=identity))
    if identity is not None and auth is not None:
        handlers.update(auth_handlers(clock=clock, ids=ids, services=identity, auth=auth))
    return handlers
