"""Web addresses of leads: websites, company domains and LinkedIn profile URLs.

Parsed by hand (the domain imports no ``urllib``): only http(s) URLs of public host names are
accepted; user info, IP addresses and ``localhost`` are refused.

Canonical forms (each function is idempotent):
- website: ``<scheme>://<host>[:port]<path>`` with the scheme kept (``https`` when absent), the
  host lower-cased and IDNA-encoded, the default port, the query, the fragment and trailing
  slashes dropped. ``www.`` is kept: some sites only answer on it.
- company domain: the host without a leading ``www.``; never a free-mail domain.
- LinkedIn: ``https://www.linkedin.com/in/<slug>``: every LinkedIn host (``linkedin.com``,
  ``uk.linkedin.com``, ``m.linkedin.com`` …) becomes ``www.linkedin.com``, LinkedIn's own
  canonical host; the slug is percent-decoded and lower-cased; sub-pages
  (``/details/…``, ``/recent-activity/``), query, fragment and trailing slash are dropped.
  Legacy ``/pub/…`` paths are kept lower-cased; Sales Navigator ``/sales/lead/<id>`` and
  ``/sales/people/<id>`` keep their case-sensitive id (up to its first comma).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import idna

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.freemail import is_free_mail
from scaliyo.domain.leads.text import URL_MAX, RememberedVerdicts, raw_text

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ASCII_HOST = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_PORT = re.compile(r"^(.*):([0-9]{1,5})$")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_PLAIN_SLUG = re.compile(r"[A-Za-z0-9_.-]+")
_ALNUM = re.compile(r"[^\W_]")  # a character str.isalnum() accepts
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# ``[http(s)://][www.]linkedin.com/in/<plain slug>[/]`` in any ASCII case: how nearly every
# export writes a profile. Its canonical form is read off directly; the long way gives the same.
_PLAIN_PROFILE_URL = re.compile(
    r"(?:https?://)?(?:www\.)?linkedin\.com/in/([A-Za-z0-9_.-]+)/?", re.IGNORECASE | re.ASCII
)
LINKEDIN_HOST = "www.linkedin.com"


class Url:
    """The parts of an http(s) URL we keep: scheme, ASCII host, explicit port, path."""

    __slots__ = ("host", "path", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: str | None, path: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path


def parse_url(value: str, *, field: str, code: str = "invalid_url") -> Url:
    """Split an http(s) URL (scheme optional) into its parts; refuse anything else."""
    message = "Enter a web address like acme.com or https://acme.com/about."
    if _BLANK_OR_CONTROL.search(value):
        raise invalid(field, code, message)
    scheme_match = _SCHEME.match(value)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        rest = value[scheme_match.end() :]
    elif value.startswith("//"):
        scheme, rest = "https", value[2:]
    else:
        scheme, rest = "https", value
    if scheme not in _DEFAULT_PORTS:
        raise invalid(field, code, "Only http and https addresses are accepted.")
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    path = slash + path
    if "@" in authority or authority.startswith("["):
        raise invalid(field, code, message)
    port = None
    port_match = _PORT.match(authority)
    if port_match:
        authority, number = port_match.group(1), int(port_match.group(2))
        if not 0 < number < 65536:
            raise invalid(field, code, message)
        port = None if str(number) == _DEFAULT_PORTS[scheme] else str(number)
    host = _remembered_ascii_host(authority) if len(authority) <= 300 else _ascii_host(authority)
    if host is None:
        raise invalid(field, code, message)
    return Url(scheme, host, port, path)


def _ascii_host(raw: str) -> str | None:
    host = raw.rstrip(".").lower()
    if not _ASCII_HOST.match(host):
        if host.isascii():
            return None
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
        if not _ASCII_HOST.match(host):
            return None
    return host


# A few hosts (a company's, LinkedIn's) come back row after row.
_remembered_ascii_host = lru_cache(maxsize=16_384)(_ascii_host)


def without_www(host: str) -> str:
    while host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def normalise_website(raw: object, *, field: str = "website") -> Url | None:
    """``None`` when blank; else the parsed website (see :func:`website_text`)."""
    parts = _remembered_websites(raw, field)
    return None if parts is None else Url(*parts)


def _website_parts(raw: object, *, field: str) -> tuple[str, str, str | None, str] | None:
    value = raw_text(raw, field=field, max_length=URL_MAX)
    if value is None:
        return None
    url = parse_url(value, field=field)
    if len(website_text(url)) > URL_MAX:
        raise invalid(field, "too_long", f"At most {URL_MAX} characters.")
    return url.scheme, url.host, url.port, url.path


# A company's website repeats on every lead of the company. The parts are remembered, not the
# ``Url``: each call gets its own object.
_remembered_websites = RememberedVerdicts(_website_parts, maxsize=65_536)


def website_text(url: Url) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path.rstrip('/')}"


def normalise_company_domain(raw: object, *, field: str = "company_domain") -> str | None:
    """A company's domain from ``acme.com``, ``www.acme.com`` or a whole URL; no free mail."""
    return _remembered_company_domains(raw, field)


def _normalise_company_domain(raw: object, *, field: str) -> str | None:
    value = raw_text(raw, field=field, max_length=URL_MAX)
    if value is None:
        return None
    domain = without_www(parse_url(value.lstrip("@"), field=field, code="invalid_domain").host)
    if is_free_mail(domain):
        raise invalid(
            field, "free_mail_domain", f"{domain} is a free mail provider, not a company domain."
        )
    return domain


_remembered_company_domains = RememberedVerdicts(_normalise_company_domain, maxsize=65_536)


def company_domain_from(host: str) -> str | None:
    """The company domain a website host or an email domain implies (none for free mail)."""
    domain = without_www(host.lower())
    return None if is_free_mail(domain) else domain


def normalise_linkedin_url(raw: object, *, field: str = "linkedin_url") -> str | None:
    """``None`` when blank; else the canonical profile URL (see the module docstring)."""
    value = raw_text(raw, field=field, max_length=URL_MAX)
    if value is None:
        return None
    plain = _PLAIN_PROFILE_URL.fullmatch(value)
    if plain:
        slug = plain.group(1).lower()
        canonical = f"https://{LINKEDIN_HOST}/in/{slug}"
        if len(canonical) <= URL_MAX and _ALNUM.search(slug):
            return canonical
    return linkedin_url_the_long_way(value, field=field)


def linkedin_url_the_long_way(value: str, *, field: str = "linkedin_url") -> str:
    """The canonical profile URL of trimmed, non-blank text, every form considered."""
    code = "invalid_linkedin_url"
    message = "Enter a LinkedIn profile address like linkedin.com/in/jane-doe."
    url = parse_url(value, field=field, code=code)
    if url.host != "linkedin.com" and not url.host.endswith(".linkedin.com"):
        raise invalid(field, code, message)
    segments = [segment for segment in url.path.split("/") if segment]
    kind = segments[0].lower() if segments else ""
    if kind == "in" and len(segments) >= 2:
        path = "/in/" + _slug(segments[1], field=field, code=code, message=message)
    elif kind == "pub" and len(segments) >= 2:
        slugs = [_slug(s, field=field, code=code, message=message) for s in segments[1:]]
        path = "/pub/" + "/".join(slugs)
    elif kind == "sales" and len(segments) >= 3 and segments[1].lower() in {"lead", "people"}:
        member = segments[2].split(",", 1)[0]
        if not member or not all(ch.isalnum() or ch in "-_" for ch in member):
            raise invalid(field, code, message)
        path = f"/sales/{segments[1].lower()}/{member}"
    else:
        raise invalid(field, code, message)
    canonical = f"https://{LINKEDIN_HOST}{path}"
    if len(canonical) > URL_MAX:
        raise invalid(field, "too_long", f"At most {URL_MAX} characters.")
    return canonical


def _slug(raw: str, *, field: str, code: str, message: str) -> str:
    if _PLAIN_SLUG.fullmatch(raw):  # the common case: the long way gives the same
        slug = raw.lower()
    else:
        slug = _stable(lambda s: unicodedata.normalize("NFC", percent_decode(s)).lower(), raw)
        if not all(_slug_char(ch) for ch in slug):
            raise invalid(field, code, message)
    if not any(ch.isalnum() for ch in slug):  # "/in/..", "/in/-"
        raise invalid(field, code, message)
    return slug


def _slug_char(ch: str) -> bool:
    return ch in "-_." or unicodedata.category(ch)[0] in "LNM"


def percent_decode(value: str) -> str:
    """Decode ``%XX`` runs that form UTF-8; leave the others as they are."""

    def decode(match: re.Match[str]) -> str:
        try:
            return bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)

    return _PERCENT_RUN.sub(decode, value)


def _stable(step: Callable[[str], str], value: str) -> str:
    """Apply ``step`` until the value stops changing (a few rounds at most)."""
    for _ in range(5):
        following = step(value)
        if following == value:
            return value
        value = following
    return value
