"""Errors of the leads context, each with a stable code."""

from __future__ import annotations

from scaliyo.domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed


class LeadNotFound(NotFound):
    code = "lead_not_found"
    title = "No such lead"


class NoIdentity(ValidationFailed):
    """A lead needs an email, a LinkedIn URL, or a first and last name with a company domain."""

    code = "no_identity"
    title = "A lead needs an email, a LinkedIn URL, or a name with a company domain"


class UnknownStatus(ValidationFailed):
    code = "unknown_status"
    title = "No such pipeline stage"


class StageNameTaken(Conflict):
    code = "stage_name_taken"
    title = "Another stage already has this name"


class StageInUse(Conflict):
    code = "stage_in_use"
    title = "Leads are in this stage: name a target stage for them"


class LastStage(Conflict):
    code = "last_stage"
    title = "A pipeline keeps at least one stage"


class TooManyStages(Conflict):
    code = "too_many_stages"
    title = "A pipeline has at most 50 stages"


def invalid(field: str, code: str, message: str) -> ValidationFailed:
    """A one-field validation error."""
    return ValidationFailed(message, errors=[FieldError(field, code, message)])
