"""A kiosk's ticket issue on PostgreSQL, on an asyncio connection: two statements, no thread.

Every kiosk tap is one of these. On the reference path (tickets.issue_ticket, in a pool thread,
through a SQLAlchemy session) profiles showed most of the request's CPU going to thread
hand-offs, the session, and the round trips of its statements. Here, in autocommit mode:
  1. one read-only statement checks the device token, looks for the Idempotency-Key and reads
     the service, today's special hours and its recent service times;
  2. one statement bumps the day's sequence, writes ticket, event and key and sends the
     notification, and commits on its own (the day's row is locked for that statement only);
     then one more counts the people ahead.
The decision is app/domain/issuing.decide_issue, as on every path; this is only a faster store
for it. When this store cannot answer (a retry, a refusal, whose message needs more reads, a
booked quota, a revoked device, a database hiccup before the write...) it writes nothing and
returns None: the caller then runs issue_ticket, which decides the same way and answers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from app.db.ticket_store import CommitWith, KioskStore
from app.domain import issuing
from app.domain.events import Event
from app.services import auth, tickets
from app.services.context import Principal


@dataclass(frozen=True)
class KioskIssued:
    issued: tickets.Issued
    event: Event
    notified: bool  # the notification went out with the write


async def issue(kiosks: KioskStore, *, token: str, service_id: int,
                priority: str | None, idempotency_key: str | None, now: datetime,
                channel: tuple[str, str] | None) -> KioskIssued | None:
    """Issue a kiosk's ticket, or None when issue_ticket must answer. `channel`: the bus's
    (channel, stamp) for a notification sent with the write, or None (the caller publishes)."""
    request = issuing.IssueRequest(service_id=service_id, priority=priority,
                                   idempotency_key=idempotency_key)
    async with kiosks.connection() as conn:
        if conn is None:
            return None  # no connection at hand: the reference decides
        read = await conn.read(token_hash=auth.token_hash(token), service_id=service_id,
                               idem_key=idempotency_key, now=now)
        if read is None or read.retry:
            return None
        device_id, kind, name, site_id, is_active = read.device
        if not is_active or kind != "kiosk":
            return None
        kiosk = Principal(kind="device", id=device_id, role=kind, name=name, site_id=site_id)
        facts, today = read.facts.service, read.facts.today
        if facts is not None and issuing.needs_held_for_bookings(facts, request):
            return None  # the places held for bookings are a fact this read lacks
        actor = issuing.Actor(kiosk.user_id, kiosk.scope_key,
                              frozenset({site_id}) if site_id is not None else frozenset())
        new = issuing.decide_issue(facts, today, request, actor, now=now,
                                   tracking_code=secrets.token_urlsafe(9))
        if isinstance(new, issuing.Refusal):
            return None  # the reference path refuses, with the message's details
        assert facts is not None and today is not None
        event = tickets.issued_event(facts, new.priority, now)
        commit = (CommitWith(channel[0], channel[1], event.to_json())
                  if channel is not None else None)
        written = await conn.write(new, commit)
        if written is None:
            return None  # the quota ran out, or a twin holds the key: nothing was written
        issued = tickets.issued_view(new, written, facts, today, event)
        return KioskIssued(issued, event, commit is not None)
