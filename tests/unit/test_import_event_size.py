"""The largest import chunk the settings allow still makes a ``leads.imported`` event that NATS
takes: one event a chunk lists every lead the chunk created or updated, and a message over the
server's ``max_payload`` (1 MiB unless configured otherwise) would never leave the outbox."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.outbox_writer import event_row
from scaliyo.adapters.settings import MAX_IMPORT_CHUNK_ROWS, SettingsError, load_settings
from scaliyo.domain.leads.events import LeadsImported
from scaliyo.domain.shared.ids import WorkspaceId

NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024
HEADROOM = 8 * 1024  # the message's headers travel in the same frame


def test_the_largest_chunks_event_fits_one_nats_message():
    ids = tuple(new_id() for _ in range(MAX_IMPORT_CHUNK_ROWS))
    event = LeadsImported(
        workspace_id=WorkspaceId(uuid4()),
        aggregate_id=uuid4(),
        first_row=2,
        last_row=MAX_IMPORT_CHUNK_ROWS + 1,
        created=ids[: MAX_IMPORT_CHUNK_ROWS // 2],
        updated=ids[MAX_IMPORT_CHUNK_ROWS // 2 :],
    )
    # the relay sends ``payload::text``: jsonb's text form, with a space after ":" and ","
    payload = json.dumps(event_row(event)["payload"], default=str).encode()
    assert len(payload) + HEADROOM <= NATS_DEFAULT_MAX_PAYLOAD


@pytest.mark.parametrize("rows", ["0", str(MAX_IMPORT_CHUNK_ROWS + 1)])
def test_chunk_rows_outside_the_range_are_refused(rows):
    with pytest.raises(SettingsError, match="SCALIYO_IMPORT_CHUNK_ROWS"):
        load_settings({"SCALIYO_IMPORT_CHUNK_ROWS": rows})
