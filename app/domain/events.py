"""Events that screens hear about. Plain data: no personal fields ever go in here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Event types.
TICKET_ISSUED = "ticket.issued"
TICKET_CALLED = "ticket.called"
TICKET_STATUS = "ticket.status"  # started, finished, no-show, held, resumed, cancelled, closed out
TICKET_TRANSFERRED = "ticket.transferred"
# A visit's ticket moved on to its next step's queue (same number, same tracking code).
VISIT_STEP_CHANGED = "visit.step_changed"
COUNTER_CHANGED = "counter.changed"
CONFIG_CHANGED = "config.changed"
SURVEY_SUBMITTED = "survey.submitted"
# A user's sessions ended (sign-out, new password, deactivation): their live screens close.
SESSION_ENDED = "session.ended"
# Local only: the bus lost events (e.g. a dropped LISTEN connection); screens must resnapshot.
RESYNC = "bus.resync"


@dataclass(frozen=True)
class Event:
    type: str
    site_id: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"type": self.type, "site_id": self.site_id, "data": self.data},
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str) -> Event:
        obj = json.loads(raw)
        return cls(type=obj["type"], site_id=int(obj["site_id"]), data=obj.get("data") or {})

    def message(self) -> dict[str, Any]:
        """The JSON a websocket client receives."""
        return {"type": self.type, "site_id": self.site_id, **self.data}
