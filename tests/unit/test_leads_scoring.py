"""Explainable scores: always 0-100, reasons that add up exactly, fit/engagement/completeness
rules on examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaliyo.domain.leads.attributes import CompanySize, Department, Seniority
from scaliyo.domain.leads.icp import IcpInput, IdealCustomerProfile, clean_icp, default_icp
from scaliyo.domain.leads.profile import LeadInput, normalise_lead
from scaliyo.domain.leads.scoring import (
    COMPLETENESS_MAX,
    ENGAGEMENT_MAX,
    FIT_MAX,
    EngagementEvent,
    EngagementKind,
    LeadScore,
    ScoreReason,
    Verdict,
    apportion,
    score,
    title_match,
)
from scaliyo.domain.shared.errors import ValidationFailed
from tests.unit.test_leads_normalisation import lead_inputs, normalised_or_none

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def section(result: LeadScore, prefix: str) -> int:
    return sum(r.points for r in result.reasons if r.code.startswith(prefix))


def points(result: LeadScore, code: str) -> int:
    return next(r.points for r in result.reasons if r.code == code)


def event(kind: EngagementKind, days_ago: float, verdict: Verdict = Verdict.HUMAN):
    return EngagementEvent(kind=kind, at=NOW - timedelta(days=days_ago), verdict=verdict)


PERFECT = normalise_lead(
    LeadInput(
        email="jane@acme.com",
        first_name="Jane",
        last_name="Doe",
        title="VP of Sales",
        company="Acme",
        website="acme.com",
        linkedin_url="linkedin.com/in/jane-doe",
        phone="+1 415 555 0100",
        country="US",
        industry="Computer Software",
        company_size="51-200",
        seniority="vp",
        department="sales",
    )
)
ICP = clean_icp(
    IcpInput(
        seniorities=["VP", "director"],
        titles=["VP Sales", "Head of Revenue"],
        departments=["Sales"],
        industries=["Software"],
        company_sizes=["51-200"],
        countries=["us"],
    )
)


def test_a_perfect_lead_with_fresh_replies_scores_100():
    engagement = [event(EngagementKind.REPLY, 0)] * 2 + [event(EngagementKind.CLICK, 0)] * 3
    result = score(PERFECT, ICP, engagement, NOW)
    assert result.score == 100
    assert (
        section(result, "fit."),
        section(result, "engagement."),
        points(result, "completeness"),
    ) == (
        FIT_MAX,
        ENGAGEMENT_MAX,
        COMPLETENESS_MAX,
    )
    assert {r.code for r in result.reasons} >= {"fit.title", "fit.seniority", "completeness"}


def test_fit_shares_fifty_points_among_the_criteria_that_are_set():
    only_country = IdealCustomerProfile(countries=("US",))
    assert points(score(PERFECT, only_country, [], NOW), "fit.country") == 50
    two = IdealCustomerProfile(countries=("US",), seniorities=(Seniority.VP,))  # weights 4 : 12
    result = score(PERFECT, two, [], NOW)
    assert (points(result, "fit.country"), points(result, "fit.seniority")) == (12, 38)
    none = score(PERFECT, IdealCustomerProfile(), [], NOW)
    assert [r.code for r in none.reasons] == ["fit.no_icp", "completeness"]
    assert none.score == COMPLETENESS_MAX


def test_misses_are_explained_with_zero_points():
    lead = normalise_lead(LeadInput(email="bo@shop.com", title="Store Clerk", country="FR"))
    result = score(lead, ICP, [], NOW)
    fit = {r.code: r for r in result.reasons if r.code.startswith("fit.")}
    assert all(r.points == 0 for r in fit.values())
    assert fit["fit.country"].label == "Country FR is not in your ICP"
    assert fit["fit.seniority"].label == "Seniority unknown"
    assert fit["fit.industry"].label == "Industry unknown"


def test_titles_match_whole_words_with_partial_credit_and_abbreviations():
    assert title_match("Vice President of Sales", ["VP Sales"])[0] == 1
    assert title_match("vp, sales & partnerships", ["VP Sales"])[0] == 1
    assert title_match("Chief Executive Officer", ["CEO"])[0] == 1
    assert title_match("VP Marketing", ["VP Sales"])[0] == pytest.approx(1 / 3)  # 2 of 3 words
    assert title_match("Salesforce Admin", ["Sales"])[0] == 0  # word boundaries
    assert title_match("Jefe de Ventas", ["VP Sales"])[0] == 0


def test_seniority_and_department_are_read_from_the_title_when_missing():
    lead = normalise_lead(LeadInput(email="a@b.io", title="Head of Sales"))
    icp = IdealCustomerProfile(seniorities=(Seniority.HEAD,), departments=(Department.SALES,))
    result = score(lead, icp, [], NOW)
    labels = {r.code: r.label for r in result.reasons}
    assert labels["fit.seniority"] == "Seniority Head (from title) is in your ICP"
    assert labels["fit.department"] == "Department Sales (from title) is in your ICP"
    assert section(result, "fit.") == FIT_MAX


def test_company_size_next_to_a_target_earns_half():
    icp = IdealCustomerProfile(company_sizes=(CompanySize.S201_500,))
    assert points(score(PERFECT, icp, [], NOW), "fit.company_size") == 25


def test_engagement_decays_and_ignores_bots_and_prefetches():
    fresh = score(PERFECT, IdealCustomerProfile(), [event(EngagementKind.REPLY, 0)], NOW)
    old = score(PERFECT, IdealCustomerProfile(), [event(EngagementKind.REPLY, 14)], NOW)
    older = score(PERFECT, IdealCustomerProfile(), [event(EngagementKind.REPLY, 28)], NOW)
    assert [points(r, "engagement.reply") for r in (fresh, old, older)] == [20, 10, 5]
    machines = [
        event(EngagementKind.CLICK, 0, Verdict.BOT),
        event(EngagementKind.OPEN, 0, Verdict.PREFETCH),
    ]
    assert score(PERFECT, ICP, machines, NOW) == score(PERFECT, ICP, [], NOW)
    opens = score(PERFECT, IdealCustomerProfile(), [event(EngagementKind.OPEN, 1)] * 50, NOW)
    assert points(opens, "engagement.open") == 10  # opens alone are capped
    label = next(r.label for r in old.reasons if r.code == "engagement.reply")
    assert label == "1 human reply, the latest 14 days ago"


def test_completeness_names_what_is_missing():
    lead = normalise_lead(LeadInput(email="a@b.io"))
    reason = next(r for r in score(lead, ICP, [], NOW).reasons if r.code == "completeness")
    assert reason.points == 6  # email 3; the domain it implies: company 2, website/domain 1
    assert "missing phone, LinkedIn URL, title" in reason.label


@pytest.mark.parametrize(
    ("cleared", "missing", "weight"),
    [
        ({"email": None}, "email", 3),
        ({"phone": None}, "phone", 2),
        ({"linkedin_url": None}, "LinkedIn URL", 2),
        ({"title": None, "seniority": None, "department": None}, "title", 2),
        (
            {"company": None, "company_domain": None, "website": None, "email": "j@gmail.com"},
            "company and website",
            3,
        ),
        ({"last_name": None}, "full name", 1),
        ({"website": None, "company_domain": None, "email": "j@gmail.com"}, "website", 1),
        ({"country": None, "city": None}, "location", 1),
        ({"industry": None}, "industry", 1),
    ],
)
def test_completeness_takes_off_each_missing_field_by_its_weight(cleared, missing, weight):
    lead = normalise_lead(msgspec.structs.replace(PERFECT.to_input(), **cleared))
    reason = next(r for r in score(lead, ICP, [], NOW).reasons if r.code == "completeness")
    assert reason.points == COMPLETENESS_MAX - weight
    names = missing.split(" and ")
    assert reason.label == (
        f"Profile {COMPLETENESS_MAX - weight}/{COMPLETENESS_MAX} complete: "
        f"missing {', '.join(names)}"
    )


def test_scores_need_aware_times():
    with pytest.raises(ValueError):
        EngagementEvent(kind=EngagementKind.OPEN, at=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        score(PERFECT, ICP, [], datetime(2026, 1, 1))


def test_a_score_whose_reasons_do_not_add_up_cannot_exist():
    with pytest.raises(ValueError):
        LeadScore(score=10, reasons=(ScoreReason(code="x", label="x", points=9),))
    with pytest.raises(ValueError):
        LeadScore(score=101, reasons=(ScoreReason(code="x", label="x", points=101),))


def test_icp_input_is_cleaned_and_defaulted_from_onboarding():
    icp = clean_icp(
        IcpInput(
            seniorities=["C-Suite", "c_suite"],
            titles=["  VP  Sales", "vp sales"],
            countries=["Germany", "DE"],
            company_sizes=["11-50"],
        )
    )
    assert (icp.seniorities, icp.titles, icp.countries, icp.company_sizes) == (
        (Seniority.C_SUITE,),
        ("VP Sales",),
        ("DE",),
        (CompanySize.S11_50,),
    )
    with pytest.raises(ValidationFailed) as refused:
        clean_icp(IcpInput(seniorities=["wizard"], titles=["ok", "x" * 101], countries=["Mars"]))
    assert {e.field: e.code for e in refused.value.errors} == {
        "seniorities[0]": "invalid_seniority",
        "titles[1]": "too_long",
        "countries[0]": "invalid_country",
    }
    default = default_icp("  Computer Software ")
    assert default.industries == ("Computer Software",)
    assert Seniority.VP in default.seniorities and Seniority.INTERN not in default.seniorities
    assert default_icp(None).industries == ()
    assert IdealCustomerProfile().is_empty and not default.is_empty


# --- properties ---------------------------------------------------------------------------------

PROFILES = lead_inputs(garbage=False).map(normalised_or_none).filter(lambda p: p is not None)
ICPS = st.builds(
    IdealCustomerProfile,
    seniorities=st.lists(st.sampled_from(list(Seniority)), unique=True, max_size=4).map(tuple),
    titles=st.lists(
        st.sampled_from(["VP Sales", "CEO", "Head of Growth", "Engineer", "Chief"]),
        unique=True,
        max_size=3,
    ).map(tuple),
    departments=st.lists(st.sampled_from(list(Department)), unique=True, max_size=3).map(tuple),
    industries=st.lists(
        st.sampled_from(["Software", "Retail", "Financial Services"]), unique=True, max_size=2
    ).map(tuple),
    company_sizes=st.lists(st.sampled_from(list(CompanySize)), unique=True, max_size=3).map(tuple),
    countries=st.lists(st.sampled_from(["US", "DE", "GB", "FR"]), unique=True, max_size=3).map(
        tuple
    ),
)
EVENTS = st.lists(
    st.builds(
        EngagementEvent,
        kind=st.sampled_from(list(EngagementKind)),
        at=st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
        ),
        verdict=st.sampled_from(list(Verdict)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(profile=PROFILES, icp=ICPS, engagement=EVENTS)
def test_reasons_always_sum_to_a_score_within_0_and_100(profile, icp, engagement):
    result = score(profile, icp, engagement, NOW)
    assert 0 <= result.score <= 100
    assert sum(r.points for r in result.reasons) == result.score
    assert all(r.points >= 0 for r in result.reasons)
    assert section(result, "fit.") <= FIT_MAX
    assert section(result, "engagement.") <= ENGAGEMENT_MAX
    assert points(result, "completeness") <= COMPLETENESS_MAX
    assert score(profile, icp, list(reversed(engagement)), NOW) == result
    humans = [e for e in engagement if e.verdict is Verdict.HUMAN]
    assert score(profile, icp, humans, NOW) == result


@given(st.lists(st.integers(0, 60_000), max_size=12))
def test_apportion_hands_out_exactly_the_rounded_total(parts):
    total = (sum(parts) + 500) // 1000
    shares = apportion(total, parts)
    assert sum(shares) == total
    for share, milli in zip(shares, parts, strict=True):
        assert milli // 1000 <= share <= -(-milli // 1000)
