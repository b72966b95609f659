"""Custom fields: typed per workspace (text, number, date, boolean, single-select).

A workspace defines its fields (``CustomFieldSet``); a lead's values are checked against them
and stored JSON-native: text and single-select as text (the option's own spelling), numbers as
int or float, dates as ``YYYY-MM-DD``, booleans as booleans. Text from a CSV cell is read
leniently (``1,250.5``, ``yes``, ``2026-03-01``); a JSON value of the wrong type is refused.
Errors name the field as ``custom_fields.<key>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum

import msgspec

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import CUSTOM_TEXT_MAX, clean_text, fold
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.text import has_control_characters

CustomValue = str | int | float | bool

MAX_FIELDS = 100
MAX_OPTIONS = 100
MAX_NUMBER = 10**15  # beyond it JSON consumers lose integer precision
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_NUMBER = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


class CustomFieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    SINGLE_SELECT = "single_select"


class CustomFieldDefinition(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    type: CustomFieldType
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError("a key is 1-40 of a-z, 0-9 and _, starting with a letter")
        if not 0 < len(self.label) <= 100 or has_control_characters(self.label):
            raise ValueError("a label has 1-100 characters and no control characters")
        if self.type is CustomFieldType.SINGLE_SELECT:
            if not 0 < len(self.options) <= MAX_OPTIONS:
                raise ValueError(f"a single-select field has 1-{MAX_OPTIONS} options")
            if len({fold(option) for option in self.options}) != len(self.options):
                raise ValueError("options differ by more than case")
            if any(not 0 < len(o) <= 100 or o != o.strip() for o in self.options):
                raise ValueError("an option has 1-100 characters, no surrounding blanks")
        elif self.options:
            raise ValueError("only single-select fields have options")


class CustomFieldSet(msgspec.Struct, frozen=True, kw_only=True):
    """The custom fields a workspace has defined."""

    fields: tuple[CustomFieldDefinition, ...] = ()

    def __post_init__(self) -> None:
        if len(self.fields) > MAX_FIELDS:
            raise ValueError(f"at most {MAX_FIELDS} custom fields")
        if len({field.key for field in self.fields}) != len(self.fields):
            raise ValueError("custom field keys are unique")

    def by_key(self) -> dict[str, CustomFieldDefinition]:
        return {field.key: field for field in self.fields}


NO_CUSTOM_FIELDS = CustomFieldSet()


def define_custom_field(
    *, key: str, label: str, type: CustomFieldType, options: list[str] | tuple[str, ...] = ()
) -> CustomFieldDefinition:
    """A definition from user input, with field errors instead of ``ValueError``."""
    errors: list[FieldError] = []
    if not isinstance(key, str) or not _KEY.match(key):
        errors.append(FieldError("key", "invalid_key", "1-40 of a-z, 0-9 and _, from a letter."))
    clean_label = None
    try:
        clean_label = clean_text(label, field="label", max_length=100)
        if clean_label is None:
            errors.append(FieldError("label", "required", "A label is required."))
    except ValidationFailed as error:
        errors.extend(error.errors)
    clean_options: list[str] = []
    for index, option in enumerate(options):
        try:
            cleaned = clean_text(option, field=f"options[{index}]", max_length=100)
        except ValidationFailed as error:
            errors.extend(error.errors)
            continue
        if cleaned and fold(cleaned) not in {fold(o) for o in clean_options}:
            clean_options.append(cleaned)
    if type is CustomFieldType.SINGLE_SELECT and not 0 < len(clean_options) <= MAX_OPTIONS:
        errors.append(FieldError("options", "invalid_options", f"1 to {MAX_OPTIONS} options."))
    if type is not CustomFieldType.SINGLE_SELECT and clean_options:
        errors.append(FieldError("options", "invalid_options", "Only single-select has options."))
    if errors:
        raise ValidationFailed("The custom field is not valid.", errors=errors)
    return CustomFieldDefinition(
        key=key, label=clean_label or key, type=type, options=tuple(clean_options)
    )


def clean_custom_fields(
    values: Mapping[str, object] | None,
    fields: CustomFieldSet,
    *,
    prefix: str = "custom_fields",
) -> dict[str, CustomValue]:
    """The values checked against the definitions; blank values are left out (they clear).

    Raises ``ValidationFailed`` listing every bad value (``unknown_custom_field``,
    ``invalid_type``, ``invalid_number``, ``invalid_date``, ``invalid_boolean``,
    ``invalid_option``, ``too_long``).
    """
    if not values:
        return {}
    if not isinstance(values, Mapping):
        raise invalid(prefix, "invalid_type", "Expected an object of custom field values.")
    definitions = fields.by_key()
    cleaned: dict[str, CustomValue] = {}
    errors: list[FieldError] = []
    for key, value in values.items():
        path = f"{prefix}.{key}"[:200]
        definition = definitions.get(key) if isinstance(key, str) else None
        if definition is None:
            errors.append(FieldError(path, "unknown_custom_field", "No such custom field."))
            continue
        try:
            result = clean_custom_value(value, definition, field=path)
        except ValidationFailed as error:
            errors.extend(error.errors)
            continue
        if result is not None:
            cleaned[key] = result
    if errors:
        raise ValidationFailed("Some custom field values are not valid.", errors=errors)
    return cleaned


def clean_custom_value(
    value: object, definition: CustomFieldDefinition, *, field: str
) -> CustomValue | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = definition.type
    if kind is CustomFieldType.TEXT:
        return clean_text(value, field=field, max_length=CUSTOM_TEXT_MAX)
    if kind is CustomFieldType.NUMBER:
        return _number(value, field)
    if kind is CustomFieldType.DATE:
        return _date(value, field)
    if kind is CustomFieldType.BOOLEAN:
        return _boolean(value, field)
    return _option(value, definition, field)


def _number(value: object, field: str) -> int | float:
    message = "Expected a number like 1250 or 1,250.5."
    if isinstance(value, bool):
        raise invalid(field, "invalid_type", message)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40 or not _NUMBER.match(text):
            raise invalid(field, "invalid_number", message)
        text = text.replace(",", "")
        value = float(text) if "." in text else int(text)
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            raise invalid(field, "invalid_number", "The number is too large.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise invalid(field, "invalid_number", "Expected a finite number.")
        return value
    raise invalid(field, "invalid_type", message)


def _date(value: object, field: str) -> str:
    message = "Expected a date like 2026-03-01."
    if isinstance(value, datetime):
        raise invalid(field, "invalid_type", message)
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise invalid(field, "invalid_type", message)
    text = value.strip()
    if len(text) > 10 or not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise invalid(field, "invalid_date", message)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise invalid(field, "invalid_date", message) from None


def _boolean(value: object, field: str) -> bool:
    message = "Expected true or false."
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise invalid(field, "invalid_boolean", message)
    raise invalid(field, "invalid_type", message)


def _option(value: object, definition: CustomFieldDefinition, field: str) -> str:
    if not isinstance(value, str):
        raise invalid(field, "invalid_type", "Expected one of the options.")
    if len(value) > 200:
        raise invalid(field, "too_long", "At most 100 characters.")
    wanted = fold(value)
    for option in definition.options:
        if fold(option) == wanted:
            return option
    choices = ", ".join(definition.options[:10])
    raise invalid(field, "invalid_option", f"Expected one of: {choices}.")
