"""Values derived from a lead for storage: what the list sorts by and what ``q`` searches.

Both are folded with the domain's ``fold`` (case, accents, white space), so sorting and
searching ignore them; the repository stores them beside the lead and the list's cursor
holds the same ``sort_name``.
"""

from __future__ import annotations

from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.text import fold


def sort_name(profile: LeadProfile) -> str:
    """The full name, else the email, else the LinkedIn URL."""
    name = " ".join(part for part in (profile.first_name, profile.last_name) if part)
    return fold(name) or profile.email or profile.linkedin_url or ""


def search_text(profile: LeadProfile) -> str:
    """Name, email and company: what ``q`` matches as a substring."""
    parts = (profile.first_name, profile.last_name, profile.email, profile.company)
    return fold(" ".join(part for part in parts if part))
