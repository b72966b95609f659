"""Header names of the messages the outbox relay publishes.

``Nats-Msg-Id`` is the outbox row id: JetStream drops a second publish of it within the stream's
duplicate window, and consumers key their inbox on it.
"""

from __future__ import annotations

MSG_ID = "Nats-Msg-Id"
MESSAGE_TYPE = "Scaliyo-Message-Type"
MESSAGE_VERSION = "Scaliyo-Message-Version"
WORKSPACE_ID = "Scaliyo-Workspace-Id"
AGGREGATE = "Scaliyo-Aggregate"
