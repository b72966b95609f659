"""Tags: short labels, compared case-insensitively, shown as first written."""

from __future__ import annotations

from collections.abc import Iterable

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import TAG_MAX, clean_text
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

MAX_TAGS_PER_LEAD = 100


def tag_key(tag: str) -> str:
    return tag.casefold()


def clean_tag(raw: object, *, field: str = "tag") -> str:
    tag = clean_text(raw, field=field, max_length=TAG_MAX)
    if tag is None:
        raise invalid(field, "required", "A tag cannot be blank.")
    return tag


def clean_tags(raw: Iterable[object], *, field: str = "tags") -> tuple[str, ...]:
    """Each tag cleaned; later spellings of an earlier tag (``VIP``, ``vip``) dropped."""
    values = list(raw)
    if len(values) > MAX_TAGS_PER_LEAD * 10:
        raise invalid(field, "too_many_tags", f"At most {MAX_TAGS_PER_LEAD} tags per lead.")
    tags: list[str] = []
    seen: set[str] = set()
    errors: list[FieldError] = []
    for index, value in enumerate(values):
        try:
            tag = clean_tag(value, field=f"{field}[{index}]")
        except ValidationFailed as error:
            errors.extend(error.errors)
            continue
        if tag_key(tag) not in seen:
            seen.add(tag_key(tag))
            tags.append(tag)
    if len(tags) > MAX_TAGS_PER_LEAD:
        errors.append(
            FieldError(field, "too_many_tags", f"At most {MAX_TAGS_PER_LEAD} tags per lead.")
        )
    if errors:
        raise ValidationFailed("Some tags are not valid.", errors=errors)
    return tuple(tags)
