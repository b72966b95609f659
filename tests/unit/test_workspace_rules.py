from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.identity.workspace import NAME_MAX_LENGTH, workspace_name
from scaliyo.domain.shared.errors import ValidationFailed
from scaliyo.domain.shared.text import has_control_characters

names = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=150)


@given(names)
def test_a_workspace_name_is_either_clean_or_refused_with_a_field_error(raw):
    try:
        name = workspace_name(raw)
    except ValidationFailed as error:
        assert error.errors and error.errors[0].field == "name"
        return
    assert 1 <= len(name) <= NAME_MAX_LENGTH
    assert name == name.strip()
    assert "  " not in name
    assert not has_control_characters(name)
    assert workspace_name(name) == name  # cleaning is idempotent


def test_examples():
    assert workspace_name("  Acme\t Corp ") == "Acme Corp"
    for bad in ["", "   ", "x" * 101, "bad\x00name", "zero\u200bwidth"]:
        try:
            workspace_name(bad)
        except ValidationFailed:
            continue
        raise AssertionError(f"{bad!r} was accepted")
