"""Lead normalisation: examples for the tricky cases, properties for idempotency and for keys
that ignore case and white space."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from scaliyo.domain.leads.attributes import (
    CompanySize,
    Department,
    Seniority,
    department_from_title,
    parse_company_size,
    parse_department,
    parse_seniority,
    seniority_from_title,
)
from scaliyo.domain.leads.custom_fields import (
    CustomFieldDefinition,
    CustomFieldSet,
    CustomFieldType,
    clean_custom_fields,
    define_custom_field,
)
from scaliyo.domain.leads.dedup import dedup_keys, name_key
from scaliyo.domain.leads.emails import normalise_email, plain_host
from scaliyo.domain.leads.errors import NoIdentity
from scaliyo.domain.leads.freemail import is_free_mail
from scaliyo.domain.leads.phones import normalise_phone, parse_international, parse_national
from scaliyo.domain.leads.places import ISO_COUNTRIES, normalise_country, normalise_time_zone
from scaliyo.domain.leads.profile import (
    LeadInput,
    LeadProfile,
    _values_and_every_error,
    _values_of_valid_fields,
    normalise_lead,
    split_full_name,
)
from scaliyo.domain.leads.text import fold
from scaliyo.domain.leads.web import (
    linkedin_url_the_long_way,
    normalise_company_domain,
    normalise_linkedin_url,
    normalise_website,
    website_text,
)
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.text import has_control_characters

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)

FIELDS = CustomFieldSet(
    fields=(
        CustomFieldDefinition(key="arr", label="ARR", type=CustomFieldType.NUMBER),
        CustomFieldDefinition(key="renewal", label="Renewal", type=CustomFieldType.DATE),
        CustomFieldDefinition(key="champion", label="Champion", type=CustomFieldType.BOOLEAN),
        CustomFieldDefinition(key="notes", label="Notes", type=CustomFieldType.TEXT),
        CustomFieldDefinition(
            key="tier",
            label="Tier",
            type=CustomFieldType.SINGLE_SELECT,
            options=("Gold", "Silver", "Bronze"),
        ),
    )
)


def codes(error: ValidationFailed) -> dict[str, str]:
    return {e.field: e.code for e in error.errors}


# --- strategies (imported by the other lead tests) --------------------------------------------

# Characters whose case can be swapped without changing their folded form (so "ignores case"
# is a meaningful claim: dotless ı and dotted İ are different letters, not different cases).
CASEABLE = st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x24F).filter(
    lambda ch: fold(ch.upper()) == fold(ch) == fold(ch.lower())
)
NAME_WORDS = st.text(alphabet=CASEABLE, min_size=1, max_size=8)
NAMES = st.lists(NAME_WORDS, min_size=1, max_size=3).map(" ".join)
SLUGS = st.builds(
    "{}{}".format,
    st.sampled_from("abcxyz019éö"),
    st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-éöü"), max_size=20),
)
DOMAINS = st.builds(
    "{}.{}".format,
    st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
    st.sampled_from(["com", "io", "de", "co.uk", "gmail.com"]),
)
LINKEDIN_HOSTS = st.sampled_from(
    ["linkedin.com", "www.linkedin.com", "uk.linkedin.com", "m.linkedin.com", "WWW.LinkedIn.com"]
)
LINKEDIN_URLS = st.builds(
    "{}{}/in/{}{}".format,
    st.sampled_from(["", "http://", "https://", "//"]),
    LINKEDIN_HOSTS,
    SLUGS,
    st.sampled_from(["", "/", "?trk=profile", "#about", "/details/experience/", "/?a=1#b"]),
)
EMAILS = st.builds(
    "{}@{}".format,
    st.from_regex(r"[a-z0-9]{1,8}(?:[._+-][a-z0-9]{1,8}){0,2}", fullmatch=True),
    DOMAINS,
)
PHONES = st.from_regex(r"\+?[0-9][0-9 ()./-]{3,18}", fullmatch=True)


PRINTABLE = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc", "Cf", "Co", "Cn"]), max_size=30
)


def maybe(strategy: st.SearchStrategy, *, garbage: bool) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy, TEXT) if garbage else st.one_of(st.none(), strategy)


def free_text(strategy: st.SearchStrategy, *, garbage: bool) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy, TEXT if garbage else PRINTABLE)


def lead_inputs(*, garbage: bool) -> st.SearchStrategy[LeadInput]:
    """Lead inputs from plausible values; with ``garbage``, any field may be any text."""
    return st.builds(
        LeadInput,
        email=st.one_of(EMAILS, maybe(EMAILS, garbage=garbage)),
        first_name=free_text(NAMES, garbage=garbage),
        last_name=free_text(NAMES, garbage=garbage),
        title=free_text(
            st.sampled_from(["VP Sales", "Head of Growth", "CEO", "Intern"]), garbage=garbage
        ),
        company=free_text(NAMES, garbage=garbage),
        company_domain=st.one_of(st.none(), DOMAINS, st.builds("https://www.{}/".format, DOMAINS)),
        website=maybe(
            st.builds(
                "{}{}/{}".format,
                st.sampled_from(["", "http://", "https://www."]),
                DOMAINS,
                SLUGS,
            ),
            garbage=garbage,
        ),
        linkedin_url=maybe(LINKEDIN_URLS, garbage=garbage),
        phone=maybe(PHONES, garbage=garbage),
        city=free_text(NAMES, garbage=garbage),
        country=maybe(st.sampled_from(["DE", "us", "United Kingdom", "France"]), garbage=garbage),
        time_zone=maybe(
            st.sampled_from(["Europe/Berlin", "america/new_york", "UTC"]), garbage=garbage
        ),
        industry=free_text(
            st.sampled_from(["Computer Software", "Financial Services", "Retail"]), garbage=garbage
        ),
        company_size=st.one_of(
            st.none(), st.integers(0, 50_000), st.sampled_from(["51-200", "10,001+", "big"])
        ),
        seniority=maybe(
            st.sampled_from([s.value for s in Seniority] + ["Vice President"]), garbage=garbage
        ),
        department=maybe(st.sampled_from([d.value for d in Department] + ["HR"]), garbage=garbage),
        custom_fields=st.dictionaries(
            st.sampled_from(["arr", "renewal", "champion", "notes", "tier", "nope"]),
            st.one_of(
                st.none(), TEXT, st.integers(), st.floats(), st.booleans(), st.dates().map(str)
            ),
            max_size=3,
        )
        if garbage
        else st.fixed_dictionaries(
            {},
            optional={
                "arr": st.integers(-(10**9), 10**9),
                "renewal": st.dates().map(str),
                "champion": st.sampled_from(["yes", "no", True]),
                "notes": NAMES,
                "tier": st.sampled_from(["gold", "SILVER", "Bronze"]),
            },
        ),
    )


LEAD_INPUTS = st.one_of(lead_inputs(garbage=False), lead_inputs(garbage=True))


def normalised_or_none(raw: LeadInput) -> LeadProfile | None:
    try:
        return normalise_lead(raw, FIELDS)
    except ValidationFailed:
        return None


VALID_LEADS = LEAD_INPUTS.map(normalised_or_none).filter(lambda p: p is not None)


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=400)
@given(LEAD_INPUTS)
def test_normalisation_is_idempotent_or_refuses_with_field_errors(raw):
    try:
        profile = normalise_lead(raw, FIELDS)
    except ValidationFailed as error:
        assert error.errors, "a refusal names the fields"
        return
    assert normalise_lead(profile.to_input(), FIELDS) == profile
    assert dedup_keys(normalise_lead(profile.to_input(), FIELDS)) == dedup_keys(profile)
    assert dedup_keys(profile).primary is not None


@given(TEXT)
def test_every_field_normaliser_is_idempotent_on_any_text(text):
    normalisers = [
        normalise_linkedin_url,
        normalise_company_domain,
        lambda v: normalise_phone(v, None),
        lambda v: normalise_phone(v, "DE"),
        normalise_country,
        normalise_time_zone,
    ]
    for normalise in normalisers:
        try:
            once = normalise(text)
        except ValidationFailed:
            continue
        assert once is None or normalise(once) == once
    try:
        website = normalise_website(text)
    except ValidationFailed:
        return
    if website is not None:
        assert website_text(normalise_website(website_text(website))) == website_text(website)


@given(TEXT)
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


def _fold_by_definition(value: str) -> str:
    """casefold, NFKD, combining marks dropped, white space folded, until stable."""
    current = " ".join(value.split())
    for _ in range(4):
        decomposed = unicodedata.normalize("NFKD", current.casefold())
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        folded = " ".join(stripped.split())
        if folded == current:
            break
        current = folded
    return current


@given(st.text(max_size=60) | st.text(alphabet=string.printable, max_size=60))
def test_fold_fast_paths_give_the_definition(text):
    assert fold(text) == _fold_by_definition(text)


def _vary_case(text: str, how: int) -> str:
    return [str.upper, str.lower, str.swapcase, str.title, lambda s: s][how](text)


def _vary_space(text: str, how: int) -> str:
    return [
        lambda s: s,
        lambda s: f"  {s}\t",
        lambda s: s.replace(" ", "   "),
        lambda s: "\n" + s.replace(" ", " \t ") + " ",
    ][how](text)


@settings(max_examples=300)
@given(
    first=NAMES,
    last=NAMES,
    domain=DOMAINS.filter(lambda d: not is_free_mail(d)),
    email=EMAILS,
    linkedin=LINKEDIN_URLS,
    case=st.integers(0, 4),
    space=st.integers(0, 3),
)
def test_dedup_keys_ignore_case_and_white_space(first, last, domain, email, linkedin, case, space):
    def vary(text: str) -> str:
        return _vary_space(_vary_case(text, case), space)

    def vary_url(text: str) -> str:  # URLs hold no inner white space
        return _vary_case(text, case).join(["  ", " "]) if space else _vary_case(text, case)

    for raw in (
        LeadInput(first_name=first, last_name=last, company_domain=domain),
        LeadInput(email=email, first_name=first, last_name=last),
        LeadInput(linkedin_url=linkedin, first_name=first),
    ):
        varied = LeadInput(
            email=vary_url(raw.email) if raw.email else None,
            first_name=vary(raw.first_name) if raw.first_name else None,
            last_name=vary(raw.last_name) if raw.last_name else None,
            company_domain=vary_url(raw.company_domain) if raw.company_domain else None,
            linkedin_url=vary_url(raw.linkedin_url) if raw.linkedin_url else None,
        )
        assert dedup_keys(normalise_lead(varied)) == dedup_keys(normalise_lead(raw))


def test_name_key_folds_accents_case_and_spacing_and_joins_the_names():
    key = name_key("José  María", "Ñúñez", "ACME.com")
    assert key == "jose maria nunez|acme.com"
    assert name_key("jose", "MARIA nunez", "acme.com") == key
    assert name_key("Jane", None, "acme.com") is None


# --- examples -----------------------------------------------------------------------------------


def test_email_is_trimmed_case_folded_and_validated_without_dns():
    profile = normalise_lead(LeadInput(email="  Jane.DOE@Acme.COM \t"))
    assert profile.email == "jane.doe@acme.com"
    assert profile.company_domain == "acme.com"
    for bad in ["jane", "jane@", "jane@@acme.com", "jane doe@acme.com", "jane@localhost"]:
        with pytest.raises(ValidationFailed) as refused:
            normalise_lead(LeadInput(email=bad, linkedin_url="linkedin.com/in/jane"))
        assert codes(refused.value) == {"email": "invalid_email"}


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.linkedin.com/in/jane-doe",
        "linkedin.com/in/jane-doe",
        "http://linkedin.com/in/Jane-Doe/",
        "HTTPS://WWW.LINKEDIN.COM/IN/JANE-DOE/?originalSubdomain=uk",
        "https://uk.linkedin.com/in/jane-doe#experience",
        "https://m.linkedin.com/in/jane-doe/details/experience/",
        "//www.linkedin.com/in/jane%2Ddoe",
        "  www.linkedin.com/in/JANE-DOE?trk=public_profile  ",
        "https://www.linkedin.com:443/in/jane-doe",
    ],
)
def test_linkedin_url_variants_are_one_canonical_url(variant):
    assert normalise_linkedin_url(variant) == "https://www.linkedin.com/in/jane-doe"


def test_linkedin_slugs_are_percent_decoded_and_lower_cased():
    assert (
        normalise_linkedin_url("linkedin.com/in/J%C3%B6rg-M%C3%BCller-1a2b3c/")
        == "https://www.linkedin.com/in/jörg-müller-1a2b3c"
    )
    assert normalise_linkedin_url("https://de.linkedin.com/in/Jörg-Müller-1a2b3c") == (
        "https://www.linkedin.com/in/jörg-müller-1a2b3c"
    )
    # A doubly encoded slug decodes to the same person; nothing decodable remains.
    assert normalise_linkedin_url("linkedin.com/in/jane%252Ddoe") == (
        "https://www.linkedin.com/in/jane-doe"
    )


def test_other_linkedin_forms():
    assert normalise_linkedin_url("linkedin.com/pub/Jane-Doe/12/345/678/") == (
        "https://www.linkedin.com/pub/jane-doe/12/345/678"
    )
    assert normalise_linkedin_url(
        "https://www.linkedin.com/sales/lead/ACwAAAB1cDE,NAME_SEARCH,xY9z?_ntb=1"
    ) == ("https://www.linkedin.com/sales/lead/ACwAAAB1cDE")
    for bad in [
        "https://www.linkedin.com/company/acme",
        "https://linkedin.com/in/",
        "https://evil-linkedin.com/in/jane",
        "https://linkedin.com.evil.io/in/jane",
        "ftp://linkedin.com/in/jane",
        "https://linkedin.com/in/jane%2Fdoe",
        "https://user@linkedin.com/in/jane",
    ]:
        with pytest.raises(ValidationFailed) as refused:
            normalise_linkedin_url(bad)
        assert refused.value.errors[0].code == "invalid_linkedin_url", bad


def test_company_domain_comes_from_the_website_then_the_email_never_free_mail():
    from_website = normalise_lead(
        LeadInput(email="jane@acme-mail.com", website="HTTPS://WWW.Acme.com/en/?utm=x#top")
    )
    assert from_website.website == "https://www.acme.com/en"
    assert from_website.company_domain == "acme.com"
    from_email = normalise_lead(LeadInput(email="jane@Sales.Acme.io"))
    assert from_email.company_domain == "sales.acme.io"
    given = normalise_lead(LeadInput(email="jane@acme.io", company_domain="https://www.acme.com/x"))
    assert given.company_domain == "acme.com"
    for free in ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me"]:
        lead = normalise_lead(LeadInput(email=f"Jane@{free.upper()}"))
        assert lead.email == f"jane@{free}"
        assert lead.company_domain is None
        assert normalise_lead(LeadInput(email="j@x.io", website=f"www.{free}")).company_domain == (
            "x.io"
        )
        with pytest.raises(ValidationFailed) as refused:
            normalise_lead(LeadInput(email="jane@acme.com", company_domain=free))
        assert codes(refused.value) == {"company_domain": "free_mail_domain"}


def test_international_domains_are_stored_in_ascii():
    lead = normalise_lead(LeadInput(email="anna@Bücher.de", website="https://bücher.de/shop/"))
    assert lead.email == "anna@bücher.de"
    assert lead.company_domain == "xn--bcher-kva.de"
    assert lead.website == "https://xn--bcher-kva.de/shop"


def test_websites():
    assert website_text(normalise_website("acme.com")) == "https://acme.com"
    assert website_text(normalise_website("http://Acme.com:80/")) == "http://acme.com"
    assert website_text(normalise_website("https://acme.com:8443/a/")) == "https://acme.com:8443/a"
    for bad in ["localhost", "http://127.0.0.1", "acme", "mailto:jane@acme.com", "acme .com"]:
        with pytest.raises(ValidationFailed) as refused:
            normalise_website(bad)
        assert refused.value.errors[0].code == "invalid_url", bad


def test_phone_is_e164_when_a_country_is_known():
    assert normalise_phone("030 1234567", "DE") == "+49301234567"
    assert normalise_phone("+49 (0)30 1234567", None) == "+49301234567"
    assert normalise_phone("(415) 555-0100", "US") == "+14155550100"
    assert normalise_phone("+1 415 555 0100 ext. 12", None) == "+14155550100"
    assert normalise_phone("0044 20 7946 0958", "DE") == "+442079460958"
    lead = normalise_lead(LeadInput(email="j@acme.com", phone="030 1234567", country="Germany"))
    assert (lead.phone, lead.country) == ("+49301234567", "DE")


def test_phone_without_a_country_keeps_the_digits_and_the_plus():
    assert normalise_phone("(415) 555-0100", None) == "4155550100"
    assert normalise_phone(" 0044 20 7946 0958", None) == "00442079460958"
    assert normalise_phone("+999 123 4567", None) == "+9991234567"  # no such country code
    for bad in ["n/a", "12", "call me", "+1 800 FLOWERS"]:
        with pytest.raises(ValidationFailed) as refused:
            normalise_phone(bad, "US")
        assert refused.value.errors[0].code == "invalid_phone"


def test_countries_and_time_zones():
    assert {"US", "DE", "GB", "XK"} <= ISO_COUNTRIES and len(ISO_COUNTRIES) == 250
    assert [normalise_country(c) for c in ["us", "USA", "Deutschland", "Côte d’Ivoire", "UK"]] == [
        "US",
        "US",
        "DE",
        "CI",
        "GB",
    ]
    assert normalise_time_zone(" america/new_york ") == "America/New_York"
    with pytest.raises(ValidationFailed) as refused:
        normalise_country("Atlantis")
    assert refused.value.errors[0].code == "invalid_country"
    with pytest.raises(ValidationFailed) as refused:
        normalise_time_zone("Europe/Atlantis")
    assert refused.value.errors[0].code == "invalid_time_zone"


def test_names_are_white_space_folded_and_limits_are_field_errors():
    lead = normalise_lead(
        LeadInput(email="j@acme.com", first_name="  Mary \t Ann ", title="VP   of\nSales")
    )
    assert (lead.first_name, lead.title) == ("Mary Ann", "VP of Sales")
    huge = "x" * 10_000
    with pytest.raises(ValidationFailed) as refused:
        normalise_lead(
            LeadInput(
                email=huge,
                first_name=huge,
                title=huge,
                website=huge,
                linkedin_url=huge,
                phone=huge,
                country=huge,
                time_zone=huge,
                seniority=huge,
                company_size=huge,
                custom_fields={"notes": huge},
            ),
            FIELDS,
        )
    found = codes(refused.value)
    for field in ["first_name", "title", "website", "linkedin_url", "phone", "country"]:
        assert found[field] == "too_long", field
    assert found["custom_fields.notes"] == "too_long"
    with pytest.raises(ValidationFailed) as refused:
        normalise_lead(LeadInput(email="j@acme.com", company="Acme\x00Corp"))
    assert codes(refused.value) == {"company": "invalid_characters"}


def test_a_lead_needs_an_identity():
    with pytest.raises(NoIdentity) as refused:
        normalise_lead(
            LeadInput(first_name="Jane", last_name="Doe", company="Acme", phone="+1 415")
        )
    assert refused.value.code == "no_identity"
    assert codes(refused.value) == {"email": "no_identity"}
    # a name with a company domain is enough; with a free-mail email it is not
    assert normalise_lead(LeadInput(first_name="Jane", last_name="Doe", website="acme.com"))
    with pytest.raises(ValidationFailed) as refused:
        normalise_lead(LeadInput(email="not-an-email", first_name="Jane", last_name="Doe"))
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("email", "invalid_email"),
        ("email", "no_identity"),
    ]


def test_closed_vocabularies_parse_what_exports_write():
    assert parse_seniority("Vice President") is Seniority.VP
    assert parse_seniority("C-Suite") is Seniority.C_SUITE
    assert parse_department("Human Resources") is Department.HUMAN_RESOURCES
    assert parse_department("HR") is Department.HUMAN_RESOURCES
    sizes = {
        "51-200": CompanySize.S51_200,
        "51 - 200 employees": CompanySize.S51_200,
        "2-10": CompanySize.S1_10,
        "10,001+": CompanySize.S10001_PLUS,
        "1001 to 5000": CompanySize.S1001_5000,
        "120": CompanySize.S51_200,
        "self-employed": CompanySize.S1_10,
    }
    for raw, size in sizes.items():
        assert parse_company_size(raw) is size, raw
    assert parse_company_size(7_500) is CompanySize.S5001_10000
    with pytest.raises(ValidationFailed) as refused:
        parse_seniority("wizard")
    assert refused.value.errors[0].code == "invalid_seniority"


def test_seniority_and_department_read_from_titles():
    cases = {
        "Co-Founder & CEO": (Seniority.FOUNDER, Department.EXECUTIVE),
        "VP of Sales": (Seniority.VP, Department.SALES),
        "Senior Vice President, Marketing": (Seniority.VP, Department.MARKETING),
        "Head of Growth": (Seniority.HEAD, Department.MARKETING),
        "Sr. Software Engineer": (Seniority.SENIOR, Department.ENGINEERING),
        "Marketing Intern": (Seniority.INTERN, Department.MARKETING),
        "Chief Technology Officer": (Seniority.C_SUITE, Department.ENGINEERING),
        "Salesforce Administrator": (None, None),  # "sales" is a whole word, not a prefix
    }
    for title, (seniority, department) in cases.items():
        assert seniority_from_title(title) is seniority, title
        assert department_from_title(title) is department, title


def test_custom_fields_are_typed_and_errors_name_the_field():
    assert clean_custom_fields(
        {
            "arr": "1,250.5",
            "renewal": "2026-03-01",
            "champion": "Yes",
            "notes": "  likes   golf ",
            "tier": "gold",
        },
        FIELDS,
    ) == {
        "arr": 1250.5,
        "renewal": "2026-03-01",
        "champion": True,
        "notes": "likes golf",
        "tier": "Gold",
    }
    assert clean_custom_fields({"arr": 12, "renewal": date(2026, 3, 1), "tier": None}, FIELDS) == {
        "arr": 12,
        "renewal": "2026-03-01",
    }
    with pytest.raises(ValidationFailed) as refused:
        clean_custom_fields(
            {
                "arr": "lots",
                "renewal": "March",
                "champion": "perhaps",
                "notes": 5,
                "tier": "Platinum",
                "mrr": 1,
            },
            FIELDS,
        )
    assert codes(refused.value) == {
        "custom_fields.arr": "invalid_number",
        "custom_fields.renewal": "invalid_date",
        "custom_fields.champion": "invalid_boolean",
        "custom_fields.notes": "invalid_type",
        "custom_fields.tier": "invalid_option",
        "custom_fields.mrr": "unknown_custom_field",
    }
    for wrong in [True, float("nan"), 10**16, [1]]:
        with pytest.raises(ValidationFailed):
            clean_custom_fields({"arr": wrong}, FIELDS)


def test_custom_field_definitions():
    field = define_custom_field(
        key="tier", label=" Tier ", type=CustomFieldType.SINGLE_SELECT, options=["A", "a", " B "]
    )
    assert (field.label, field.options) == ("Tier", ("A", "B"))
    with pytest.raises(ValidationFailed) as refused:
        define_custom_field(key="Bad Key", label="", type=CustomFieldType.SINGLE_SELECT)
    assert codes(refused.value) == {
        "key": "invalid_key",
        "label": "required",
        "options": "invalid_options",
    }
    with pytest.raises(ValueError):
        CustomFieldSet(fields=(field, field))


def test_full_names_split_on_the_first_word():
    assert split_full_name("  Jane  van Doe ") == ("Jane", "van Doe")
    assert split_full_name("Cher") == ("Cher", None)
    assert split_full_name(" ") == (None, None)


LOCAL_PARTS = st.one_of(
    st.from_regex(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,70}(\.[A-Za-z0-9_-]{1,5}){0,2}", fullmatch=True
    ),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
)
EMAIL_DOMAINS = st.one_of(
    DOMAINS,
    st.sampled_from(
        ["Bücher.DE", "xn--bcher-kva.de", "localhost", "a.test", "x.invalid", "-a.com"]
    ),
    st.from_regex(r"[a-z0-9-]{1,70}\.[a-z]{2,4}", fullmatch=True),
)


@settings(max_examples=400)
@given(local=LOCAL_PARTS, domain=EMAIL_DOMAINS)
def test_the_fast_email_path_agrees_with_email_validator(local, domain):
    address = f"{local}@{domain}"
    try:
        expected = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        expected = None
    try:
        got = normalise_email(address)
    except ValidationFailed:
        got = None
    if expected is None or len(expected.normalized.casefold()) > 254:
        assert got is None
    else:
        assert got is not None
        assert (got.address, got.ascii_domain) == (
            expected.normalized.casefold(),
            expected.ascii_domain.lower(),
        )


# The fast paths of normalisation (an import normalises a million rows) must give exactly what
# the long ways give.


def test_printable_text_has_no_control_characters_in_any_unicode_version_we_run():
    # has_control_characters skips printable text; that is only right if no character of the
    # refused categories is printable.
    refused = {"Cc", "Cf", "Cs", "Co", "Cn"}
    for code_point in range(0x110000):
        ch = chr(code_point)
        assert has_control_characters(ch) is (unicodedata.category(ch) in refused)


@given(text=st.text(max_size=20))
def test_control_characters_are_found_anywhere_in_the_text(text):
    refused = {"Cc", "Cf", "Cs", "Co", "Cn"}
    expected = any(unicodedata.category(ch) in refused for ch in text)
    assert has_control_characters(text) is expected
    assert has_control_characters("Jane " + text + " Doe") is expected


CALLING_CODES = st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)).map(str)
PLAIN_DIGITS = st.text(alphabet="0123456789", max_size=18)
SEPARATED = st.text(alphabet="0123456789 ().-", max_size=30)


def _parsed(parse, text):
    try:
        number = parse(text)
    except phonenumbers.NumberParseException:
        return None
    return (
        number.country_code,
        number.national_number,
        number.italian_leading_zero,
        number.number_of_leading_zeros,
        number.extension,
    )


@settings(max_examples=1000)
@given(
    body=st.one_of(
        st.builds(lambda code, rest: code + rest, CALLING_CODES, PLAIN_DIGITS),
        st.builds(lambda code, rest: code + rest, CALLING_CODES, SEPARATED),
        st.builds(lambda zeros, rest: zeros + rest, st.text("0", max_size=6), PLAIN_DIGITS),
        SEPARATED,
    )
)
def test_the_international_phone_path_agrees_with_phonenumbers_parse(body):
    text = "+" + body
    expected = _parsed(lambda t: phonenumbers.parse(t, None), text)
    assert _parsed(lambda t: parse_international(re.sub(r"[^0-9]", "", t)), text) == expected


@settings(max_examples=300)
@given(
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://", "hTTp://"]),
    host=st.sampled_from(["linkedin.com", "www.linkedin.com", "WWW.LinkedIn.COM"]),
    kind=st.sampled_from(["in", "IN", "In"]),
    slug=st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=12),
    slash=st.sampled_from(["", "/"]),
)
def test_the_plain_linkedin_path_agrees_with_the_long_way(scheme, host, kind, slug, slash):
    value = f"{scheme}{host}/{kind}/{slug}{slash}"
    try:
        expected = linkedin_url_the_long_way(value)
    except ValidationFailed as error:
        expected = [(e.field, e.code) for e in error.errors]
    try:
        got = normalise_linkedin_url(value)
    except ValidationFailed as error:
        got = [(e.field, e.code) for e in error.errors]
    assert got == expected


def test_a_remembered_refusal_is_a_new_error_each_time():
    errors = []
    for _ in range(2):
        with pytest.raises(ValidationFailed) as caught:
            normalise_country("Atlantis", field="countries[3]")
        errors.append(caught.value)
    first, second = errors
    assert first is not second and first.errors is not second.errors
    assert (
        first.errors
        == second.errors
        == [
            FieldError(
                "countries[3]", "invalid_country", "Enter an ISO 3166 country code like US or DE."
            )
        ]
    )
    # The field is part of what is remembered.
    with pytest.raises(ValidationFailed) as caught:
        normalise_country("Atlantis")
    assert caught.value.errors[0].field == "country"


def test_remembered_websites_are_separate_objects():
    first, second = normalise_website("Acme.com/about/"), normalise_website("Acme.com/about/")
    assert first is not second
    assert website_text(first) == website_text(second) == "https://acme.com/about"


LEAD_VALUES = {
    "email": st.sampled_from([None, "", "jane@acme.com", "bad@", " J@Gmail.com "]),
    "first_name": st.sampled_from([None, "Jane", " Zoë ", "a\x00b"]),
    "last_name": st.sampled_from([None, "Doe", "x" * 256]),
    "company_domain": st.sampled_from([None, "", "acme.com", "gmail.com", "http://"]),
    "website": st.sampled_from([None, "acme.com", "ftp://acme.com", "www.globex.io/"]),
    "linkedin_url": st.sampled_from([None, "linkedin.com/in/jane", "linkedin.com/in/-"]),
    "phone": st.sampled_from([None, "+1 415 555 0100", "(415) 555-0100", "12", "+44 x"]),
    "country": st.sampled_from([None, "US", "Germany", "Atlantis"]),
    "time_zone": st.sampled_from([None, "europe/berlin", "Mars/Base"]),
    "company_size": st.sampled_from([None, "51-200", 120, "lots"]),
    "seniority": st.sampled_from([None, "VP", "boss"]),
    "custom_fields": st.sampled_from([{}, {"arr": "1,200"}, {"arr": "x"}, {"nope": 1}]),
}


@settings(max_examples=300)
@given(values=st.fixed_dictionaries(LEAD_VALUES))
def test_the_first_error_path_and_the_every_error_path_agree(values):
    raw = LeadInput(**values)
    collected, errors = _values_and_every_error(raw, FIELDS)
    try:
        fast = _values_of_valid_fields(raw, FIELDS)
    except ValidationFailed:
        assert errors
    else:
        assert not errors
        assert fast == collected


@settings(max_examples=1000)
@given(
    text=st.one_of(
        st.builds(
            lambda prefix, code, rest: prefix + code + rest,
            st.sampled_from(["", "0", "00", "011", "0011", "8", "810", "1"]),
            st.one_of(st.just(""), CALLING_CODES),
            PLAIN_DIGITS,
        ),
        st.builds(lambda zeros, rest: zeros + rest, st.text("0", max_size=6), PLAIN_DIGITS),
        SEPARATED,
    ),
    region=st.one_of(
        st.sampled_from(["US", "GB", "DE", "IT", "FR", "IN", "BR", "RU", "XK", "AQ"]),
        st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    ),
)
def test_the_national_phone_path_agrees_with_phonenumbers_parse(text, region):
    digits = re.sub(r"[^0-9]", "", text)
    if not 4 <= len(digits) <= 17:  # normalise_phone refuses the others before parsing
        return
    expected = _parsed(lambda t: phonenumbers.parse(t, region), text)
    assert _parsed(lambda t: parse_national(digits, region), text) == expected


@settings(max_examples=3000)
@given(
    st.text(alphabet="abz09-.", min_size=1, max_size=70)
    | st.builds(
        ".".join,
        st.lists(st.text(alphabet="aZ9-", min_size=1, max_size=64), min_size=1, max_size=5),
    )
    | st.sampled_from(["a.test", "x.y.LOCAL", "ab--c.com", "xn--bcher-kva.com", "a.co1"])
)
def test_plain_hosts_get_the_validators_verdict(domain):
    """The fast path for plain host names says what email-validator says."""
    plain = plain_host(domain)
    if plain is None:
        return
    result = validate_email(f"a@{domain}", check_deliverability=False)
    assert (result.domain, result.ascii_domain) == (plain, plain)


def test_common_company_domains_take_the_fast_path():
    assert plain_host("Mail.Acme-Corp.co.uk") == "mail.acme-corp.co.uk"
    assert plain_host("bücher.de") is None
    assert plain_host("host.localhost") is None
