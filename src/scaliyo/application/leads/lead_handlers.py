"""Handlers of single leads: create, read, change, delete, restore. Each docstring lists the
rules it enforces on top of the domain's (``domain/leads``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from scaliyo.application.bus import ActorKind, Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.leads.commands import (
    PROFILE_FIELDS,
    CreateLead,
    DeleteLead,
    GetLead,
    LeadChanges,
    RestoreLead,
    UpdateLead,
)
from scaliyo.application.leads.errors import ContactLimitReached, LeadExists
from scaliyo.application.leads.ports import LeadsUnitOfWork
from scaliyo.application.leads.views import LeadView, lead_view, stage_names
from scaliyo.application.leads.workspace_data import (
    check_owner,
    icp_of,
    pipeline_of,
    rescore,
    score_of,
)
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.custom_fields import CustomFieldSet, clean_custom_value
from scaliyo.domain.leads.dedup import DedupKeys, KeyKind, Outcome, dedup_keys, resolve
from scaliyo.domain.leads.errors import LeadNotFound
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.profile import LeadInput, LeadProfile, normalise_lead
from scaliyo.domain.leads.tags import clean_tags, tag_key
from scaliyo.domain.shared.errors import ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import UserId, WorkspaceId
from scaliyo.domain.usage.counters import Check, LimitReached, Metric


def lead_id_of(raw: str) -> LeadId:
    try:
        return LeadId(UUID(raw))
    except (ValueError, TypeError, AttributeError):
        raise LeadNotFound() from None


def workspace_of(context: Context) -> WorkspaceId:
    assert context.workspace_id is not None  # the bus refuses workspace messages without one
    return context.workspace_id


async def admit_contacts(uow: LeadsUnitOfWork, amount: int, now: datetime) -> None:
    """Count ``amount`` more contacts, or refuse with ``contact_limit_reached``."""
    if amount < 1:
        return
    try:
        await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=amount), at=now)
    except LimitReached as refused:
        raise ContactLimitReached(refused.limit) from None


async def give_back_contacts(uow: LeadsUnitOfWork, amount: int, now: datetime) -> None:
    if amount > 0:
        await uow.limits.give_back(Metric.CONTACTS, amount, at=now)


async def live_lead(uow: LeadsUnitOfWork, raw_id: str, *, for_update: bool = False) -> Lead:
    lead = await uow.leads.get(lead_id_of(raw_id), for_update=for_update)
    if lead is None or lead.is_deleted:
        raise LeadNotFound()
    return lead


def _apply(lead: Lead, events: list[Event], step: tuple[Lead, list[Event]]) -> Lead:
    events.extend(step[1])
    return step[0]


class CreateLeadHandler:
    """Create a lead (``POST /leads``).

    Rules:
    - members and above (``leads.write``);
    - the contact data is normalised by the domain, custom fields checked against the
      workspace's definitions; every problem is a 422 with its field path;
    - ``status`` is a stage of the workspace's pipeline (default: the first), ``owner_id`` a
      member (``unknown_owner``), tags at most 100;
    - identity: a lead whose email, LinkedIn URL or name with company matches a live lead is
      ``lead_exists`` (409, naming that lead); one matching a soft-deleted lead restores that
      lead with the new data (a LinkedIn URL held by a third lead is withheld);
    - the contact limit holds: a new or restored lead counts one contact, in the same
      transaction (``contact_limit_reached``, 409), whatever runs concurrently;
    - the score is computed against the workspace's ICP; ``LeadCreated`` (or ``LeadRestored``
      and what changed) goes to the outbox.
    """

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: CreateLead, uow: LeadsUnitOfWork, context: Context
    ) -> LeadView:
        require_permission(context, Permission.LEADS_WRITE)
        now = self._clock.now()
        given = message.lead
        fields = await uow.custom_fields.get()
        profile = normalise_lead(
            LeadInput(
                **{name: getattr(given, name) for name in PROFILE_FIELDS},
                custom_fields=given.custom_fields,
            ),
            fields,
        )
        tags = clean_tags(given.tags)
        pipeline = await pipeline_of(uow, self._ids)
        if given.status is not None:
            pipeline.stage(given.status)
        await check_owner(uow, given.owner_id, field="owner_id")
        icp, _ = await icp_of(uow)
        keys = dedup_keys(profile)
        resolution = resolve(keys, await uow.leads.known(keys))
        if resolution.outcome is not Outcome.NEW:
            assert resolution.lead_id is not None
            existing = await uow.leads.get(resolution.lead_id, for_update=True)
            assert existing is not None
            if not existing.is_deleted:
                raise LeadExists(existing.id, (resolution.matched_by or KeyKind.EMAIL).value)
            if KeyKind.LINKEDIN in resolution.withheld:
                profile = msgspec.structs.replace(
                    profile, linkedin_url=existing.profile.linkedin_url
                )
            profile = completed(profile, existing.profile)
            await admit_contacts(uow, 1, now)
            events: list[Event] = []
            lead = _apply(existing, events, existing.restore(now))
            lead = _apply(lead, events, lead.update_profile(profile, now))
            if given.status is not None:
                lead = _apply(lead, events, lead.change_status(given.status, pipeline, now))
            if given.owner_id is not None:
                lead = _apply(lead, events, lead.assign(UserId(given.owner_id), now))
            lead = _apply(lead, events, lead.add_tags(tags, now))
            lead = _apply(lead, events, rescore(lead, icp, now))
            await uow.leads.save(lead)
        else:
            await admit_contacts(uow, 1, now)
            lead, events = Lead.create(
                id=LeadId(self._ids.new()),
                workspace_id=workspace_of(context),
                profile=profile,
                source=given.source or _default_source(context),
                pipeline=pipeline,
                now=now,
                status=given.status,
                owner_id=None if given.owner_id is None else UserId(given.owner_id),
                tags=tags,
                score=score_of(profile, icp, now),
            )
            await uow.leads.add(lead)
        uow.record(*events)
        await uow.commit()
        return lead_view(lead, stage_names(pipeline))


def completed(new: LeadProfile, old: LeadProfile) -> LeadProfile:
    """``new`` with the gaps filled from ``old`` (a deleted lead brought back by new data keeps
    what the new data does not say)."""
    values = {
        name: getattr(new, name) if getattr(new, name) is not None else getattr(old, name)
        for name in PROFILE_FIELDS
    }
    return LeadProfile(**values, custom_fields={**old.custom_fields, **new.custom_fields})


def _default_source(context: Context) -> LeadSource:
    return LeadSource.API if context.actor.kind is ActorKind.API_KEY else LeadSource.MANUAL


class GetLeadHandler:
    """One lead with its score's reasons. Rules: any member (``leads.read``); a deleted lead,
    another workspace's, or a malformed id is ``lead_not_found`` (404)."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(self, message: GetLead, uow: LeadsUnitOfWork, context: Context) -> LeadView:
        require_permission(context, Permission.LEADS_READ)
        lead = await live_lead(uow, message.lead_id)
        return lead_view(lead, stage_names(await pipeline_of(uow, self._ids)))


def merged_input(
    profile: LeadProfile, changes: LeadChanges, fields: CustomFieldSet
) -> LeadInput | None:
    """The lead's contact data with the changes applied, or None when none are sent.

    Custom fields merge key by key. Stored values of fields that were redefined or removed
    since are kept only while they still fit the definitions (they were valid when written).
    """
    sent = {
        name: getattr(changes, name)
        for name in (*PROFILE_FIELDS, "custom_fields")
        if getattr(changes, name) is not msgspec.UNSET
    }
    if not sent:
        return None
    definitions = fields.by_key()
    custom: dict[str, Any] = {}
    for key, value in profile.custom_fields.items():
        definition = definitions.get(key)
        if definition is None:
            continue
        try:
            if clean_custom_value(value, definition, field=key) is not None:
                custom[key] = value
        except ValidationFailed:
            continue
    for key, value in dict(sent.pop("custom_fields", None) or {}).items():
        if value is None:
            custom.pop(key, None)
        else:
            custom[key] = value
    current = profile.to_input()
    return msgspec.structs.replace(current, custom_fields=custom, **sent)


class UpdateLeadHandler:
    """Change a lead (``PATCH /leads/{id}``).

    Rules:
    - members and above; a deleted lead or another workspace's is ``lead_not_found``;
    - the row is locked first, so concurrent changes apply one after the other and their
      events reach the outbox in that order;
    - only the fields sent change (``null`` clears); the result is normalised again as a whole
      (422 with field paths); an email or LinkedIn URL another lead holds is ``lead_exists``;
    - ``status`` must be a stage of the pipeline, ``owner_id`` a member or null, ``tags``
      replaces the tags (``TagAdded``/``TagRemoved`` for the difference);
    - the score is recomputed; events only for what really changed (``LeadUpdated``,
      ``LeadStatusChanged``, ``LeadScoreChanged`` …); nothing changed, nothing written.
    """

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: UpdateLead, uow: LeadsUnitOfWork, context: Context
    ) -> LeadView:
        require_permission(context, Permission.LEADS_WRITE)
        now = self._clock.now()
        changes = message.changes
        lead = await live_lead(uow, message.lead_id, for_update=True)
        original = lead
        pipeline = await pipeline_of(uow, self._ids)
        events: list[Event] = []
        fields = await uow.custom_fields.get()
        raw = merged_input(lead.profile, changes, fields)
        if raw is not None:
            profile = normalise_lead(raw, fields)
            await _check_keys_free(uow, lead, profile)
            lead = _apply(lead, events, lead.update_profile(profile, now))
        if changes.status is not msgspec.UNSET:
            lead = _apply(lead, events, lead.change_status(changes.status, pipeline, now))
        if changes.owner_id is not msgspec.UNSET:
            owner = changes.owner_id
            await check_owner(uow, owner, field="owner_id")
            lead = _apply(lead, events, lead.assign(None if owner is None else UserId(owner), now))
        if changes.tags is not msgspec.UNSET:
            wanted = clean_tags(changes.tags)
            keys = {tag_key(tag) for tag in wanted}
            lead = _apply(
                lead,
                events,
                lead.remove_tags([tag for tag in lead.tags if tag_key(tag) not in keys], now),
            )
            lead = _apply(lead, events, lead.add_tags(wanted, now))
        icp, _ = await icp_of(uow)
        lead = _apply(lead, events, rescore(lead, icp, now))
        if lead != original:
            await uow.leads.save(lead)
            uow.record(*events)
            await uow.commit()
        return lead_view(lead, stage_names(pipeline))


async def _check_keys_free(uow: LeadsUnitOfWork, lead: Lead, profile: LeadProfile) -> None:
    """A changed email or LinkedIn URL must not be another lead's (deleted ones too)."""
    for kind, old, new in (
        (KeyKind.EMAIL, lead.profile.email, profile.email),
        (KeyKind.LINKEDIN, lead.profile.linkedin_url, profile.linkedin_url),
    ):
        if new is None or new == old:
            continue
        probe = DedupKeys(email=new) if kind is KeyKind.EMAIL else DedupKeys(linkedin=new)
        holders = [
            known.lead_id
            for known in await uow.leads.known(probe)
            if known.lead_id != lead.id and known.keys.get(kind) == new
        ]
        if holders:
            raise LeadExists(holders[0], kind.value)


class DeleteLeadHandler:
    """Soft-delete a lead (``DELETE /leads/{id}``).

    Rules: members and above; the lead leaves lists and counts at once and frees its contact
    (the contact limit counts live leads); it is purged 30 days later unless restored;
    ``LeadDeleted``; deleting a deleted lead, another workspace's or an unknown one is
    ``lead_not_found``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, message: DeleteLead, uow: LeadsUnitOfWork, context: Context) -> None:
        require_permission(context, Permission.LEADS_WRITE)
        now = self._clock.now()
        lead = await live_lead(uow, message.lead_id, for_update=True)
        lead, events = lead.delete(now)
        await uow.leads.save(lead)
        await give_back_contacts(uow, 1, now)
        uow.record(*events)
        await uow.commit()


class RestoreLeadHandler:
    """Restore a soft-deleted lead (``POST /leads/{id}/restore``).

    Rules: members and above; a lead not yet purged comes back as it was (stage, tags, owner)
    and counts a contact again (``contact_limit_reached`` when there is no room);
    ``LeadRestored``; restoring a live lead changes nothing; a purged, unknown or another
    workspace's lead is ``lead_not_found``.
    """

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: RestoreLead, uow: LeadsUnitOfWork, context: Context
    ) -> LeadView:
        require_permission(context, Permission.LEADS_WRITE)
        now = self._clock.now()
        lead = await uow.leads.get(lead_id_of(message.lead_id), for_update=True)
        if lead is None:
            raise LeadNotFound()
        pipeline = await pipeline_of(uow, self._ids)
        if lead.is_deleted:
            await admit_contacts(uow, 1, now)
            lead, events = lead.restore(now)
            await uow.leads.save(lead)
            uow.record(*events)
            await uow.commit()
        return lead_view(lead, stage_names(pipeline))
