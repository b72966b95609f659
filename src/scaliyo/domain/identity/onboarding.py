"""The four onboarding steps of PRODUCT.md, saved per workspace.

1. role (SDR/BDR, RevOps, Agency, Founder) and team size; 2. company name, website, industry;
3. primary goal (leads, scoring, outreach, visibility); 4. processing → dashboard (completion).
Steps may be revisited; step 4 needs 1–3 done first.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from scaliyo.domain.shared.errors import Conflict, FieldError, ValidationFailed
from scaliyo.domain.shared.text import clean_name, has_control_characters


class OnboardingRole(StrEnum):
    SDR_BDR = "sdr_bdr"
    REVOPS = "revops"
    AGENCY = "agency"
    FOUNDER = "founder"


class TeamSize(StrEnum):
    SOLO = "1"
    SMALL = "2-10"
    MEDIUM = "11-50"
    LARGE = "51-200"
    ENTERPRISE = "201+"


class PrimaryGoal(StrEnum):
    LEADS = "leads"
    SCORING = "scoring"
    OUTREACH = "outreach"
    VISIBILITY = "visibility"


class RoleStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: OnboardingRole
    team_size: TeamSize


class CompanyStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_name: str
    website: str | None = None
    industry: str | None = None


class GoalStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    primary_goal: PrimaryGoal


class FinishStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


STEPS: dict[int, type[msgspec.Struct]] = {1: RoleStep, 2: CompanyStep, 3: GoalStep, 4: FinishStep}


class OnboardingIncomplete(Conflict):
    code = "onboarding_incomplete"
    title = "Finish the earlier onboarding steps first"


class Onboarding(msgspec.Struct, kw_only=True):
    role: RoleStep | None = None
    company: CompanyStep | None = None
    goal: GoalStep | None = None
    completed: bool = False

    @property
    def current_step(self) -> int:
        for number, value in ((1, self.role), (2, self.company), (3, self.goal)):
            if value is None:
                return number
        return 4 if not self.completed else 5

    def apply(self, step: int, data: Any) -> None:
        if step == 1:
            self.role = data
        elif step == 2:
            self.company = clean_company(data)
        elif step == 3:
            self.goal = data
        elif step == 4:
            if None in (self.role, self.company, self.goal):
                raise OnboardingIncomplete()
            self.completed = True
        else:
            raise ValidationFailed(
                "Onboarding has steps 1 to 4.",
                errors=[FieldError("step", "unknown_step", "Steps are 1 to 4.")],
            )


def _text(value: str | None, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    cleaned = clean_name(value)
    if len(cleaned) > max_length or has_control_characters(cleaned):
        raise ValidationFailed(
            f"{field} is too long or holds control characters.",
            errors=[FieldError(field, "invalid", f"At most {max_length} characters.")],
        )
    return cleaned or None


def clean_company(step: CompanyStep) -> CompanyStep:
    name = _text(step.company_name, "company_name", 200)
    if not name:
        raise ValidationFailed(
            "A company name is required.",
            errors=[FieldError("company_name", "required", "A company name is required.")],
        )
    website = _text(step.website, "website", 2048)
    if website and not website.lower().startswith(("http://", "https://")):
        website = "https://" + website
    if website and ("." not in website.split("//", 1)[1].split("/", 1)[0] or " " in website):
        raise ValidationFailed(
            "The website is not a web address.",
            errors=[FieldError("website", "invalid_url", "Enter a web address like acme.com.")],
        )
    return CompanyStep(
        company_name=name, website=website, industry=_text(step.industry, "industry", 200)
    )
