"""Column mapping: proposing targets from export headers and values, checking a client's
mapping, applying one to records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.leads.column_mapping import (
    TARGETS,
    ColumnChoice,
    InvalidMapping,
    Mapper,
    apply_mapping,
    check_mapping,
    compact_header,
    header_labels,
    header_names,
    propose_mapping,
)
from scaliyo.domain.leads.custom_fields import (
    NO_CUSTOM_FIELDS,
    CustomFieldDefinition,
    CustomFieldSet,
    CustomFieldType,
)
from scaliyo.domain.leads.profile import LeadInput, normalise_lead
from scaliyo.domain.shared.errors import ValidationFailed

FIELDS = CustomFieldSet(
    fields=(
        CustomFieldDefinition(key="lead_source", label="Lead Source", type=CustomFieldType.TEXT),
        CustomFieldDefinition(key="budget", label="Yearly budget", type=CustomFieldType.NUMBER),
    )
)


def targets(headers: list[str], samples: list[list[str]] | None = None, fields=NO_CUSTOM_FIELDS):
    choices = propose_mapping(headers, samples or [], fields)
    assert [choice.index for choice in choices] == list(range(len(headers)))
    assert [choice.column for choice in choices] == headers
    return {choice.column: choice.field for choice in choices}


# --- known export headers ------------------------------------------------------------------


def test_apollo_headers():
    mapped = targets(
        ["First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
         "Email Status", "Seniority", "Departments", "Work Direct Phone", "Home Phone",
         "Mobile Phone", "Corporate Phone", "Other Phone", "# Employees", "Industry",
         "Person Linkedin Url", "Website", "Company Linkedin Url", "City", "State", "Country",
         "Company City", "Company Country", "Keywords"]
    )  # fmt: skip
    assert mapped == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Company": "company",
        "Company Name for Emails": None,  # Company already feeds company
        "Email": "email",
        "Email Status": None,
        "Seniority": "seniority",
        "Departments": "department",
        "Work Direct Phone": "phone",
        "Home Phone": None,
        "Mobile Phone": None,
        "Corporate Phone": None,
        "Other Phone": None,
        "# Employees": "company_size",
        "Industry": "industry",
        "Person Linkedin Url": "linkedin_url",
        "Website": "website",
        "Company Linkedin Url": None,
        "City": "city",
        "State": None,
        "Country": "country",
        "Company City": None,
        "Company Country": None,
        "Keywords": None,
    }


def test_apollos_company_name_for_emails_is_used_when_alone():
    assert targets(["Email", "Company Name for Emails"])["Company Name for Emails"] == "company"


def test_hubspot_headers():
    mapped = targets(
        ["Record ID", "Email", "First Name", "Last Name", "Job Title", "Company Name",
         "Phone Number", "Website URL", "Country/Region", "Industry", "Number of Employees",
         "LinkedIn URL", "Time Zone", "Contact owner"]
    )  # fmt: skip
    assert mapped == {
        "Record ID": None,
        "Email": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Job Title": "title",
        "Company Name": "company",
        "Phone Number": "phone",
        "Website URL": "website",
        "Country/Region": "country",
        "Industry": "industry",
        "Number of Employees": "company_size",
        "LinkedIn URL": "linkedin_url",
        "Time Zone": "time_zone",
        "Contact owner": None,
    }


def test_hubspots_associated_company_is_the_company_when_there_is_no_company_name():
    """HubSpot's contact exports name the company a contact is associated with so."""
    assert targets(["Email", "Associated Company"]) == {
        "Email": "email",
        "Associated Company": "company",
    }
    both = targets(["Email", "Company Name", "Associated Company"])
    assert (both["Company Name"], both["Associated Company"]) == ("company", None)


def test_salesforce_headers():
    mapped = targets(
        ["First Name", "Last Name", "Title", "Account Name", "Email", "Phone", "Mailing City",
         "Mailing Country", "Lead Source", "No. of Employees"]
    )  # fmt: skip
    assert mapped == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Account Name": "company",
        "Email": "email",
        "Phone": "phone",
        "Mailing City": "city",
        "Mailing Country": "country",
        "Lead Source": None,
        "No. of Employees": "company_size",
    }


def test_pipedrive_headers():
    mapped = targets(
        ["Person - Name", "Person - Email", "Organization - Name", "Person - Phone",
         "Person - Job title", "Person - Labels", "Person - Owner"]
    )  # fmt: skip
    assert mapped == {
        "Person - Name": "full_name",
        "Person - Email": "email",
        "Organization - Name": "company",
        "Person - Phone": "phone",
        "Person - Job title": "title",
        "Person - Labels": "tags",
        "Person - Owner": None,
    }


def test_sales_navigator_export_headers():
    mapped = targets(
        ["fullName", "firstName", "lastName", "companyName", "title", "location",
         "linkedInProfileUrl", "companyLinkedinUrl", "headline", "industry"]
    )  # fmt: skip
    assert mapped == {
        "fullName": "full_name",
        "firstName": "first_name",
        "lastName": "last_name",
        "companyName": "company",
        "title": "title",
        "location": "city",
        "linkedInProfileUrl": "linkedin_url",
        "companyLinkedinUrl": None,
        "headline": None,
        "industry": "industry",
    }


def test_plain_spreadsheet_headers():
    mapped = targets(["Name", "E-mail", "Company", "Job title", "Phone", "LinkedIn", "Tags"])
    assert mapped == {
        "Name": "full_name",
        "E-mail": "email",
        "Company": "company",
        "Job title": "title",
        "Phone": "phone",
        "LinkedIn": "linkedin_url",
        "Tags": "tags",
    }


def test_headers_compare_without_case_spaces_punctuation_or_camel_case():
    same = ["First Name", "first_name", "firstName", "FIRST-NAME", " first  name "]
    assert {compact_header(header) for header in same} == {"firstname"}
    assert compact_header("Société") == "societe"


def test_exact_known_headers_are_sure_and_near_spellings_less_so():
    choices = propose_mapping(["Email", "Frist Name", "Work Email Address 2"], [], NO_CUSTOM_FIELDS)
    assert choices[0].confidence == 1.0
    assert choices[1].field == "first_name"
    assert 0.5 <= choices[1].confidence < 1.0
    assert choices[2].field is None  # "Email" already feeds email
    alone = propose_mapping(["Work Email Address 2"], [], NO_CUSTOM_FIELDS)[0]
    assert alone.field == "email"
    assert alone.confidence < 1.0


def test_unknown_columns_are_ignored_with_no_confidence():
    [choice] = propose_mapping(["Favourite colour"], [["blue"]], NO_CUSTOM_FIELDS)
    assert choice == ColumnChoice(index=0, column="Favourite colour", field=None)


# --- sample values -------------------------------------------------------------------------


def test_a_column_of_emails_is_an_email_column_whatever_its_header():
    samples = [["x", "jane@acme.com"], ["y", "bob@beta.io"], ["z", ""]]
    [_, contact] = propose_mapping(["Foo", "Contact point"], samples, NO_CUSTOM_FIELDS)
    assert contact.field == "email"
    assert contact.confidence == 0.8


def test_a_column_of_linkedin_profiles_is_the_linkedin_url():
    samples = [["https://www.linkedin.com/in/jane-doe"], ["linkedin.com/in/bob"]]
    [choice] = propose_mapping(["Profile"], samples, NO_CUSTOM_FIELDS)
    assert (choice.field, choice.confidence) == ("linkedin_url", 0.8)
    [url] = propose_mapping(["url"], samples, NO_CUSTOM_FIELDS)
    assert url.field == "linkedin_url"


def test_company_linkedin_pages_never_feed_the_persons_linkedin_url():
    samples = [["https://www.linkedin.com/company/acme"], ["https://linkedin.com/company/beta"]]
    [choice] = propose_mapping(["LinkedIn"], samples, NO_CUSTOM_FIELDS)
    assert choice.field is None


def test_a_profile_link_beats_a_sales_navigator_link():
    samples = [
        ["https://www.linkedin.com/sales/lead/ACwAA1,NAME", "https://www.linkedin.com/in/jane"],
        ["https://www.linkedin.com/sales/lead/ACwAA2,NAME", "https://www.linkedin.com/in/bob"],
    ]
    mapped = targets(["profileUrl", "defaultProfileUrl"], samples)
    assert mapped == {"profileUrl": None, "defaultProfileUrl": "linkedin_url"}


def test_of_several_phone_columns_the_filled_one_wins():
    samples = [["", "+1 555 0100"], ["", "+1 555 0101"]]
    assert targets(["Mobile Phone", "Corporate Phone"], samples) == {
        "Mobile Phone": None,
        "Corporate Phone": "phone",
    }
    assert targets(["Mobile Phone", "Corporate Phone"])["Mobile Phone"] == "phone"


def test_a_column_of_links_is_a_website():
    [choice] = propose_mapping(["Homepage?"], [["https://acme.com"], ["www.beta.io"]], FIELDS)
    assert choice.field == "website"


# --- custom fields -------------------------------------------------------------------------


def test_columns_named_like_a_custom_field_feed_it():
    mapped = targets(["Email", "Lead Source", "yearly_budget", "budget"], fields=FIELDS)
    assert mapped == {
        "Email": "email",
        "Lead Source": "custom_fields.lead_source",
        "yearly_budget": "custom_fields.budget",
        "budget": None,  # the label's column came first
    }
    assert targets(["Lead Source"])["Lead Source"] is None  # without the custom field


# --- invariants ----------------------------------------------------------------------------

KNOWN = ["Email", "E-mail", "Phone", "Mobile Phone", "First Name", "Name", "Company",
         "Website", "Tags", "Labels", "LinkedIn", "Title", "Notes", "whatever", "Lead Source",
         "Country", "budget"]  # fmt: skip


@given(
    st.lists(st.sampled_from(KNOWN) | st.text(max_size=10), max_size=12),
    st.lists(st.lists(st.text(max_size=20), max_size=14), max_size=5),
)
def test_a_proposal_feeds_each_target_once_from_a_known_target(headers, samples):
    choices = propose_mapping(headers, samples, FIELDS)
    assert [choice.index for choice in choices] == list(range(len(headers)))
    fed = [choice.field for choice in choices if choice.field not in (None, "tags")]
    assert len(fed) == len(set(fed))
    for choice in choices:
        assert 0.0 <= choice.confidence <= 1.0
        assert round(choice.confidence, 2) == choice.confidence
        assert (
            choice.field is None
            or choice.field in TARGETS
            or choice.field in {"custom_fields.lead_source", "custom_fields.budget"}
        )
    columns = [c.column for c in choices]
    if any(c.field in {"email", "linkedin_url"} for c in choices):
        check_mapping(choices, columns, FIELDS)  # a proposal passes its own check


# --- checking ------------------------------------------------------------------------------

COLUMNS = ["Email", "Name", "Company", "Notes"]


def test_a_good_mapping_comes_back_in_column_order_with_column_names():
    sent = [
        {"index": 2, "field": "company"},
        {"index": 0, "column": "Email", "field": "email", "confidence": 0.3},
        {"index": 3, "field": "tags"},
        {"index": 1, "field": None},
    ]
    assert check_mapping(sent, COLUMNS, FIELDS) == [
        ColumnChoice(index=0, column="Email", field="email"),
        ColumnChoice(index=1, column="Name", field=None),
        ColumnChoice(index=2, column="Company", field="company"),
        ColumnChoice(index=3, column="Notes", field="tags"),
    ]


def test_every_problem_of_a_mapping_is_listed_with_its_path():
    sent = [
        {"index": 7, "field": "email"},
        {"index": 0, "column": "E-mail", "field": "email"},
        {"index": 1, "field": "nickname"},
        {"index": 2, "field": "custom_fields.nope"},
        {"index": 3, "field": "custom_fields.budget"},
        {"index": 3, "field": "title"},
        {"index": True, "field": "title"},
    ]
    with pytest.raises(InvalidMapping) as raised:
        check_mapping(sent, COLUMNS, FIELDS)
    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.code == "invalid_mapping"
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("mapping[0].index", "unknown_column"),
        ("mapping[1].column", "unknown_column"),
        ("mapping[2].field", "unknown_field"),
        ("mapping[3].field", "unknown_custom_field"),
        ("mapping[5].index", "duplicate_column"),
        ("mapping[6].index", "unknown_column"),
        ("mapping", "no_identity_column"),
    ]


def test_a_target_is_fed_once_except_tags():
    sent = [
        ColumnChoice(index=0, column="Email", field="email"),
        ColumnChoice(index=1, column="Name", field="tags"),
        ColumnChoice(index=2, column="Company", field="tags"),
        ColumnChoice(index=3, column="Notes", field="email", confidence=0.9),
    ]
    with pytest.raises(InvalidMapping) as raised:
        check_mapping(sent, COLUMNS, FIELDS)
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("mapping[3].field", "duplicate_field")
    ]


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        (["email"], True),
        (["linkedin_url"], True),
        (["first_name", "last_name", "company_domain"], True),
        (["full_name", "website"], True),
        (["first_name", "last_name", "company"], False),  # a company name gives no domain
        (["first_name", "website"], False),
        (["company", "phone"], False),
        ([], False),
    ],
)
def test_a_mapping_must_identify_leads(fields, ok):
    columns = [f"c{i}" for i in range(len(fields))]
    sent = [{"index": i, "field": field} for i, field in enumerate(fields)]
    if ok:
        assert len(check_mapping(sent, columns, NO_CUSTOM_FIELDS)) == len(fields)
    else:
        with pytest.raises(InvalidMapping) as raised:
            check_mapping(sent, columns, NO_CUSTOM_FIELDS)
        assert [e.code for e in raised.value.errors] == ["no_identity_column"]


# --- applying ------------------------------------------------------------------------------


def mapper(*fields: str | None) -> Mapper:
    return Mapper([ColumnChoice(index=i, column=f"col{i}", field=f) for i, f in enumerate(fields)])


def test_cells_feed_their_fields_and_blanks_are_none():
    lead, tags = mapper("email", "company", None, "phone").apply(
        ["jane@acme.com", "  ", "ignored", ""]
    )
    assert lead == LeadInput(email="jane@acme.com")
    assert tags == ()


def test_short_rows_are_blank_and_extra_cells_ignored():
    m = mapper("email", "first_name", "last_name")
    assert m.apply(["a@x.com"])[0] == LeadInput(email="a@x.com")
    assert m.apply([])[0] == LeadInput()
    assert m.apply(["a@x.com", "Ann", "Lee", "x", "y"])[0] == LeadInput(
        email="a@x.com", first_name="Ann", last_name="Lee"
    )


def test_a_full_name_fills_the_name_parts_that_are_blank():
    m = mapper("full_name", "first_name", "last_name")
    assert m.apply(["Jane van Doe", "", ""])[0] == LeadInput(first_name="Jane", last_name="van Doe")
    assert m.apply(["Doe, Jane", "", ""])[0] == LeadInput(first_name="Jane", last_name="Doe")
    assert m.apply(["Jane Doe", "Janet", ""])[0] == LeadInput(first_name="Janet", last_name="Doe")
    assert m.apply(["Jane Doe", "J.", "D."])[0] == LeadInput(first_name="J.", last_name="D.")
    assert mapper("full_name").apply(["Cher"])[0] == LeadInput(first_name="Cher")
    assert mapper("full_name").apply(["Jane Doe, PhD"])[0] == LeadInput(
        first_name="Jane", last_name="Doe, PhD"
    )


def test_tags_are_split_and_custom_fields_keyed():
    m = mapper("tags", "custom_fields.lead_source", "tags", "custom_fields.budget")
    lead, tags = m.apply(["vip, fair ;; 2025|", "Webinar", "hot", " "])
    assert tags == ("vip", "fair", "2025", "hot")
    assert lead.custom_fields == {"lead_source": "Webinar"}


def test_problems_are_named_by_the_column_they_came_from():
    choices = [
        ColumnChoice(index=0, column="Work Email", field="email"),
        ColumnChoice(index=1, column="Name", field="full_name"),
        ColumnChoice(index=2, column="Source", field="custom_fields.lead_source"),
        ColumnChoice(index=3, column="Labels", field="tags"),
    ]
    m = Mapper(choices)
    assert m.column_of("email") == "Work Email"
    assert m.column_of("first_name") == "Name"
    assert m.column_of("custom_fields.lead_source") == "Source"
    assert m.column_of("tags[2]") == "Labels"
    assert m.column_of("company_domain") is None
    assert m.column_of(None) is None
    with pytest.raises(ValidationFailed) as raised:
        normalise_lead(m.apply(["not-an-email", "Jane Doe", "", ""])[0], FIELDS)
    assert {m.column_of(e.field) for e in raised.value.errors} == {"Work Email"}


def test_an_apollo_row_maps_to_a_valid_lead():
    headers = ["First Name", "Last Name", "Title", "Company", "Email", "Email Status",
               "Person Linkedin Url", "Website", "Company Linkedin Url", "Country"]  # fmt: skip
    row = ["Jane", "Doe", "VP, Sales", "Acme Inc.", "jane@acme.com", "Verified",
           "http://www.linkedin.com/in/jane-doe", "http://www.acme.com",
           "http://www.linkedin.com/company/acme", "France"]  # fmt: skip
    choices = check_mapping(propose_mapping(headers, [row], FIELDS), headers, FIELDS)
    lead, _ = apply_mapping(row, choices)
    profile = normalise_lead(lead, FIELDS)
    assert profile.email == "jane@acme.com"
    assert profile.linkedin_url is not None
    assert profile.linkedin_url.endswith("/in/jane-doe")
    assert profile.company_domain == "acme.com"
    assert profile.country == "FR"


@given(st.lists(st.sampled_from([*sorted(TARGETS), None]), max_size=8),
       st.lists(st.text(max_size=15), max_size=10))  # fmt: skip
def test_applying_never_fails_and_takes_values_only_from_cells(fields, record):
    lead, tags = mapper(*fields).apply(record)
    cells = set(record)
    for name in LeadInput.__struct_fields__:
        value = getattr(lead, name)
        if name == "custom_fields":
            assert value == {}
        elif value is not None and "full_name" not in fields:
            assert value in cells
            assert value.strip()
    assert all(tag and tag == tag.strip() for tag in tags)


def test_header_labels_leave_out_the_made_up_names_past_the_header():
    assert header_labels(["Email", "Name", "column_3", "column_4"]) == ["Email", "Name"]
    assert header_labels(["Email", "column_2", "Name"]) == ["Email", "column_2", "Name"]
    assert header_labels(header_names(["Email", "Name"], 4)) == ["Email", "Name"]
    assert header_labels(["column_1"]) == []
