from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.api_keys import format_key, parse_key
from scaliyo.domain.identity.emails import mask_email, normalize_email
from scaliyo.domain.identity.onboarding import (
    CompanyStep,
    FinishStep,
    GoalStep,
    Onboarding,
    OnboardingIncomplete,
    OnboardingRole,
    PrimaryGoal,
    RoleStep,
    TeamSize,
)
from scaliyo.domain.identity.passwords import WeakPassword, check_password
from scaliyo.domain.identity.sessions import Session, SessionState
from scaliyo.domain.shared.errors import ValidationFailed

COMMON = frozenset(FREQUENCY_LISTS["passwords"])


def test_emails_are_case_folded_and_trimmed():
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    for bad in ["", "jane", "jane@", "@example.com", "a@b@c.com", "x" * 250 + "@a.com"]:
        with pytest.raises(ValidationFailed) as refused:
            normalize_email(bad)
        assert refused.value.errors[0].code == "invalid_email"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80))
def test_email_normalisation_is_idempotent_or_refuses(raw):
    try:
        once = normalize_email(raw)
    except ValidationFailed:
        return
    assert normalize_email(once) == once


def test_mask_email():
    assert mask_email("jane@example.com") == "j***@example.com"


def test_password_rules():
    check_password("correct horse battery", email="jane@example.com", common=COMMON)
    cases = {
        "short1": "too_short",
        "password123": "common_password",
        "jane@example.com": "contains_email",
    }
    assert len(COMMON) > 10_000
    for password, code in cases.items():
        with pytest.raises(WeakPassword) as refused:
            check_password(password, email="jane@example.com", common=COMMON)
        assert code in {e.code for e in refused.value.errors}


def test_session_lifetimes():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    session = Session(
        id=uuid4(),
        user_id=uuid4(),
        created_at=start,
        last_seen_at=start,
        expires_at=start + lifetimes.SESSION_ABSOLUTE,
    )
    assert session.state(start + timedelta(days=13)) == SessionState.ACTIVE
    assert session.state(start + timedelta(days=14)) == SessionState.IDLE_EXPIRED
    session.last_seen_at = start + timedelta(days=29)
    assert session.state(start + timedelta(days=29, hours=1)) == SessionState.ACTIVE
    assert session.state(start + timedelta(days=30)) == SessionState.EXPIRED
    session.revoked_at = start
    assert session.state(start) == SessionState.REVOKED


@given(st.text(max_size=120))
def test_only_well_formed_keys_parse(raw):
    parsed = parse_key(raw)
    if parsed is not None:
        assert format_key(*parsed) == raw.strip()


def test_key_round_trip():
    key = format_key("0123456789abcdef", "a" * 64)
    assert parse_key(key) == ("0123456789abcdef", "a" * 64)
    assert parse_key(key.upper()) is None


def test_onboarding_steps():
    onboarding = Onboarding()
    assert onboarding.current_step == 1
    with pytest.raises(OnboardingIncomplete):
        onboarding.apply(4, FinishStep())
    onboarding.apply(1, RoleStep(role=OnboardingRole.FOUNDER, team_size=TeamSize.SMALL))
    onboarding.apply(2, CompanyStep(company_name="  Acme  ", website="acme.com"))
    assert onboarding.company.website == "https://acme.com"
    assert onboarding.company.company_name == "Acme"
    onboarding.apply(3, GoalStep(primary_goal=PrimaryGoal.OUTREACH))
    onboarding.apply(4, FinishStep())
    assert onboarding.completed
    with pytest.raises(ValidationFailed):
        onboarding.apply(2, CompanyStep(company_name="Acme", website="not a site"))
